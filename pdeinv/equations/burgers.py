"""Viscous Burgers: u_t + lambda1 u u_x = nu u_xx."""

from __future__ import annotations

import numpy as np

from ..solvers.core import SpectralEquation
from .registry import register_equation


@register_equation
class Burgers(SpectralEquation):
    """Viscous Burgers equation ``u_t + lambda1 u u_x = nu u_xx`` on a periodic interval.

    Default initial condition ``-sin(pi x)``, ``nu = 0.01/pi`` and ``lambda1 = 1`` (the PINN
    benchmark); nu is fitted by default, lambda1 on request (the PINN papers' two-parameter
    identification). The shock this forms is ~``nu`` wide, so the default grid is fine: with
    1024 points the solution matches the exact Cole-Hopf solution to ~1e-8 (relative L2).
    """

    name = "burgers"
    pde = "u_t + lambda1 u u_x = nu u_xx"
    param_names = ("nu", "lambda1")
    defaults = {"nu": 0.01 / np.pi, "lambda1": 1.0}
    positive = ("nu",)
    default_unknowns = ("nu",)
    default_n = 1024
    u0_description = "-sin(pi x)"
    pinn_order = 2
    # Time error of the default step at nu = 0.01/pi against dt/8 (relative L2 over t in [0, 1]):
    # courant 0.5: 8.6e-11, 1: 1.3e-9, 1.5: 6.1e-9, 2: 1.8e-8 on n = 1024 (dt = 9.3e-4 at 1.5);
    # 9.4e-9 with the cap dt = 1e-3 on n = 512. The viscous term is exact and damps the
    # high modes, so 1.5 stays stable down to nu/10 (4.9e-7 there).
    step_courant = 1.5

    def default_initial_condition(self, x):
        return -np.sin(np.pi * x)

    def linear_symbol(self, params):
        return -params["nu"] * self.k**2 + 0j

    def nonlinear(self, v, params):
        # u u_x = (u^2 / 2)_x, in conservative form so the mean is conserved exactly.
        u = self.physical(v)
        return -0.5 * params["lambda1"] * self.derivative(self.spectral(u * u))

    def pinn_residual(self, u, d, params):
        return d["t"] + params["lambda1"] * u * d["x"] - params["nu"] * d["xx"]
