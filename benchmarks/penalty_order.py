"""Which penalty order: the marginal likelihood over orders q = 1 ... 4, against the oracle.

pdeinv's smoothness penalty is w |k^q c|^2 (``penalty_order``: q = 1 ... 4, or "auto", which
lets the evidence choose q as below). Read as a Gaussian prior on the field's Fourier
coefficients, c ~ N(0, (w D^2)^-1) with D = diag(k^q), both w and q are hyperparameters, and the
evidence (the marginal likelihood of the data) that pdeinv minimizes over w
(``choose_weight(..., "evidence")``) can compare orders too: its criterion,
Q(w) + log det(J^T J + w D^2) - log det(w D^2) with sigma known, is -2 log p(data) up to a
constant that does not depend on q or w.

On the same draws as benchmarks/regularization.py (Burgers u0, 16 modes, 64 random points, 5 %
noise; Allen-Cahn D(x), 8 modes, a 10 x 24 grid, 2 % noise; Burgers u0 with a truth that is not
band-limited, same design), at the same linearization point (the discrepancy fit with q = 1 and
its data Jacobian), for q = 1 ... 4 over pdeinv's grid of weights: the weight the evidence picks,
the field error there, the oracle of each order (the weight with the smallest field error,
knowing the truth), and the order whose best evidence is highest. This is a model-level study
(no fit per weight); regularization.py runs ``penalty_order="auto"`` as a fit.

    python -m benchmarks.penalty_order [--quick]
"""

from __future__ import annotations

import argparse

import numpy as np

from pdeinv.fit.regularization import choose_weight

from .common import markdown_table, write_results
from .regularization import FIRST_SEED, field_error, linearization, model_coefficients, over_draws

ORDERS = (1, 2, 3, 4)


def one_draw(case: str, seed: int) -> dict:
    """Each order's evidence minimum, the field error there and the order's oracle."""
    at = linearization(case, seed)
    problem, z, r, J = at["problem"], at["z"], at["r"], at["J"]
    row = {"case": case, "seed": seed}
    for q in ORDERS:
        D = np.zeros(problem.dim)
        D[problem.field_index] = problem.penalty_scale ** q  # the problem's scale is k (q = 1)
        _, curve = choose_weight(J, r, D, "evidence", z)
        weights, criterion = np.array(curve["weights"]), np.array(curve["criterion"])
        errors = np.array([field_error(problem, at["obs"], at["field"], at["truth"], c)
                           for c in model_coefficients(r, J, z, D, weights)])
        chosen, oracle = int(np.argmin(criterion)), int(np.argmin(errors))
        row.update({f"q{q} evidence": float(criterion[chosen]), f"q{q} error": float(errors[chosen]),
                    f"q{q} oracle error": float(errors[oracle]), f"q{q} weight / oracle": float(weights[chosen] / weights[oracle])})
    row["selected q"] = min(ORDERS, key=lambda q: row[f"q{q} evidence"])
    row["best error (q 1-2)"] = min(row[f"q{q} oracle error"] for q in (1, 2))
    row["best error (q 1-4)"] = min(row[f"q{q} oracle error"] for q in ORDERS)
    return row


def summarize(rows) -> list[dict]:
    """Per case and order (and for the order the evidence selects): error ratios and targets."""
    out = []
    for case in FIRST_SEED:
        mine = [r for r in rows if r["case"] == case]
        best12 = np.array([r["best error (q 1-2)"] for r in mine])
        best14 = np.array([r["best error (q 1-4)"] for r in mine])
        for q in (*ORDERS, "selected"):
            qs = [r["selected q"] if q == "selected" else q for r in mine]
            error = np.array([r[f"q{k} error"] for r, k in zip(mine, qs)])
            own = error / np.array([r[f"q{k} oracle error"] for r, k in zip(mine, qs)])
            weight = np.array([r[f"q{k} weight / oracle"] for r, k in zip(mine, qs)])
            out.append({"case": case, "order": f"q = {q}" if q != "selected" else "by evidence",
                        "selected": "".join(str(k) for k in qs) if q == "selected" else sum(k == q for k in
                                                                                          (r["selected q"] for r in mine)),
                        "median / own oracle": float(np.median(own)), "worst / own oracle": float(np.max(own)),
                        "within 1.2x of own oracle": int(np.sum(own <= 1.2)),
                        "weight within 2x": int(np.sum((weight >= 0.5) & (weight <= 2.0))),
                        "median / best of q 1-2": float(np.median(error / best12)),
                        "worst / best of q 1-2": float(np.max(error / best12)),
                        "median / best of q 1-4": float(np.median(error / best14))})
    return out


def run(quick: bool):
    draws = 3 if quick else 10
    rows = over_draws(quick, lambda case, seed, first: one_draw(case, seed))
    summary = summarize(rows)
    table = ("The evidence's weight for each penalty order q (w |k^q c|^2), and the order whose evidence is "
             "highest ('by evidence'; 'selected': on how many draws that order won, or the orders chosen draw by "
             "draw). Field errors over the oracle of the same order, over the best oracle of pdeinv's orders "
             "(q = 1, 2) and over the best of q = 1 ... 4 (Gauss-Newton model at the discrepancy fit with q = 1).\n\n"
             + markdown_table(summary, ["case", "order", "selected", "median / own oracle", "worst / own oracle",
                                        "within 1.2x of own oracle", "weight within 2x", "median / best of q 1-2",
                                        "worst / best of q 1-2", "median / best of q 1-4"]))
    write_results("penalty_order", {"quick": quick, "draws": draws, "rows": rows, "summary": summary}, table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 draws per case instead of 10")
    run(parser.parse_args().quick)
