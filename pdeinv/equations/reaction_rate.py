"""Diffusion with a reaction rate that varies in space, on [0, 1] with both ends held at zero
(Chebyshev basis)."""

from __future__ import annotations

import numpy as np

from .._jax import jnp
from ..discretizations import ChebyshevBasis, dirichlet
from ..solvers.core import SpectralEquation
from .registry import register_equation


@register_equation
class ReactionRate(SpectralEquation):
    """``u_t = lambda u_xx - k(x) u - sin(2 pi x)`` on ``[0, 1]``, ``u = 0`` at both ends, from
    ``u = 0`` at ``t = 0``, ``t`` in ``[0, 20]``: the transient whose steady state is the
    physics-informed-network toolkits' inverse problem with a space-dependent reaction rate
    (``lambda u_xx - k(x) u = sin(2 pi x)``, ``lambda = 0.01``, ``k(x) = 0.1 + exp(-0.5 (x -
    0.5)^2 / 0.15^2)``). The rate ``k`` is a number by default and may vary in x: recover
    ``k(x)`` as a field (``--fit "k(x)"``) from scattered values of u.
    """

    name = "reaction-rate"
    basis_type = ChebyshevBasis
    pde = "u_t = lambda u_xx - k u - sin(2 pi x), u(0) = u(1) = 0"
    boundary = "u = 0 at both ends"
    param_names = ("lambda", "k")
    defaults = {"lambda": 0.01, "k": 0.1}
    positive = ("lambda", "k")
    field_params = ("k",)
    default_unknowns = ("k",)
    default_n = 32
    default_domain = (0.0, 1.0)
    default_t_span = (0.0, 20.0)
    u0_description = "0"

    def default_initial_condition(self, x):
        return np.zeros_like(x)

    def default_dt(self) -> float:
        # The operator (diffusion and the reaction, k(x) u, both linear) is exact at any step; the
        # step only carries the source, constant in time.
        return 0.1

    def linear_symbol(self, params):
        return params["lambda"] * jnp.asarray(self.basis.D2) - jnp.diag(jnp.broadcast_to(params["k"], (self.n,)))

    def nonlinear(self, v, params):
        return 0.0 * v

    def source(self, t, x, params):
        return -jnp.sin(2 * np.pi * x)

    def boundary_conditions(self, params):
        return dirichlet(0.0), dirichlet(0.0)
