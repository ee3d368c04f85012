"""Korteweg-de Vries: u_t + lambda1 u u_x + lambda2 u_xxx = 0."""

from __future__ import annotations

import numpy as np

from ..solvers.core import SpectralEquation
from .registry import register_equation


@register_equation
class KdV(SpectralEquation):
    """Korteweg-de Vries equation ``u_t + lambda1 u u_x + lambda2 u_xxx = 0``, periodic.

    Default initial condition ``cos(pi x)``, ``lambda1 = 1``, ``lambda2 = 0.0025`` (the
    Zabusky-Kruskal setting used by the PINN papers); lambda2 (> 0) is fitted by default, both
    on request. The dispersive term is treated exactly; only the advection is explicit.
    """

    name = "kdv"
    pde = "u_t + lambda1 u u_x + lambda2 u_xxx = 0"
    param_names = ("lambda1", "lambda2")
    defaults = {"lambda1": 1.0, "lambda2": 0.0025}
    positive = ("lambda2",)
    default_unknowns = ("lambda2",)
    default_n = 512
    u0_description = "cos(pi x)"
    pinn_order = 3
    paper_learning_rate = 1e-3

    def default_initial_condition(self, x):
        return np.cos(np.pi * x)

    def linear_symbol(self, params):
        # lambda2 u_xxx moved to the right-hand side: -lambda2 (ik)^3 = -i lambda2 k^3 ... as a symbol.
        return -params["lambda2"] * self.ik**3

    def nonlinear(self, v, params):
        u = self.physical(v)
        return -0.5 * params["lambda1"] * self.derivative(self.spectral(u * u))

    def pinn_residual(self, u, d, params):
        return d["t"] + params["lambda1"] * u * d["x"] + params["lambda2"] * d["xxx"]
