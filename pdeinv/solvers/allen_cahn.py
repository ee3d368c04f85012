"""Allen-Cahn: u_t = D u_xx + r (u - u^3)."""

from __future__ import annotations

import numpy as np

from .._jax import jnp
from .core import SpectralEquation, irfft, rfft


class AllenCahn(SpectralEquation):
    """Allen-Cahn equation ``u_t = D u_xx + r (u - u^3)``, periodic.

    Default initial condition ``x^2 cos(pi x)``, ``D = 1e-3``, ``r = 5`` (the PINN benchmark).
    The linear growth ``r u`` is part of the exact linear propagator; ``-r u^3`` is explicit.
    """

    name = "allen-cahn"
    param_names = ("D", "r")
    defaults = {"D": 1e-3, "r": 5.0}
    positive = ("D",)
    default_n = 512
    u0_description = "x^2 cos(pi x)"

    def default_initial_condition(self, x):
        return x**2 * np.cos(np.pi * x)

    def default_dt(self) -> float:
        # No derivative in the explicit term: the step is set by accuracy, not by the grid.
        return 1e-3

    def linear_symbol(self, params):
        return -params["D"] * jnp.asarray(self.k) ** 2 + params["r"] + 0j

    def nonlinear(self, v, params):
        mask = jnp.asarray(self.mask)
        u = irfft(v * mask, self.n)
        return -params["r"] * mask * rfft(u**3)
