"""Diffusion with a source on a rod whose ends are held at given values (Chebyshev basis)."""

from __future__ import annotations

import numpy as np

from .._jax import jnp
from ..discretizations import ChebyshevBasis, dirichlet
from ..solvers.core import SpectralEquation
from .registry import register_equation


@register_equation
class Rod(SpectralEquation):
    """Diffusion with a source on a rod, ``u_t = D u_xx + (pi^2 - 1) exp(-t) sin(pi x)`` on
    ``[-1, 1]``, with the ends held at ``u(-1) = ua`` and ``u(1) = ub`` (Dirichlet conditions whose
    values are parameters: fit them like any other), in the Chebyshev basis.

    The source is the one of the physics-informed-network toolkits' inverse diffusion example:
    with ``D = 1`` and ``u0 = sin(pi x)`` plus the straight line between the end values, the
    solution is exactly ``exp(-t) sin(pi x) + (ua (1 - x) + ub (1 + x)) / 2`` (any ``ua``, ``ub``).
    Other ``D`` have no closed form; the fit recovers ``D`` from scattered values.
    """

    name = "rod"
    basis_type = ChebyshevBasis
    pde = "u_t = D u_xx + (pi^2 - 1) exp(-t) sin(pi x), u(-1) = ua, u(1) = ub"
    boundary = "u = ua at x = -1, u = ub at x = 1"
    param_names = ("D", "ua", "ub")
    defaults = {"D": 1.0, "ua": 0.0, "ub": 0.0}
    positive = ("D",)
    default_unknowns = ("D",)
    default_n = 32
    default_domain = (-1.0, 1.0)
    default_t_span = (0.0, 1.0)
    u0_description = "sin(pi x) plus the straight line from ua to ub (at their defaults: sin(pi x))"

    def default_initial_condition(self, x):
        a, b = self.domain
        ua, ub = float(self.defaults["ua"]), float(self.defaults["ub"])
        return np.sin(np.pi * x) + (ua * (b - x) + ub * (x - a)) / (b - a)

    def default_dt(self) -> float:
        # The linear part is exact at any step (matrix exponential); the step sets how well the
        # source's time dependence and the Hermite output between steps are resolved: the error
        # against the exact solution at 64 random (t, x) is measured in the tests (<= 1e-10).
        return 2e-3

    def linear_symbol(self, params):
        return params["D"] * jnp.asarray(self.basis.D2)

    def nonlinear(self, v, params):
        return 0.0 * v

    def source(self, t, x, params):
        return (np.pi**2 - 1.0) * jnp.exp(-t) * jnp.sin(np.pi * x)

    def boundary_conditions(self, params):
        return dirichlet(params["ua"]), dirichlet(params["ub"])
