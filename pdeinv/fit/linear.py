"""The linear model of the residuals near a point, in one place: the forward-difference
Jacobian, the damped Gauss-Newton step and the Gauss-Newton covariance with its one cut-off
rule. Every step rule, the grid check, the intervals and the regularization rules use these.
"""

from __future__ import annotations

import numpy as np

__all__ = ["UNDETERMINED", "FD_EPS", "Covariance", "damped_step", "forward_jacobian"]

#: Forward-difference step on the (log-)parameters: truncation O(eps) against round-off
#: O(1e-14 / eps) of float64 solves.
FD_EPS = 1e-6

#: Singular value (column-scaled Jacobian, relative to the largest) below which a direction is
#: not determined by the data: left out of the covariance and reported. Forward-difference
#: columns are good to ~1e-7.
UNDETERMINED = 1e-6


def forward_jacobian(evaluator, z, r, eps: float = FD_EPS, columns=None):
    """``(J, ok)``: the forward-difference Jacobian of the residuals at ``z`` (residual ``r``
    there), one batched solve per column; ``columns`` (default: all) the coordinates to perturb,
    J then has only those. ``ok`` is False when a perturbed solve failed."""
    z = np.asarray(z, float)
    columns = np.arange(z.size) if columns is None else np.asarray(columns, int)
    shifted = np.repeat(z[None, :], columns.size, axis=0)
    shifted[np.arange(columns.size), columns] += eps
    R, finite = evaluator.residuals(shifted)
    return ((R - r) / eps).T, bool(np.all(finite))


def damped_step(H, g, lam: float, scale=None):
    """The Levenberg-Marquardt step: the solution of ``(H + lam diag(scale)) dz = -g`` with
    ``scale`` the diagonal of H (its non-positive entries raised to its largest, at least 1),
    or None when the system is singular or the step not finite."""
    if scale is None:
        scale = np.diag(H).copy()
        scale[scale <= 0] = max(float(np.max(scale)), 1.0)
    try:
        dz = np.linalg.solve(H + lam * np.diag(scale), -g)
    except np.linalg.LinAlgError:
        return None
    return dz if np.all(np.isfinite(dz)) else None


class Covariance:
    """The one Gauss-Newton covariance ``s2 (J^T J)^+`` of the unknowns every part of pdeinv uses, from the SVD of the
    column-scaled Jacobian (never from J^T J, which squares its condition number). Directions
    whose scaled singular value is at most ``UNDETERMINED`` of the largest are left out.

    Attributes: ``matrix`` (d x d), ``std`` (its diagonal's square root), ``weak`` (a mask over
    the singular directions), ``directions`` (the rows of V^T, scaled coordinates),
    ``singular_values`` (relative to the largest) and ``undetermined_axis`` (unknowns with a
    large share in a weak direction)."""

    def __init__(self, J, s2: float = 1.0, cutoff: float = UNDETERMINED):
        J = np.asarray(J, float)
        norms = np.linalg.norm(J, axis=0)
        norms[norms == 0] = 1.0
        _, sv, Vt = np.linalg.svd(J / norms, full_matrices=False)
        self.singular_values = sv / sv[0] if sv.size and sv[0] > 0 else sv
        self.weak = sv <= cutoff * (sv[0] if sv.size else 0.0)
        self.directions = Vt
        inv = np.where(self.weak, 0.0, 1.0 / np.where(self.weak, 1.0, sv) ** 2)
        self.matrix = s2 * (Vt.T * inv) @ Vt / np.outer(norms, norms)
        self.std = np.sqrt(np.maximum(np.diag(self.matrix), 0.0))
        self.undetermined_axis = (np.abs(Vt[self.weak]).max(axis=0) > 0.2 if self.weak.any()
                                  else np.zeros(J.shape[1], bool))
