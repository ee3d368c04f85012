"""Fisher-KPP with no-flux ends (Chebyshev basis)."""

from __future__ import annotations

import numpy as np

from .._jax import jnp
from ..discretizations import ChebyshevBasis, neumann
from ..solvers.core import SpectralEquation
from .registry import register_equation


@register_equation
class FisherKPP(SpectralEquation):
    """Fisher-KPP ``u_t = D u_xx + r u (1 - u)`` on ``[0, 20]`` with no flux through either end
    (``u_x = 0``), ``t`` in ``[0, 5]``, from ``u0 = exp(-x^2)``: a population that spreads from
    the left end as a front of speed ``2 sqrt(D r)``. ``D`` and ``r`` are fitted by default.
    """

    name = "fisher-kpp"
    basis_type = ChebyshevBasis
    pde = "u_t = D u_xx + r u (1 - u), u_x = 0 at both ends"
    boundary = "u_x = 0 at both ends (no flux)"
    param_names = ("D", "r")
    defaults = {"D": 1.0, "r": 1.0}
    positive = ("D", "r")
    default_unknowns = ("D", "r")
    default_n = 64
    default_domain = (0.0, 20.0)
    default_t_span = (0.0, 5.0)
    u0_description = "exp(-x^2)"

    def default_initial_condition(self, x):
        return np.exp(-((np.asarray(x) - self.domain[0]) ** 2))

    def default_dt(self) -> float:
        return 0.01

    def linear_symbol(self, params):
        return params["D"] * jnp.asarray(self.basis.D2) + params["r"] * jnp.eye(self.n)

    def nonlinear(self, v, params):
        return -params["r"] * v * v

    def boundary_conditions(self, params):
        return neumann(0.0), neumann(0.0)
