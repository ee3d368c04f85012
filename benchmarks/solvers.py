"""Forward-solver speed and accuracy.

Per-solve wall time for each equation (paper grid 256 points x 512 steps, and 512 / 1024
points), JIT compile time separately, single vs batched (16 and 64 parameter sets in one call),
and a work-precision comparison with a SciPy baseline (the same pseudo-spectral right-hand side
under scipy.integrate.solve_ivp, RK45 or Radau) at equal accuracy, measured side by side, and with
exponax's ETDRK4 on the same equations when exponax is installed (it is not a dependency).

    python -m benchmarks.solvers [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time

import jax
import numpy as np
from scipy.integrate import solve_ivp

from pdeinv.solvers import AllenCahn, Burgers, KdV, SolverDivergedError
from pdeinv.solvers.core import step_schedule

from .common import markdown_table, write_results

EQUATIONS = {"burgers": Burgers, "allen-cahn": AllenCahn, "kdv": KdV}


def best_time(fn, repeat=5):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


# The nonlinear terms of pdeinv's equations, written in plain NumPy for the baseline.
NUMPY_NONLINEAR = {
    "burgers": lambda eq, p, u: -0.5 * eq.ik * np.fft.rfft(u * u),
    "allen-cahn": lambda eq, p, u: -p["r"] * np.fft.rfft(u**3),
    "kdv": lambda eq, p, u: -0.5 * p["lambda1"] * eq.ik * np.fft.rfft(u * u),
}


def scipy_rhs(name, eq, params):
    """The same pseudo-spectral right-hand side as pdeinv's (linear symbol + nonlinear term),
    in plain NumPy on the grid values: a fair baseline pays no JAX dispatch per call."""
    L = np.asarray(eq.linear_symbol(eq.params_pytree(params)))
    nonlinear = NUMPY_NONLINEAR[name]
    full = eq.check_params(params)

    def rhs(_, u):
        return np.fft.irfft(L * np.fft.rfft(u) + nonlinear(eq, full, u), n=eq.n)

    return rhs


def scipy_solve(name, eq, params, t, method, rtol):
    sol = solve_ivp(scipy_rhs(name, eq, params), (0.0, t[-1]), eq.u0, t_eval=t, method=method, rtol=rtol,
                    atol=rtol * 1e-2)
    if not sol.success:
        raise RuntimeError(sol.message)
    return sol.y.T, sol.nfev


def _scipy_in_worker(job):
    """One SciPy solve in a pool worker (the equation is rebuilt there: it does not pickle)."""
    name, n, params, t, method, rtol = job
    return scipy_solve(name, EQUATIONS[name](n=n), params, t, method, rtol)[1]


BLAS_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@contextlib.contextmanager
def one_blas_thread():
    """Processes started inside use one BLAS thread each: a pool of one process per core whose
    processes each start a BLAS thread per core (Radau's LU) oversubscribes the cores."""
    saved = {name: os.environ.get(name) for name in BLAS_THREAD_VARIABLES}
    os.environ.update({name: "1" for name in BLAS_THREAD_VARIABLES})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def scipy_pool_seconds(name, n, params, t, method, rtol, batch=16, processes=None):
    """Per-solve wall time of ``batch`` SciPy solves spread over a pool of as many processes as
    the cores pdeinv's batches use, one BLAS thread each: the baseline at equal cores (pool
    start-up not counted). 16 solves keep each process busy for 8 solves, enough for a per-solve
    rate; runs longer than 10 s are timed once."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    processes = processes or len(os.sched_getaffinity(0))
    jobs = [(name, n, dict(params), np.asarray(t), method, rtol)] * batch
    with one_blas_thread(), ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(_scipy_in_worker, jobs[:processes]))  # start and warm every worker
        start = time.perf_counter()
        list(pool.map(_scipy_in_worker, jobs))
        once = time.perf_counter() - start
        if once > 10:
            return once / batch
        start = time.perf_counter()
        list(pool.map(_scipy_in_worker, jobs))
        return min(once, time.perf_counter() - start) / batch


# exponax (optional): the same semi-discrete equations with its ETDRK4 (order 4, no dealiasing,
# conservative convection). Its grid starts at 0 instead of pdeinv's domain[0]; with constant
# coefficients that only relabels the same samples.
def exponax_rollout(name, eq, params, sub_steps, intervals):
    import equinox as eqx
    import exponax

    full = eq.check_params(params)
    dt = 0.1 / sub_steps
    common = dict(order=4, dealiasing_fraction=None)
    if name == "burgers":
        stepper = exponax.stepper.Burgers(1, eq.length, eq.n, dt, diffusivity=full["nu"], convection_scale=1.0,
                                          conservative=True, **common)
    elif name == "allen-cahn":
        stepper = exponax.stepper.reaction.AllenCahn(1, eq.length, eq.n, dt, diffusivity=full["D"],
                                                     first_order_coefficient=full["r"],
                                                     third_order_coefficient=-full["r"], **common)
    else:
        stepper = exponax.stepper.KortewegDeVries(1, eq.length, eq.n, dt, convection_scale=full["lambda1"],
                                                  dispersivity=full["lambda2"], hyper_diffusivity=0.0,
                                                  conservative=True, **common)
    rollout = eqx.filter_jit(exponax.rollout(exponax.RepeatedStepper(stepper, sub_steps), intervals, include_init=True))
    u0 = jax.numpy.asarray(eq.u0)[None, :]
    return lambda: np.asarray(rollout(u0))[:, 0, :]


def exponax_runs(name, cls, t, ref, n):
    """exponax's single-solve time and error over a range of steps (output every 0.1)."""
    eq = cls(n=n)
    runs = []
    for m in EXPONAX_SUB_STEPS:
        solve = exponax_rollout(name, eq, cls.defaults, m, len(t) - 1)
        u = solve()  # compile
        runs.append({"steps": 10 * m, "error": rel_err(u, ref) if np.all(np.isfinite(u)) else float("inf"),
                     "seconds": best_time(solve)})
    return runs


def rel_err(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


# Work-precision comparison on the paper grid (n = 256): pdeinv over a range of steps, SciPy over
# a range of tolerances, both against one fine reference; at each accuracy level each side is
# charged its cheapest run that reaches it.
OUR_STEPS = tuple(int(round(128 * 2 ** (j / 2))) for j in range(11))  # 128 ... 4096, ratio sqrt(2)
# sub-steps per output interval: ceil(pdeinv's step counts / 10), so exponax never takes fewer steps
EXPONAX_SUB_STEPS = tuple(int(np.ceil(s / 10)) for s in OUR_STEPS)
# RK45 and Radau (an implicit method, dense Jacobian) over tolerances; KdV's stiff dispersion
# makes RK45 take ~1e6 steps, so it runs once there.
SCIPY_RUNS = {
    "default": [("RK45", r) for r in (1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-11)]
    + [("Radau", r) for r in (1e-5, 1e-7, 1e-9)],
    "kdv": [("RK45", 1e-6)] + [("Radau", r) for r in (1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10)],
}
LEVELS = (1e-6, 1e-8, 1e-10)
PAPER_STEPS = 512  # the paper's grid: 256 points x 512 steps


def work_precision(name, cls, t, quick, with_exponax=False, n=256):
    """Work-precision rows on ``n`` points: the paper grid (n = 256) adds the paper's own step."""
    assert np.allclose(t, np.linspace(0, 1, 11))  # exponax steps through uniform intervals of 0.1
    paper_grid = n == 256
    eq_ref = cls(n=n, dt=1 / 32768)
    params = cls.defaults
    ref = eq_ref.solve(params, t)
    ours = []
    for steps in OUR_STEPS:
        eq = cls(n=n, dt=1 / steps)
        try:
            eq.solve(params, t)  # compile
            seconds = best_time(lambda: eq.solve(params, t))
            err = rel_err(eq.solve(params, t), ref)
        except SolverDivergedError:
            seconds, err = float("nan"), float("inf")
        taken = len(step_schedule(t, 0.0, eq.dt).step_kind)  # ceil per output interval: 512 -> 520
        ours.append({"per_unit_time": steps, "steps": taken, "error": err, "seconds": seconds})
    theirs = []
    runs = SCIPY_RUNS.get(name, SCIPY_RUNS["default"])
    if quick or (name == "kdv" and not paper_grid):  # RK45 on KdV: ~1e6 evaluations at n = 256, more beyond
        runs = [r for r in runs if r[0] == "Radau"] if name == "kdv" else runs[::2]
    for method, rtol in runs:
        try:
            t0 = time.perf_counter()
            u_sp, nfev = scipy_solve(name, eq_ref, params, t, method, rtol)
            seconds = time.perf_counter() - t0
            if seconds < 1.0:  # short runs: best of three, like pdeinv's
                seconds = min(seconds, best_time(lambda: scipy_solve(name, eq_ref, params, t, method, rtol), 2))
        except RuntimeError:
            continue
        theirs.append({"method": method, "rtol": rtol, "error": rel_err(u_sp, ref), "seconds": seconds, "nfev": nfev})

    others = exponax_runs(name, cls, t, ref, n) if with_exponax else []

    def cheapest(runs, level):
        ok = [r for r in runs if r["error"] <= level]
        return min(ok, key=lambda r: r["seconds"]) if ok else None

    def batched_seconds(steps, batch=64):
        eq = cls(n=n, dt=1 / steps)
        values = {k: np.full(batch, v) for k, v in eq.params_pytree(params).items()}
        eq.solve_batch(values, t)  # compile
        return best_time(lambda: eq.solve_batch(values, t), 3) / batch

    rows = []
    paper = next(r for r in ours if r["per_unit_time"] == PAPER_STEPS) if paper_grid else None
    for i, level in enumerate((paper["error"], *LEVELS) if paper else LEVELS):
        a, b = cheapest(ours, level), cheapest(theirs, level)
        if paper and i == 0:
            a = paper  # the paper's configuration itself, and SciPy at least as accurate
        row = {"equation": name, "n": n, "accuracy": level, "case": "paper grid" if paper and i == 0 else ""}
        if a:
            row.update(ours_dt=f"1/{a['per_unit_time']}", ours_steps=a["steps"], ours_error=a["error"],
                       ours_s=a["seconds"])
        if b:
            row.update(scipy=f"{b['method']} {b['rtol']:.0e}", scipy_error=b["error"], scipy_nfev=b["nfev"],
                       scipy_s=b["seconds"])
        if a and b:
            row["speedup_vs_scipy"] = b["seconds"] / a["seconds"]
            ours_batched = batched_seconds(a["per_unit_time"])
            row["batched_speedup_vs_scipy"] = b["seconds"] / ours_batched
            row["batched_speedup_vs_scipy_pool"] = scipy_pool_seconds(name, n, params, t, b["method"],
                                                                      b["rtol"]) / ours_batched
        if others:
            c = cheapest(others, level)
            if c:
                row.update(exponax_steps=c["steps"], exponax_error=c["error"], exponax_s=c["seconds"])
                if a:
                    row["speedup_vs_exponax"] = c["seconds"] / a["seconds"]
            else:
                closest = min(others, key=lambda r: r["error"])
                row["exponax_steps"] = f"not reached (best {closest['error']:.1e} at {closest['steps']} steps)"
        rows.append(row)
        print({k: (f"{v:.3g}" if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
    return rows, {"ours": ours, "scipy": theirs, "exponax": others}


def run(quick: bool):
    from pdeinv import use_cpu_cores

    use_cpu_cores()  # batches split across the cores, as the command line does
    load_start = os.getloadavg()[0]
    t = np.linspace(0, 1, 11)
    rows = []
    grids = [256, 512] if quick else [256, 512, 1024]
    for name, cls in EQUATIONS.items():
        params = cls.defaults
        for n in grids:
            eq = cls(n=n, dt=1 / 512 if n == 256 else None)
            pytree = eq.params_pytree(params)
            ref = cls(n=n, dt=eq.dt / 8).solve(params, t)
            t0 = time.perf_counter()
            eq.solve(params, t)
            first = time.perf_counter() - t0
            single = best_time(lambda: eq.solve(params, t))
            compile_s = max(first - single, 0.0)
            row = {
                "equation": name,
                "n": n,
                "dt": eq.dt,
                "steps": len(step_schedule(t, 0.0, eq.dt).step_kind),
                "error": rel_err(eq.solve(params, t), ref),
                "compile_s": compile_s,
                "solve_s": single,
            }
            for batch in (16, 64):
                values = {k: np.full(batch, v) for k, v in pytree.items()}
                eq.solve_batch(values, t)  # compile
                row[f"vmap{batch}_per_solve_s"] = best_time(lambda: eq.solve_batch(values, t), 3) / batch
                row[f"batch{batch}_speedup"] = single / row[f"vmap{batch}_per_solve_s"]
            rows.append(row)
            print({k: (f"{v:.3g}" if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
    # Many distinct output times (observations at random times) need one set of ETDRK4
    # coefficients per distinct step size: the cost of that against a uniform output grid.
    layout_rows = []
    eq = Burgers(n=512, dt=1 / 2048)
    for label, times in [("11 uniform", np.linspace(0.1, 1, 11)), ("800 uniform", np.linspace(1 / 800, 1, 800)),
                         ("800 random", np.sort(np.random.default_rng(0).uniform(0, 1, 800)))]:
        eq.solve(eq.defaults, times)
        layout_rows.append({"output_times": label, "distinct_step_sizes": len(step_schedule(times, 0.0, eq.dt).step_sizes),
                            "solve_s": best_time(lambda: eq.solve(eq.defaults, times))})
        print(layout_rows[-1], flush=True)
    try:
        import exponax

        with_exponax = True
        note = (f"exponax {exponax.__version__} compared (single solves, ETDRK4, same grid and output times; its "
                "stepper and coefficients are built outside the timed call, pdeinv's inside)")
    except ImportError:
        with_exponax = False
        note = "exponax not installed: its columns are skipped"
    precision_rows, runs = [], {}
    for name, cls in EQUATIONS.items():
        # the paper grid, then the equation's default grid (where the diffusion of Burgers and
        # Allen-Cahn is stiff for an explicit method)
        for n in [256] if quick else sorted({256, cls.default_n}):
            table_rows, runs[f"{name}-{n}"] = work_precision(name, cls, t, quick, with_exponax, n)
            precision_rows += table_rows
    devices = len(jax.devices())
    columns = [
        "equation", "n", "steps", "error", "compile_s", "solve_s", "vmap16_per_solve_s",
        "vmap64_per_solve_s", "batch16_speedup", "batch64_speedup",
    ]
    precision_columns = [
        "equation", "n", "case", "accuracy", "ours_steps", "ours_error", "ours_s",
        "scipy", "scipy_error", "scipy_nfev", "scipy_s", "speedup_vs_scipy", "batched_speedup_vs_scipy",
        "batched_speedup_vs_scipy_pool",
    ] + (["exponax_steps", "exponax_error", "exponax_s", "speedup_vs_exponax"] if with_exponax else [])
    table = (
        markdown_table(rows, columns)
        + f"\n\nErrors: relative L2 against the same solver with dt/8 (time error). Batches split across {devices}"
        " host device(s). batchB_speedup = single-solve time / per-solve time in a batch of B."
        + "\n\nAt equal accuracy on the paper grid (n = 256) and each equation's default grid (output at 11 times"
        " in [0, 1]; error = relative L2"
        " against pdeinv with dt = 1/32768). Each side is charged its cheapest run reaching the accuracy: pdeinv"
        f" with {len(OUR_STEPS)} step counts, SciPy solve_ivp (the same pseudo-spectral right-hand side in plain"
        " NumPy) with RK45 and Radau over a range of tolerances. The 'paper grid' row is pdeinv with dt = 1/512"
        " (520 steps: each output interval of 0.1 takes 52) against SciPy's cheapest run at least as accurate."
        f" batched_speedup_vs_scipy charges pdeinv the per-solve time in a batch of 64 (on {devices} device(s));"
        f" batched_speedup_vs_scipy_pool gives SciPy the same cores ({devices}) instead: 16 of its solves in a"
        " pool of one process per core, each with one BLAS thread. exponax runs the same"
        " step counts per interval; speedup_vs_exponax compares single solves.\n\n"
        + markdown_table(precision_rows, precision_columns)
        + "\n\nOutput times and cost (Burgers, n = 512, 2048 steps):\n\n"
        + markdown_table(layout_rows, ["output_times", "distinct_step_sizes", "solve_s"])
        + f"\n\n{note}."
        + f" Load average (1 min) {load_start:.1f} at the start and {os.getloadavg()[0]:.1f} at the end on"
        f" {os.cpu_count()} cores: above 0.5 per core other work shared the machine, and times, not the"
        " ratios measured side by side, are inflated."
    )
    write_results(
        "solvers",
        {"rows": rows, "layouts": layout_rows, "precision": precision_rows, "precision_runs": runs, "devices": devices, "note": note, "quick": quick},
        table,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer grids")
    run(parser.parse_args().quick)
