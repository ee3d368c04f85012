"""Reference cases with a known answer, shared by the tests, the benchmarks and the docs.

``flat_half_allen_cahn``: a diffusion field the data determine on one half of the domain only.
Allen-Cahn with r = 1, D(x) = 0.01 exp(0.5 sin(pi x) - 0.3 cos(pi x)); u0 = 1 on x > 0 (a
stable state of the reaction, so u stays flat there and (D u_x)_x = 0: the data say nothing
about D on that half) and 1 - 0.9 (1 - cos 2 pi x) on x < 0. 8 x 24 observations with 1 %
noise, simulated on n = 128 with dt = 5e-4 (finer than a fit's grid).
"""

from __future__ import annotations

import numpy as np

__all__ = ["flat_half_allen_cahn", "flat_half_log_d"]


def flat_half_log_d(x):
    """log D(x) of the flat-half case (the truth)."""
    x = np.asarray(x, dtype=float)
    return np.log(0.01) + 0.5 * np.sin(np.pi * x) - 0.3 * np.cos(np.pi * x)


def flat_half_allen_cahn(noise: float = 0.01, seed: int = 0):
    """The flat-half observations (see the module docstring), noise on the observations and the
    initial condition exact (one field is fitted at a time: D(x) here, not u0); ``D(x)`` is then
    fitted with ``InverseProblem(obs, ("D(x)",), modes=8, n=64, regularization=...)``."""
    from .problems import simulate

    return simulate("allen-cahn", {"D": lambda x: np.exp(flat_half_log_d(x)), "r": 1.0}, grid=(8, 24), n=128,
                    dt=5e-4, u0=lambda x: 1 - 0.9 * (1 - np.cos(2 * np.pi * x)) * (x < 0), noise=noise, seed=seed,
                    snapshot="exact")
