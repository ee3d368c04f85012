"""Run every benchmark and render benchmarks/results/REPORT.md.

    python -m benchmarks [--quick | --full]

--quick (default) finishes in about 15 minutes on 2 cores; --full runs every grid, every start
for every method and the paper preset's 5000 steps.
"""

from __future__ import annotations

import argparse
import importlib
import os
import time

from .common import RESULTS, machine

SCRIPTS = [
    ("solvers", "Forward solvers: speed and accuracy"),
    ("fit", "Parameter recovery: accuracy and solver calls per method"),
    ("convergence", "Convergence against solver calls"),
    ("paper", "The paper's recipe (full run) against zo-gn"),
    ("pinn", "PINN path: memory and accuracy against the numerical path"),
    ("fields", "Fields as unknowns: solver calls to recover an initial condition or a diffusion field"),
    ("import_grid", "Importers: the periodic endpoint of published grids, on KdV data"),
]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="the quick mode (default)")
    mode.add_argument("--full", action="store_true", help="everything, long")
    parser.add_argument("--only", nargs="*", help="run only these scripts")
    args = parser.parse_args(argv)
    quick = not args.full
    timings = {}
    for name, _ in SCRIPTS:
        if args.only and name not in args.only:
            continue
        start = time.perf_counter()
        importlib.import_module(f"benchmarks.{name}").run(quick)
        timings[name] = time.perf_counter() - start
    render(quick, timings)


def render(quick: bool, timings: dict):
    m = machine()
    parts = [
        "# pdeinv benchmark report",
        "",
        f"Rendered {m['date']}, commit {m['commit']}, {m['cores']} cores ({m['cpu']}), python {m['python']}, "
        f"jax {m['jax']}, mode {'quick' if quick else 'full'}. Each section states when it was measured; "
        "regenerate with `python -m benchmarks`.",
    ]
    for name, title in SCRIPTS:
        path = RESULTS / f"{name}.md"
        if not path.exists():
            continue
        took = f" (ran {timings[name]:.0f} s)" if name in timings else ""
        parts += ["", f"## {title}{took}", "", path.read_text().strip()]
    text = "\n".join(parts) + "\n"
    tmp = RESULTS / "REPORT.md.tmp"
    tmp.write_text(text)
    os.replace(tmp, RESULTS / "REPORT.md")
    print(f"wrote {RESULTS / 'REPORT.md'}")


if __name__ == "__main__":
    main()
