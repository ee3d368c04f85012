"""Gray-Scott: two reacting species on a periodic interval (Fourier basis)."""

from __future__ import annotations

import numpy as np

from .._jax import jnp
from ..solvers.core import SpectralEquation
from .registry import register_equation


@register_equation
class GrayScott(SpectralEquation):
    """The Gray-Scott system ``u_t = Du u_xx - u v^2 + F (1 - u)``, ``v_t = Dv v_xx + u v^2 - (F +
    k) v``, periodic on ``[0, 2.5)`` (Pearson 1993's domain, in one dimension), ``t`` in ``[0,
    200]``, from ``u = 1``, ``v = 0`` with a seeded bump in the middle (``u = 1 - b/2``, ``v =
    b/4``, ``b = exp(-((x - 1.25) / 0.1)^2)``).

    Two components, ``u`` and ``v``, each with its own diffusion (its own linear symbol) and coupled
    by the reaction; the feed rate ``F`` and kill rate ``k`` are fitted by default, from either
    species or both.
    """

    name = "gray-scott"
    aliases = ("gs",)
    components = ("u", "v")
    pde = "u_t = Du u_xx - u v^2 + F (1 - u), v_t = Dv v_xx + u v^2 - (F + k) v"
    param_names = ("Du", "Dv", "F", "k")
    defaults = {"Du": 2e-5, "Dv": 1e-5, "F": 0.04, "k": 0.06}
    positive = ("Du", "Dv", "F", "k")
    default_unknowns = ("F", "k")
    default_n = 512  # 256 points: 4.7e-5 from a 1024-point solve at t = 200; 512: 3.6e-9
    default_domain = (0.0, 2.5)
    default_t_span = (0.0, 200.0)
    u0_description = "u = 1 - b/2, v = b/4, b = exp(-((x - 1.25)/0.1)^2)"

    def default_initial_condition(self, x):
        middle = 0.5 * (self.domain[0] + self.domain[1])
        bump = np.exp(-(((np.asarray(x) - middle) / 0.1) ** 2))
        return np.stack([1.0 - 0.5 * bump, 0.25 * bump])

    def default_dt(self) -> float:
        # Diffusion is exact (diagonal); the step resolves the reaction. Against an independent
        # DOP853 solve (rtol 1e-12) of the same Fourier semi-discretization over t in [0, 200] (256
        # points): dt 1, 0.5, 0.25, 0.1 give 2.6e-6, 1.7e-7, 1.1e-8, 3.9e-10 (order 4).
        return 0.1

    def linear_symbol(self, params):
        k2 = jnp.asarray(self.k) ** 2
        return jnp.stack([-params["Du"] * k2 - params["F"], -params["Dv"] * k2 - params["F"] - params["k"]]) + 0j

    def nonlinear(self, v, params):
        u, w = self.physical(v[0]), self.physical(v[1])
        reaction = u * w * w
        feed = params["F"] * jnp.asarray(self.basis.forward_numpy(np.ones(self.n)))  # the spectrum of F
        return jnp.stack([self.spectral(-reaction) + feed, self.spectral(reaction)])
