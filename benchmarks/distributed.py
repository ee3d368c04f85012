"""Executors on a local dask cluster: parallel efficiency, fit-many speed-up, per-task overhead.

1. A sleep-bound external black box (each call a program that sleeps 0.5 s) evaluated on a
   batch of 32 members (a global scan's points) by 1, 2, 4, 8 and 16 workers, the median of 3
   batches. Efficiency = (32 x 0.5 s / workers) / wall time; 1 is perfect (the target is >= 0.8
   at 16 workers).
2. CPU-bound fit-many: 32 small Burgers fits (one file, 8 starts x 4 seeds, n = 64) on 1 and
   2 worker processes (the target is >= 1.7x on 2 cores), and in this process for reference:
   with the solver compiled during the run (once per worker, one run), and compiled before it
   (the median of 3 runs).
3. Scheduler overhead: a task that does nothing, 1000 times, on 2 workers.

    python -m benchmarks.distributed [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import operator
import time

import numpy as np

from pdeinv import InverseProblem, fit_many, simulate
from pdeinv.ensemble import run_fit_task
from pdeinv.parallel import DaskCluster
from pdeinv.problems import Observations
from pdeinv.problems.external import CommandForward

from .common import markdown_table, write_results

SLEEP = 0.5
BATCH = 32


def sleep_bound(workers_list) -> list[dict]:
    P = 8
    obs = Observations("kdv", t=np.linspace(0.1, 1, P), x=np.zeros(P), u=np.ones(P), u0=np.zeros(8))
    forward = CommandForward(["sh", "-c", f"sleep {SLEEP}; echo {' '.join(['1.0'] * P)}"])
    Z = np.column_stack([np.linspace(0.5, 1.5, BATCH), np.log(np.linspace(0.01, 0.1, BATCH))])
    rows = []
    for workers in workers_list:
        with DaskCluster(workers) as executor:
            problem = InverseProblem(obs, ("lambda1", "lambda2"), forward=forward, executor=executor)
            executor.client.run(importlib.import_module, "pdeinv.problems.inverse")  # every worker is ready
            problem.predict(Z[:workers])
            walls = []
            for _ in range(3):  # the median of 3 batches: one batch on 16 workers varies by ~10 %
                start = time.perf_counter()
                pred, finite = problem.predict(Z)
                walls.append(time.perf_counter() - start)
                assert finite.all()
        wall = float(np.median(walls))
        ideal = BATCH * SLEEP / workers
        rows.append({"workers": workers, "calls": BATCH, "batches": len(walls), "wall_s": wall,
                     "wall_range_s": f"{min(walls):.2f}-{max(walls):.2f}", "ideal_s": ideal, "efficiency": ideal / wall})
        print(rows[-1], flush=True)
    return rows


def cpu_bound(quick: bool) -> list[dict]:
    obs = simulate("burgers", {"nu": 0.05}, points=64, n=128, dt=5e-4)
    options = dict(init={"nu": 0.2}, starts=8, seeds=[0, 1, 2, 3], n=64, auto_grid=False)
    rows = []
    reference = None
    warm_up = functools.partial(run_fit_task, {"token": "", "unknowns": None, "n": 64, "dt": None, "forward": None,
                                               "fit": {"auto_grid": False}}, ("burgers", obs, {"nu": 0.2}, 0))
    for workers in ([None] if not quick else []) + [1, 2]:
        for compiled in (False, True):
            with contextlib.ExitStack() as stack:
                executor = None if workers is None else stack.enter_context(DaskCluster(workers))
                if compiled:  # every worker has built (compiled) this problem once already
                    warm_up() if executor is None else executor.client.run(warm_up)
                elif executor is not None:
                    executor.client.run(importlib.import_module, "pdeinv.ensemble")
                start = time.perf_counter()
                results = fit_many({"burgers": obs}, executor=executor, **options)
                walls = [time.perf_counter() - start]
                if compiled:  # steady state: the median of 3 runs (single runs of ~5 s vary by 10-20 %)
                    for _ in range(2):
                        start = time.perf_counter()
                        again = fit_many({"burgers": obs}, executor=executor, **options)
                        walls.append(time.perf_counter() - start)
                        assert [r["params"] for r in again] == [r["params"] for r in results]
            estimates = [r["params"]["nu"] for r in results]
            reference = estimates if reference is None else reference
            rows.append({"where": "this process" if workers is None else f"{workers} worker(s)",
                         "solver": "compiled before" if compiled else "compiled in the run", "fits": len(results),
                         "wall_s": float(np.median(walls)), "runs": len(walls),
                         "converged": sum(r["status"] == "converged" for r in results),
                         "same_estimates": estimates == reference})
            print(rows[-1], flush=True)
    for r in rows:
        one = next(o for o in rows if o["where"] == "1 worker(s)" and o["solver"] == r["solver"])
        r["speedup_vs_1_worker"] = one["wall_s"] / r["wall_s"]
    return rows


def overhead(tasks: int = 1000) -> dict:
    with DaskCluster(2) as executor:
        executor.map(operator.neg, range(4))
        start = time.perf_counter()
        executor.map(operator.neg, range(tasks))
        wall = time.perf_counter() - start
    return {"tasks": tasks, "wall_s": wall, "ms_per_task": 1e3 * wall / tasks}


def run(quick: bool):
    efficiency = sleep_bound([1, 2, 4, 8, 16])
    fits = cpu_bound(quick)
    cost = overhead()
    table = (
        f"Sleep-bound black box ({SLEEP} s per call, a batch of {BATCH} calls):\n\n"
        + markdown_table(efficiency, ["workers", "calls", "batches", "wall_s", "wall_range_s", "ideal_s", "efficiency"])
        + "\n\nCPU-bound fit-many (32 Burgers fits, n = 64, 8 starts x 4 seeds):\n\n"
        + markdown_table(fits, ["where", "solver", "fits", "runs", "wall_s", "speedup_vs_1_worker", "converged",
                                "same_estimates"])
        + f"\n\nScheduler overhead: {cost['ms_per_task']:.2f} ms per task ({cost['tasks']} empty tasks on 2 workers)."
    )
    write_results("distributed", {"sleep_bound": efficiency, "fit_many": fits, "overhead": cost, "quick": quick}, table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the in-process reference of fit-many")
    run(parser.parse_args().quick)
