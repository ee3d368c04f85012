"""(FG)^2U-ZO: derivatives along random directions by finite differences of a black box."""

from __future__ import annotations

import numpy as np

from .base import Estimate, check_directions, check_scheme, random_directions

# Step in the transformed (log) space. The forward map is smooth and deterministic to ~1e-14
# relative, so forward differences balance truncation O(eps) against round-off O(1e-14 / eps)
# near eps ~ 1e-7, and central differences (O(eps^2) vs O(1e-14 / eps)) near 2e-5; a slightly
# larger step keeps a margin for black boxes less precise than the spectral solver
# (tests/test_fit.py checks the second-order bias of central differences against exact AD).
DEFAULT_EPS = {"forward": 1e-6, "central": 1e-4}


def _evaluate(problem, z, V, eps, scheme, base):
    """Residuals at z (unless given) and at z +- eps v_k, in one batched call."""
    points = [z + eps * V.T]
    if scheme == "central":
        points.append(z - eps * V.T)
    need_base = base is None
    if need_base:
        points.insert(0, z[None, :])
    Z = np.concatenate(points)
    R, finite = problem.residuals(Z)
    if need_base:
        base, base_ok = R[0], finite[0]
        R, finite = R[1:], finite[1:]
        if not base_ok:
            base = np.full_like(base, np.nan)
    k = V.shape[1]
    plus, plus_ok = R[:k], finite[:k]
    if scheme == "central":
        minus, minus_ok = R[k:], finite[k:]
        columns = (plus - minus) / (2 * eps)
        ok = plus_ok & minus_ok
    else:
        columns = (plus - base) / eps
        ok = plus_ok & bool(np.all(np.isfinite(base)))
    return base, columns.T, ok, Z.shape[0]


class ZOGradient:
    """(FG)^2U-ZO gradient of the loss ``mean(r^2)`` from ``k`` random directions.

    ``g = mean_k ((f(z + eps v_k) - f(z)) / eps) v_k`` (forward) or the central version; an
    unbiased estimate of the gradient of the Gaussian-smoothed loss for ``E[v v^T] = I``.
    All ``k`` (or ``2k``) perturbed solves go to the forward map in one batch.
    """

    name = "zo"
    provides = ("gradient",)

    def __init__(self, directions: int = 4, distribution: str = "gaussian", scheme: str = "central", eps: float | None = None):
        self.k = check_directions(directions)
        self.distribution = distribution
        self.scheme = scheme
        self.eps = DEFAULT_EPS[scheme] if eps is None and scheme in DEFAULT_EPS else eps
        check_scheme(scheme, self.eps)
        random_directions(np.random.default_rng(0), 1, 1, distribution)  # validates the name

    def __call__(self, problem, z, base, rng) -> Estimate:
        V = random_directions(rng, z.size, self.k, self.distribution)
        base, columns, ok, nfev = _evaluate(problem, z, V, self.eps, self.scheme, base)
        loss = float(np.mean(base**2))
        # directional derivative of mean(r^2) along v: 2 mean(r * J v)
        derivs = 2.0 * np.mean(base[:, None] * columns, axis=0)
        if not ok.any():
            return Estimate(loss, base, grad=None, nfev=nfev)
        grad = (V[:, ok] * derivs[ok]).mean(axis=1)
        return Estimate(loss, base, grad=grad, nfev=nfev)


class ZOSketch:
    """Random-direction differences of the residual vector: ``J V`` for a Gauss-Newton step.

    With ``k >= d`` the directions are the coordinate axes (a finite-difference Jacobian);
    with ``k < d`` they are ``k`` orthonormal random directions (a sketch of J).

    ``distribution="ordered"`` replaces the random directions by coordinate axes taken in the
    order of the problem's prior scales (a field's lowest wavenumbers first), ``k`` at a time,
    never one already measured. Where the data see only a few directions (a diffusive flow
    erases the high modes of u0; D(x) matters only where u varies), the columns that matter
    come first and the fit's exploration stops once new columns are negligible.
    """

    name = "zo-gn"
    provides = ("jacobian", "gradient")
    explores = True  # takes avoid=: new directions away from those already measured

    def __init__(self, directions: int | None = None, distribution: str = "gaussian", scheme: str = "forward", eps: float | None = None):
        self.k = None if directions is None else check_directions(directions)
        self.distribution = distribution
        self.scheme = scheme
        self.eps = DEFAULT_EPS[scheme] if eps is None and scheme in DEFAULT_EPS else eps
        check_scheme(scheme, self.eps)
        if distribution != "ordered":
            random_directions(np.random.default_rng(0), 1, 1, distribution)  # validates the name

    def directions_for(self, d: int) -> int:
        return min(d, 8) if self.k is None else self.k

    def __call__(self, problem, z, base, rng, avoid: np.ndarray | None = None) -> Estimate:
        """``avoid``: an orthonormal basis (d, q) of directions already measured; new directions
        are drawn in its orthogonal complement. Random directions follow the problem's prior
        scales (a field's low wavenumbers first), when it has them."""
        d = z.size
        k = self.directions_for(d)
        known = 0 if avoid is None else avoid.shape[1]
        if known == 0 and k >= d:
            V = np.eye(d)
        elif self.distribution == "ordered":
            scales = problem.direction_scales() if hasattr(problem, "direction_scales") else np.ones(d)
            order = np.argsort(-scales, kind="stable")
            if known:  # axes already in span(avoid) have unit norm there, the others ~0
                order = order[np.linalg.norm(avoid[order], axis=1) < 0.5]
            V = np.eye(d)[:, order[:k]]
        else:
            k = min(k, d - known)
            G = random_directions(rng, d, k, self.distribution)
            if hasattr(problem, "direction_scales"):
                G = G * problem.direction_scales()[:, None]
            if known:
                G = G - avoid @ (avoid.T @ G)
                G = G - avoid @ (avoid.T @ G)  # twice: keeps orthogonality to round-off
            V, _ = np.linalg.qr(G)
        return self.along(problem, z, base, V)

    def along(self, problem, z, base, V: np.ndarray) -> Estimate:
        """``J V`` along given directions (the columns of ``V``): a step rule re-measures the
        Jacobian where it already has columns, at a new point, before it trusts it."""
        base, columns, ok, nfev = _evaluate(problem, z, V, self.eps, self.scheme, base)
        loss = float(np.mean(base**2))
        return Estimate(loss, base, jac=columns[:, ok], directions=V[:, ok], nfev=nfev)
