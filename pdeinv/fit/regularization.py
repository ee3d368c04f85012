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
- **evidence** (either): w maximizing the marginal likelihood of the data when the penalty is
  read as a Gaussian prior on the coefficients, c ~ N(0, (w D^2)^-1), flat on the unpenalized
  ones: w minimizing  Q(w) + log det(J^T J + w D^2) - sum log(w D^2)  with
  Q(w) = m(w) + w |D c(w)|^2 (sigma known), or  (P - p0) log Q(w) + the same determinants
  (sigma estimated: profiled out; p0 unpenalized unknowns).

``auto`` is evidence: over 10 noise draws each of a Burgers u0, an Allen-Cahn D(x) and a
Burgers u0 whose truth is not band-limited (see benchmarks/regularization.py), with the default
curvature penalty, its field error was 1.31x, 1.04x and 1.08x the best weight's (medians; worst
2.09x, 1.70x and 1.41x); the worst draws of the discrepancy principle were 15x, 10.5x and 5.0x,
those of gcv 34x, 2.3x and 9.3x. The weight is chosen at the starting point, the field fitted with
it, the choice made again at that estimate, and the field refitted when the weight (or, with
``penalty_order="auto"``, the order) changed by more than a factor 2 (at most ``rounds`` times).

With ``penalty_order="auto"`` the evidence also picks the form: an order q in 1...4 or an
exponential rate a in 0.25...4 (``w sum e^(a m) c_m^2``; its criterion is -2 log p(data) up to a
constant that depends on neither the form nor w). On the same draws it took the exponential
penalty with a = 2 on every Burgers draw (whose truth has modes 1-3 only: field error 0.89x the
best weight of orders 1 and 2 could give, median; with orders 1-4 alone it had kept q = 2, 1.31x),
q = 4 on every Allen-Cahn draw (0.80x) and orders 1-2 or rates 1-2 on the rough truth (1.20x; orders
alone 1.14x). ``penalty_order="exponential"`` lets it choose the rate alone.
"""

from __future__ import annotations

import numpy as np

from ..problems.inverse import CHOSEN_FORMS, penalty_candidates, penalty_spectrum
from ..result import describe_penalty, penalty_settings
from .refine import forward_jacobian

__all__ = ["RULES", "choose_penalty", "choose_weight", "fit_with_chosen_weight"]

RULES = ("auto", "discrepancy", "gcv", "evidence")

#: The weights tried, relative to trace(J^T J) / trace(D^2) (where the penalty and the data
#: weigh the same): 10^-10 ... 10^4, 8 per decade.
GRID = 10.0 ** np.linspace(-10, 4, 113)


def choose_weight(J, r, D, rule: str, z=None, sigma_known: bool = True) -> tuple[float, dict]:
    """The weight by ``rule`` ("discrepancy", "gcv" or "evidence") from the linear model at
    ``z`` (residual rows in units of sigma when ``sigma_known``), and the curve over the grid of
    weights (``curve["chosen"]``: the index of the weight chosen)."""
    J, r = np.asarray(J, float), np.asarray(r, float)
    P = r.size
    z = np.zeros(J.shape[1]) if z is None else np.asarray(z, float)
    D2 = np.asarray(D, float) ** 2
    scale = np.trace(J.T @ J) / max(float(np.sum(D2)), 1e-300)
    weights = GRID * scale
    H, g = J.T @ J, J.T @ r
    penalized = D2 > 0
    free = int(np.sum(~penalized))
    misfits, traces, evidence = [], [], []
    for w in weights:
        A = H + w * np.diag(D2)
        try:
            step = np.linalg.solve(A, -g - w * D2 * z)
            influence = np.trace(J @ np.linalg.solve(A, J.T))
        except np.linalg.LinAlgError:
            misfits.append(np.inf)
            traces.append(np.nan)
            evidence.append(np.inf)
            continue
        misfit = float(np.sum((r + J @ step) ** 2))
        misfits.append(misfit)
        traces.append(float(influence))
        sign, logdet = np.linalg.slogdet(A)
        Q = misfit + w * float(np.sum(D2 * (z + step) ** 2))
        logdet -= float(np.sum(np.log(w * D2[penalized])))
        fit_term = Q if sigma_known else (P - free) * np.log(Q)
        evidence.append(fit_term + logdet if sign > 0 else np.inf)
    misfits, traces = np.array(misfits), np.array(traces)
    if rule == "evidence":
        criterion = np.array(evidence)
        best = int(np.argmin(criterion))
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
                         "(use gcv, evidence or auto)")
    chosen_rule = "evidence" if rule == "auto" else rule
    orders = penalty_candidates(problem.penalty_order)
    if problem.penalty_order in CHOSEN_FORMS and chosen_rule != "evidence":
        raise ValueError(f"penalty_order={problem.penalty_order!r} is chosen by the evidence; the {chosen_rule} rule "
                         "cannot compare penalties (use regularization='auto' or 'evidence', or give the order)")
    k = np.asarray(problem.field.wavenumber, float)
    evaluator = Evaluator(problem)
    z = problem.to_z({**problem.default_init(), **problem.expand(init or {})})
    history, result, spent = [], None, 0
    weight = order = None
    for _ in range(rounds):
        r, J = _data_jacobian(evaluator, z)
        new_order, new, curve, by_order = choose_penalty(J, r, k, problem.field_index, orders, chosen_rule, z,
                                                         sigma_known=known_sigma)
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


def choose_penalty(J, r, k, index, orders, rule: str, z=None, sigma_known: bool = True):
    """The form among ``orders`` (orders q of ``w |k^q c|^2``, or "exponential:a" for
    ``w sum e^(a k) c^2``) and the weight w of the penalty on the coefficients ``index``
    (wavenumber indices ``k``): each form's weight by ``rule``; with several forms, the one whose
    evidence is best. The evidence criterion is -2 log p(data) up to a constant that depends on
    neither the form nor w, so forms compare directly.
    Returns ``(form, w, curve of that form, {form: criterion at its weight})``."""
    chosen = None
    by_order = {}
    for q in orders:
        D = np.zeros(J.shape[1])
        D[index] = penalty_spectrum(q, k)
        w, curve = choose_weight(J, r, D, rule, z, sigma_known=sigma_known)
        best = float(curve["criterion"][curve["chosen"]])
        by_order[q] = best
        if chosen is None or best < chosen[3]:
            chosen = (q, w, curve, best)
    return chosen[0], chosen[1], chosen[2], by_order
