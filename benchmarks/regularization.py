"""Regularization rules over many noise draws: the weight each rule picks, against the oracle.

One noise draw of a field case says little about a rule, so two designs are drawn with several
noise seeds:

- Burgers u0, 16 modes, 64 random points, 5 % noise;
- Allen-Cahn D(x), 8 modes (of log D), a 10 x 24 grid, 2 % noise.

At each draw the field is fitted once with the discrepancy principle (first-derivative
penalty). At that estimate the data Jacobian (d + 1 solves, as pdeinv's own choice measures it)
gives the Gauss-Newton model of the fit for every weight w of pdeinv's grid and for both
penalty orders q (``penalty_order``: w |k^q c|^2): coefficients c(w), misfit m(w) and influence
T(w) (see pdeinv/fit/regularization.py). Every rule reads its weight from that model, and so
does the oracle of each order (the weight whose c(w) has the smallest field error, knowing the
truth):

- discrepancy, gcv, evidence and risk (sigma known), evidence-s and risk-s (sigma estimated):
  pdeinv's ``choose_weight`` (risk: the weight of least expected field error, the estimate
  standing in for the truth, repeated to a fixed point);
- upre (sigma known): minimizes m(w) + 2 T(w) - P, the unbiased estimate of the prediction
  error (not a pdeinv rule).

Each rule's error is set over the oracle of its own order (the target: within 1.2x, the weight
within 2x) and over the best oracle of either order ("vs best": what the choice of penalty
costs). pdeinv's rules are also run as a user runs them ("(fit)": the field fitted with the
weight the rule chose, re-chosen at the estimate). pdeinv's default, ``regularization="auto"``
with the form not given, lets the evidence choose the penalty (q in 1...4 or the exponential
penalty w sum e^(a m) c_m^2 with a in 0.25...4) and the risk rule its weight; it runs as a fit
too ('auto (default)'), its error set over the oracle of the form it chose and over the best of
orders 1-2.

A third case has a truth that is not band-limited (the first two are: Burgers u0 has modes 1-3,
log D(x) mode 1 only, so the strongest smoothing is rewarded): Burgers u0 with 32 modes of
amplitude 0.6 k^-1.5 (``rough_u0``), fitted with 16, same design and noise as the first case.

The model's oracle stands in for fits at every weight; on the first draw of each case (full
mode) it is set beside the oracle of actual fits over a sweep of weights (one per half decade,
first-derivative penalty).

    python -m benchmarks.regularization [--quick]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from pdeinv import InverseProblem, fit, simulate
from pdeinv.fit.evaluation import Evaluator
from pdeinv.fit.regularization import _data_jacobian, choose_weight, field_metric
from pdeinv.problems.fields import field_samples, true_field
from pdeinv.result import exponential_rate

from .common import markdown_table, write_results


def draw(case: str, seed: int):
    """The observations, fitted field, modes and grid of one noise draw of ``case``."""
    if case.startswith("Burgers u0"):
        x = np.linspace(-1, 1, 512, endpoint=False)
        if case == "Burgers u0 (rough)":
            u0 = rough_u0(x)
        else:
            u0 = 0.6 * np.sin(np.pi * x) + 0.3 * np.cos(2 * np.pi * x) - 0.2 * np.sin(3 * np.pi * x)
        obs = simulate("burgers", {"nu": 0.05}, points=64, layout="random", n=128, dt=5e-4, u0=u0, fixed=("nu",),
                       noise=0.05, seed=seed, snapshot="exact")  # u0 from the later points
        return obs, "u0", 16, 64
    log_d = lambda x: np.log(0.01) + 0.5 * np.sin(np.pi * x) - 0.3 * np.cos(np.pi * x)  # noqa: E731
    obs = simulate("allen-cahn", {"D": lambda x: np.exp(log_d(x)), "r": 1.0}, grid=(10, 24), n=128, dt=5e-4,
                   u0=lambda x: np.cos(np.pi * x) + 0.5 * np.sin(3 * np.pi * x), noise=0.02, seed=seed, snapshot="exact")
    return obs, "D(x)", 8, 64


def rough_u0(x):
    """A truth that is not band-limited: 32 Fourier modes with amplitudes 0.6 k^-1.5 (between the
    decays the first- and second-derivative penalties expect) and fixed random phases."""
    k = np.arange(1, 33)
    phase = np.random.default_rng(7).uniform(0, 2 * np.pi, k.size)
    return (0.6 * k[:, None] ** -1.5 * np.sin(np.pi * k[:, None] * x[None, :] + phase[:, None])).sum(axis=0)


#: The first draws (seed 3 for Burgers, 4 for Allen-Cahn) are the single draws measured before; the others follow.
FIRST_SEED = {"Burgers u0": 3, "Allen-Cahn D(x)": 4, "Burgers u0 (rough)": 3}


def field_error(problem, obs, field, truth, z) -> float:
    c = problem.field_coefficients(problem.to_params(z))
    samples = field_samples(field, c, obs.domain, truth.size, obs.equation_class)
    return float(np.linalg.norm(samples - truth) / np.linalg.norm(truth))


ORDERS = (1, 2)
MODEL_RULES = ("discrepancy", "gcv", "upre", "evidence", "evidence-s", "risk", "risk-s")
FIT_RULES = ("discrepancy", "gcv", "evidence", "risk")


def model_coefficients(r, J, z, D, weights) -> list[np.ndarray]:
    """The Gauss-Newton model's coefficients c(w) at ``z`` for each weight, with penalty w |D c|^2."""
    H, g, D2 = J.T @ J, J.T @ r, D**2
    return [z + np.linalg.solve(H + w * np.diag(D2), -g - w * D2 * z) for w in weights]


def linearization(case: str, seed: int) -> dict:
    """One noise draw of ``case`` and the point every model is read at: the discrepancy fit with
    the first-derivative penalty, and the data Jacobian there (d + 1 solves)."""
    obs, field, modes, n = draw(case, seed)
    problem = InverseProblem(obs, (field,), modes=modes, n=n, penalty_order=1)
    truth = true_field(obs, field, 512)
    estimate = fit(problem, auto_grid=False, regularization="discrepancy", intervals="none")
    z = problem.to_z(estimate.params)
    r, J = _data_jacobian(Evaluator(problem), z)
    return {"obs": obs, "field": field, "modes": modes, "n": n, "problem": problem, "truth": truth,
            "estimate": estimate, "z": z, "r": r, "J": J}


def over_draws(quick: bool, one_row) -> list[dict]:
    """``one_row(case, seed, first)`` over the draws of every case (3 in quick mode, else 10),
    each row timed (``wall_s``) and printed as it comes."""
    rows = []
    for case, first in FIRST_SEED.items():
        for i in range(3 if quick else 10):
            t0 = time.perf_counter()
            row = one_row(case, first + i, i == 0)
            row["wall_s"] = time.perf_counter() - t0
            rows.append(row)
            print({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
    return rows


def model_rules(problem, obs, field, truth, r, J, z):
    """The Gauss-Newton model at ``z`` with the problem's penalty w |k^q c|^2 over pdeinv's grid of
    weights: the weights, each one's field error, and the grid index each rule chooses."""
    P = r.size
    D = np.zeros(problem.dim)
    D[problem.field_index] = problem.penalty_scale  # k^q, as pdeinv's own penalty rows
    D2 = D**2
    weights = np.array(choose_weight(J, r, D, "gcv", z)[1]["weights"])
    coefficients = model_coefficients(r, J, z, D, weights)
    errors = np.array([field_error(problem, obs, field, truth, c) for c in coefficients])
    H = J.T @ J
    upre = []
    for w, c in zip(weights, coefficients):
        A = H + w * np.diag(D2)
        misfit = float(np.sum((r + J @ (c - z)) ** 2))
        upre.append(misfit + 2 * float(np.trace(J @ np.linalg.solve(A, J.T))) - P)
    index = {"upre": int(np.argmin(upre))}
    for rule in MODEL_RULES:
        if rule != "upre":
            w = choose_weight(J, r, D, rule.removesuffix("-s"), z, sigma_known=not rule.endswith("-s"),
                              metric=field_metric(problem))[0]
            index[rule] = int(np.argmin(np.abs(np.log(weights / w))))
    return weights, errors, index


def sweep_oracle(problem, obs, field, truth):
    """The oracle of actual fits: the weight of a half-decade sweep with the smallest field error."""
    errors = {}
    for w in 10.0 ** np.arange(-6, 3, 0.5):
        result = fit(problem, auto_grid=False, regularization=float(w), intervals="none")
        errors[float(w)] = field_error(problem, obs, field, truth, problem.to_z(result.params))
    best = min(errors, key=errors.get)
    return best, errors[best]


def one_draw(case: str, seed: int, check: bool):
    """Every rule of both orders on one noise draw: the row of ratios (and the model check)."""
    at = linearization(case, seed)
    obs, field, truth, estimate, z, r, J = (at[k] for k in ("obs", "field", "truth", "estimate", "z", "r", "J"))
    problems = {1: at["problem"], 2: InverseProblem(obs, (field,), modes=at["modes"], n=at["n"], penalty_order=2)}
    model = {q: model_rules(problems[q], obs, field, truth, r, J, z) for q in ORDERS}
    oracle = {q: int(np.argmin(model[q][1])) for q in ORDERS}
    best = min(model[q][1][oracle[q]] for q in ORDERS)
    row = {"case": case, "seed": seed}
    for q in ORDERS:
        weights, errors, index = model[q]
        o = oracle[q]
        # Where the error curve is flat the oracle weight is one of many: the band of weights
        # whose error is within 1.2x of the oracle's says how sharp the choice must be.
        band = weights[errors <= 1.2 * errors[o]] / weights[o]
        row.update({f"q{q} oracle_weight": float(weights[o]), f"q{q} oracle_error": float(errors[o]),
                    f"q{q} band (1.2x error)": f"{band.min():.2g} ... {band.max():.2g}"})
        for rule, i in index.items():
            row[f"{rule} q{q}: weight / oracle"] = float(weights[i] / weights[o])
            row[f"{rule} q{q}: error / oracle"] = float(errors[i] / errors[o])
            row[f"{rule} q{q}: error / best"] = float(errors[i] / best)
        # pdeinv's rules as a user runs them (the discrepancy fit of order 1 is the model's
        # linearization point): the field error of the fit with the chosen weight.
        for rule in FIT_RULES:
            result = estimate if (q, rule) == (1, "discrepancy") else fit(
                problems[q], auto_grid=False, regularization=rule, intervals="none")
            error = field_error(problems[q], obs, field, truth, problems[q].to_z(result.params))
            row[f"{rule} q{q} (fit): weight / oracle"] = result.settings["regularization"]["weight"] / weights[o]
            row[f"{rule} q{q} (fit): error / oracle"] = error / errors[o]
            row[f"{rule} q{q} (fit): error / best"] = error / best
    row["q2 oracle / q1 oracle"] = float(model[2][1][oracle[2]] / model[1][1][oracle[1]])
    # pdeinv's default: the form chosen by the evidence, the weight by the risk rule, as a user
    # runs it; its own form's oracle (other forms from the same model) and the best of orders 1-2.
    chosen = fit(InverseProblem(obs, (field,), modes=at["modes"], n=at["n"]), auto_grid=False, regularization="auto",
                 intervals="none")
    q = chosen.settings["problem"]["penalty_order"]
    problem_q = problems.get(q) or InverseProblem(obs, (field,), modes=at["modes"], n=at["n"], penalty_order=q)
    own = model[q] if q in model else model_rules(problem_q, obs, field, truth, r, J, z)
    error = field_error(problem_q, obs, field, truth, problem_q.to_z(chosen.params))
    o = int(np.argmin(own[1]))
    row.update({"auto order (fit): order": q, "auto order (fit): weight / oracle":
                chosen.settings["regularization"]["weight"] / own[0][o],
                "auto order (fit): error / oracle": error / own[1][o], "auto order (fit): error / best": error / best})
    checked = None
    if check:
        w, e = sweep_oracle(problems[1], obs, field, truth)
        checked = {"case": case, "seed": seed, "model oracle weight": row["q1 oracle_weight"],
                   "model oracle error": row["q1 oracle_error"], "fits' oracle weight": w, "fits' oracle error": e}
    return row, checked


def form_label(form) -> str:
    """"q = 2" for an order, "exp a = 2" for the exponential penalty of rate 2."""
    rate = exponential_rate(form)
    return f"exp a = {rate}" if rate is not None else f"q = {form}"


def summarize(rows):
    """Per case, penalty order and rule: the error ratios' median and worst, how many draws meet
    the targets."""
    summary = []
    for case in FIRST_SEED:
        mine = [r for r in rows if r["case"] == case]
        for q in ORDERS:
            for rule in MODEL_RULES + tuple(f"{rule} (fit)" for rule in FIT_RULES):
                key = f"{rule.split(' ')[0]} q{q}" + (" (fit)" if rule.endswith("(fit)") else "")
                ratio = np.array([r[f"{key}: error / oracle"] for r in mine])
                vs_best = np.array([r[f"{key}: error / best"] for r in mine])
                weight = np.array([r[f"{key}: weight / oracle"] for r in mine])
                summary.append({"case": case, "penalty": f"q = {q}", "rule": rule, "draws": len(mine),
                                "median error / oracle": float(np.median(ratio)), "worst": float(np.max(ratio)),
                                "error within 1.2x": int(np.sum(ratio <= 1.2)),
                                "weight within 2x": int(np.sum((weight >= 0.5) & (weight <= 2.0))),
                                "median vs best": float(np.median(vs_best)), "worst vs best": float(np.max(vs_best)),
                                "within 1.2x of best": int(np.sum(vs_best <= 1.2))})
        ratio = np.array([r["auto order (fit): error / oracle"] for r in mine])
        vs_best = np.array([r["auto order (fit): error / best"] for r in mine])
        weight = np.array([r["auto order (fit): weight / oracle"] for r in mine])
        orders = [r["auto order (fit): order"] for r in mine]
        summary.append({"case": case, "penalty": "auto (default): " + ", ".join(f"{form_label(q)} x{orders.count(q)}"
                                                                     for q in sorted(set(orders), key=str)),
                        "rule": "risk (fit)", "draws": len(mine),
                        "median error / oracle": float(np.median(ratio)), "worst": float(np.max(ratio)),
                        "error within 1.2x": int(np.sum(ratio <= 1.2)),
                        "weight within 2x": int(np.sum((weight >= 0.5) & (weight <= 2.0))),
                        "median vs best": float(np.median(vs_best)), "worst vs best": float(np.max(vs_best)),
                        "within 1.2x of best": int(np.sum(vs_best <= 1.2))})
    return summary


def run(quick: bool):
    draws = 3 if quick else 10
    checks = []

    def one_row(case, seed, first):
        row, checked = one_draw(case, seed, check=first and not quick)
        if checked:
            checks.append(checked)
        return row

    rows = over_draws(quick, one_row)
    summary = summarize(rows)
    table = ("Field error of each rule's weight over the oracle's, with penalty w |k^q c|^2 (the Gauss-Newton "
             "model at the discrepancy fit with q = 1, for both orders; '(fit)': the rule run as a user runs it). Targets: error within "
             "1.2x of the oracle of the same q, weight within 2x. 'vs best': over the better of the two orders' "
             "oracles.\n\n"
             + markdown_table(summary, ["case", "penalty", "rule", "draws", "median error / oracle", "worst",
                                        "error within 1.2x", "weight within 2x", "median vs best", "worst vs best",
                                        "within 1.2x of best"]))
    columns = ["case", "seed"] + [f"q{q} {c}" for q in ORDERS for c in ("oracle_weight", "oracle_error",
                                                                        "band (1.2x error)")]
    table += ("\n\nEach draw: each order's oracle, the band of weights (over the oracle's) whose error is within "
              "1.2x of the oracle's, the second order's oracle error over the first's, and the error / oracle "
              "of the rules run as fits\n\n"
              + markdown_table(rows, columns + ["q2 oracle / q1 oracle"]
                               + [f"{rule} q{q} (fit): error / oracle" for q in ORDERS for rule in FIT_RULES]
                               + ["auto order (fit): order", "auto order (fit): error / best"]))
    if checks:
        table += ("\n\nThe model's oracle beside the oracle of actual fits (first draw, q = 1)\n\n"
                  + markdown_table(checks, list(checks[0])))
    write_results("regularization", {"quick": quick, "draws": draws, "rows": rows, "summary": summary,
                                     "model_check": checks}, table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 draws per case, no sweep of actual fits")
    run(parser.parse_args().quick)
