"""The global phase: find the basin of the global minimum before the local phase.

With 64 observations the misfit is multimodal (KdV has a dozen local minima between
lambda2/100 and lambda2) and a local method started 10x off lands in a wrong one.

- One unknown: one batched scan of the misfit finds the right basin for ~10 solves.
- Several unknowns: a scan of the plane or volume is not enough (NLS a, b from 64 complex
  values: the scan's best point led to the truth from 1 start in 6). The misfit is multimodal
  because a wrong parameter shifts the solution's phase by an amount that grows with time, so
  the basin around the truth is widest for the earliest observations. The fit therefore
  continues in time: a scan and a short local fit on the observations of the first eighth of
  the time span, then a quarter, a half, and the full data (``time_windows``), each starting
  from the previous estimate (measured in benchmarks/multiparam.py). Where the misfit jumps
  when a window grows (a chaotic flow amplifies what the shorter window left undetermined:
  Kuramoto-Sivashinsky's gamma on t <= 25), the step in time is halved first
  (``Engine.continue_in_time``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["global_search", "scan_points", "search_box", "searched_unknowns", "time_windows"]


def scan_points(dim: int) -> int:
    """Points of the default scan: 9 for one unknown, else the power of two >= 8 d (a scrambled
    Sobol sequence keeps its balance only in powers of two)."""
    return 9 if dim == 1 else 2 ** int(np.ceil(np.log2(8 * dim)))


def search_box(problem, z0: np.ndarray, factor: float):
    """The box scanned: init x/÷ ``factor`` for log-scaled unknowns, a comparable width in
    linear units for the others, clipped by the bounds when they are given."""
    lo, hi = problem.z_bounds()
    half = np.where(problem.log_scaled, np.log(factor), np.maximum(np.abs(z0), 1.0) * np.log(factor) / 2)
    box_lo = np.where(np.isfinite(lo), lo, z0 - half)
    box_hi = np.where(np.isfinite(hi), hi, z0 + half)
    return box_lo, box_hi


def searched_unknowns(problem) -> np.ndarray:
    """The unknowns the global phase scans: the equation's scalars (a field's coefficients start
    where they are: from a measured snapshot's projection, or the caller's guess; a nuisance of
    the sensors, in which the data are linear, at its start)."""
    from ..problems.inverse import NUISANCES

    field = set(np.asarray(getattr(problem, "field_index", []), dtype=int).tolist()) if problem.field is not None else set()
    return np.array([i for i, name in enumerate(problem.unknowns) if i not in field and name not in NUISANCES],
                    dtype=int)


def global_search(evaluator, z0, rng, record, points: int | None, factor: float, active=None):
    """Evaluate the misfit at ``points`` spread over the search box in one batched call.

    One unknown: 9 log-spaced values over init x/÷ factor (spacing x2.3; the KdV basin of
    the example data spans x0.5 to x5.9 around the truth, so two points always fall inside).
    Several: scrambled Sobol points, 8 d rounded up to a power of two. The initial guess is always evaluated too.
    ``active``: the indices of the unknowns scanned (default all; the others stay at ``z0``).
    Returns ``(z, residual, loss)`` of the best point.
    """
    active = np.arange(evaluator.dim) if active is None else np.asarray(active, dtype=int)
    d = active.size
    lo, hi = (bound[active] for bound in search_box(evaluator, z0, factor))
    if points is None:
        points = scan_points(d)
    if d == 1:
        Z = np.linspace(lo, hi, points)
    else:
        from scipy.stats import qmc

        sampler = qmc.Sobol(d, scramble=True, seed=int(rng.integers(2**31)))
        Z = qmc.scale(sampler.random(points), lo, hi) if points & (points - 1) else \
            qmc.scale(sampler.random_base2(int(np.log2(points))), lo, hi)
    full = np.repeat(z0[None, :], Z.shape[0], axis=0)
    full[:, active] = Z.reshape(Z.shape[0], d)
    Z = np.concatenate([z0[None, :], full])
    R, finite = evaluator.residuals(Z)
    losses = evaluator.loss_of_residuals(R)
    losses[~finite] = np.inf
    for z, loss, r in zip(Z, losses, R):
        record("search", z, loss, r)
    best = int(np.argmin(losses))
    return Z[best], R[best], losses[best]


def time_windows(problem, count: int) -> list[float]:
    """The ends ``t_max`` of the ``count`` observation windows a fit with several unknowns solves
    before the full data: ``t0 + (t1 - t0) / 2**k`` for k = count ... 1 (an eighth, a quarter,
    a half of the span from the initial time t0 to the last observation t1 for count 3).

    A window holds at least ``max(4 d, 8)`` observations (its end moves later when needed);
    windows that hold the same observations as a later one, or all of them, are dropped, so
    data observed at one or two times get none.
    """
    obs = problem.observations
    t = np.sort(np.asarray(obs.t, dtype=float))
    t0 = float(obs.t_span[0]) if obs.t_span is not None else float(problem.equation.t_span[0])
    t1 = float(t[-1])
    least = min(max(4 * problem.dim, 8), t.size)
    ends: list[float] = []
    for k in range(count, 0, -1):
        end = max(t0 + (t1 - t0) / 2**k, t[least - 1])
        inside = int(np.searchsorted(t, end, side="right"))
        if inside >= t.size:
            break
        if ends and inside == int(np.searchsorted(t, ends[-1], side="right")):
            ends[-1] = end
            continue
        ends.append(float(end))
    return ends
