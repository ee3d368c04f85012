"""Fit accuracy and cost per method on the example observation sets.

For Burgers, Allen-Cahn and KdV (64 points on the 8 x 8 grid, noise-free, simulated on a grid
twice as fine as the fit's): 10 initial guesses log-uniform in [truth/30, truth*30]; for each
method the success rate (relative error <= 0.1 %), median solver calls, median wall time per
fit (compilation included), and the calls of zo-gn relative to lsq on the starts where lsq
succeeds. least_squares runs twice: plain (its classical use) and with the same global phase
as zo-gn ("lsq+search"), so that the comparison gives both methods equal help. The ZO gradient
method (`zo`, full mode only) runs from the first 3 starts: each fit takes its 500 steps (about
3 minutes), and its course against solver calls is in convergence.py. Then 1 % noise (every
method from the same starts). The paper preset runs in paper.py.

    python -m benchmarks.fit [--quick]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from pdeinv import InverseProblem, fit, load_observations, simulate

from .common import markdown_table, write_results

DATA = Path(__file__).resolve().parents[1] / "data"
CASES = {"burgers": "nu", "allen-cahn": "D", "kdv": "lambda2"}


#: label -> fit options: the named methods, and least_squares given zo-gn's global phase
METHODS = {"zo-gn": {"method": "zo-gn"}, "lsq": {"method": "lsq"}, "lsq+search": {"method": "lsq", "search": True},
           "exact": {"method": "exact"}, "zo": {"method": "zo"}}


def run_one(obs, key, start, label, **options):
    problem = InverseProblem(obs)
    t0 = time.perf_counter()
    result = fit(problem, {key: start}, **{**METHODS[label], **options})
    wall = time.perf_counter() - t0
    truth = obs.true_params[key]
    return {
        "error": abs(result.params[key] / truth - 1),
        "nfev": result.nfev,
        "wall": wall,
        "success": bool(result.success),
        "status": result.status,
        "n": result.grid["n"],
        "start_ratio": start / truth,
    }


def run(quick: bool, equations=None, methods=None, extras: bool = True):
    """``equations`` / ``methods``: a subset (default: all); ``extras``: the noise and paper parts."""
    rng = np.random.default_rng(2024)
    starts_ratio = np.exp(rng.uniform(np.log(1 / 30), np.log(30), 10))
    methods = methods or ["zo-gn", "lsq", "lsq+search", "exact"] + ([] if quick else ["zo"])
    cases = {k: v for k, v in CASES.items() if not equations or k in equations}
    rows, raw = [], {}
    for equation, key in cases.items():
        obs = load_observations(DATA / f"{equation}.h5")
        truth = obs.true_params[key]
        per_method = {}
        for method in methods:
            ratios = starts_ratio[:3] if (method == "exact" and quick) or method == "zo" else starts_ratio
            runs = [run_one(obs, key, truth * r, method) for r in ratios]
            per_method[method] = runs
            ok = [r["error"] <= 1e-3 for r in runs]
            rows.append({
                "equation": equation, "method": method, "starts": len(runs),
                "success_rate": f"{sum(ok)}/{len(runs)}",
                "converged": f"{sum(r['status'] == 'converged' for r in runs)}/{len(runs)}",
                "median_error": float(np.median([r["error"] for r in runs])),
                "max_error": float(np.max([r["error"] for r in runs])),
                "median_nfev": float(np.median([r["nfev"] for r in runs])),
                "median_wall_s": float(np.median([r["wall"] for r in runs])),
            })
            print(rows[-1], flush=True)
        # zo-gn vs lsq on the starts where lsq succeeds
        if "zo-gn" in per_method and "lsq" in per_method:
            pairs = [(a["nfev"], b["nfev"]) for a, b in zip(per_method["zo-gn"], per_method["lsq"]) if b["error"] <= 1e-3]
            if pairs:
                rows[-len(methods)]["calls_vs_lsq"] = float(np.median([a / b for a, b in pairs]))
        raw[equation] = per_method
    if not extras:
        table = ("### Recovery from 10 starts log-uniform in [truth/30, truth*30] (success: rel. error <= 0.1 %)\n\n"
                 + markdown_table(rows, ["equation", "method", "starts", "success_rate", "converged", "median_error",
                                         "max_error", "median_nfev", "median_wall_s", "calls_vs_lsq"]))
        write_results("fit", {"quick": quick, "subset": {"equations": list(cases), "methods": methods},
                              "starts_ratio": starts_ratio.tolist(), "rows": rows, "raw": raw}, table)
        return

    # 1 % noise, every method from the same starts: all should reach the same least-squares
    # estimate, whose distance from the truth the data decide.
    noise_rows = []
    for equation, key in CASES.items():
        obs = simulate(equation, points=64, noise=0.01, seed=1, snapshot="exact")  # methods, not u0
        truth = obs.true_params[key]
        for ratio in (3.0, 1 / 3):
            row = {"equation": equation, "start": f"truth x {ratio:.3g}"}
            for label in ("zo-gn", "lsq", "lsq+search"):
                r = run_one(obs, key, truth * ratio, label)
                row[f"{label}_error"], row[f"{label}_nfev"] = r["error"], r["nfev"]
            noise_rows.append(row)
            print(noise_rows[-1], flush=True)

    table = (
        "### Recovery from 10 starts log-uniform in [truth/30, truth*30] (success: rel. error <= 0.1 %)\n\n"
        + markdown_table(rows, ["equation", "method", "starts", "success_rate", "converged", "median_error",
                                "max_error", "median_nfev", "median_wall_s", "calls_vs_lsq"])
        + ("\n\nzo (the ZO gradient with Adam, 500 steps) from the first 3 of the 10 starts." if "zo" in methods else "")
        + "\n\n### 1 % noise (relative error of each method from the same start)\n\n"
        + markdown_table(noise_rows, ["equation", "start", "zo-gn_error", "lsq_error", "lsq+search_error",
                                      "zo-gn_nfev", "lsq_nfev", "lsq+search_nfev"])
        + "\n\nThe paper preset (1 direction, Adam, 256 x 512 grid, 5000 steps) is in paper.md."
    )
    write_results("fit", {"quick": quick, "starts_ratio": starts_ratio.tolist(), "rows": rows, "raw": raw,
                          "noise": noise_rows}, table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="exact from 3 starts, no zo")
    parser.add_argument("--equations", nargs="*", help="a subset of the equations")
    parser.add_argument("--methods", nargs="*", help="a subset of the methods")
    parser.add_argument("--no-extras", action="store_true", help="skip the noise and paper-preset parts")
    args = parser.parse_args()
    run(args.quick, args.equations, args.methods, extras=not args.no_extras)
