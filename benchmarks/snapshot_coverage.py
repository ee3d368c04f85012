"""Measured data at scale: coverage of the intervals with u0 fitted, over hundreds of data sets.

The fits of ``initial_condition`` (64 random points and a 256-sample first snapshot with the same
noise, the default fit from 1.3x the truth, 95 % Laplace intervals), for the joint fit and the
oracle only (the "as exact" arm fails on 10 data sets already): 200 data sets per case and noise
level in the full run, 20 in the quick one. The target: coverage of the joint fit's 95 %
intervals within 93-97 %, its error against the oracle's.

    python -m benchmarks.snapshot_coverage [--quick] [--replicates N] [--processes P]
"""

from __future__ import annotations

import argparse

from . import initial_condition


def run(quick: bool, replicates: int | None = None, processes: int | None = None):
    initial_condition.run(quick, replicates or (20 if quick else 200), processes, arms=("joint", "oracle"),
                          name="snapshot_coverage")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 data sets per row")
    parser.add_argument("--replicates", type=int, default=None, help="data sets per row (default 20 quick, 200 full)")
    parser.add_argument("--processes", type=int, default=None, help="data sets fitted at once (default: one per core)")
    args = parser.parse_args()
    run(args.quick, args.replicates, args.processes)
