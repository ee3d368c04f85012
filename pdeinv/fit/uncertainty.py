"""How sure is the answer: intervals, correlations and what the data do not determine.

At the estimate z (log p for positive parameters), with weighted residuals r (P entries) and
their Jacobian J = dr/dz measured by forward differences (d solves, one batch):

- **sigma**: the residuals are divided by the per-point sigma when the file gives it (then
  s = 1); otherwise s^2 = |r|^2 / (P - d) is estimated from the fit's own residuals and the
  quantiles are Student's t with P - d degrees of freedom instead of normal.
- **laplace**: cov(z) = s^2 (J^T J)^-1, formed from the SVD of the column-scaled J (never
  J^T J itself); the interval z_i +- q sd_i, mapped back through exp for positive
  parameters (so it is asymmetric in p and never crosses 0).
- **profile**: for each scalar unknown the misfit is followed away from the estimate, the other
  unknowns re-fitted at each step (a few Gauss-Newton iterations, warm-started), until
  Delta(p_i) = (|r(p_i)|^2 - |r|^2) / s^2 exceeds the chi-square (sigma known) or F (sigma
  estimated) threshold of the level; the interval's ends are where Delta crosses it (linear in
  sqrt(Delta), which is linear in p near the estimate). A profile does not assume the misfit
  is quadratic, so it is the one to trust when the two disagree.
- **identifiability**: the singular values of the column-scaled J; a direction whose singular
  value is below ``UNDETERMINED`` of the largest is named in words ("only a*b is determined"),
  and an interval wider than a factor 10 is called out.
"""

from __future__ import annotations

import numpy as np

from .linear import UNDETERMINED, Covariance, damped_step, forward_jacobian

__all__ = ["INTERVAL_METHODS", "UNDETERMINED", "assess"]

INTERVAL_METHODS = ("laplace", "profile", "none")


def _quantiles(level, dof, known_sigma):
    # scipy.special holds the same inverse distribution functions scipy.stats calls, without
    # importing scipy.stats (1-2 s, more than the rest of a small fit)
    from scipy import special

    if known_sigma:
        return float(special.ndtri(0.5 + level / 2)), float(special.chdtri(1, 1 - level))
    return float(special.stdtrit(dof, 0.5 + level / 2)), float(special.fdtri(1, dof, level))


def sigma_used(observations, s2: float, dof: int) -> dict:
    """How the noise level was set: ``source`` "file" (the observations' sigma: ``value`` when
    one number, else ``per_point`` with its min / median / max) or "residuals" (``value`` =
    sqrt(s2), estimated with ``dof`` degrees of freedom)."""
    if observations.sigma is None:
        return {"source": "residuals", "value": float(np.sqrt(s2)), "dof": int(dof)}
    sigma = np.abs(np.asarray(observations.sigma, dtype=float)).ravel()
    out = {"source": "file", "value": None, "dof": int(dof)}
    if sigma.size and np.all(sigma == sigma[0]):
        out["value"] = float(sigma[0])
    elif sigma.size:
        out["per_point"] = {"min": float(sigma.min()), "median": float(np.median(sigma)), "max": float(sigma.max())}
    return out


def _to_p(evaluator, i, zi):
    return float(np.exp(zi)) if evaluator.log_scaled[i] else float(zi)


def _describe_direction(names, log_scaled, v) -> str:
    """A null direction of the scaled Jacobian in words."""
    big = np.argsort(-np.abs(v))
    # in the unknowns' order: the words must not depend on which of two near-equal components
    # rounding made the larger
    main = sorted(int(i) for i in big if abs(v[i]) >= 0.2 * abs(v[big[0]]))
    if len(main) == 1:
        return f"{names[main[0]]} is not determined by the data"
    if len(main) == 2 and all(log_scaled[i] for i in main):
        a, b = main
        ratio = v[a] / v[b]
        if abs(abs(ratio) - 1) < 0.25:
            kept = f"{names[a]}*{names[b]}" if ratio < 0 else f"{names[a]}/{names[b]}"
            return f"only {kept} is determined: {names[a]} and {names[b]} are not determined separately"
    terms = " ".join(f"{'+' if v[i] >= 0 else '-'} {abs(v[i]):.2f} {('log ' if log_scaled[i] else '') + names[i]}"
                     for i in main)
    return f"the combination {terms.lstrip('+ ')} is not determined by the data"


def _refit_others(evaluator, z, fixed, r, iterations=4):
    """Re-fit every unknown but ``fixed`` from ``z`` (damped Gauss-Newton, forward-difference
    Jacobian): returns (z, r, rss, ok)."""
    free = np.array([i for i in range(z.size) if i != fixed])
    rss = float(r @ r)
    if free.size == 0:
        return z, r, rss, True
    lo, hi = evaluator.z_bounds()
    lam = 1e-3
    for _ in range(iterations):
        J, finite = forward_jacobian(evaluator, z, r, columns=free)
        if not finite:
            return z, r, rss, False
        g, H = J.T @ r, J.T @ J
        improved = False
        for _attempt in range(3):
            dz = damped_step(H, g, lam, scale=np.maximum(np.diag(H), 1e-300))
            if dz is None:
                break
            trial = z.copy()
            trial[free] = np.clip(z[free] + dz, lo[free], hi[free])
            Rt, ok = evaluator.residuals(trial[None, :])
            if ok[0] and float(Rt[0] @ Rt[0]) < rss:
                z, r, rss = trial, Rt[0], float(Rt[0] @ Rt[0])
                lam = max(lam / 10, 1e-12)
                improved = True
                break
            lam *= 10
        if not improved or np.max(np.abs(dz)) < 1e-8:
            break
    return z, r, rss, True


def _profile(evaluator, z, r, i, scale, s2, threshold, max_points=10):
    """Follow the profile of unknown i on both sides; returns (points, interval ends in z)."""
    d = z.size
    rss0 = float(r @ r)
    lo_b, hi_b = evaluator.z_bounds()
    points = [(float(z[i]), 0.0)]
    ends = []
    for side in (-1.0, 1.0):
        zc, rc = z.copy(), r.copy()
        previous = (float(z[i]), 0.0)
        end = None
        step = 0.5 * scale
        for _ in range(max_points):
            target = float(np.clip(previous[0] + side * step, lo_b[i], hi_b[i]))
            if target == previous[0]:
                break  # a bound: the interval ends there
            trial = zc.copy()
            trial[i] = target
            R, ok = evaluator.residuals(trial[None, :])
            if not ok[0]:
                break
            zc, rc, rss, ok = _refit_others(evaluator, trial, i, R[0]) if d > 1 else (trial, R[0], float(R[0] @ R[0]), True)
            if not ok:
                break
            delta = max((rss - rss0) / s2, 0.0)
            points.append((target, delta))
            if delta >= threshold:
                a, b = np.sqrt(previous[1]), np.sqrt(delta)
                end = previous[0] + (target - previous[0]) * (np.sqrt(threshold) - a) / (b - a)
                break
            if delta < 0.25 * threshold:
                step *= 2  # flatter than the Laplace scale said: stride out
            previous = (target, delta)
        ends.append(end)
    points.sort()
    return points, ends


def assess(evaluator, z, r, *, method: str = "laplace", level: float = 0.95) -> dict:
    """Intervals, correlations and identifiability at the estimate ``z`` (residual ``r``).

    Returns a JSON-able dict: ``method``, ``level``, ``sigma`` (source "file" or "residuals",
    value, degrees of freedom), ``intervals`` {name: [low, high]} by ``method`` (None for a
    side the data do not bound), ``laplace``
    {name: [low, high]}, ``std_z`` (standard deviation of each transformed unknown),
    ``correlation`` {name: {name: rho}}, ``singular_values`` (scaled Jacobian, relative to the
    largest), ``undetermined`` (sentences), ``profiles`` {name: {"values", "delta"}} and
    ``nfev``, the solver calls spent here.
    """
    if method not in INTERVAL_METHODS or method == "none":
        raise ValueError(f"interval method must be one of {INTERVAL_METHODS[:2]}, got {method!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    z = np.asarray(z, dtype=float)
    r = np.asarray(r, dtype=float)
    names = list(evaluator.unknowns)
    d = z.size
    start = evaluator.nfev
    P = r.size
    known_sigma = evaluator.observations.sigma is not None
    dof = max(P - d, 1)
    s2 = 1.0 if known_sigma else float(r @ r) / dof
    out = {"method": method, "level": level, "sigma": sigma_used(evaluator.observations, s2, dof),
           "intervals": {}, "laplace": {}, "std_z": {}, "correlation": {}, "singular_values": [],
           "undetermined": [], "profiles": {}, "nfev": 0}
    data_rms = float(np.sqrt(np.mean(np.abs(evaluator.data * evaluator.weights) ** 2))) if P else 0.0
    if not known_sigma and np.sqrt(s2) < 1e-6 * data_rms:
        out["undetermined"].append(
            "the residuals are at the solver's discretization level (noise-free data?): the intervals measure "
            "that error, not noise, and may not cover the truth")
    if s2 == 0.0:
        s2 = np.finfo(float).tiny  # an exact fit: intervals of zero width, said as such
    J, ok = forward_jacobian(evaluator, z, r)
    if not ok or not np.all(np.isfinite(J)):
        out["undetermined"].append("the Jacobian could not be measured at the estimate (a perturbed solve failed)")
        out["nfev"] = int(evaluator.nfev - start)
        return out
    q, threshold = _quantiles(level, dof, known_sigma)
    cov = Covariance(J, s2)
    out["singular_values"] = cov.singular_values.tolist()
    for k in np.nonzero(cov.weak)[0]:
        out["undetermined"].append(_describe_direction(names, evaluator.log_scaled, cov.directions[k]))
    C, sd, undetermined_axis = cov.matrix, cov.std, cov.undetermined_axis
    for i, name in enumerate(names):
        if undetermined_axis[i]:
            out["laplace"][name] = [None, None]
            out["std_z"][name] = None
            continue
        out["std_z"][name] = float(sd[i])
        out["laplace"][name] = [_to_p(evaluator, i, z[i] - q * sd[i]), _to_p(evaluator, i, z[i] + q * sd[i])]
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = C / np.outer(sd, sd)
    for i, a in enumerate(names):
        out["correlation"][a] = {b: (float(np.clip(rho[i, j], -1, 1)) if np.isfinite(rho[i, j]) else None)
                                 for j, b in enumerate(names)}
        out["correlation"][a][a] = 1.0
    out["intervals"] = dict(out["laplace"])
    if method == "profile":
        for i, name in enumerate(names):
            scale = sd[i] if np.isfinite(sd[i]) and sd[i] > 0 and not undetermined_axis[i] else 1.0
            points, ends = _profile(evaluator, z, r, i, scale, s2, threshold)
            out["profiles"][name] = {"values": [_to_p(evaluator, i, p) for p, _ in points],
                                     "delta": [float(dl) for _, dl in points], "threshold": threshold}
            out["intervals"][name] = [None if e is None else _to_p(evaluator, i, e) for e in ends]
            if ends[0] is None or ends[1] is None:
                open_side = " and ".join(s for s, e in zip(("below", "above"), ends) if e is None)
                out["undetermined"].append(f"the profile of {name} stays under the {level:.0%} threshold "
                                           f"{open_side} the estimate: the data bound it on one side at most")
    for i, name in enumerate(names):
        lo, hi = out["intervals"][name]
        if evaluator.log_scaled[i] and lo is not None and hi is not None and lo > 0 and hi / lo > 10 \
                and not undetermined_axis[i]:
            out["undetermined"].append(f"{name} is poorly determined: its {level:.0%} interval spans a factor "
                                       f"{hi / lo:.0f}")
    out["nfev"] = int(evaluator.nfev - start)
    return out


#: A fitted field counts as undetermined where its 95 % band is wider than this: a factor
#: e^0.5 ~ 1.65 either way for a positive field (log D), half the field's RMS for u0.
FIELD_BAND = 0.5


def _ranges(x, mask, step):
    """Maximal runs of ``mask`` as "[a, b]" texts (x uniform with spacing ``step``)."""
    out, start = [], None
    for i, flag in enumerate(list(mask) + [False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            out.append(f"[{x[start]:.3g}, {x[i - 1] + step:.3g}]")
            start = None
    return out


def assess_field(evaluator, z, r, *, method: str = "laplace", level: float = 0.95, points: int = 256) -> dict:
    """A pointwise band for a fitted field and the places the data do not determine it.

    The Gauss-Newton covariance of all unknowns comes from a forward-difference Jacobian of the
    whole residual vector at ``z`` (d solves; the smoothness rows included, so it is the
    posterior of the regularized problem), mapped to the field's samples on ``points`` points
    (u0 itself, or log P for a positive field P(x)). The scalar unknowns' intervals are of the
    joint covariance, so they include what the field's uncertainty costs them; with ``method``
    "profile" each scalar's misfit is followed instead, the field re-fitted with the other
    unknowns at every step. Returns a JSON-able dict: ``method``, ``level``, ``sigma``, ``x``,
    ``band`` ([low, high] samples of the field), ``intervals`` for the scalar unknowns,
    ``profiles``, ``undetermined`` (sentences) and ``nfev``.
    """
    if method not in INTERVAL_METHODS or method == "none":
        raise ValueError(f"interval method must be one of {INTERVAL_METHODS[:2]}, got {method!r}")
    problem = evaluator.problem
    z, r = np.asarray(z, float), np.asarray(r, float)
    start = evaluator.nfev
    P = problem.parts * problem.observations.n_points
    known_sigma = problem.observations.sigma is not None
    dof = max(P - problem.dim, 1)
    s2 = 1.0 if known_sigma else float(r[:P] @ r[:P]) / dof
    out = {"method": method, "level": level, "sigma": sigma_used(problem.observations, s2, dof),
           "x": [], "band": [], "intervals": {}, "laplace": {}, "profiles": {}, "undetermined": [], "nfev": 0}
    J, ok = forward_jacobian(evaluator, z, r)
    out["nfev"] = int(evaluator.nfev - start)
    if not ok:
        out["undetermined"].append("the Jacobian could not be measured at the estimate (a perturbed solve failed)")
        return out
    C = Covariance(J, s2).matrix
    q, threshold = _quantiles(level, dof, known_sigma)
    field = problem.field
    basis = np.stack([field.samples(e, points) for e in np.eye(field.modes)], axis=1)  # samples per coefficient
    idx = problem.field_index
    values = basis @ z[idx]
    sd = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", basis, C[np.ix_(idx, idx)], basis), 0.0))
    low, high = values - q * sd, values + q * sd
    if problem.field_log:
        low, high, values = np.exp(low), np.exp(high), np.exp(values)
        width = q * sd
        limit = FIELD_BAND
    else:
        width = q * sd
        limit = FIELD_BAND * float(np.sqrt(np.mean(values**2)) or 1.0)
    a, b = problem.observations.domain
    x = problem.equation_class.basis_type.nodes((a, b), points)
    out["x"], out["band"] = x.tolist(), [low.tolist(), high.tolist()]
    loose = width > limit
    name = problem.field_name
    if loose.all():
        out["undetermined"].append(f"{name} is not determined anywhere: its {level:.0%} band is wider than "
                                   f"{'a factor 1.65' if problem.field_log else 'half its RMS'} everywhere")
    elif loose.any():
        out["undetermined"].append(f"{name} is not determined on x in {', '.join(_ranges(x, loose, (b - a) / points))} "
                                   f"(its {level:.0%} band is wider than "
                                   f"{'a factor 1.65' if problem.field_log else 'half its RMS'} there)")
    scalars = [i for i in range(problem.dim) if i not in set(idx.tolist())]
    for i in scalars:
        name = problem.unknowns[i]
        sdi = np.sqrt(max(C[i, i], 0.0))
        out["laplace"][name] = [_to_p(problem, i, z[i] - q * sdi), _to_p(problem, i, z[i] + q * sdi)]
        out["intervals"][name] = list(out["laplace"][name])
        if method == "profile":
            profile, ends = _profile(evaluator, z, r, i, sdi if np.isfinite(sdi) and sdi > 0 else 1.0, s2, threshold)
            out["profiles"][name] = {"values": [_to_p(evaluator, i, p) for p, _ in profile],
                                     "delta": [float(dl) for _, dl in profile], "threshold": threshold}
            out["intervals"][name] = [None if e is None else _to_p(evaluator, i, e) for e in ends]
            if None in ends:
                out["undetermined"].append(f"the profile of {name} stays under the {level:.0%} threshold on one "
                                           "side at least: the data bound it on one side at most")
    out["nfev"] = int(evaluator.nfev - start)
    return out
