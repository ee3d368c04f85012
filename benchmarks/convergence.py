"""Convergence of each method against solver calls on the Burgers example, from 10x off.

Writes benchmarks/results/convergence_burgers.png (loss and nu against solver calls for zo-gn,
zo, exact and lsq on the same observations) and a small table.

    python -m benchmarks.convergence [--quick]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from pdeinv import InverseProblem, fit, load_observations  # noqa: E402
from pdeinv.plotting import plot_convergence  # noqa: E402

from .common import RESULTS, markdown_table, write_results  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data"


def run(quick: bool):
    obs = load_observations(DATA / "burgers.h5")
    truth = obs.true_params["nu"]
    results = {}
    for method, options in [("zo-gn", {}), ("exact", {}), ("lsq", {}), ("zo", {"max_steps": 100 if quick else 500})]:
        results[method] = fit(InverseProblem(obs), {"nu": 10 * truth}, method=method, **options)
    axes = plot_convergence(results)
    axes[0].set_title("Burgers, 64 observations, start 10x off")
    RESULTS.mkdir(parents=True, exist_ok=True)
    axes[0].figure.savefig(RESULTS / "convergence_burgers.png", dpi=100)
    plt.close("all")
    rows = [{"method": m, "nfev": r.nfev, "error": abs(r.params["nu"] / truth - 1), "success": r.success,
             "message": r.message} for m, r in results.items()]
    table = markdown_table(rows, ["method", "nfev", "error", "success", "message"]) + \
        "\n\n![convergence](convergence_burgers.png)"
    write_results("convergence", {"rows": rows, "quick": quick}, table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    run(parser.parse_args().quick)
