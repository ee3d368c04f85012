"""A field the data determine only in part: how each local method reaches (or misses) the minimum.

Allen-Cahn, D(x) = 0.01 exp(0.5 sin(pi x) - 0.3 cos(pi x)), r = 1, u0 = 1 on x > 0 (a stable
state: u stays flat there, so the data say nothing about D on that half) and
1 - 0.9 (1 - cos 2 pi x) on x < 0; 8 x 24 observations with 1 % noise, simulated on n = 128
with dt = 5e-4 (``pdeinv.examples.flat_half_allen_cahn``). Unknowns: 8 Fourier coefficients of log D on n = 64, a fixed smoothness penalty
(weight 1e-2) of order 1 and 2. This is the case of the uncertainty tests' flat-half band.

Per local method (no grid refinement, no intervals, at most 400 steps): how the fit ended,
iterations, solver calls, and its final loss above the lowest loss any method reached, in
chi-square units (P times the difference of mean squared weighted residuals; above ~1 the
data tell the two points apart, so the fit did not reach the minimum):

- zo-gn (default for fields): 4 coordinate directions at a time, lowest wavenumbers first,
  secant updates of the Jacobian between measurements;
- zo-gn without secant updates (``broyden=False``), same 4 directions per measurement;
- zo-gn with 8 directions: the full forward-difference Jacobian at every iteration;
- exact: JAX derivatives of the solver (for reference; not a black-box method).

    python -m benchmarks.undetermined
"""

from __future__ import annotations

import time

from pdeinv import InverseProblem, fit
from pdeinv.examples import flat_half_allen_cahn

from .common import markdown_table, write_results

METHODS = {
    "zo-gn (default)": {},
    "zo-gn, broyden=False": {"broyden": False},
    "zo-gn, 8 directions (full FD Jacobian)": {"directions": 8},
    "exact": {"method": "exact"},
}


def run(quick: bool = False):
    obs = flat_half_allen_cahn()
    points = obs.u.size
    rows = []
    for order in (1, 2):
        problem = InverseProblem(obs, ("D(x)",), modes=8, n=64, regularization=1e-2, penalty_order=order)
        mine = []
        for name, options in METHODS.items():
            t0 = time.perf_counter()
            result = fit(problem, auto_grid=False, intervals="none", max_steps=400, **options)
            mine.append({"penalty order": order, "method": name, "status": result.status, "iterations": result.nit,
                         "solver calls": result.nfev, "loss": result.loss, "message": result.message,
                         "wall_s": time.perf_counter() - t0})
            print(mine[-1], flush=True)
        lowest = min(r["loss"] for r in mine)
        for r in mine:
            r["above the lowest (chi-square)"] = points * (r["loss"] - lowest)
        rows += mine
    table = (f"Allen-Cahn D(x), u flat on x > 0, 8 modes of log D, penalty weight 1e-2, {points} points at 1 % noise; "
             "'above the lowest': P x (loss - the lowest loss of any method at that order)\n\n"
             + markdown_table(rows, ["penalty order", "method", "status", "iterations", "solver calls", "loss",
                                     "above the lowest (chi-square)", "message"]))
    write_results("undetermined", {"quick": quick, "rows": rows}, table)


if __name__ == "__main__":
    run()
