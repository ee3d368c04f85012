"""Systems of several species: the two-species diffusion-reaction system (``reaction``: A_t = D
A_xx - k A B^2, B_t = D B_xx - 2 k A B^2 on [0, 1], A = B = 1 at x = 0 and 0 at x = 1, A = B =
exp(-20 x) at t = 0, t in [0, 10]; D = 2e-3, k = 0.1 as in the physics-informed-network toolkits'
inverse example).

- speed: a batch of 16 solves (n = 48 Chebyshev points per species, 11 output times, D in
  [1e-3, 4e-3]) by pdeinv's batched ETDRK4 (compiled before timing) and by scipy ``solve_ivp``
  (Radau and BDF with the exact Jacobian) on the same semi-discretization (the interior values of
  both species, ends from the conditions); each method's error against a Radau solve of that
  semi-discretization at rtol 1e-13 (the member D = 2e-3);
- recovery: D and k from 64 random noise-free (t, x) points of data simulated on the doubled
  grid, observed in both species (128 values) or in B alone (64), from starts log-uniform in
  [truth/30, truth x 30] for each unknown independently; pdeinv's default method against scipy's
  least_squares given the same global phase (``method="lsq", search=True``): error, status,
  solver calls, wall time per fit (compilation included);
- coverage: D and k from 64 random points of both species with 1 % noise on every value, the
  first snapshot included (a system's initial condition is not fitted yet: the snapshot is
  taken as exact, and the fit says so), over independent data sets: how often each 95 %
  interval holds the truth, median errors.

    python -m benchmarks.systems [--quick]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import pdeinv
from pdeinv.equations import Reaction

from .common import markdown_table, write_results

N = 48
TIMES = np.linspace(0.0, 10.0, 11)
BATCH = 16
TRUTH = {"D": 2e-3, "k": 0.1}


def scipy_batch(eq: Reaction, values: np.ndarray, method: str, rtol: float) -> tuple[np.ndarray, float]:
    """Each member by ``solve_ivp`` on the interior values of A and B (ends 1 and 0)."""
    from scipy.integrate import solve_ivp
    from scipy.linalg import block_diag

    inner = slice(1, N - 1)
    m = N - 2
    A2 = eq.basis.D2[inner, inner]
    left = eq.basis.D2[inner, 0]  # the end value 1 at x = 0 enters through this column
    u0 = eq.u0[:, inner].ravel()
    k = TRUTH["k"]
    out = np.zeros((values.size, TIMES.size, 2, N))
    out[:, :, :, 0] = 1.0
    start = time.perf_counter()
    for b, D in enumerate(values):
        L = block_diag(D * A2, D * A2)
        shift = np.concatenate([D * left, D * left])

        def rate(t, y):
            a, bb = y[:m], y[m:]
            r = k * a * bb * bb
            return L @ y + shift - np.concatenate([r, 2 * r])

        def jac(t, y):
            a, bb = y[:m], y[m:]
            ra, rb = np.diag(k * bb * bb), np.diag(2 * k * a * bb)
            return L - np.block([[ra, rb], [2 * ra, 2 * rb]])

        sol = solve_ivp(rate, (TIMES[0], TIMES[-1]), u0, method=method, t_eval=TIMES, rtol=rtol, atol=rtol * 1e-2,
                        jac=jac)
        out[b, :, :, inner] = sol.y.T.reshape(TIMES.size, 2, m)
    return out, time.perf_counter() - start


def speed(quick: bool) -> list[dict]:
    eq = Reaction(N)
    values = np.sort(np.append(np.linspace(1e-3, 4e-3, BATCH - 1), TRUTH["D"]))
    member = int(np.nonzero(values == TRUTH["D"])[0][0])
    reference, _ = scipy_batch(eq, values[member:member + 1], "Radau", 1e-13)
    eq.solve_batch({"D": values}, TIMES)  # compile
    walls = []
    for _ in range(2 if quick else 5):
        start = time.perf_counter()
        u = eq.solve_batch({"D": values}, TIMES)
        walls.append(time.perf_counter() - start)
    rows = [{"solver": f"pdeinv ETDRK4 (dt {eq.dt:g})", "error_at_truth": float(np.max(np.abs(u[member] - reference[0]))),
             "wall_s": float(np.min(walls)), "per_solve_ms": 1e3 * float(np.min(walls)) / BATCH}]
    for method in ("Radau", "BDF"):
        for rtol in ((1e-8,) if quick else (1e-6, 1e-8, 1e-10)):
            v, wall = scipy_batch(eq, values, method, rtol)
            rows.append({"solver": f"scipy {method} (rtol {rtol:g})",
                         "error_at_truth": float(np.max(np.abs(v[member] - reference[0]))),
                         "wall_s": wall, "per_solve_ms": 1e3 * wall / BATCH})
    base = rows[0]["wall_s"]
    for row in rows:
        row["time / pdeinv"] = row["wall_s"] / base
    return rows


METHODS = (("zo-gn (default)", {}), ("scipy least_squares + the same global phase", {"method": "lsq", "search": True}))


def recovery(quick: bool) -> tuple[list[dict], list[dict]]:
    rng = np.random.default_rng(5)
    count = 2 if quick else 6
    starts = np.exp(rng.uniform(np.log(1 / 30), np.log(30), (count, 2)))
    rows, raw = [], []
    for label, observed in (("A and B", ["A", "B"]), ("B alone", ["B"])):
        obs = pdeinv.simulate("reaction", TRUTH, points=64, layout="random", seed=3, components=observed)
        for method, options in METHODS:
            runs = []
            for factor in starts:
                init = {"D": TRUTH["D"] * float(factor[0]), "k": TRUTH["k"] * float(factor[1])}
                t0 = time.perf_counter()
                result = pdeinv.fit(pdeinv.InverseProblem(obs), init, **options)
                wall = time.perf_counter() - t0
                error = max(abs(result.params[k] / TRUTH[k] - 1) for k in TRUTH)
                runs.append({"start": init, "status": result.status, "error": error, "nfev": int(result.nfev),
                             "wall": wall, "estimate": {k: float(v) for k, v in result.params.items()}})
                print(label, method, runs[-1], flush=True)
            raw.append({"observed": label, "method": method, "runs": runs})
            rows.append({"observed": label, "values": obs.n_points, "method": method, "fits": len(runs),
                         "converged": f"{sum(r['status'] == 'converged' for r in runs)}/{len(runs)}",
                         "within_1e-6": f"{sum(r['error'] <= 1e-6 for r in runs)}/{len(runs)}",
                         "median_error": float(np.median([r["error"] for r in runs])),
                         "max_error": float(np.max([r["error"] for r in runs])),
                         "median_nfev": float(np.median([r["nfev"] for r in runs])),
                         "median_wall_s": float(np.median([r["wall"] for r in runs]))})
    return rows, raw


def coverage(replicates: int) -> tuple[dict, list[dict]]:
    runs = []
    for seed in range(replicates):
        obs = pdeinv.simulate("reaction", TRUTH, points=64, layout="random", seed=1000 + seed, noise=0.01)
        problem = pdeinv.InverseProblem(obs)
        result = pdeinv.fit(problem, {"D": 4e-3, "k": 0.2})
        runs.append({"seed": 1000 + seed, "status": result.status, "estimate": {k: float(v) for k, v in result.params.items()},
                     # an interval the data leave open on a side has None there
                     # (a failed fit has no intervals: counted as not covering)
                     "intervals": {k: [None if v is None else float(v) for v in result.intervals[k]]
                                   if k in result.intervals else None for k in TRUTH},
                     "nfev": int(result.nfev),
                     "u0": problem.initial.mode})
        print("coverage", runs[-1], flush=True)
    statuses = sorted({r["status"] for r in runs})
    row = {"data sets": len(runs), "statuses": ", ".join(f"{s} {sum(r['status'] == s for r in runs)}" for s in statuses),
           "u0": ", ".join(sorted({r["u0"] for r in runs})), "median_nfev": float(np.median([r["nfev"] for r in runs]))}

    def covers(interval, truth):
        if interval is None:
            return False
        low, high = interval
        return (low is None or low <= truth) and (high is None or truth <= high)

    for name in TRUTH:
        row[f"{name} covered"] = f"{sum(covers(r['intervals'][name], TRUTH[name]) for r in runs)}/{len(runs)}"
        row[f"{name} median_error"] = float(np.median([abs(r["estimate"][name] / TRUTH[name] - 1) for r in runs]))
    return row, runs


def run(quick: bool):
    speed_rows = speed(quick)
    columns = ["solver", "error_at_truth", "wall_s", "per_solve_ms", "time / pdeinv"]
    print(markdown_table(speed_rows, columns), flush=True)
    fit_rows, raw = recovery(quick)
    cover, cover_runs = coverage(10 if quick else 50)
    table = (
        f"### A batch of {BATCH} diffusion-reaction solves (two species, n = {N} Chebyshev points each, 11 output "
        "times), one process\n\n"
        + markdown_table(speed_rows, columns)
        + "\n\n### D and k from 64 random noise-free points (data on the doubled grid), starts in [truth/30, truth x 30]"
        "\n\n"
        + markdown_table(fit_rows, ["observed", "values", "method", "fits", "converged", "within_1e-6", "median_error",
                                    "max_error", "median_nfev", "median_wall_s"])
        + "\n\nThe physics-informed network of the toolkits' example trains 80,000 Adam iterations on 2,000 residual "
        "points plus the observations for the same two unknowns."
        + "\n\n### D and k from 64 random points of both species, 1 % noise on every value (first snapshot included), "
        "95 % intervals over independent data sets\n\n"
        + markdown_table([cover], ["data sets", "statuses", "u0", "D covered", "D median_error", "k covered",
                                   "k median_error", "median_nfev"])
        + "\n\nA fit that ends poor_fit (it does not explain its data, e.g. a wrong minimum) has intervals marked "
        "not calibrated; they are counted here as they are; a failed fit has none and counts as not covering."
    )
    write_results("systems", {"quick": quick, "n": N, "batch": BATCH, "speed": speed_rows, "recovery": fit_rows,
                              "raw": raw, "coverage": cover, "coverage_runs": cover_runs}, table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer starts and repeats")
    run(parser.parse_args().quick)
