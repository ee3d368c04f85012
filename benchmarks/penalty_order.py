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

The same evidence compares priors that are not powers of k: two families smoother than any
order, as Gaussian-process models use them (not pdeinv options), each with a rate a picked by the
evidence from a grid: squared-exponential, D^2 = exp(a m^2), and exponential, D^2 = exp(a m), m
the mode number. The question they answer: on a band-limited truth, does a prior whose spectrum
falls faster than any power let the evidence land nearer the oracle, and what does offering more
priors cost on a truth that is not band-limited?

    python -m benchmarks.penalty_order [--quick]
"""

from __future__ import annotations

import argparse

import numpy as np

from pdeinv.fit.regularization import choose_weight

from .common import markdown_table, write_results
from .regularization import FIRST_SEED, field_error, linearization, model_coefficients, over_draws

ORDERS = (1, 2, 3, 4)

#: Priors smoother than any power of k, as Gaussian processes use them (not pdeinv options): a
#: squared-exponential spectrum, D^2 = exp(a m^2), and an exponential one, D^2 = exp(a m), with m
#: the mode number (k over the lowest wavenumber). Each family's a is a hyperparameter the
#: evidence picks from these values, as it picks w.
SQUARED_EXPONENTIAL = (0.02, 0.05, 0.1, 0.2, 0.4, 0.8)
EXPONENTIAL = (0.25, 0.5, 1.0, 2.0, 4.0)


def priors(k) -> dict:
    """The square root D of each prior's precision spectrum, by name, at wavenumbers ``k``; the
    mean (k = 0) is not penalized by any of them, as by pdeinv's penalties."""
    m = k / np.min(k[k > 0])
    out = {f"q{q}": k**q for q in ORDERS}
    out.update({f"se{a:g}": np.exp(a * m**2 / 2) for a in SQUARED_EXPONENTIAL})
    out.update({f"ex{a:g}": np.exp(a * m / 2) for a in EXPONENTIAL})
    return {name: np.where(k > 0, D, 0.0) for name, D in out.items()}


#: The choices compared: each order alone, and the evidence choosing among a family's members.
FAMILIES = {**{f"q = {q}": (f"q{q}",) for q in ORDERS},
            "orders 1-4 (penalty_order='auto')": tuple(f"q{q}" for q in ORDERS),
            "squared-exponential": tuple(f"se{a:g}" for a in SQUARED_EXPONENTIAL),
            "exponential": tuple(f"ex{a:g}" for a in EXPONENTIAL)}
FAMILIES["orders 1-4 and exponential"] = FAMILIES["orders 1-4 (penalty_order='auto')"] + FAMILIES["exponential"]
FAMILIES["all of the above"] = tuple(dict.fromkeys(n for names in FAMILIES.values() for n in names))


def one_draw(case: str, seed: int) -> dict:
    """Each prior's evidence minimum, the field error there and the prior's oracle."""
    at = linearization(case, seed)
    problem, z, r, J = at["problem"], at["z"], at["r"], at["J"]
    row = {"case": case, "seed": seed}
    k = np.asarray(problem.penalty_scale, float)  # the problem's scale is k (q = 1)
    for name, scale in priors(k).items():
        D = np.zeros(problem.dim)
        D[problem.field_index] = scale
        _, curve = choose_weight(J, r, D, "evidence", z)
        weights, criterion = np.array(curve["weights"]), np.array(curve["criterion"])
        errors = np.array([field_error(problem, at["obs"], at["field"], at["truth"], c)
                           for c in model_coefficients(r, J, z, D, weights)])
        chosen, oracle = int(np.argmin(criterion)), int(np.argmin(errors))
        row.update({f"{name} evidence": float(criterion[chosen]), f"{name} error": float(errors[chosen]),
                    f"{name} oracle error": float(errors[oracle]),
                    f"{name} weight / oracle": float(weights[chosen] / weights[oracle])})
    for family, names in FAMILIES.items():
        row[f"selected: {family}"] = min(names, key=lambda n: row[f"{n} evidence"])
    row["best error (q 1-2)"] = min(row[f"q{q} oracle error"] for q in (1, 2))
    row["best error (q 1-4)"] = min(row[f"q{q} oracle error"] for q in ORDERS)
    return row


def summarize(rows) -> list[dict]:
    """Per case and family (one order alone, or the evidence's choice among several priors):
    error ratios and targets."""
    out = []
    for case in FIRST_SEED:
        mine = [r for r in rows if r["case"] == case]
        best12 = np.array([r["best error (q 1-2)"] for r in mine])
        best14 = np.array([r["best error (q 1-4)"] for r in mine])
        for family, names in FAMILIES.items():
            picked = [r[f"selected: {family}"] for r in mine]
            error = np.array([r[f"{n} error"] for r, n in zip(mine, picked)])
            own = error / np.array([r[f"{n} oracle error"] for r, n in zip(mine, picked)])
            weight = np.array([r[f"{n} weight / oracle"] for r, n in zip(mine, picked)])
            counts = {n: picked.count(n) for n in dict.fromkeys(picked)}
            out.append({"case": case, "prior": family,
                        "selected": "-" if len(names) == 1 else ", ".join(f"{n} x{c}" for n, c in counts.items()),
                        "median / own oracle": float(np.median(own)), "worst / own oracle": float(np.max(own)),
                        "within 1.2x of own oracle": int(np.sum(own <= 1.2)),
                        "weight within 2x": int(np.sum((weight >= 0.5) & (weight <= 2.0))),
                        "median / best of q 1-2": float(np.median(error / best12)),
                        "worst / best of q 1-2": float(np.max(error / best12)),
                        "within 1.2x of best of q 1-2": int(np.sum(error / best12 <= 1.2)),
                        "median / best of q 1-4": float(np.median(error / best14))})
    return out


def run(quick: bool):
    draws = 3 if quick else 10
    rows = over_draws(quick, lambda case, seed, first: one_draw(case, seed))
    summary = summarize(rows)
    table = ("The evidence's weight for each penalty order q (w |k^q c|^2), and the prior whose evidence is "
             "highest among several ('selected': the members chosen, with how many draws each won): pdeinv's "
             "orders 1-4 (penalty_order='auto'), and two families smoother than any power of k, squared-"
             "exponential (D^2 = exp(a m^2)) and exponential (D^2 = exp(a m)), m the mode number, a from a grid. "
             "Field errors over the oracle of the prior chosen (its best weight, knowing the truth), over the best "
             "oracle of q = 1, 2 and over the best of q = 1 ... 4 (Gauss-Newton model at the discrepancy fit with "
             "q = 1).\n\n"
             + markdown_table(summary, ["case", "prior", "selected", "median / own oracle", "worst / own oracle",
                                        "within 1.2x of own oracle", "weight within 2x", "median / best of q 1-2",
                                        "worst / best of q 1-2", "within 1.2x of best of q 1-2",
                                        "median / best of q 1-4"]))
    write_results("penalty_order", {"quick": quick, "draws": draws, "rows": rows, "summary": summary}, table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 draws per case instead of 10")
    run(parser.parse_args().quick)
