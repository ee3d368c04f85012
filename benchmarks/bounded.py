"""Bounded domains: the Chebyshev basis against exact solutions, scipy's stiff integrators, and
as the forward map of fits.

- speed: a batch of 16 solves of the ``rod`` equation (u_t = D u_xx + (pi^2 - 1) exp(-t)
  sin(pi x), Dirichlet ends, n = 24 Chebyshev points, D in [0.5, 1.5], 11 output times) by
  pdeinv's batched ETDRK4 (compiled before timing) and by scipy ``solve_ivp`` (Radau and BDF,
  the exact Jacobian given) on the same semi-discretization (the interior values, end values
  from the conditions); each method's error against the exact solution of the member D = 1;
- recovery: D of the rod (truth 1, the value of the physics-informed-network toolkits' inverse
  diffusion example) from 64 random noise-free points of data simulated on the doubled grid,
  from starts log-uniform in [truth/30, truth x 30]; and D with the right end value ub (truth
  0.5) as a second unknown: error, status, solver calls, wall time per fit (compilation
  included);
- coverage: D from 64 random points with 1 % noise on every value, the first snapshot included
  (the default: u0 fitted with D as a Chebyshev series), over independent data sets: how often
  the 95 % interval holds the truth, the median error and half-width.

    python -m benchmarks.bounded [--quick]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import pdeinv
from pdeinv.equations import Rod

from .common import markdown_table, write_results

N = 24
TIMES = np.linspace(0.0, 1.0, 11)
BATCH = 16


def exact(t, x, ub=0.0):
    return np.exp(-t) * np.sin(np.pi * x) + ub * (1 + x) / 2


def scipy_batch(eq: Rod, values: np.ndarray, method: str, rtol: float) -> tuple[np.ndarray, float]:
    """Each member by ``solve_ivp`` on the interior values (ends u = 0): u_i' = D (D2 u)_i + f_i."""
    from scipy.integrate import solve_ivp

    inner = slice(1, N - 1)
    A = eq.basis.D2[inner, inner]
    x = eq.x[inner]
    shape = np.sin(np.pi * x) * (np.pi**2 - 1.0)
    out = np.zeros((values.size, TIMES.size, N))
    start = time.perf_counter()
    for b, D in enumerate(values):
        J = D * A
        sol = solve_ivp(lambda t, u: J @ u + np.exp(-t) * shape, (0.0, 1.0), np.sin(np.pi * x), method=method,
                        t_eval=TIMES, rtol=rtol, atol=rtol * 1e-2, jac=J)
        out[b, :, inner] = sol.y.T
    return out, time.perf_counter() - start


def speed(quick: bool) -> list[dict]:
    eq = Rod(N)
    values = np.linspace(0.5, 1.5, BATCH - 1)
    values = np.sort(np.append(values, 1.0))
    member = int(np.nonzero(values == 1.0)[0][0])
    truth = exact(TIMES[:, None], eq.x[None, :])
    eq.solve_batch({"D": values}, TIMES)  # compile
    repeats = 2 if quick else 5
    walls = []
    for _ in range(repeats):
        start = time.perf_counter()
        u = eq.solve_batch({"D": values}, TIMES)
        walls.append(time.perf_counter() - start)
    rows = [{"solver": f"pdeinv ETDRK4 (dt {eq.dt:g})", "error_at_D=1": float(np.max(np.abs(u[member] - truth))),
             "wall_s": float(np.min(walls)), "per_solve_ms": 1e3 * float(np.min(walls)) / BATCH}]
    for method in ("Radau", "BDF"):
        for rtol in ((1e-8,) if quick else (1e-6, 1e-8, 1e-10)):
            best = None
            for _ in range(1 if quick else 2):
                v, wall = scipy_batch(eq, values, method, rtol)
                best = wall if best is None else min(best, wall)
            rows.append({"solver": f"scipy {method} (rtol {rtol:g})", "error_at_D=1": float(np.max(np.abs(v[member] - truth))),
                         "wall_s": best, "per_solve_ms": 1e3 * best / BATCH})
    base = rows[0]["wall_s"]
    for row in rows:
        row["time / pdeinv"] = row["wall_s"] / base
    return rows


def recovery(quick: bool) -> tuple[list[dict], list[dict]]:
    rng = np.random.default_rng(11)
    starts = np.exp(rng.uniform(np.log(1 / 30), np.log(30), 3 if quick else 8))
    cases = [("D", {"D": 1.0}, ("D",)), ("D and ub", {"D": 1.0, "ub": 0.5}, ("D", "ub"))]
    rows, raw = [], []
    for label, truth, unknowns in cases:
        u0 = (lambda x: exact(0.0, x, truth.get("ub", 0.0)))
        obs = pdeinv.simulate("rod", truth, points=64, layout="random", seed=3, u0=u0,
                              fixed=tuple(p for p in ("D", "ua", "ub") if p not in unknowns))
        runs = []
        for start in starts:
            init = {"D": float(start)}
            if "ub" in unknowns:
                init["ub"] = 0.0
            t0 = time.perf_counter()
            result = pdeinv.fit(pdeinv.InverseProblem(obs, unknowns=unknowns), init)
            wall = time.perf_counter() - t0
            error = max(abs(result.params[k] / truth[k] - 1) for k in unknowns)
            runs.append({"start_D": float(start), "status": result.status, "error": error, "nfev": int(result.nfev),
                         "wall": wall, "estimate": {k: float(v) for k, v in result.params.items()}})
            print(label, runs[-1], flush=True)
        raw.append({"case": label, "runs": runs})
        rows.append({"unknowns": label, "fits": len(runs),
                     "converged": f"{sum(r['status'] == 'converged' for r in runs)}/{len(runs)}",
                     "median_error": float(np.median([r["error"] for r in runs])),
                     "max_error": float(np.max([r["error"] for r in runs])),
                     "median_nfev": float(np.median([r["nfev"] for r in runs])),
                     "median_wall_s": float(np.median([r["wall"] for r in runs]))})
    return rows, raw


def coverage(quick: bool, replicates: int) -> tuple[dict, list[dict]]:
    runs = []
    for seed in range(replicates):
        obs = pdeinv.simulate("rod", points=64, layout="random", seed=1000 + seed, noise=0.01)
        problem = pdeinv.InverseProblem(obs)
        result = pdeinv.fit(problem, {"D": 0.5})
        low, high = result.intervals["D"]
        runs.append({"seed": 1000 + seed, "status": result.status, "D": float(result.params["D"]), "low": float(low),
                     "high": float(high), "nfev": int(result.nfev), "u0": problem.initial.mode,
                     "u0_coefficients": problem.field.modes if problem.field is not None else 0})
        print("coverage", runs[-1], flush=True)
    row = {"data sets": len(runs), "converged": f"{sum(r['status'] == 'converged' for r in runs)}/{len(runs)}",
           "u0": ", ".join(sorted({f"{r['u0']} ({r['u0_coefficients']} coefficients)" for r in runs})),
           "covered": f"{sum(r['low'] <= 1.0 <= r['high'] for r in runs)}/{len(runs)}",
           "median_error": float(np.median([abs(r["D"] - 1) for r in runs])),
           "median_half_width": float(np.median([(r["high"] - r["low"]) / 2 for r in runs])),
           "median_nfev": float(np.median([r["nfev"] for r in runs]))}
    return row, runs


def run(quick: bool):
    speed_rows = speed(quick)
    print(markdown_table(speed_rows, ["solver", "error_at_D=1", "wall_s", "per_solve_ms", "time / pdeinv"]), flush=True)
    fit_rows, raw = recovery(quick)
    cover, cover_runs = coverage(quick, 10 if quick else 200)
    table = (
        f"### A batch of {BATCH} rod solves (n = {N} Chebyshev points, 11 output times), one process\n\n"
        + markdown_table(speed_rows, ["solver", "error_at_D=1", "wall_s", "per_solve_ms", "time / pdeinv"])
        + "\n\n### Rod: recovery from 64 random noise-free points (data on the doubled grid), starts in [truth/30, truth x 30]\n\n"
        + markdown_table(fit_rows, ["unknowns", "fits", "converged", "median_error", "max_error", "median_nfev",
                                    "median_wall_s"])
        + "\n\n### Rod: D from 64 random points with 1 % noise on every value (first snapshot included), 95 % "
        "intervals over independent data sets\n\n"
        + markdown_table([cover], ["data sets", "converged", "u0", "covered", "median_error", "median_half_width",
                                   "median_nfev"])
    )
    write_results("bounded", {"quick": quick, "n": N, "batch": BATCH, "speed": speed_rows, "recovery": fit_rows,
                              "raw": raw, "coverage": cover, "coverage_runs": cover_runs}, table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer starts and repeats")
    run(parser.parse_args().quick)
