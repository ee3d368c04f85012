"""`pdeinv design`: where to measure, before the experiment."""

from __future__ import annotations

import json

import click

from ._common import (
    EQUATION_CHOICE, _existing_files, _given_options, check_output, cli, JsonAwareCommand, parse_assignments,
    parse_ranges, parse_u0, plugin_option, StatusLine, user_errors, UserError,
)


def _parse_times(text: str | None):
    """``"16"`` (a count) or ``"0.2,0.5,1"`` (the times) -> int, list or None."""
    if text is None:
        return None
    if text.strip().isdigit():
        return int(text)
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UserError(f"--times expects a count (e.g. 16) or comma-separated times, got {text!r}") from None


@cli.command(name="design", cls=JsonAwareCommand)
@plugin_option
@click.argument("equation", type=EQUATION_CHOICE)
@click.option("--budget", default=64, show_default=True, type=click.IntRange(min=1),
              help="Scattered (t, x) observation points to choose.")
@click.option("--sensors", default=None, type=click.IntRange(min=1),
              help="Choose this many sensor positions instead, each observed at every one of --times.")
@click.option("--times", "times_text", default=None, metavar="COUNT|T1,T2,...",
              help="Candidate times (scattered points) or the sensors' observation times: a count, evenly spaced "
                   "in (t0, t1], or the times [default: 32 candidates; 16 sensor times].")
@click.option("--fit", "fit_names", default=None, metavar="NAMES",
              help="Comma-separated unknowns the data should determine [default: the equation's].")
@click.option("--guess", "guesses", multiple=True, metavar="NAME=VALUE",
              help="Where to design: a value for a parameter (repeatable) [default: the equation's].")
@click.option("--spread", default=2.0, show_default=True, type=float,
              help="How far off the guess may be, as a factor: the design is averaged over prior draws in "
                   "guess/spread ... guess*spread.")
@click.option("--prior", "priors", multiple=True, metavar="NAME=LOW:HIGH",
              help="The range of an unknown instead of --spread (repeatable).")
@click.option("--criterion", type=click.Choice(["D", "A"]), default="D", show_default=True,
              help="D: the smallest joint confidence region (log-determinant of the information); A: the smallest "
                   "sum of the variances (relative, for positive parameters).")
@click.option("--noise", default=0.01, show_default=True, type=float,
              help="The observations' noise, relative to the field's standard deviation (as pdeinv simulate's).")
@click.option("--position-noise", default=0.0, show_default=True, type=float,
              help="Uncertainty of a sensor's position (units of x); steers points away from the steepest places.")
@click.option("--explore", default=0.25, show_default=True, type=float,
              help="Fraction of the points spread evenly before the rest are chosen for their information.")
@click.option("--initial", type=click.Choice(["measured", "exact"]), default="measured", show_default=True,
              help="What the experiment knows of u0: a first snapshot measured with the same noise (its "
                   "coefficients estimated with the unknowns, as a fit does) or the exact initial condition.")
@click.option("--draws", default=8, show_default=True, type=click.IntRange(min=1), help="Prior draws averaged over.")
@click.option("--given", "given_path", default=None, type=click.Path(dir_okay=False),
              callback=lambda ctx, param, value: _existing_files(value) if value else None,
              help="Observations already taken (.h5): design the next batch.")
@click.option("--components", "components_text", default=None, metavar="NAMES",
              help="For a system: the components that can be observed, comma-separated [default: all].")
@click.option("--u0", "u0_text", default=None, metavar="EXPR", help="Initial condition as a function of x [default: the equation's].")
@click.option("--seed", default=0, show_default=True, help="Seed of the prior draws.")
@click.option("--n", "n", type=int, default=None, help="Solver grid points [default: the fit default].")
@click.option("--dt", type=float, default=None, help="Solver time step [default: from the grid].")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Observation plan to write (.h5).")
@click.option("--plot", "plot_path", default=None, type=click.Path(dir_okay=False),
              help="Also draw where the points are and why (.png/.pdf).")
@click.option("--force", is_flag=True, help="Overwrite existing output files.")
@click.option("--quiet", is_flag=True, help="No progress line.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan's summary as JSON.")
def design_command(equation, budget, sensors, times_text, fit_names, guesses, spread, priors, criterion, noise,
                   position_noise, explore, initial, draws, given_path, components_text, u0_text, seed, n, dt, output, plot_path,
                   force, quiet, as_json):
    """Choose where to observe EQUATION so that its unknowns are determined best.

    The solver is called (never differentiated) at prior draws around --guess; each candidate
    point's information is its sensitivity to the unknowns over the noise, and points are chosen
    one at a time for the criterion averaged over the draws. The plan is an HDF5 file that
    `pdeinv simulate --plan` observes at; the predicted standard deviations compare it with
    random points. Fit the data within the prior range the design assumed (printed; `pdeinv fit
    --bounds`).

    \b
    Examples:
      pdeinv design burgers --guess nu=0.005 --budget 64 -o plan.h5 --plot plan.png
      pdeinv design kdv --sensors 8 --times 20 -o sensors.h5
      pdeinv design burgers --given data.h5 --budget 16 -o next.h5
    """
    from ..designs import design, save_plan

    if sensors is not None and "budget" in _given_options():
        raise UserError("--budget and --sensors choose different things: give one")
    check_output(output, force, inputs=(given_path,) if given_path else ())
    if plot_path is not None:
        from pathlib import Path

        if Path(plot_path).exists() and not force:
            raise UserError(f"{plot_path} exists; pass --force to replace it")
        if Path(plot_path).resolve() == Path(output).resolve():
            raise UserError("--plot and --output name the same file")
        if not plot_path.lower().endswith((".png", ".pdf", ".svg")):
            raise UserError(f"--plot must end in .png, .pdf or .svg, got {plot_path!r}")
    guess = parse_assignments(guesses, "--guess")
    prior = parse_ranges(priors, "--prior")
    unknowns = None if fit_names is None else [s.strip() for s in fit_names.split(",") if s.strip()]
    status = None if quiet else StatusLine(f"designing for {equation}")
    try:
        with user_errors():
            given = None
            if given_path is not None:
                from ..io import load_observations

                given = load_observations(given_path)
            plan = design(equation, guess or None, budget=budget, unknowns=unknowns, criterion=criterion,
                          sensors=sensors, times=_parse_times(times_text), spread=spread, prior=prior or None,
                          draws=draws, noise=noise, position_noise=position_noise, explore=explore, initial=initial,
                          given=given,
                          components=None if components_text is None else
                          [c.strip() for c in components_text.split(",") if c.strip()],
                          seed=seed, n=n, dt=dt, u0=parse_u0(u0_text),
                          progress=None if status is None else status.show)
            save_plan(plan, output, overwrite=force)
            if plot_path is not None:
                import matplotlib

                matplotlib.use("Agg")
                import matplotlib.pyplot as plt

                from ..io import atomic_path
                from ..plotting import plot_design

                fig = plot_design(plan)
                with atomic_path(plot_path, overwrite=force) as tmp:
                    fig.savefig(tmp, format=plot_path.rsplit(".", 1)[1].lower(), dpi=110)
                plt.close(fig)
    finally:
        if status is not None:
            status.close()
    if as_json:
        click.echo(json.dumps({**plan.summary(), "output": output}, default=float))
        return
    what = f"{plan.n_points} points" if plan.sensors is None else \
        f"{len(plan.sensors)} sensors at x = {', '.join(f'{v:.4g}' for v in plan.sensors)} ({plan.n_points} points)"
    click.echo(f"wrote {output}: {what} of {plan.equation} ({criterion}-optimal)")
    click.echo(f"{'unknown':10s} {'predicted sd':>13s} {'random points':>14s}   (relative for a positive parameter)")
    for name in plan.unknowns:
        click.echo(f"{name:10s} {plan.predicted_std[name]:13.3g} {plan.random_std[name]:14.3g}")
    for note in plan.notes:
        click.echo(f"note: {note}")
    box = " ".join(f"--bounds {u}={lo:.6g}:{hi:.6g}" for u, (lo, hi) in plan.settings["prior_box"].items())
    click.echo(f"fit the data within the prior range: pdeinv fit {plan.equation} --obs DATA {box}")
