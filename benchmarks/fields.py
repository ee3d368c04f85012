"""Recovering a field: the initial condition of Burgers from 800 observations.

Truth: a smooth u0 with 16 Fourier modes (amplitudes 0.4 / (1 + k)), nu = 0.02 known, 800
observations: 10 times in (0, 0.5) x 80 positions in (-1, 1) (a 20 x 20 grid sees only 20
distinct x, too few for 64 modes; 800 random times make every solve output 800 rows),
simulated on a grid twice as fine as the fit's.
Unknowns: the first d Fourier coefficients of u0, started from zero. For each method: solver
calls until the recovered u0 is within 1 % (relative L2) of the truth, final error, total calls.
FD-LM is the classic finite-difference Levenberg-Marquardt (a fresh d-column Jacobian every
iteration); zo-gn K is the random-direction sketch with secant updates.

    python -m benchmarks.fields [--quick]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from pdeinv import InverseProblem, fit, simulate
from pdeinv.problems import Observations
from pdeinv.problems.fields import FourierField

from .common import markdown_table, write_results


def case():
    truth_field = FourierField(16)
    c = np.random.default_rng(0).normal(size=16) * 0.4 / (1 + truth_field.wavenumber)
    dense = simulate("burgers", {"nu": 0.02}, points=6400, layout="grid", u0=truth_field.samples(c, 2048),
                     t_span=(0, 0.5), fixed=("nu",))  # 80 x 80
    rows = np.isin(np.round(dense.t, 12), np.unique(np.round(dense.t, 12))[3::8])  # 10 of the 80 times
    return Observations("burgers", dense.t[rows], dense.x[rows], dense.u[rows], u0=dense.u0, t_span=dense.t_span,
                        fixed_params=dense.fixed_params, true_params=dense.true_params, metadata=dense.metadata)


def run(quick: bool):
    obs = case()
    truth = obs.u0
    dims = [16, 32, 64] if quick else [16, 32, 64, 128]
    rows = []
    for d in dims:
        field = FourierField(d)
        methods = [("FD-LM", {"directions": d, "broyden": False}), ("zo-gn K=d", {"directions": d, "broyden": True})]
        methods += [(f"zo-gn K={k}", {"directions": k, "broyden": True}) for k in (4, 8, 16) if k < d]
        methods += [("exact", {"method": "exact"})]
        if d == 16:
            methods += [("zo (Adam)", {"method": "zo", "max_steps": 300, "learning_rate": 0.01})]
        for label, options in methods:
            problem = InverseProblem(obs, ("u0",), modes=d)
            start = time.perf_counter()
            result = fit(problem, auto_grid=False, max_nfev=20 * d + 400, **options)
            wall = time.perf_counter() - start
            history = result.history
            names = field.names("u0")
            coefficients = np.array([history["params"][k] for k in names]).T
            errors = np.array([np.linalg.norm(field.samples(c, truth.size) - truth) for c in coefficients])
            errors /= np.linalg.norm(truth)
            hit = np.nonzero(errors <= 0.01)[0]
            final = np.linalg.norm(field.samples(problem.field_coefficients(result.params), truth.size) - truth)
            rows.append({"d": d, "method": label, "calls_to_1%": int(history["nfev"][hit[0]]) if hit.size else "-",
                         "final_error": final / np.linalg.norm(truth), "nfev": result.nfev, "wall_s": wall,
                         "message": result.message[:48]})
            print(rows[-1], flush=True)
        base = next(r for r in rows if r["d"] == d and r["method"] == "FD-LM")
        for r in rows:
            if r["d"] == d and isinstance(r["calls_to_1%"], int) and isinstance(base["calls_to_1%"], int):
                r["vs_FD-LM"] = r["calls_to_1%"] / base["calls_to_1%"]
    table = markdown_table(rows, ["d", "method", "calls_to_1%", "vs_FD-LM", "final_error", "nfev", "wall_s", "message"])
    write_results("fields", {"quick": quick, "rows": rows}, "### Initial condition of Burgers, 800 observations (10 times x 80 positions)\n\n" + table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    run(parser.parse_args().quick)
