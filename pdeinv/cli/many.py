"""`pdeinv fit-many` and `pdeinv sample`: many fits, and the posterior."""

from __future__ import annotations

import json
import sys

import click

from ._common import (
    EQUATION_CHOICE, U0_CHOICES, _existing_files, _given_options, check_output, check_workers, cli,
    JsonAwareCommand, MethodChoice, parse_assignments, plugin_option, StatusLine, user_errors, UserError,
)
from .fit import check_start


def parse_seeds(text: str) -> list[int]:
    """``"0,1,2"`` or ``"0-9"`` (or both: ``"0-3,7"``) -> the seeds, with a clear error otherwise."""
    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        first, dash, last = part.partition("-")
        if not (first.isdigit() and (not dash or last.isdigit())):
            raise UserError(f"--seeds expects non-negative integers and ranges like 0,1,2 or 0-9, got {part!r}")
        if dash and int(last) < int(first):
            raise UserError(f"--seeds range {part} runs backwards")
        seeds.extend(range(int(first), int(last) + 1) if dash else [int(first)])
    if len(set(seeds)) != len(seeds):
        raise UserError(f"--seeds repeats a seed: {text}")
    return seeds



@cli.command(name="fit-many", cls=JsonAwareCommand)
@plugin_option
@click.argument("equation", type=EQUATION_CHOICE)
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--fit", "fit_names", default=None, metavar="NAMES",
              help="Comma-separated unknowns [default: the equation's]; scalar parameters only.")
@click.option("--init", "inits", multiple=True, metavar="NAME=VALUE",
              help="Starting value (repeatable) [default: equation defaults]; start 0 of every file and seed.")
@click.option("--starts", default=1, show_default=True, type=click.IntRange(min=1),
              help="Starting points per file and seed: --init, then log-uniform over init x/÷ 30 "
                   "(start k drawn from a generator seeded with k, the same on every run).")
@click.option("--seeds", "seeds_text", default="0", show_default=True, metavar="LIST",
              help="Fit seeds, e.g. 0,1,2 or 0-9; one task per file, seed and start.")
@click.option("--method", type=MethodChoice(), default=None,
              help="The local method of every fit [default: zo-gn] (see `pdeinv fit --help`).")
@click.option("--steps", type=int, default=None, help="Maximum local iterations per fit.")
@click.option("--max-nfev", type=int, default=None, help="Maximum solver calls per fit.")
@click.option("--n", "n", type=int, default=None, help="Solver grid points [default: equation default, refined automatically].")
@click.option("--dt", type=float, default=None, help="Solver time step [default: from the grid].")
@click.option("--workers", type=int, default=None,
              help="Run the tasks on a local dask cluster of this many processes (one thread each) "
                   "[default: one after the other in this process].")
@click.option("--scheduler", default=None, metavar="tcp://HOST:PORT",
              help="Run the tasks on a running dask cluster (`dask scheduler` on one host, "
                   "`dask worker tcp://HOST:8786` on the others); the observation files are read here "
                   "and sent to the workers.")
@click.option("--timeout", "connect_timeout", default=10.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              metavar="SECONDS", help="How long to wait for the --scheduler to answer.")
@click.option("--u0", "u0_choice", type=click.Choice(U0_CHOICES), default="auto", show_default=True,
              help="The initial condition (as for pdeinv fit): auto fits a noisy measured first snapshot with the "
                   "parameters, exact takes the file's as exact, fit always fits it.")
@click.option("--auto-grid/--no-auto-grid", default=True, show_default=True,
              help="Refine each fit's grid until it no longer moves the estimate.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Table to write (.csv, one row per task); each task's result file goes to "
                   "OUTPUT-fits/ beside it. Running again with the same output skips finished tasks.")
@click.option("--intervals", type=click.Choice(["laplace", "profile", "none"]), default="laplace", show_default=True,
              help="Confidence intervals of each fit (as for pdeinv fit), in the table as NAME_low, NAME_high.")
@click.option("--force", is_flag=True, help="Run every task again, replacing earlier results.")
@click.option("--quiet", is_flag=True, help="No progress line.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the summary and one object per task as JSON (the table is written all the same).")
def fit_many_command(equation, files, fit_names, inits, starts, seeds_text, method, steps, max_nfev, n, dt, u0_choice, workers,
                     scheduler, connect_timeout, auto_grid, output, intervals, force, quiet, as_json):
    """Fit EQUATION to every FILE, for every seed and starting point, on one machine or a cluster.

    \b
    Examples:
      pdeinv fit-many burgers obs/*.h5 --init nu=0.03 --starts 4 -o runs.csv
      pdeinv fit-many kdv obs/*.h5 --seeds 0-9 --workers 8 -o runs.csv
      pdeinv fit-many kdv obs/*.h5 --scheduler tcp://head:8786 -o runs.csv

    Every task is a `pdeinv fit` of its own (same seed, same estimate, wherever it runs). The
    table (file, seed, start, start value and estimate per unknown, status, loss, solver
    calls, wall time, result file) is written when every task is done. If a worker dies, its
    task runs again on another one. After an interruption, run the same command again: the
    finished tasks are read from OUTPUT-fits/, the others run.

    Exit codes: 0 every fit converged, 1 some did not (the table says which), 2 bad input,
    130 interrupted.
    """
    from ..ensemble import fit_many, summary_line, task_folder
    from ..io import load_observations
    from ..parallel import check_scheduler_address, make_executor

    if not output.lower().endswith(".csv"):
        raise UserError(f"{output}: the table is CSV; name the output .csv")
    check_workers(workers, scheduler)
    if "connect_timeout" in _given_options() and scheduler is None:
        raise UserError("--timeout applies to --scheduler, and none is given")
    init = parse_assignments(inits, "--init")
    seeds = parse_seeds(seeds_text)
    unknowns = None if fit_names is None else [s.strip() for s in fit_names.split(",") if s.strip()]
    options = {k: v for k, v in {"method": method, "max_steps": steps, "max_nfev": max_nfev}.items() if v is not None}
    options.update(auto_grid=auto_grid, intervals=intervals)
    with user_errors():
        if scheduler is not None:
            check_scheduler_address(scheduler)
        inputs = {}
        from pathlib import Path

        for file in files:
            obs = load_observations(file)
            if obs.equation != equation:
                raise ValueError(f"{file} holds {obs.equation} observations, not {equation}")
            label = Path(file).stem
            if label in inputs:
                raise ValueError(f"two files are named {label!r}; their result files would collide")
            inputs[label] = file
    status = None if quiet else StatusLine(f"fit-many {equation}")
    not_converged = [0]

    def progress(done, total, row):
        not_converged[0] += row["status"] != "converged"
        if status is not None:
            shown = ", ".join(f"{k}={v:.6g}" for k, v in list(row["params"].items())[:3])
            status.show(f"{done}/{total} tasks, {not_converged[0]} not converged; last {row['file']} seed "
                        f"{row['seed']} start {row['start']}: {row['status']}, {shown}")

    def start_executor():
        executor = make_executor(workers, scheduler, timeout=connect_timeout)
        if status is not None:
            status.show(f"running on {executor.describe()}")
        return executor

    with user_errors():
        try:
            rows = fit_many(inputs, unknowns=unknowns, init=init or None, starts=starts, seeds=seeds,
                            executor=start_executor, output=output, force=force, n=n, dt=dt, progress=progress, u0=u0_choice,
                            **options)
        finally:
            if status is not None:
                status.close()
    if as_json:
        tasks = [{"file": r["file"], "seed": r["seed"], "start": r["start"], "init": r["init"],
                  "params": {k: v for k, v in r["params"].items() if "[" not in k},  # a u0's coefficients: in the files
                  "intervals": r["result"].intervals, "status": r["status"], "loss": float(r["loss"]),
                  "solver_calls": r["nfev"], "wall_time": r["wall_time"], "result_file": r["result_file"],
                  "skipped": r["skipped"]} for r in rows]
        click.echo(json.dumps({"summary": summary_line(rows), "table": str(output),
                               "result_files": str(task_folder(output)), "tasks": tasks}, default=float))
    else:
        click.echo(summary_line(rows))
        click.echo(f"table written to {output}; result files in {task_folder(output)}")
    if any(r["status"] != "converged" for r in rows):
        sys.exit(1)


@cli.command(name="sample", cls=JsonAwareCommand)
@plugin_option
@click.argument("equation", type=EQUATION_CHOICE)
@click.option("--obs", "obs_path", required=True, type=click.Path(dir_okay=False), is_eager=True,
              callback=lambda ctx, param, value: _existing_files(value), help="Observation file (.h5).")
@click.option("--fit", "fit_names", default=None, metavar="NAMES",
              help="Comma-separated unknowns [default: the equation's] (as for pdeinv fit).")
@click.option("--init", "inits", multiple=True, metavar="NAME=VALUE", help="Starting value of the fit the chains start from.")
@click.option("--prior", "priors", multiple=True, metavar="NAME=KIND:A:B",
              help="Prior of an unknown (repeatable): normal:MEAN:SD, uniform:LOW:HIGH or log-uniform:LOW:HIGH, in "
                   "the parameter's units [default: flat in the fit's coordinates, log-uniform for a positive one].")
@click.option("--steps", default=2000, show_default=True, type=click.IntRange(min=20), help="Steps per walker.")
@click.option("--walkers", default=None, type=int, help="Ensemble size [default: max(16, 4 x unknowns)].")
@click.option("--burn", default=None, type=int, help="Steps dropped from the start [default: a quarter].")
@click.option("--level", default=0.95, show_default=True, type=float, help="Probability of the credible intervals.")
@click.option("--seed", default=0, show_default=True, help="Seed of the fit and the sampler.")
@click.option("--n", "n", type=int, default=None, help="Solver grid points [default: the fit's, refined automatically].")
@click.option("--dt", type=float, default=None, help="Solver time step [default: from the grid].")
@click.option("--u0", "u0_choice", type=click.Choice(U0_CHOICES), default="auto", show_default=True,
              help="The initial condition (as for pdeinv fit).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="Samples file to write (.h5).")
@click.option("--force", is_flag=True, help="Overwrite an existing samples file.")
@click.option("--quiet", is_flag=True, help="No progress line.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def sample_command(equation, obs_path, fit_names, inits, priors, steps, walkers, burn, level, seed, n, dt, u0_choice,
                   output, force, quiet, as_json):
    """Draw from the posterior of EQUATION's unknowns given the observations (MCMC, emcee).

    The chains start around a fit (run first, as pdeinv fit would, on the grid it settles on)
    and every step solves the walkers as one batch. The summary gives each unknown's posterior
    mean, standard deviation and credible interval, and whether the chains mixed (R-hat,
    effective sample size, chain length in autocorrelation times).

    \b
    Example:
      pdeinv sample burgers --obs data/burgers-noise1pct.h5 --init nu=0.01 -o post.h5

    Exit codes: 0 mixed, 1 not mixed (run more --steps; the draws are written all the same),
    2 bad input.
    """
    from ..sampling import parse_prior

    init = parse_assignments(inits, "--init")
    unknowns = None if fit_names is None else [s.strip() for s in fit_names.split(",") if s.strip()]
    with user_errors():
        prior = dict(parse_prior(text) for text in priors)
    if not 0 < level < 1:
        raise UserError(f"--level must be a probability in (0, 1), e.g. 0.95, got {level:g}")
    if output is not None:
        check_output(output, force, inputs=(obs_path,))
    from ..fit import fit
    from ..io import load_observations
    from ..problems.inverse import InverseProblem
    from ..sampling import sample, save_samples

    status = None if quiet else StatusLine(f"sampling {equation}")
    try:
        with user_errors():
            obs = load_observations(obs_path)
            if obs.equation != equation:
                raise ValueError(f"{obs_path} holds {obs.equation} observations, not {equation}")
            problem = InverseProblem(obs, unknowns, n=n, dt=dt, u0=u0_choice)
            check_start(problem, init)
            if status is not None:
                status.show("fitting the start")
            result = fit(problem, init or None, seed=seed, auto_grid=n is None)
            if result.grid.get("n") and n is None:
                problem = problem.with_grid(result.grid["n"], result.grid.get("dt"))
            progress = None if status is None else (lambda i, total: status.show(f"step {i}/{total}"))
            draws = sample(problem, result, walkers=walkers, steps=steps, burn=burn, prior=prior, seed=seed,
                           level=level, progress=progress)
            if output is not None:
                save_samples(draws, output, overwrite=force)
    finally:
        if status is not None:
            status.close()
    if as_json:
        click.echo(json.dumps({**draws.summary(), "fit_status": result.status}, default=float))
    else:
        click.echo(f"{'parameter':10s} {'mean':>13s} {'sd':>11s}   {draws.settings['level']:.0%} credible interval"
                   f"   (fit: {result.status})")
        for name in draws.names:
            if "[" in name:
                continue
            low, high = draws.intervals[name]
            click.echo(f"{name:10s} {draws.mean[name]:13.6e} {draws.std[name]:11.3e}   [{low:.6g}, {high:.6g}]")
        click.echo(f"{draws.verdict}: R-hat up to {max(draws.rhat.values()):.3f}, effective samples from "
                   f"{min(draws.ess.values()):.0f}, acceptance {draws.acceptance:.2f}; {draws.nfev} solver calls, "
                   f"wall {draws.wall_time:.1f} s" + (f"; written to {output}" if output else ""))
    if not draws.mixed:
        sys.exit(1)
