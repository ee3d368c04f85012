"""Experiment design: do designed points pin the unknowns down better than random ones?

For Burgers nu and KdV lambda2: ``pdeinv.design`` chooses 64 (t, x) points at a guess that is
off (Burgers 1.5x the truth, prior box x/÷ 2; KdV 1.2x, x/÷ 1.5). Then, over many replicate
experiments (seeds), data are simulated at the designed points and at 64 uniformly random
points with the same 1 % noise, each fitted the same way (the default fit from the design's
guess, bounded to the design's prior box for both layouts: equal help), with the initial
condition exact, and as a measured first snapshot with the same noise (u0 fitted with the
parameter); the design is told which (a measured u0's coefficients are nuisances in its
information). The target: the designed points' standard deviation of the estimate
at least 2x smaller than the random points', measured by fitting, not only predicted.

    python -m benchmarks.design [--quick] [--replicates N] [--processes P]
"""

from __future__ import annotations

import argparse
import itertools
import os
import time

import numpy as np

from pdeinv import InverseProblem, design, fit, simulate
from pdeinv.parallel import ProcessPool

from .common import markdown_table, write_results

#: case -> (equation, unknown, guess / truth, spread)
CASES = {"Burgers nu": ("burgers", "nu", 1.5, 2.0), "KdV lambda2": ("kdv", "lambda2", 1.2, 1.5)}
NOISE = 0.01
POINTS = 64
ARMS = {"exact u0": "exact", "measured snapshot": "measured"}


def make_plan(case, snapshot):
    """The design for a case, told what the experiment knows of u0 (exact, or a measured snapshot)."""
    equation, unknown, factor, spread = CASES[case]
    from pdeinv.equations import get_equation

    truth = get_equation(equation).defaults[unknown]
    t0 = time.perf_counter()
    plan = design(equation, {unknown: factor * truth}, budget=POINTS, spread=spread, noise=NOISE, initial=snapshot)
    return plan, time.perf_counter() - t0


def replicate(job):
    """The fits of one seed and one arm: designed and random points."""
    case, arm, plan, seed = job
    snapshot = ARMS[arm]
    equation, unknown, factor, spread = CASES[case]
    truth = plan.guess[unknown] / factor
    bounds = {unknown: tuple(plan.settings["prior_box"][unknown])}
    out = {}
    for layout in ("designed", "random"):
        obs = simulate(equation, at=plan, noise=NOISE, seed=seed, snapshot=snapshot) if layout == "designed" else \
            simulate(equation, points=POINTS, layout="random", noise=NOISE, seed=seed, snapshot=snapshot)
        t0 = time.perf_counter()
        result = fit(InverseProblem(obs, [unknown], bounds=bounds), {unknown: plan.guess[unknown]}, seed=seed)
        lo, hi = result.intervals.get(unknown, [None, None])
        out[(layout, arm)] = {"error": result.params[unknown] / truth - 1, "status": result.status,
                              "covers": bool(lo is not None and lo <= truth <= hi), "nfev": result.nfev,
                              "wall": time.perf_counter() - t0}
    return out


COLUMNS = ["case", "u0", "points", "replicates", "sd", "sd random / sd designed", "predicted sd", "rmse",
           "median |error|", "coverage", "converged", "poor_fit", "median_nfev", "median_wall_s"]


def summarize(case, arm, plan, done) -> list[dict]:
    rows = []
    sds = {layout: float(np.std([d[(layout, arm)]["error"] for d in done], ddof=1)) for layout in ("designed", "random")}
    for layout in ("designed", "random"):
        runs = [d[(layout, arm)] for d in done]
        errors = np.array([r["error"] for r in runs])
        unknown = CASES[case][1]
        rows.append({"case": case, "u0": arm, "points": layout, "replicates": len(runs), "sd": sds[layout],
                     "sd random / sd designed": sds["random"] / sds["designed"] if layout == "designed" else "",
                     "predicted sd": plan.predicted_std[unknown] if layout == "designed" else plan.random_std[unknown],
                     "rmse": float(np.sqrt(np.mean(errors ** 2))),
                     "median |error|": float(np.median(np.abs(errors))),
                     "coverage": float(np.mean([r["covers"] for r in runs])),
                     "converged": float(np.mean([r["status"] == "converged" for r in runs])),
                     "poor_fit": float(np.mean([r["status"] == "poor_fit" for r in runs])),
                     "median_nfev": float(np.median([r["nfev"] for r in runs])),
                     "median_wall_s": float(np.median([r["wall"] for r in runs]))})
    return rows


def run(quick: bool, replicates: int | None = None, processes: int | None = None):
    replicates = replicates or (12 if quick else 50)
    processes = processes or len(os.sched_getaffinity(0))
    rows, plans = [], {}
    with ProcessPool(processes) as pool:
        for case, (arm, snapshot) in itertools.product(CASES, ARMS.items()):
            plan, seconds = make_plan(case, snapshot)
            plans[f"{case}, {arm}"] = {**plan.summary(), "design_wall_s": seconds,
                                       "t": plan.t.tolist(), "x": plan.x.tolist()}
            print(f"{case}, {arm}: designed in {seconds:.1f} s; predicted sd {plan.predicted_std} vs random "
                  f"{plan.random_std}", flush=True)
            done = pool.map(replicate, [(case, arm, plan, seed) for seed in range(replicates)])
            rows.extend(summarize(case, arm, plan, done))
            complete = len(rows) == 4 * len(CASES)
            lines = [f"- {key}: {p['notes'][0]}; {p['design_wall_s']:.1f} s, "
                     f"{p['settings']['draws_used'] * (3 + 2 * p['settings']['u0_modes'])} solves"
                     for key, p in plans.items()]
            table = ("### Designed against random observation points\n\n"
                     f"{replicates} replicate experiments per row (seeds 0-{replicates - 1}), {POINTS} points, "
                     f"{NOISE:.0%} noise on every value; the same seeds for both layouts; every fit the default one "
                     "from the design's guess, bounded to its prior box; sd is that of the relative error of the "
                     "estimate over the replicates; predicted sd from the design's Gauss-Newton information (median "
                     "over its prior draws; for random points over 32 random layouts of the candidates); coverage of "
                     f"the 95 % Laplace interval; {processes} replicates at once, one process each.\n\n"
                     + "\n".join(lines) + "\n\n" + markdown_table(rows, COLUMNS)
                     + ("" if complete else "\n\nIncomplete run: the cases not listed were not yet measured."))
            write_results("design", {"quick": quick, "replicates": replicates, "complete": complete, "plans": plans,
                                     "rows": rows}, table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="12 replicates per row")
    parser.add_argument("--replicates", type=int, default=None, help="replicates per row (default 12 quick, 50 full)")
    parser.add_argument("--processes", type=int, default=None, help="replicates fitted at once (default: one per core)")
    args = parser.parse_args()
    run(args.quick, args.replicates, args.processes)
