"""Which penalty: the marginal likelihood over orders q = 1 ... 4 and other priors, against the oracle.

pdeinv's smoothness penalty is w |k^q c|^2 (``penalty_order``: q = 1 ... 4), or the exponential
w sum e^(a m) c_m^2 (``"exponential:a"``, m the mode number), or "auto", which lets the evidence
choose among them as below. Read as a Gaussian prior on the field's Fourier coefficients,
c ~ N(0, (w D^2)^-1) with D = diag(k^q) (or e^(a m / 2)), both w and the form are hyperparameters, and the
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
order, as Gaussian-process models use them, each with a rate a picked by the evidence from a
grid: exponential, D^2 = exp(a m) (pdeinv's ``"exponential"``, a in 0.25 ... 4), and
squared-exponential, D^2 = exp(a m^2) (not a pdeinv option). The question they answer: on a
band-limited truth, does a prior whose spectrum falls faster than any power let the evidence land
nearer the oracle, and what does offering more priors cost on a truth that is not band-limited?
Each prior's weight is also chosen by the risk rule (``choose_weight(..., "risk")``: the least
expected field error with the estimate standing in for the truth), with the prior the evidence
selected: pdeinv's ``regularization="auto"``.

    python -m benchmarks.penalty_order [--quick]
"""

from __future__ import annotations

import argparse

import numpy as np

from pdeinv.fit.regularization import choose_weight, field_metric
from pdeinv.problems.inverse import EXPONENTIAL_RATES, penalty_spectrum

from .common import markdown_table, write_results
from .regularization import FIRST_SEED, field_error, linearization, model_coefficients, over_draws

ORDERS = (1, 2, 3, 4)

#: A squared-exponential spectrum, D^2 = exp(a m^2) (m the mode number), as Gaussian processes
#: use it (not a pdeinv option); its a is a hyperparameter the evidence picks from these values.
SQUARED_EXPONENTIAL = (0.02, 0.05, 0.1, 0.2, 0.4, 0.8)


def priors(k) -> dict:
    """The square root D of each prior's precision spectrum, by name, at wavenumber indices
    ``k`` (pdeinv's own for the orders and exponential rates); the mean (k = 0) is not
    penalized by any of them, as by pdeinv's penalties."""
    out = {f"q{q}": penalty_spectrum(q, k) for q in ORDERS}
    out.update({f"ex{a:g}": penalty_spectrum(f"exponential:{a:g}", k) for a in EXPONENTIAL_RATES})
    out.update({f"se{a:g}": np.where(k > 0, np.exp(a * k**2 / 2), 0.0) for a in SQUARED_EXPONENTIAL})
    return out


#: The choices compared: each order alone, and the evidence choosing among a family's members.
FAMILIES = {**{f"q = {q}": (f"q{q}",) for q in ORDERS},
            "orders 1-4": tuple(f"q{q}" for q in ORDERS),
            "exponential (penalty_order='exponential')": tuple(f"ex{a:g}" for a in EXPONENTIAL_RATES)}
FAMILIES["orders 1-4 and exponential (penalty_order='auto')"] = (FAMILIES["orders 1-4"]
                                                                 + FAMILIES["exponential (penalty_order='exponential')"])
FAMILIES["squared-exponential (not an option)"] = tuple(f"se{a:g}" for a in SQUARED_EXPONENTIAL)
FAMILIES["all of the above"] = tuple(dict.fromkeys(n for names in FAMILIES.values() for n in names))


def one_draw(case: str, seed: int) -> dict:
    """Each prior's evidence minimum, the field error there and the prior's oracle."""
    at = linearization(case, seed)
    problem, z, r, J = at["problem"], at["z"], at["r"], at["J"]
    row = {"case": case, "seed": seed}
    k = np.asarray(problem.field.wavenumber, float)
    metric = field_metric(problem)
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
        # The same prior with the weight of least expected field error (the risk rule).
        risky = weights.tolist().index(choose_weight(J, r, D, "risk", z, metric=metric)[0])
        row.update({f"{name} risk error": float(errors[risky]),
                    f"{name} risk weight / oracle": float(weights[risky] / weights[oracle])})
    for family, names in FAMILIES.items():
        row[f"selected: {family}"] = min(names, key=lambda n: row[f"{n} evidence"])
    row["best error (q 1-2)"] = min(row[f"q{q} oracle error"] for q in (1, 2))
    row["best error (q 1-4)"] = min(row[f"q{q} oracle error"] for q in ORDERS)
    return row


def summarize(rows) -> list[dict]:
    """Per case, family (one order alone, or the evidence's choice among several priors) and
    rule for the weight (the evidence, or the risk rule with the evidence's prior): error ratios
    and targets."""
    out = []
    for case in FIRST_SEED:
        mine = [r for r in rows if r["case"] == case]
        best12 = np.array([r["best error (q 1-2)"] for r in mine])
        best14 = np.array([r["best error (q 1-4)"] for r in mine])
        for family, rule in ((f, rule) for f in FAMILIES for rule in ("evidence", "risk")):
            names, key = FAMILIES[family], "" if rule == "evidence" else " risk"
            picked = [r[f"selected: {family}"] for r in mine]
            error = np.array([r[f"{n}{key} error"] for r, n in zip(mine, picked)])
            own = error / np.array([r[f"{n} oracle error"] for r, n in zip(mine, picked)])
            weight = np.array([r[f"{n}{key} weight / oracle"] for r, n in zip(mine, picked)])
            counts = {n: picked.count(n) for n in dict.fromkeys(picked)}
            out.append({"case": case, "prior": family, "weight by": rule,
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
    table = ("The weight for each penalty order q (w |k^q c|^2) by the evidence or by the risk rule ('weight by'), "
             "and the prior whose evidence is "
             "highest among several ('selected': the members chosen, with how many draws each won): pdeinv's "
             "orders 1-4, its exponential penalty (D^2 = exp(a m), m the mode number, a from 0.25 ... 4), both "
             "together (penalty_order='auto'), and the squared-exponential D^2 = exp(a m^2) (a from a grid). "
             "Field errors over the oracle of the prior chosen (its best weight, knowing the truth), over the best "
             "oracle of q = 1, 2 and over the best of q = 1 ... 4 (Gauss-Newton model at the discrepancy fit with "
             "q = 1).\n\n"
             + markdown_table(summary, ["case", "prior", "selected", "weight by", "median / own oracle",
                                        "worst / own oracle",
                                        "within 1.2x of own oracle", "weight within 2x", "median / best of q 1-2",
                                        "worst / best of q 1-2", "within 1.2x of best of q 1-2",
                                        "median / best of q 1-4"]))
    write_results("penalty_order", {"quick": quick, "draws": draws, "rows": rows, "summary": summary}, table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 draws per case instead of 10")
    run(parser.parse_args().quick)
