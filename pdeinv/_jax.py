"""Import JAX with 64-bit floats enabled.

Every numerical module of pdeinv imports ``jax`` and ``jnp`` from here, so float64 is switched on
before any array is created, whatever the user imported first.

Batches of forward solves are split across the CPU cores (see
``pdeinv.solvers.core.BatchedSolver``). For that, XLA is asked to expose one host device per core
(at most 8) unless ``XLA_FLAGS`` already sets ``--xla_force_host_platform_device_count``;
``PDEINV_CPU_DEVICES=1`` keeps a single device. The flag only takes effect if JAX's backend has
not been started before pdeinv is imported; otherwise batches simply run on one device.
"""

import os


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not available on every platform
        return os.cpu_count() or 1


def _request_host_devices() -> None:
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_force_host_platform_device_count" in flags:
        return
    requested = os.environ.get("PDEINV_CPU_DEVICES", "").strip()
    try:
        count = int(requested) if requested else min(_cpu_count(), 8)
    except ValueError:
        count = 1
    if count > 1:
        os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={count}".strip()


_request_host_devices()

import jax  # noqa: E402  (must follow the flag)

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402  (must follow the config update)

__all__ = ["jax", "jnp"]
