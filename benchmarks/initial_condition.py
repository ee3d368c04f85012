"""Measured data: a noisy first snapshot fitted with the parameters, against taking it as exact.

Each replicate simulates 64 random points and a 256-sample first snapshot (on a grid twice as
fine as the fit's), with the same relative noise on both (sigma in the file), and fits the
equation's default unknown three ways, each with the same help (the default fit: its global
phase, from 1.3x the truth; Laplace intervals at 95 %):

- **joint** (``u0="auto"``, the default): the snapshot's samples are data at t0 and u0 is
  fitted with the parameter;
- **as exact** (``u0="exact"``): the noisy snapshot taken as the exact initial condition, as
  pdeinv did before and as most tools do;
- **oracle**: the same later points with the true u0 (not available in practice: the floor).

Reported per case and noise level: median and 90th-percentile error, coverage of the 95 %
interval and its median half-width (relative to the truth: what the data allow, to compare with
the error), the share of fits flagged poor_fit, median solver calls and wall time. The target:
the joint fit within 2x the oracle's error, with calibrated intervals.

    python -m benchmarks.initial_condition [--quick] [--replicates N] [--processes P] [--arms joint,oracle]

With ``--arms joint,oracle`` the "as exact" arm (whose failure 10 data sets already show) is left
out: coverage over hundreds of data sets costs a third less.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from pdeinv import InverseProblem, fit, simulate
from pdeinv.parallel import ProcessPool

from .common import markdown_table, write_results

CASES = {"Burgers nu": ("burgers", "nu"), "KdV lambda2": ("kdv", "lambda2"), "Allen-Cahn D": ("allen-cahn", "D")}
ARMS = ("joint", "as exact", "oracle")
START = 1.3


def replicate(job):
    """The fits of one data set (each arm asked for): the case's layout and noise drawn with
    ``seed``."""
    name, noise, seed, arms = job
    equation, unknown = CASES[name]
    measured = simulate(equation, points=64, layout="random", seed=seed, noise=noise)
    # same later points and noise (the snapshot has its own noise stream), the true u0 exact
    exact = simulate(equation, points=64, layout="random", seed=seed, noise=noise, snapshot="exact")
    assert np.array_equal(measured.u, exact.u)
    truth = measured.true_params[unknown]
    out = {}
    problems = {"joint": lambda: InverseProblem(measured, [unknown]),
                "as exact": lambda: InverseProblem(measured, [unknown], u0="exact"),
                "oracle": lambda: InverseProblem(exact, [unknown])}
    for arm in arms:
        problem = problems[arm]()
        t0 = time.perf_counter()
        result = fit(problem, {unknown: START * truth}, seed=seed)
        lo, hi = result.intervals.get(unknown, [None, None])
        out[arm] = {"error": abs(result.params[unknown] / truth - 1), "status": result.status,
                    "covers": bool(lo is not None and hi is not None and lo <= truth <= hi),
                    "halfwidth": (hi - lo) / 2 / truth if lo is not None and hi is not None else float("inf"),
                    "nfev": result.nfev, "wall": time.perf_counter() - t0,
                    "modes": problem.field.modes if problem.field is not None else 0}
    return out


def summarize(name, noise, done, arms=ARMS) -> list[dict]:
    rows = []
    oracle = float(np.median([d["oracle"]["error"] for d in done])) if "oracle" in arms else float("nan")
    for arm in arms:
        runs = [d[arm] for d in done]
        errors = np.array([r["error"] for r in runs])
        rows.append({"case": name, "noise": f"{noise:.0%}", "u0": arm, "replicates": len(runs),
                     "median_error": float(np.median(errors)), "p90_error": float(np.quantile(errors, 0.9)),
                     "median / oracle": float(np.median(errors) / oracle) if oracle > 0 else float("nan"),
                     "coverage": float(np.mean([r["covers"] for r in runs])),
                     "median_halfwidth": float(np.median([r["halfwidth"] for r in runs])),
                     "poor_fit": float(np.mean([r["status"] == "poor_fit" for r in runs])),
                     "converged": float(np.mean([r["status"] == "converged" for r in runs])),
                     "median_nfev": float(np.median([r["nfev"] for r in runs])),
                     "median_wall_s": float(np.median([r["wall"] for r in runs])),
                     "u0_modes": int(np.median([r["modes"] for r in runs]))})
    return rows


COLUMNS = ["case", "noise", "u0", "replicates", "median_error", "p90_error", "median / oracle", "coverage",
           "median_halfwidth",
           "poor_fit", "converged", "median_nfev", "median_wall_s", "u0_modes"]


def run(quick: bool, replicates: int | None = None, processes: int | None = None, arms=ARMS,
        name: str = "initial_condition"):
    replicates = replicates or (10 if quick else 200)
    arms = tuple(a for a in ARMS if a in arms)
    processes = processes or len(os.sched_getaffinity(0))
    rows: list[dict] = []
    with ProcessPool(processes) as pool:
        for case in CASES:
            for noise in (0.01, 0.05):
                done = pool.map(replicate, [(case, noise, seed, arms) for seed in range(replicates)])
                rows.extend(summarize(case, noise, done, arms))
                for row in rows[-len(arms):]:
                    print(row, flush=True)
                complete = len(rows) == len(CASES) * 2 * len(arms)
                title = ", ".join({"joint": "fitted (joint)", "as exact": "taken as exact",
                                   "oracle": "the true u0 (oracle)"}[a] for a in arms)
                table = (f"### A noisy first snapshot: {title}\n\n"
                         f"{replicates} data sets per row (64 random points and a 256-sample snapshot, the same "
                         f"noise on both, seeds 0-{replicates - 1}); every fit the default one from {START}x the "
                         f"truth; {processes} data sets at once, one process each; coverage of the 95 % Laplace "
                         "interval.\n\n" + markdown_table(rows, COLUMNS)
                         + ("" if complete else "\n\nIncomplete run: the cases not listed were not yet measured."))
                write_results(name, {"quick": quick, "replicates": replicates, "complete": complete,
                                                    "arms": list(arms), "rows": rows}, table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 data sets per row")
    parser.add_argument("--replicates", type=int, default=None, help="data sets per row (default 10 quick, 200 full)")
    parser.add_argument("--processes", type=int, default=None, help="data sets fitted at once (default: one per core)")
    parser.add_argument("--arms", default=",".join(ARMS), help=f"comma-separated subset of {', '.join(ARMS)}")
    args = parser.parse_args()
    arms = tuple(a.strip() for a in args.arms.split(","))
    unknown = sorted(set(arms) - set(ARMS))
    if unknown:
        parser.error(f"unknown arm(s) {unknown}; choose among {list(ARMS)}")
    run(args.quick, args.replicates, args.processes, arms)
