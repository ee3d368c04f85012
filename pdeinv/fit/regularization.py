"""Choosing the smoothness weight of a field from the data (``regularization="auto"``).

A field fitted from scattered points needs a penalty ``w |D c|^2`` on its Fourier coefficients
(D = k^q for q = the problem's ``penalty_order``, or e^(a m / 2) for the exponential penalty; modes
above what the points resolve would otherwise fit the noise), and the right w depends on the
noise and the design. Around an estimate c0 with data residual r0 and data Jacobian J
(P data rows, measured by forward differences), the Gauss-Newton model gives, for every w
without a solve,

    c(w) = c0 + (J^T J + w D^2)^-1 (-J^T r0 - w D^2 c0),   D = diag(D_j) (0 for scalars),
    misfit m(w) = |r0 + J (c(w) - c0)|^2,   influence T(w) = tr(J (J^T J + w D^2)^-1 J^T).

- **discrepancy** (the noise level is known: sigma in the file): the largest w with
  m(w) <= P, i.e. the smoothest field that fits the data to the noise (Morozov).
- **gcv** (unknown noise): w minimizing P m(w) / (P - T(w))^2 (generalized cross-validation).
- **risk** (either; ``auto``): w minimizing the expected squared field error of c(w) when the
  truth is the estimate itself: |S M^-1 w D^2 c|^2 + s^2 |S M^-1 J^T|_F^2 with M = J^T J + w D^2
  (bias and noise of the Gauss-Newton model; S the field's values per unknown, s = 1 with sigma
  known, else the residual's estimate), started at the evidence's weight and repeated with the
  new estimate until the choice stays. The evidence fits a prior's spectrum to the field; where
  the field is not like the prior (e.g. band-limited under a power law) it over- or under-smooths,
  and the risk rule corrects the weight towards the least error.
- **evidence** (either): w maximizing the marginal likelihood of the data when the penalty is
  read as a Gaussian prior on the coefficients, c ~ N(0, (w D^2)^-1), flat on the unpenalized
  ones: w minimizing  Q(w) + log det(J^T J + w D^2) - sum log(w D^2)  with
  Q(w) = m(w) + w |D c(w)|^2 (sigma known), or  (P - p0) log Q(w) + the same determinants
  (sigma estimated: profiled out; p0 unpenalized unknowns).

``auto`` is risk (numbers: benchmarks/results/regularization.md). The weight is chosen at the
starting point, the field fitted with it, the choice made again at that estimate, and the field
refitted when the weight (or, with ``penalty_order="auto"``, the order) changed by more than a
factor 2 (at most ``rounds`` times).

With ``penalty_order="auto"`` the evidence picks the form (an order q in 1...4 or an
exponential rate a in 0.25...4, ``w sum e^(a m) c_m^2``; its criterion is -2 log p(data) up to a
constant that depends on neither the form nor w), then the rule (risk or evidence) the weight of
that form. ``penalty_order="exponential"`` lets it choose the rate alone.
"""

from __future__ import annotations

import numpy as np

from ..problems.inverse import CHOSEN_FORMS, DEFAULT_ORDER, penalty_candidates, penalty_spectrum
from ..result import describe_penalty, penalty_settings
from .linear import forward_jacobian

__all__ = ["RULES", "choose_penalty", "choose_weight", "field_metric", "fit_with_chosen_weight"]

RULES = ("auto", "discrepancy", "gcv", "evidence", "risk")

#: The weights tried, relative to trace(J^T J) / trace(D^2) (where the penalty and the data
#: weigh the same): 10^-10 ... 10^4, 8 per decade.
GRID = 10.0 ** np.linspace(-10, 4, 113)


def choose_weight(J, r, D, rule: str, z=None, sigma_known: bool = True, metric=None) -> tuple[float, dict]:
    """The weight by ``rule`` ("discrepancy", "gcv", "evidence" or "risk") from the linear model
    at ``z`` (residual rows in units of sigma when ``sigma_known``), and the curve over the grid
    of weights (``curve["chosen"]``: the index of the weight chosen). ``metric(c)``, for "risk":
    the rows S whose |S dc| is the field error of a change dc of the unknowns at c (default: the
    coefficients themselves)."""
    J, r = np.asarray(J, float), np.asarray(r, float)
    P = r.size
    z = np.zeros(J.shape[1]) if z is None else np.asarray(z, float)
    D2 = np.asarray(D, float) ** 2
    scale = np.trace(J.T @ J) / max(float(np.sum(D2)), 1e-300)
    weights = GRID * scale
    H, g = J.T @ J, J.T @ r
    penalized = D2 > 0
    free = int(np.sum(~penalized))
    misfits, traces, evidence, coefficients = [], [], [], []
    for w in weights:
        A = H + w * np.diag(D2)
        try:
            step = np.linalg.solve(A, -g - w * D2 * z)
            influence = np.trace(J @ np.linalg.solve(A, J.T))
        except np.linalg.LinAlgError:
            misfits.append(np.inf)
            traces.append(np.nan)
            evidence.append(np.inf)
            coefficients.append(None)
            continue
        coefficients.append(z + step)
        misfit = float(np.sum((r + J @ step) ** 2))
        misfits.append(misfit)
        traces.append(float(influence))
        sign, logdet = np.linalg.slogdet(A)
        Q = misfit + w * float(np.sum(D2 * (z + step) ** 2))
        logdet -= float(np.sum(np.log(w * D2[penalized])))
        fit_term = Q if sigma_known else (P - free) * np.log(Q)
        evidence.append(fit_term + logdet if sign > 0 else np.inf)
    misfits, traces = np.array(misfits), np.array(traces)
    if rule in ("evidence", "risk"):
        criterion = np.array(evidence)
        best = int(np.argmin(criterion))
        if rule == "risk":
            best, criterion = _least_risk(J, D2, weights, coefficients, best, misfits, traces, sigma_known, metric)
    elif rule == "discrepancy":
        ok = np.nonzero(misfits <= P)[0]
        # Even the best fit stays above the noise: take the smallest weight (fit as well as possible).
        best = int(ok[-1]) if ok.size else 0
        criterion = misfits
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            criterion = P * misfits / (P - traces) ** 2
        criterion[~np.isfinite(criterion)] = np.inf
        best = int(np.argmin(criterion))
    return float(weights[best]), {"weights": weights.tolist(), "misfit": misfits.tolist(),
                                  "criterion": criterion.tolist(), "influence": traces.tolist(), "chosen": best}


def _least_risk(J, D2, weights, coefficients, start, misfits, traces, sigma_known, metric, rounds: int = 20):
    """The "risk" rule: the weight whose expected field error is least when the truth is the
    current estimate c_i, starting from the evidence's weight and repeated at each new choice
    until it stays (a fixed point). At weight w, with M = J^T J + w D^2, the Gauss-Newton
    model's estimate has bias -M^-1 w D^2 c and covariance s^2 M^-1 J^T J M^-1, so the expected
    squared field error is |S M^-1 w D^2 c_i|^2 + s^2 |S M^-1 J^T|_F^2 (S = metric(c_i); s = 1
    in units of a known sigma, else the residual's estimate m / (P - T) at c_i).
    Returns (index chosen, the risk over the weights at the last estimate)."""
    H = J.T @ J
    inverses = []
    for w in weights:
        try:
            inverses.append(np.linalg.inv(H + w * np.diag(D2)))
        except np.linalg.LinAlgError:
            inverses.append(None)
    P = J.shape[0]
    chosen, seen = start, {start}
    for _ in range(rounds):
        c = coefficients[chosen]
        S = np.eye(J.shape[1]) if metric is None else np.asarray(metric(c), float)
        noise = 1.0 if sigma_known else misfits[chosen] / max(P - traces[chosen], 1.0)
        risk = np.full(weights.size, np.inf)
        for i, (w, M) in enumerate(zip(weights, inverses)):
            if M is not None:
                SM = S @ M  # |S M^-1 J^T|_F^2 = tr(S M^-1 H M^-1 S^T): no cost per data row
                risk[i] = float(np.sum((SM @ (w * D2 * c)) ** 2) + noise * np.sum((SM @ H) * SM))
        new = int(np.argmin(risk))
        if new in seen:
            return new, risk
        chosen = new
        seen.add(new)
    return chosen, risk


def _data_jacobian(evaluator, z):
    """Residual and Jacobian of the data rows only (d + 1 solves)."""
    problem = evaluator.problem
    P = problem.parts * problem.observations.n_points
    R, finite = evaluator.residuals(z[None, :])
    J, ok = forward_jacobian(evaluator, z, R[0])
    if not (finite[0] and ok):
        raise ValueError("a solve failed while measuring the Jacobian for the regularization choice")
    return R[0, :P], J[:P]


def fit_with_chosen_weight(problem, init, rule: str, run_fit, rounds: int = 3):
    """Fit ``problem`` (a field) with the weight chosen by ``rule``; ``run_fit(problem, init)``
    runs one fit. Returns the last fit's result with the choice in ``result.settings``."""
    from .evaluation import Evaluator

    if rule not in RULES:
        raise ValueError(f"regularization rule must be one of {list(RULES)} or a number, got {rule!r}")
    if problem.field is None:
        raise ValueError("regularization applies to a fitted field (u0 or a coefficient field), and none is fitted")
    known_sigma = problem.observations.sigma is not None
    if rule == "discrepancy" and not known_sigma:
        raise ValueError("the discrepancy principle needs the noise level: the observations carry no sigma "
                         "(use gcv, evidence, risk or auto)")
    chosen_rule = "risk" if rule == "auto" else rule
    k = np.asarray(problem.field.wavenumber, float)
    order = problem.penalty_order
    if order is None:  # not given: chosen with the weight where the rule can compare forms
        order = "auto" if chosen_rule in ("evidence", "risk") else DEFAULT_ORDER
    orders = penalty_candidates(order, highest=float(k.max()))
    if problem.penalty_order in CHOSEN_FORMS and chosen_rule not in ("evidence", "risk"):
        raise ValueError(f"penalty_order={problem.penalty_order!r} is chosen by the evidence; the {chosen_rule} rule "
                         "cannot compare penalties (use regularization='auto', 'risk' or 'evidence', or give the "
                         "order)")
    metric = field_metric(problem)
    evaluator = Evaluator(problem)
    z = problem.to_z({**problem.default_init(), **problem.expand(init or {})})
    history, result, spent = [], None, 0
    weight = order = None
    for _ in range(rounds):
        r, J = _data_jacobian(evaluator, z)
        new_order, new, curve, by_order = choose_penalty(J, r, k, problem.field_index, orders, chosen_rule, z,
                                                         sigma_known=known_sigma, metric=metric)
        history.append({"weight": new, "penalty_order": new_order, "at": "start" if result is None else "estimate"})
        if len(orders) > 1:
            history[-1]["evidence_by_order"] = by_order
        if weight is not None and new_order == order and 0.5 <= new / weight <= 2.0:
            break
        weight, order = new, new_order
        result = run_fit(problem.with_regularization(weight, order), problem.to_params(z))
        spent += result.nfev
        z = problem.to_z(result.params)
    result.nfev = spent + evaluator.nfev
    result.settings["regularization"] = {"rule": chosen_rule, "weight": weight, "choices": history, "curve": curve}
    if len(orders) > 1:
        result.settings["regularization"]["penalty_order"] = {"rule": "evidence", "chosen": order,
                                                              "among": list(orders)}
    result.message += "; " + describe_penalty(penalty_settings(result.settings))
    return result


def choose_penalty(J, r, k, index, orders, rule: str, z=None, sigma_known: bool = True, metric=None):
    """The form among ``orders`` (orders q of ``w |k^q c|^2``, or "exponential:a" for
    ``w sum e^(a k) c^2``) and the weight w of the penalty on the coefficients ``index``
    (wavenumber indices ``k``). With several forms, the evidence chooses the form (its criterion
    is -2 log p(data) up to a constant that depends on neither the form nor w, so forms compare
    directly), then ``rule`` the weight of that form ("evidence" or "risk").
    Returns ``(form, w, curve of that form, {form: evidence at its weight})`` (the last empty
    for one form)."""

    def spectrum(q):
        D = np.zeros(J.shape[1])
        D[index] = penalty_spectrum(q, k)
        return D

    by_order = {}
    if len(orders) > 1:
        for q in orders:
            _, curve = choose_weight(J, r, spectrum(q), "evidence", z, sigma_known=sigma_known)
            by_order[q] = float(curve["criterion"][curve["chosen"]])
    form = min(by_order, key=by_order.get) if by_order else orders[0]
    w, curve = choose_weight(J, r, spectrum(form), rule, z, sigma_known=sigma_known, metric=metric)
    return form, w, curve, by_order


def field_metric(problem, n: int | None = None):
    """``metric(z)`` for the "risk" rule: the rows S (n x unknowns) with |S dz|^2 = the mean
    squared change of the fitted field on n points (default 4 per mode, at least 64) for a
    change dz of the unknowns at z (u0: linear; a positive parameter's field exp(series): S
    scaled by the field at z). Scalar unknowns carry no weight."""
    modes = len(problem.field_index)
    n = max(64, 4 * modes) if n is None else n
    basis = np.stack([problem.field.samples(e, n) for e in np.eye(modes)], axis=1) / np.sqrt(n)

    def metric(z):
        S = np.zeros((n, problem.dim))
        series = basis @ np.asarray(z, float)[problem.field_index] * np.sqrt(n)
        S[:, problem.field_index] = np.exp(series)[:, None] * basis if problem.field_log else basis
        return S

    return metric
