"""The paper's recipe in full: (FG)^2U-ZO with 1 direction, Adam, 5000 steps, 256 x 512 grid.

Once per equation on the example data, started 10x off (as in the paper's setting), beside the
default zo-gn from the same start.

    python -m benchmarks.paper [--quick]   (quick: 2000 steps)
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import markdown_table, write_results
from .fit import CASES, run_one

DATA = Path(__file__).resolve().parents[1] / "data"


def run(quick: bool):
    from pdeinv import load_observations

    steps = 2000 if quick else 5000
    rows = []
    for equation, key in CASES.items():
        obs = load_observations(DATA / f"{equation}.h5")
        truth = obs.true_params[key]
        paper = run_one(obs, key, 10 * truth, "zo", preset="paper", max_steps=steps)
        ours = run_one(obs, key, 10 * truth, "zo-gn")
        rows.append({"equation": equation, "steps": steps, "paper_error": paper["error"], "paper_nfev": paper["nfev"],
                     "paper_wall_s": paper["wall"], "zo-gn_error": ours["error"], "zo-gn_nfev": ours["nfev"],
                     "zo-gn_wall_s": ours["wall"]})
        print(rows[-1], flush=True)
    table = markdown_table(rows, ["equation", "steps", "paper_error", "paper_nfev", "paper_wall_s", "zo-gn_error",
                                  "zo-gn_nfev", "zo-gn_wall_s"])
    write_results("paper", {"quick": quick, "rows": rows}, "### Paper preset from 10x off vs zo-gn\n\n" + table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    run(parser.parse_args().quick)
