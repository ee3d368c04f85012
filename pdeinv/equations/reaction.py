"""Two species that diffuse and react on [0, 1], held at given values at both ends (Chebyshev basis)."""

from __future__ import annotations

import numpy as np

from .._jax import jnp
from ..discretizations import ChebyshevBasis, dirichlet
from ..solvers.core import SpectralEquation
from .registry import register_equation


@register_equation
class Reaction(SpectralEquation):
    """The diffusion-reaction system ``A_t = D A_xx - k A B^2``, ``B_t = D B_xx - 2 k A B^2`` on
    ``[0, 1]``, ``t`` in ``[0, 10]``, with ``A = B = 1`` at ``x = 0`` and ``A = B = 0`` at ``x = 1``
    and ``A = B = exp(-20 x)`` at ``t = 0`` (the physics-informed-network toolkits' inverse
    diffusion-reaction example, whose data were made with ``D = 2e-3`` and ``k = 0.1``).

    A system of two components, ``A`` and ``B``: observations say which one each point measures,
    and ``D`` and ``k`` can be recovered from either species alone or from both.
    """

    name = "reaction"
    aliases = ("diffusion-reaction",)
    basis_type = ChebyshevBasis
    components = ("A", "B")
    pde = "A_t = D A_xx - k A B^2, B_t = D B_xx - 2 k A B^2"
    boundary = "A = B = 1 at x = 0, A = B = 0 at x = 1"
    param_names = ("D", "k")
    defaults = {"D": 2e-3, "k": 0.1}
    positive = ("D", "k")
    default_unknowns = ("D", "k")
    default_n = 48
    default_domain = (0.0, 1.0)
    default_t_span = (0.0, 10.0)
    u0_description = "A = B = exp(-20 x)"

    def default_initial_condition(self, x):
        # exp(-20) = 2e-9 at x = 1, where the condition holds A = B = 0: the solver sets the ends
        profile = np.exp(-20.0 * (np.asarray(x) - self.domain[0]))
        return np.stack([profile, profile])

    def default_dt(self) -> float:
        # The diffusion is exact at any step (matrix exponential); the step resolves the reaction,
        # whose rate is at most k (A B^2 <= 1): the error against a tight implicit reference is
        # measured in the tests.
        return 0.02

    def linear_symbol(self, params):
        return params["D"] * jnp.asarray(self.basis.D2)

    def nonlinear(self, v, params):
        A, B = jnp.real(v[0]), jnp.real(v[1])
        rate = params["k"] * A * B * B
        return jnp.stack([-rate, -2.0 * rate]) + 0j

    def boundary_conditions(self, params):
        ends = (dirichlet(1.0), dirichlet(0.0))
        return ends, ends
