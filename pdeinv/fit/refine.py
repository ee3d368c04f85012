"""Grid refinement: does a grid twice as fine move the estimate? Asked only of a good fit.

Refining pays only where the discretization error is what remains: at an estimate whose
misfit is far above the noise (or, without a noise level, far above what discretization
leaves), the fit is in a wrong basin or stuck, and finer grids only make every solve dearer.
"""

from __future__ import annotations

import numpy as np

from .linear import Covariance, forward_jacobian

__all__ = [
    "NOISE_RMS_LIMIT", "NOISE_SHIFT_FRACTION", "RELATIVE_MISFIT_LIMIT", "STALLED_SHIFT_RATIO", "grid_shift_estimate",
    "misfit_allows_refinement", "standard_errors",
]

#: With known noise: refine only when the weighted residuals' RMS is at most this many sigmas.
NOISE_RMS_LIMIT = 3.0
#: Without: only when the residuals' RMS is at most this fraction of the data's RMS. A wrong
#: basin leaves ~10 % and more; discretization on the default grids a few 1e-4 at most.
RELATIVE_MISFIT_LIMIT = 0.03
#: With known noise: a finer grid that would move every (log-)parameter by less than this
#: fraction of its standard error is not used; the data cannot tell the two estimates apart.
NOISE_SHIFT_FRACTION = 0.1
#: Refinement beyond the equation's default grid stops when a doubling left the shift above this
#: fraction of its previous value. A resolved field converges spectrally, so such a shift means
#: the estimate drifts toward what no grid resolves (measured: Burgers, 64 points at 10 % noise,
#: nu -> 0 moved 0.29, 0.28, 0.22 on n = 2048, 4096, 8192), and each doubling costs 4x. On
#: coarser grids the shifts are pre-asymptotic (measured: 0.12 then 0.19 on n = 64, 128 for
#: Burgers nu = 0.006, settled by n = 256).
STALLED_SHIFT_RATIO = 0.9


def misfit_allows_refinement(problem, residual) -> bool:
    """True when the misfit at the estimate is near the noise level (sigma known) or small
    relative to the data (sigma unknown)."""
    if residual is None:
        return True
    data_part = np.asarray(residual)[: problem.parts * problem.observations.n_points]
    rms = float(np.sqrt(np.mean(data_part**2)))
    if problem.observations.sigma is not None:
        return rms <= NOISE_RMS_LIMIT
    scale = float(np.sqrt(np.mean(np.abs(problem.data) ** 2)))
    return scale == 0 or rms <= RELATIVE_MISFIT_LIMIT * scale


def standard_errors(problem, J):
    """The (log-)parameters' standard errors from the Gauss-Newton covariance ``(J^T J)^-1``
    when the noise is known (least squares on residuals in units of sigma), else None."""
    if problem.observations.sigma is None or problem.loss != "linear":
        return None
    return Covariance(J).std


def grid_shift_estimate(evaluator, z, r, J=None):
    """``(shift, fine residual, fine problem, J)``: the change of each (log-)parameter that the
    residuals on a grid twice as fine would cause (linearized with ``J``, measured here when not
    given), or ``(None, None, None, None)`` when it cannot be measured (a solve failed)."""
    ok = True
    if J is None:
        J, ok = forward_jacobian(evaluator, z, r)
    coarse = evaluator.problem
    fine = coarse.with_grid(2 * coarse.equation.n, coarse.equation.dt / 2)
    evaluator.use(fine)
    try:
        R_fine, finite = evaluator.residuals(z[None, :])
    finally:
        evaluator.use(coarse)
    if not (ok and finite[0]):
        return None, None, None, None
    shift, *_ = np.linalg.lstsq(J, -(R_fine[0] - r), rcond=None)
    return shift, R_fine[0], fine, J
