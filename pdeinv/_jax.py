"""Import JAX with 64-bit floats enabled.

Every numerical module of pdeinv imports ``jax`` and ``jnp`` from here, so float64 is switched on
before any array is created, whatever the user imported first.
"""

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402  (must follow the config update)

__all__ = ["jax", "jnp"]
