"""Viscous Burgers: u_t + u u_x = nu u_xx."""

from __future__ import annotations

import numpy as np

from .._jax import jnp
from .core import SpectralEquation, irfft, rfft


class Burgers(SpectralEquation):
    """Viscous Burgers equation ``u_t + u u_x = nu u_xx`` on a periodic interval.

    Default initial condition ``-sin(pi x)`` and ``nu = 0.01/pi`` (the PINN benchmark). The
    shock this forms is ~``nu`` wide, so the default grid is fine: with 1024 points the
    solution matches the exact Cole-Hopf solution to ~1e-8 (relative L2) on t in [0, 1].
    """

    name = "burgers"
    param_names = ("nu",)
    defaults = {"nu": 0.01 / np.pi}
    positive = ("nu",)
    default_n = 1024
    u0_description = "-sin(pi x)"

    def default_initial_condition(self, x):
        return -np.sin(np.pi * x)

    def linear_symbol(self, params):
        return -params["nu"] * jnp.asarray(self.k) ** 2 + 0j

    def nonlinear(self, v, params):
        # u u_x = (u^2 / 2)_x, in conservative form so the mean is conserved exactly.
        mask = jnp.asarray(self.mask)
        u = irfft(v * mask, self.n)
        return -0.5 * jnp.asarray(self.ik) * mask * rfft(u * u)
