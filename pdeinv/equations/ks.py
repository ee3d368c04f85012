"""Kuramoto-Sivashinsky: u_t + alpha u u_x + beta u_xx + gamma u_xxxx = 0."""

from __future__ import annotations

import numpy as np

from ..solvers.core import SpectralEquation
from .registry import register_equation


@register_equation
class KuramotoSivashinsky(SpectralEquation):
    """Kuramoto-Sivashinsky equation ``u_t + alpha u u_x + beta u_xx + gamma u_xxxx = 0``.

    Defaults: alpha = beta = gamma = 1 on x in [0, 32 pi) with u0 = cos(x/16) (1 + sin(x/16))
    (Kassam & Trefethen 2005): about 16 unstable wavelengths fit in the domain, and the
    initial ripple breaks into spatio-temporal chaos by t ~ 60; t in [0, 100]. All three
    parameters are positive (beta: anti-diffusion, gamma: hyper-diffusion) and fitted by
    default. The stiff linear part ``beta k^2 - gamma k^4`` is treated exactly.
    """

    name = "kuramoto-sivashinsky"
    aliases = ("ks",)
    pde = "u_t + alpha u u_x + beta u_xx + gamma u_xxxx = 0"
    param_names = ("alpha", "beta", "gamma")
    defaults = {"alpha": 1.0, "beta": 1.0, "gamma": 1.0}
    positive = ("alpha", "beta", "gamma")
    default_unknowns = ("alpha", "beta", "gamma")
    default_domain = (0.0, 32 * np.pi)
    default_t_span = (0.0, 100.0)
    default_n = 128
    u0_description = "cos(x/16) (1 + sin(x/16))"
    pinn_order = 4

    def default_initial_condition(self, x):
        return np.cos(x / 16) * (1 + np.sin(x / 16))

    def default_dt(self) -> float:
        # The stiff part is exact; the advection of O(1) fields on this grid sets the step.
        return 0.05

    def linear_symbol(self, params):
        k2 = self.k**2
        return params["beta"] * k2 - params["gamma"] * k2 * k2 + 0j

    def nonlinear(self, v, params):
        u = self.physical(v)
        return -0.5 * params["alpha"] * self.derivative(self.spectral(u * u))

    def pinn_residual(self, u, d, params):
        return d["t"] + params["alpha"] * u * d["x"] + params["beta"] * d["xx"] + params["gamma"] * d["xxxx"]
