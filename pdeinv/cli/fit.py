"""`pdeinv fit`: one fit, its checkpoint and resume."""

from __future__ import annotations

import contextlib
import json
import sys

import click

from ._common import (
    _SIGNALS, EQUATION_CHOICE, RESUME_MAY_CHANGE, RULE_NAMES, U0_CHOICES, _existing_files, _flags,
    _given_options, _is_zero, check_output, check_workers, cli, JsonAwareCommand, MethodChoice,
    MethodOption, parse_assignments, parse_ranges, parse_u0, PenaltyOrderType, plugin_option, StatusLine, user_errors,
    UserError,
)
from .report import format_result_table


@cli.command(name="fit", cls=JsonAwareCommand)
@plugin_option
@click.argument("equation", type=EQUATION_CHOICE, required=False)
@click.option("--obs", "obs_paths", type=click.Path(dir_okay=False), multiple=True, is_eager=True,
              callback=lambda ctx, param, value: _existing_files(value),
              help="Observation file (.h5); one per fit (pdeinv fit-many fits several).")
@click.option("--method", cls=MethodOption, type=MethodChoice(("pinn",)), default=None,
              help="pinn: physics-informed network with forward-mode unrolling (the paper's (FG)^2U). "
                   "Options a method does not use (e.g. --directions for lsq) are refused.")
@click.option("--init", "inits", multiple=True, metavar="NAME=VALUE", help="Starting value (repeatable) [default: equation defaults].")
@click.option("--bounds", "bound_texts", multiple=True, metavar="NAME=LOW:HIGH",
              help="Keep an unknown within [LOW, HIGH] (repeatable); the global phase then scans that range, e.g. "
                   "the prior range a design assumed (pdeinv design prints it).")
@click.option("--fit", "fit_names", default=None, metavar="NAMES",
              help="Comma-separated unknowns [default: the equation's, e.g. nu / D / lambda2; see "
                   "`pdeinv equations`]; u0 recovers the initial condition, "
                   "'D(x)' the Allen-Cahn diffusion field (through log D); bias a constant offset of every sensor "
                   "(a nuisance of the measurement: the data are u + bias).")
@click.option("--modes", type=int, default=None,
              help="Fourier modes of a fitted field (u0 or D(x)) [default: for u0 with a measured snapshot, as many "
                   "as it resolves above its noise; else 16].")
@click.option("--u0", "u0_text", default="auto", show_default=True, metavar="auto|exact|fit|EXPR",
              help="The initial condition: auto (a measured first snapshot with noise is fitted with the "
                   "parameters, its samples becoming data; an exact one is used as it is; none at all is fitted "
                   "from the later data), exact (take the file's as exact), fit, or a function of x, e.g. "
                   "'cos(pi*x)' (known exactly).")
@click.option("--regularization", default="0", show_default=True, metavar="W|auto|risk|evidence|discrepancy|gcv",
              help="Smoothness penalty weight for a fitted field, or a rule choosing it from the data: risk (least "
                   "expected field error; auto is risk), evidence (marginal likelihood), discrepancy (needs sigma "
                   "in the file), gcv.")
@click.option("--penalty-order", type=PenaltyOrderType(), default=None,
              show_default="auto with a rule (auto, risk, evidence), 2 with a weight W",
              help="Form of the smoothness penalty: the derivative it weighs, 2 (curvature, w |k^2 c|^2), 1 (slope, "
                   "w |k c|^2), 3 or 4; exponential:RATE (w sum e^(RATE m) c_m^2 over mode numbers m, for fields "
                   "smoother than any power law: nearly band-limited ones); exponential (the rate chosen by the "
                   "evidence); auto (orders 1-4 and the exponential rates, chosen by the evidence). The last two "
                   "need --regularization auto, risk or evidence.")
@click.option("--directions", type=int, default=None, help="Directions per step [zo-gn: min(d, 8) random; for a field 4 coordinate directions, lowest "
                   "wavenumbers first; zo: 4 random].")
@click.option("--steps", type=int, default=None, help="Maximum local iterations.")
@click.option("--max-nfev", type=int, default=None, help="Maximum solver calls.")
@click.option("--max-time", type=float, default=None, metavar="SECONDS",
              help="Stop after this much wall time (status max_time; the checkpoint is saved).")
@click.option("--seed", default=0, show_default=True, help="Seed for directions and search.")
@click.option("--preset", type=click.Choice(["paper"]), default=None, help="paper: Table F.3 of Shen et al. (zo: 1 direction, Adam, 5000 steps, 256 x 512 grid; "
                   "pinn: T = 1000 SGD steps, batch 5000, 5000 outer steps).")
@click.option("--n", "n", type=int, default=None, help="Solver grid points [default: equation default, refined automatically].")
@click.option("--dt", type=float, default=None, help="Solver time step [default: from the grid].")
@click.option("--search/--no-search", default=None, help="Global scan before the local phase [default: on, off for lsq].")
@click.option("--windows", type=int, default=None, metavar="K",
              help="Several unknowns: before the full data, fit the observations of the first 1/2^K of the time "
                   "span, then twice that, ... (the misfit is less multimodal early on) [default: 3 for several "
                   "scalar unknowns, 0 otherwise].")
@click.option("--auto-grid/--no-auto-grid", default=True, show_default=True, help="Refine the grid until it no longer moves the estimate.")
@click.option("--tol", type=float, default=1e-8, show_default=True, help="Stop when a step changes each (log-)parameter by less.")
@click.option("--intervals", type=click.Choice(["laplace", "profile", "none"]), default="laplace", show_default=True,
              help="Confidence intervals after a converged fit of scalar unknowns: laplace (Gauss-Newton covariance, "
                   "d more solves), profile (profile likelihood, the other unknowns re-fitted along it; tens of "
                   "solves per unknown, trustworthy when the misfit is not quadratic), none.")
@click.option("--level", type=float, default=0.95, show_default=True, help="Confidence level of the intervals.")
@click.option("--loss", type=click.Choice(["linear", "huber", "cauchy"]), default="linear", show_default=True,
              help="linear: least squares; huber / cauchy: robust to outliers (gross errors in a few points).")
@click.option("--loss-scale", type=float, default=None, metavar="C",
              help="Residual size beyond which a point counts as an outlier, in units of the file's sigma "
                   "[default: 1.345 huber, 2.385 cauchy]; required, in units of u, when the file has no sigma.")
@click.option("--forward-command", default=None, metavar="'PROGRAM ARGS'",
              help="A black box replaces the spectral solver: run this program once per trial point; it reads the "
                   "parameters as a JSON object on standard input and prints the predictions at the observation "
                   "points, in the file's order (see README, 'external program').")
@click.option("--forward-timeout", type=float, default=None, metavar="SECONDS",
              help="Kill a --forward-command run after this long; that trial point is rejected.")
@click.option("--workers", type=int, default=None,
              help="With --forward-command: evaluate the points of a batch (scan, sketch directions) side by side "
                   "on N local worker processes (a dask LocalCluster).")
@click.option("--scheduler", default=None, metavar="tcp://HOST:PORT",
              help="With --forward-command: evaluate batches on a running dask cluster.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="Result file (.h5) to write.")
@click.option("--checkpoint", type=click.Path(dir_okay=False), default=None,
              help="Checkpoint file, saved every --checkpoint-every iterations and on Ctrl-C/SIGTERM "
                   "[default with -o: OUTPUT.ckpt.h5, removed after success].")
@click.option("--checkpoint-every", type=int, default=10, show_default=True, help="Iterations between checkpoints.")
@click.option("--resume", type=click.Path(dir_okay=False), default=None, is_eager=True,
              callback=lambda ctx, param, value: _existing_files(value),
              help="Continue the fit saved in this checkpoint (its observations and settings are used).")
@click.option("--force", is_flag=True, help="Overwrite an existing result file.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print the result summary as JSON.")
def fit_command(equation, obs_paths, method, inits, bound_texts, fit_names, modes, u0_text, regularization, penalty_order, directions, steps, max_nfev, max_time,
                seed, preset, n, dt, search, windows, auto_grid, tol, intervals, level, loss, loss_scale,
                forward_command, forward_timeout, workers, scheduler, output, checkpoint, checkpoint_every, resume, force, quiet,
                as_json):
    """Recover the unknown parameters of EQUATION from the observations in --obs.

    \b
    Examples:
      pdeinv fit burgers --obs data/burgers.h5 --init nu=0.03 -o fit.h5
      pdeinv fit --resume fit.ckpt.h5 -o fit.h5     # after Ctrl-C

    Exit codes: 0 converged, 1 not converged or a fit that does not explain its data (the
    status says why: poor_fit, max_steps, max_nfev, max_time, diverged, failed), 2 bad input, 130/143 interrupted by SIGINT/SIGTERM (the
    checkpoint says where to resume).
    """
    import signal
    from pathlib import Path

    if len(obs_paths) > 1:
        raise UserError(f"--obs given {len(obs_paths)} times; a fit reads one file (pdeinv fit-many fits several)")
    obs_path = obs_paths[0] if obs_paths else None
    init = parse_assignments(inits, "--init")
    unknowns = None if fit_names is None else [s.strip() for s in fit_names.split(",") if s.strip()]
    check_output(output, force, inputs=(obs_path, resume))
    given = _given_options()
    fits_field = (unknowns is not None and any(u == "u0" or u.endswith("(x)") for u in unknowns)) or u0_text == "fit"
    if resume is not None:
        fixed = _flags(given - RESUME_MAY_CHANGE)
        if fixed:
            raise UserError(f"{'/'.join(fixed)} cannot change a fit being resumed: the checkpoint's own settings "
                            "continue it (the budgets --steps, --max-nfev and --max-time, the outputs and the display "
                            "may)")
    field_options = ("modes", "regularization", "penalty_order")
    for option in field_options:
        if option in given and not fits_field and u0_text != "auto":
            raise UserError(f"--{option.replace('_', '-')} applies to a fitted field (--fit u0 or --fit 'D(x)'), and none is fitted")
    no_penalty = ("--penalty-order shapes the smoothness penalty, and there is none: give --regularization "
                  f"W (or a rule: {', '.join(RULE_NAMES)}) too")
    if "penalty_order" in given and _is_zero(regularization) and (fits_field or resume is not None):
        raise UserError(no_penalty)
    if resume is None and (equation is None or obs_path is None):
        raise UserError("give EQUATION and --obs FILE (or --resume CHECKPOINT)")
    if forward_command is None:
        for option, value in (("forward-timeout", forward_timeout), ("workers", workers), ("scheduler", scheduler)):
            if value is not None:
                raise UserError(f"--{option} applies to a --forward-command black box, and none is given")
    check_workers(workers, scheduler)
    if forward_command is not None and (checkpoint is not None or resume is not None):
        raise UserError("a --forward-command fit keeps no checkpoint on the command line (resume it from Python "
                        "with the same forward map)")
    rule = regularization if regularization in RULE_NAMES else None
    if rule is not None and (checkpoint is not None or resume is not None):
        raise UserError(f"--regularization {rule} runs several fits and keeps no checkpoint; give a number to use "
                        "--checkpoint or --resume")
    # a resumed fit keeps saving into the checkpoint it continues (removed when it succeeds)
    derived_checkpoint = checkpoint is None and output is not None and method != "pinn" and rule is None \
        and forward_command is None and resume is None
    if derived_checkpoint:
        checkpoint = str(Path(output).with_suffix("")) + ".ckpt.h5"
    from ..fit import fit, resume_problem
    from ..io import load_checkpoint, load_observations, save_result
    from ..problems.inverse import InverseProblem

    with user_errors(), contextlib.ExitStack() as stack:
        state = None
        if resume is not None:
            state = load_checkpoint(resume)
            obs = state["observations"]
            if equation is not None and equation != obs.equation:
                raise ValueError(f"{resume} continues a {obs.equation} fit, not {equation}")
            equation, method = obs.equation, state["options"]["method"]
            checkpoint = checkpoint or resume
            problem = resume_problem(state, n=n, dt=dt)
        else:
            obs = load_observations(obs_path)
            if obs.equation != equation:
                raise ValueError(f"{obs_path} holds {obs.equation} observations, not {equation}")
            if rule is None:
                try:
                    weight = float(regularization)
                except ValueError:
                    raise ValueError(f"--regularization must be a number or one of {', '.join(RULE_NAMES)}; got "
                                     f"{regularization!r}") from None
            else:
                weight = 0.0
            forward = executor = None
            if forward_command is not None:
                import shlex

                from ..parallel import check_scheduler_address, make_executor
                from ..problems.external import CommandForward

                forward = CommandForward(shlex.split(forward_command), timeout=forward_timeout)
                if scheduler is not None:
                    check_scheduler_address(scheduler)
                if workers is not None or scheduler is not None:
                    executor = stack.enter_context(make_executor(workers, scheduler))
            u0 = u0_text if u0_text in U0_CHOICES else parse_u0(u0_text)
            problem = InverseProblem(obs, unknowns, n=n, dt=dt, modes=modes, regularization=weight, u0=u0,
                                     bounds=parse_ranges(bound_texts, "--bounds") or None,
                                     penalty_order=penalty_order, loss=loss, loss_scale=loss_scale, forward=forward, executor=executor)
            if problem.initial.source == "none" and problem.initial.mode == "fit" and rule is None and weight == 0 \
                    and not fits_field:
                # u0 from the later data alone: its smoothness is the regularization rules' to choose
                rule = "auto"
                checkpoint = None if derived_checkpoint else checkpoint
                if checkpoint is not None:
                    raise ValueError("u0 fitted from the later data alone chooses its smoothness with several fits, "
                                     "which keep no checkpoint: drop --checkpoint, or give --regularization W")
            unused = sorted(option for option in field_options if option in given and problem.field is None)
            if unused:
                raise ValueError(f"--{unused[0].replace('_', '-')} applies to a fitted field, and none is fitted here ("
                                 f"{problem.initial.reason})")
            if "penalty_order" in given and rule is None and weight == 0:
                raise ValueError(no_penalty)
            check_start(problem, init)
        status = None if quiet else StatusLine(f"fitting {equation} ({method or preset or 'zo-gn'})")

        best_scanned: dict = {}

        def progress(info):
            # A percentage of the call budget says nothing (fits stop long before it): show the
            # phase, the calls so far, the loss and the current estimate instead (for the
            # global search, whose points arrive at once, its best point so far).
            if status is not None:
                if info["phase"] == "search" and (not best_scanned or info["loss"] < best_scanned["loss"]):
                    best_scanned.update(info)
                if info["phase"] == "search" and best_scanned:
                    info = best_scanned
                shown = ", ".join(f"{k}={v:.6g}" for k, v in list(info["params"].items())[:4])
                unit = "evaluations" if method == "pinn" else "solver calls"
                status.show(f"{info['phase']}, {info['nfev']} {unit}, loss {info['loss']:.3e}, {shown}")

        received = _SIGNALS  # a Ctrl-C that came before (and that some import swallowed) counts too
        handler = lambda signum, frame: received.append(signum)  # noqa: E731  (stop at the next iteration)
        previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            result = fit(problem, init or None, method=method, seed=seed, max_steps=steps, max_nfev=max_nfev,
                         max_time=max_time, tol=tol, callback=progress, directions=directions, search=search, windows=windows,
                         auto_grid=auto_grid, intervals=intervals, level=level,
                         preset=preset, checkpoint=checkpoint, checkpoint_every=checkpoint_every,
                         resume=state, should_stop=lambda: bool(received), regularization=rule)
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)
            if status is not None:
                status.close()
        if received:
            name = signal.Signals(received[0]).name
            spent = f"{result.evaluations} outer evaluations" if method == "pinn" else f"{result.nfev} solver calls"
            click.echo(f"{name}: fit stopped after {spent}.", err=True)
            if checkpoint:
                again = f" -o {output}" if output else ""
                click.echo(f"checkpoint saved to {checkpoint}; resume with: pdeinv fit --resume {checkpoint}{again}", err=True)
            sys.exit(128 + received[0])
        if output is not None:
            save_result(result, obs, output, overwrite=force)
            if result.success and checkpoint and Path(checkpoint).exists():  # the fit is done: so is its checkpoint
                Path(checkpoint).unlink()
    if as_json:
        click.echo(json.dumps(result.summary(), indent=2, default=float))
    else:
        click.echo(format_result_table(result, obs))
        if output is not None:
            click.echo(f"result written to {output}")
    if not result.success:
        sys.exit(1)


def check_start(problem, init: dict) -> None:
    """Refuse a start at which the solver gives no finite solution (one solve, before a fit
    spends a global search on it): e.g. ``--init nu=1e300``."""
    if not init:
        return
    import difflib

    names = list(problem.scalar_unknowns) + ([problem.field_name] if problem.field is not None else [])
    equation = problem.equation_class
    for name in init:
        if name in names or name in problem.unknowns or name == problem.field_param:
            continue
        if name in equation.param_names:
            raise ValueError(f"--init {name}: {name} is a parameter of {equation.name} that this fit does not fit "
                             f"(unknowns: {', '.join(names)}); fit it too with --fit "
                             f"{','.join(list(problem.scalar_unknowns) + [name])}")
        close = difflib.get_close_matches(name, names + list(equation.param_names), n=1, cutoff=0.5)
        raise ValueError(f"--init {name}: {name} is not a parameter of {equation.name} (its parameters: "
                         f"{', '.join(equation.param_names)}; this fit's unknowns: {', '.join(names)})"
                         + (f"; did you mean {close[0]}?" if close else ""))
    if problem.has_custom_forward:
        return
    start = {**problem.default_init(), **problem.expand(init)}
    _, finite = problem.predict(problem.to_z(start)[None])
    if not finite[0]:
        shown = ", ".join(f"{k}={v:g}" for k, v in init.items())
        raise ValueError(f"--init {shown}: the solver gives no finite solution there; start from a plausible value")
