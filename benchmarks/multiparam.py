"""Several unknowns at once: recovery from far starts, global phase with and without the
continuation in time.

Cases (noise-free, random layout, simulated on a grid twice as fine as the fit's):

- KdV lambda1 + lambda2 and Burgers lambda1 + nu, 200 points; NLS a + b from 64 complex
  values and from |h| alone. Starts log-uniform in [truth/10, truth x 10] per coordinate;
  success: every relative error <= 0.1 %.
- Kuramoto-Sivashinsky alpha + beta + gamma, 256 points over the default t in [0, 100] (chaotic
  after t ~ 60): the 8 corners of truth x/÷ 3 and 2 starts log-uniform in [truth/3, truth x 3];
  success <= 1 %.

Each start runs the default fit (scan on the first eighth of the time span, short fits on a
quarter and a half, then the full data: ``windows=3``) and, side by side, the same fit with
the scan alone (``windows=0``: the local phase from the scan's best point).

    python -m benchmarks.multiparam [--quick]      (--quick: 3 starts per case)
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np

from pdeinv import InverseProblem, fit, simulate

from .common import markdown_table, write_results


def cases():
    """name -> (make observations, unknowns, start ratios (10, d), success tolerance)."""
    rng = np.random.default_rng(2024)
    far = np.exp(rng.uniform(np.log(0.1), np.log(10.0), (10, 2)))
    corners = np.array(list(itertools.product([1 / 3, 3.0], repeat=3)))
    ks_starts = np.concatenate([corners, np.exp(rng.uniform(np.log(1 / 3), np.log(3.0), (2, 3)))])
    return {
        "KdV lambda1+lambda2": (lambda: simulate("kdv", points=200, layout="random", seed=1, fixed=()),
                                ("lambda1", "lambda2"), far, 1e-3),
        "Burgers lambda1+nu": (lambda: simulate("burgers", points=200, layout="random", seed=1, fixed=()),
                               ("lambda1", "nu"), far, 1e-3),
        "NLS a+b (complex h)": (lambda: simulate("nls", points=64, layout="random", seed=0), ("a", "b"), far, 1e-3),
        "NLS a+b (|h| only)": (lambda: simulate("nls", points=64, layout="random", seed=0, observable="abs"),
                               ("a", "b"), far, 1e-3),
        "KS alpha+beta+gamma": (lambda: simulate("ks", points=256, layout="random", seed=1),
                                ("alpha", "beta", "gamma"), ks_starts, 1e-2),
    }


def run_one(obs, unknowns, start, windows, seed):
    problem = InverseProblem(obs, unknowns)
    init = {k: obs.true_params[k] * r for k, r in zip(unknowns, start)}
    t0 = time.perf_counter()
    result = fit(problem, init, seed=seed, windows=windows)
    wall = time.perf_counter() - t0
    errors = {k: abs(result.params[k] / obs.true_params[k] - 1) for k in unknowns}
    return {"start_ratio": [float(r) for r in start], "errors": errors, "nfev": int(result.nfev), "wall": wall,
            "status": result.status, "n": int(result.grid["n"]), "message": result.message}


def summarize(name, unknowns, runs, tolerance, label):
    ok = [max(r["errors"].values()) <= tolerance for r in runs]
    row = {"case": name, "global phase": label, "starts": len(runs), "successes": f"{sum(ok)}/{len(runs)}",
           "median_nfev": float(np.median([r["nfev"] for r in runs])),
           "max_nfev": int(np.max([r["nfev"] for r in runs])),
           "median_wall_s": float(np.median([r["wall"] for r in runs]))}
    row["errors (median / max)"] = ", ".join(
        f"{k} {np.median([r['errors'][k] for r in runs]):.1e} / {np.max([r['errors'][k] for r in runs]):.1e}"
        for k in unknowns)
    return row


def run(quick: bool):
    rows, raw = [], {}
    variants = [(3, "scan + time windows (default)"), (0, "scan only (windows=0)")]
    for name, (make, unknowns, starts, tolerance) in cases().items():
        obs = make()
        chosen = starts[:3] if quick else starts
        raw[name] = {"tolerance": tolerance}
        for windows, label in variants:
            runs = []
            for i, start in enumerate(chosen):
                runs.append(run_one(obs, unknowns, start, windows, seed=i))
                print(f"{name} [{label}] start {i}: max error {max(runs[-1]['errors'].values()):.1e}, "
                      f"{runs[-1]['nfev']} calls, {runs[-1]['wall']:.1f} s", flush=True)
            rows.append(summarize(name, unknowns, runs, tolerance, label))
            raw[name][f"windows={windows}"] = runs
    table = (
        "### Several unknowns from far starts (success: every relative error <= 0.1 %, KS <= 1 %)\n\n"
        + markdown_table(rows, ["case", "global phase", "starts", "successes", "errors (median / max)",
                                "median_nfev", "max_nfev", "median_wall_s"])
    )
    write_results("multiparam", {"quick": quick, "rows": rows, "raw": raw}, table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 starts per case")
    run(parser.parse_args().quick)
