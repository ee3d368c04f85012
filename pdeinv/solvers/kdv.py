"""Korteweg-de Vries: u_t + lambda1 u u_x + lambda2 u_xxx = 0."""

from __future__ import annotations

import numpy as np

from .._jax import jnp
from .core import SpectralEquation, irfft, rfft


class KdV(SpectralEquation):
    """Korteweg-de Vries equation ``u_t + lambda1 u u_x + lambda2 u_xxx = 0``, periodic.

    Default initial condition ``cos(pi x)``, ``lambda1 = 1``, ``lambda2 = 0.0025`` (the
    Zabusky-Kruskal setting used by the PINN papers). The dispersive term is treated exactly
    by the integrating factor; only the advection is explicit.
    """

    name = "kdv"
    param_names = ("lambda1", "lambda2")
    defaults = {"lambda1": 1.0, "lambda2": 0.0025}
    positive = ()
    default_n = 512
    u0_description = "cos(pi x)"

    def default_initial_condition(self, x):
        return np.cos(np.pi * x)

    def linear_symbol(self, params):
        # lambda2 u_xxx moved to the right-hand side: -lambda2 (ik)^3 = i lambda2 k^3.
        ik = jnp.asarray(self.ik)
        return -params["lambda2"] * ik**3

    def nonlinear(self, v, params):
        mask = jnp.asarray(self.mask)
        u = irfft(v * mask, self.n)
        return -0.5 * params["lambda1"] * jnp.asarray(self.ik) * mask * rfft(u * u)
