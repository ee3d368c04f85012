"""Regularization rules over many noise draws: the weight each rule picks, against the oracle.

One noise draw of a field case says little about a rule: uncertainty.py measures pdeinv's rules
(discrepancy, gcv) on one draw each of a noisy Burgers u0 and a noisy Allen-Cahn D(x). Here the
same two designs are drawn with several noise seeds (the first is uncertainty.py's draw):

- Burgers u0, 16 modes, 64 random points, 5 % noise;
- Allen-Cahn D(x), 8 modes (of log D), a 10 x 24 grid, 2 % noise.

At each draw the field is fitted once with the discrepancy principle. At that estimate the data
Jacobian (d + 1 solves, as pdeinv's own choice measures it) gives the Gauss-Newton model of the
fit for every weight w of pdeinv's grid: coefficients c(w), misfit m(w) and influence T(w) (see
pdeinv/fit/regularization.py). Every rule reads its weight from that one model, and so does the
oracle (the weight whose c(w) has the smallest field error, knowing the truth):

- discrepancy, gcv: pdeinv's rules (``choose_weight``);
- upre (sigma known): minimizes m(w) + 2 T(w) - P, the unbiased estimate of the prediction error;
- evidence (sigma known) and evidence-s (sigma estimated): maximize the marginal likelihood of the
  data with the penalty read as a Gaussian prior on the coefficients (flat on the unpenalized
  constant), i.e. minimize  Q(w) + log det(J^T J + w D^2) - sum log(w k^2),  Q = m(w) + w |D c(w)|^2
  (evidence-s: (P - p0) log Q(w) + the same determinants, sigma profiled out).

The model's oracle stands in for fits at every weight; on the first draw of each case (full mode)
it is set beside the oracle of actual fits over a sweep of weights (one per half decade).
pdeinv's rules are also run as a user runs them ("(fit)": the field fitted with the weight the
rule chose, re-chosen at the estimate), their field error over the model oracle's.

The same model with a second-derivative penalty w |k^2 c|^2 (not a pdeinv option yet) gives
two more rows, both over today's oracle: its own oracle's error (below 1: the penalty itself
fits these fields better) and its evidence weight's.

    python -m benchmarks.regularization [--quick]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from pdeinv import InverseProblem, fit, simulate
from pdeinv.fit.evaluation import Evaluator
from pdeinv.fit.regularization import _data_jacobian, choose_weight
from pdeinv.problems.fields import field_samples, true_field

from .common import markdown_table, write_results

RULES = ("discrepancy", "gcv", "upre", "evidence", "evidence-s")


def draw(case: str, seed: int):
    """The observations, fitted field, modes and grid of one noise draw of ``case``."""
    if case == "Burgers u0":
        x = np.linspace(-1, 1, 512, endpoint=False)
        u0 = 0.6 * np.sin(np.pi * x) + 0.3 * np.cos(2 * np.pi * x) - 0.2 * np.sin(3 * np.pi * x)
        obs = simulate("burgers", {"nu": 0.05}, points=64, layout="random", n=128, dt=5e-4, u0=u0, fixed=("nu",),
                       noise=0.05, seed=seed)
        return obs, "u0", 16, 64
    log_d = lambda x: np.log(0.01) + 0.5 * np.sin(np.pi * x) - 0.3 * np.cos(np.pi * x)  # noqa: E731
    obs = simulate("allen-cahn", {"D": lambda x: np.exp(log_d(x)), "r": 1.0}, grid=(10, 24), n=128, dt=5e-4,
                   u0=lambda x: np.cos(np.pi * x) + 0.5 * np.sin(3 * np.pi * x), noise=0.02, seed=seed)
    return obs, "D(x)", 8, 64


#: uncertainty.py's draws are seed 3 (Burgers) and seed 4 (Allen-Cahn); the others follow them.
FIRST_SEED = {"Burgers u0": 3, "Allen-Cahn D(x)": 4}


def field_error(problem, obs, field, truth, z) -> float:
    c = problem.field_coefficients(problem.to_params(z))
    samples = field_samples(field, c, obs.domain, truth.size, obs.equation_class)
    return float(np.linalg.norm(samples - truth) / np.linalg.norm(truth))


def model_curve(problem, obs, field, truth, r, J, z, order: int = 1):
    """The Gauss-Newton model at ``z`` with the penalty w |k^order c|^2, over pdeinv's grid of
    weights: the weights, each one's field error, and the upre / evidence / evidence-s criteria."""
    P = r.size
    D = np.zeros(problem.dim)
    D[problem.field_index] = np.asarray(problem.field.wavenumber, float) ** order
    D2, penalized = D**2, D > 0
    weights = np.array(choose_weight(J, r, D, "gcv", z)[1]["weights"])
    H, g = J.T @ J, J.T @ r
    errors, upre, evidence, evidence_s = [], [], [], []
    for w in weights:
        A = H + w * np.diag(D2)
        c = z + np.linalg.solve(A, -g - w * D2 * z)
        errors.append(field_error(problem, obs, field, truth, c))
        misfit = float(np.sum((r + J @ (c - z)) ** 2))
        influence = float(np.trace(J @ np.linalg.solve(A, J.T)))
        Q = misfit + w * float(np.sum(D2 * c**2))
        logdet = np.linalg.slogdet(A)[1] - float(np.sum(np.log(w * D2[penalized])))
        upre.append(misfit + 2 * influence - P)
        evidence.append(Q + logdet)
        evidence_s.append((P - int(np.sum(~penalized))) * np.log(Q) + logdet)
    return weights, np.array(errors), {"upre": upre, "evidence": evidence, "evidence-s": evidence_s}


def model_choices(problem, obs, field, truth):
    """Fit with the discrepancy principle, then every rule's weight and the oracle's from the
    Gauss-Newton model at that estimate. Returns (weights, errors, {rule: index}, fit, and the
    second-derivative penalty's (oracle error, evidence weight's error))."""
    estimate = fit(problem, auto_grid=False, regularization="discrepancy", intervals="none")
    z = problem.to_z(estimate.params)
    r, J = _data_jacobian(Evaluator(problem), z)
    weights, errors, criteria = model_curve(problem, obs, field, truth, r, J, z)
    D = np.zeros(problem.dim)
    D[problem.field_index] = problem.field.wavenumber
    index = {rule: int(np.argmin(np.abs(np.log(weights / choose_weight(J, r, D, rule, z)[0]))))
             for rule in ("discrepancy", "gcv")}
    index.update({rule: int(np.argmin(values)) for rule, values in criteria.items()})
    # The same model with the penalty w |k^2 c|^2 in place of w |k c|^2.
    _, errors2, criteria2 = model_curve(problem, obs, field, truth, r, J, z, order=2)
    second = (float(errors2.min()), float(errors2[int(np.argmin(criteria2["evidence"]))]))
    return weights, errors, index, estimate, second


def sweep_oracle(problem, obs, field, truth):
    """The oracle of actual fits: the weight of a half-decade sweep with the smallest field error."""
    errors = {}
    for w in 10.0 ** np.arange(-6, 3, 0.5):
        result = fit(problem, auto_grid=False, regularization=float(w), intervals="none")
        errors[float(w)] = field_error(problem, obs, field, truth, problem.to_z(result.params))
    best = min(errors, key=errors.get)
    return best, errors[best]


def run(quick: bool):
    draws = 3 if quick else 10
    rows, checks = [], []
    for case, first in FIRST_SEED.items():
        for i in range(draws):
            t0 = time.perf_counter()
            obs, field, modes, n = draw(case, first + i)
            problem = InverseProblem(obs, (field,), modes=modes, n=n)
            truth = true_field(obs, field, 512)
            weights, errors, index, estimate, (oracle2, evidence2) = model_choices(problem, obs, field, truth)
            oracle = int(np.argmin(errors))
            # Where the error curve is flat the oracle weight is one of many: the band of weights
            # whose error is within 1.2x of the oracle's says how sharp the choice must be.
            band = weights[errors <= 1.2 * errors[oracle]] / weights[oracle]
            row = {"case": case, "seed": first + i, "oracle_weight": float(weights[oracle]),
                   "oracle_error": float(errors[oracle]), "band (1.2x error)": f"{band.min():.2g} ... {band.max():.2g}"}
            for rule in RULES:
                row[f"{rule}: weight / oracle"] = float(weights[index[rule]] / weights[oracle])
                row[f"{rule}: error / oracle"] = float(errors[index[rule]] / errors[oracle])
            row["oracle, k^2 penalty: error / oracle"] = oracle2 / errors[oracle]
            row["evidence, k^2 penalty: error / oracle"] = evidence2 / errors[oracle]
            # pdeinv's own rules as a user runs them: the fit with the chosen weight (re-chosen at
            # the estimate), its field error against the model's oracle.
            fits = {"discrepancy": estimate,
                    "gcv": fit(problem, auto_grid=False, regularization="gcv", intervals="none"),
                    "evidence": fit(problem, auto_grid=False, regularization="evidence", intervals="none")}
            for rule, result in fits.items():
                row[f"{rule} (fit): weight / oracle"] = result.settings["regularization"]["weight"] / weights[oracle]
                row[f"{rule} (fit): error / oracle"] = field_error(
                    problem, obs, field, truth, problem.to_z(result.params)) / errors[oracle]
            if i == 0 and not quick:
                w, e = sweep_oracle(problem, obs, field, truth)
                checks.append({"case": case, "seed": first, "model oracle weight": float(weights[oracle]),
                               "model oracle error": float(errors[oracle]), "fits' oracle weight": w,
                               "fits' oracle error": e})
            row["wall_s"] = time.perf_counter() - t0
            rows.append(row)
            print({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
    summary = []
    for case in FIRST_SEED:
        mine = [r for r in rows if r["case"] == case]
        for rule in RULES + ("discrepancy (fit)", "gcv (fit)", "evidence (fit)", "oracle, k^2 penalty",
                             "evidence, k^2 penalty"):
            ratio = np.array([r[f"{rule}: error / oracle"] for r in mine])
            weight = np.array([r.get(f"{rule}: weight / oracle", np.nan) for r in mine])
            summary.append({"case": case, "rule": rule, "draws": len(mine),
                            "median error / oracle": float(np.median(ratio)), "worst": float(np.max(ratio)),
                            "error within 1.2x": int(np.sum(ratio <= 1.2)),
                            # the k^2 penalty's weights are on another scale: no weight ratio
                            "weight within 2x": int(np.sum((weight >= 0.5) & (weight <= 2.0)))
                            if "k^2" not in rule else "-"})
    table = ("Field error of each rule's weight over the oracle's (the Gauss-Newton model at the "
             "discrepancy fit; targets: weight within 2x, error within 1.2x)\n\n"
             + markdown_table(summary, ["case", "rule", "draws", "median error / oracle", "worst",
                                        "error within 1.2x", "weight within 2x"]))
    table += ("\n\nEach draw: error / oracle of each rule; the band is the weights (over the oracle's) whose "
              "error is within 1.2x of the oracle's\n\n"
              + markdown_table(rows, ["case", "seed", "oracle_weight", "oracle_error", "band (1.2x error)"]
                               + [f"{rule}: error / oracle" for rule in RULES + ("discrepancy (fit)", "gcv (fit)",
                                                                            "evidence (fit)", "oracle, k^2 penalty",
                                                                            "evidence, k^2 penalty")]))
    if checks:
        table += ("\n\nThe model's oracle beside the oracle of actual fits (first draw)\n\n"
                  + markdown_table(checks, list(checks[0])))
    write_results("regularization", {"quick": quick, "draws": draws, "rows": rows, "summary": summary,
                                     "model_check": checks}, table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 draws per case, no sweep of actual fits")
    run(parser.parse_args().quick)
