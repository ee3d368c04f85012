"""What the periodic-endpoint decision of the importers is worth on KdV data.

A KdV data set on the PINN papers' grid convention, x = linspace(-1, 1, 512, endpoint=False),
t = linspace(0, 1, 201), solved by pdeinv's KdV solver on a finer grid (n = 1024, dt = 1e-4) and
sampled on those 512 points, is written as a .mat file with x, tt and uu[i, j] = u(t[j], x[i]).
It is imported two ways:

- old: what ``import_raissi`` did before it decided from the data, i.e. the last column dropped
  as a "duplicated endpoint" and the domain (x[0], x[-1]) = (-1, 0.99609375), a period of
  1.996 instead of 2 (reproduced by importing the 511 remaining columns with that domain given
  explicitly; the observations are identical to those of the former code);
- new: ``import_raissi`` as it is, which keeps all 512 columns and finds the period 2.

For each, 64 random points (seed i for start i) are fitted for lambda2 with the default method
from starts log-uniform in [0.0025/30, 0.0025*30] (seeded): median and max relative error of
lambda2, how many fits reported convergence, median solver calls and median wall time per fit
(compilation included).

    python -m benchmarks.import_grid [--quick]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

import pdeinv
from pdeinv.io import import_arrays, import_raissi
from pdeinv.solvers import KdV

from .common import markdown_table, write_results

TRUTH = {"lambda1": 1.0, "lambda2": 0.0025}
POINTS = 64


def kdv_data(folder: Path) -> tuple[Path, np.ndarray, np.ndarray, np.ndarray]:
    """Write the published-convention KdV file; return (path, x, t, uu) with uu of shape (x, t)."""
    from scipy.io import savemat

    t = np.linspace(0, 1, 201)
    fine = KdV(n=1024, dt=1e-4)
    u = fine.solve(TRUTH, t)  # (201, 1024) on linspace(-1, 1, 1024, endpoint=False)
    x = fine.x[::2]
    assert np.array_equal(x, np.linspace(-1, 1, 512, endpoint=False))
    uu = np.ascontiguousarray(u[:, ::2].T)
    path = folder / "kdv.mat"
    savemat(path, {"x": x[:, None], "tt": t[None, :], "uu": uu})
    return path, x, t, uu


def old_import(folder: Path, x, t, uu, seed: int):
    """The former import_raissi: x[-1] dropped, domain (x[0], x[-1])."""
    path = folder / "kdv_old.npz"
    if not path.exists():
        np.savez(path, x=x[:-1], t=t, u=uu[:-1])
    return import_arrays(path, "kdv", layout="xt", domain=(x[0], x[-1]), points=POINTS, seed=seed)


def fit_once(obs, start: float) -> dict:
    t0 = time.perf_counter()
    result = pdeinv.fit(pdeinv.InverseProblem(obs), {"lambda2": start})
    wall = time.perf_counter() - t0
    estimate = result.params["lambda2"]
    return {"start": start, "estimate": estimate, "error": abs(estimate / TRUTH["lambda2"] - 1),
            "nfev": result.nfev, "wall": wall, "success": bool(result.success)}


def run(quick: bool):
    rng = np.random.default_rng(7)
    starts = TRUTH["lambda2"] * np.exp(rng.uniform(np.log(1 / 30), np.log(30), 3 if quick else 10))
    rows, raw = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path, x, t, uu = kdv_data(folder)
        cases = {
            "old: x[-1] dropped, period 1.996": lambda seed: old_import(folder, x, t, uu, seed),
            "new: decided from the data, period 2": lambda seed: import_raissi(path, "kdv", points=POINTS, seed=seed),
        }
        for name, load in cases.items():
            runs = []
            for seed, start in enumerate(starts):
                obs = load(seed)
                runs.append({"seed": seed, "domain": list(obs.domain), **fit_once(obs, float(start))})
                print(name, runs[-1], flush=True)
            raw[name] = {"x_grid": obs.metadata["x_grid"], "runs": runs}
            rows.append({
                "import": name,
                "domain": f"({obs.domain[0]:g}, {obs.domain[1]:.8g})",
                "starts": len(runs),
                "converged": f"{sum(r['success'] for r in runs)}/{len(runs)}",
                "median_error": float(np.median([r["error"] for r in runs])),
                "max_error": float(np.max([r["error"] for r in runs])),
                "median_nfev": float(np.median([r["nfev"] for r in runs])),
                "median_wall_s": float(np.median([r["wall"] for r in runs])),
            })
    table = (
        "### KdV lambda2 from 64 random points of the published grid (x = linspace(-1, 1, 512, endpoint=False))\n\n"
        + markdown_table(rows, ["import", "domain", "starts", "converged", "median_error", "max_error", "median_nfev", "median_wall_s"])
    )
    write_results("import_grid", {"quick": quick, "truth": TRUTH, "points": POINTS, "starts": starts.tolist(),
                                  "rows": rows, "raw": raw}, table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 starts instead of 10")
    run(parser.parse_args().quick)
