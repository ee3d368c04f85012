"""Command-line interface: a thin shell over the Python API.

Every user error (bad file, bad option value, name clash) ends with one line on stderr and
exit code 2; nothing is written unless the command succeeds.
"""

from __future__ import annotations

import contextlib
import json
import sys

import click

from . import __version__

EQUATION_CHOICE = click.Choice(["burgers", "allen-cahn", "kdv"])


class UserError(click.ClickException):
    """A problem with the user's input: one line, exit code 2, no traceback."""

    exit_code = 2

    def show(self, file=None):
        click.echo(f"Error: {self.format_message()}", err=True)


@contextlib.contextmanager
def user_errors():
    """Turn the API's input errors into ``UserError``."""
    from .solvers import SolverDivergedError

    try:
        yield
    except (ValueError, OSError, SolverDivergedError) as err:
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UserError(message) from None


def parse_assignments(values: tuple[str, ...], option: str) -> dict[str, float]:
    """``("nu=0.01", "r=5")`` -> ``{"nu": 0.01, "r": 5.0}`` with a clear error otherwise."""
    out: dict[str, float] = {}
    for item in values:
        for part in item.split(","):
            if not part.strip():
                continue
            name, sep, value = part.partition("=")
            if not sep or not name.strip():
                raise UserError(f"{option} expects NAME=VALUE, got {part!r}")
            try:
                out[name.strip()] = float(value)
            except ValueError:
                raise UserError(f"{option} {name.strip()}: {value!r} is not a number") from None
    return out


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pdeinv")
def cli():
    """pdeinv: recover PDE parameters from scattered observations of u(t, x).

    \b
    Typical session:
      pdeinv simulate burgers --points 64 -o obs.h5     # synthetic observations
      pdeinv info obs.h5                                 # what is in the file
      pdeinv fit burgers --obs obs.h5 -o fit.h5          # recover nu
    """


@cli.command()
@click.argument("equation", type=EQUATION_CHOICE)
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="True parameter (repeatable); others take the equation defaults.")
@click.option("--points", default=64, show_default=True, help="Number of observation points.")
@click.option("--layout", type=click.Choice(["grid", "random"]), default="grid", show_default=True, help="grid: sqrt(P) x sqrt(P) interior (t, x) points; random: uniform, seeded.")
@click.option("--noise", default=0.0, show_default=True, help="Gaussian noise, relative to the field's standard deviation.")
@click.option("--seed", default=0, show_default=True, help="Seed for random layout and noise.")
@click.option("--n", "n", type=int, default=None, help="Solver grid points [default: 2x the fit default].")
@click.option("--dt", type=float, default=None, help="Solver time step [default: half the fit default].")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Observation file to write (.h5).")
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
def simulate(equation, params, points, layout, noise, seed, n, dt, output, force):
    """Simulate EQUATION with pdeinv's solver and sample observations into an HDF5 file.

    The solve runs on a finer grid and step than fits use by default, so a fit on these data
    sees its own discretization error, as it would on real data.
    """
    from .io import save_observations
    from .problems import simulate as simulate_obs

    with user_errors():
        obs = simulate_obs(
            equation, parse_assignments(params, "--param"), points=points, layout=layout,
            noise=noise, seed=seed, n=n, dt=dt,
        )
        save_observations(obs, output, overwrite=force)
    truth = ", ".join(f"{k}={v:g}" for k, v in obs.true_params.items())
    click.echo(f"wrote {output}: {obs.n_points} points of {equation} ({truth}), noise {noise:g}")


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of text.")
def info(file, as_json):
    """Describe an observation file (or a fit result file)."""
    from .io import load_any

    with user_errors():
        kind, summary = load_any(file)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    click.echo(f"{file}: {kind}")
    for key, value in summary.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in value.items()) or "-"
        elif isinstance(value, list):
            value = " .. ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
        click.echo(f"  {key:14s} {value if value is not None else '-'}")


@cli.group(name="import")
def import_():
    """Convert published data sets into pdeinv observation files."""


@import_.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--equation", type=EQUATION_CHOICE, required=True, help="Which PDE the data solve.")
@click.option("--points", type=int, default=None, help="Subsample this many points (default: keep the full grid).")
@click.option("--seed", default=0, show_default=True, help="Seed for --points.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
def raissi(file, equation, points, seed, output, force):
    """Import a PINN-paper .mat file (x, t/tt, usol/uu; x with both periodic endpoints)."""
    from .io import import_raissi, save_observations

    with user_errors():
        obs = import_raissi(file, equation, points=points, seed=seed)
        save_observations(obs, output, overwrite=force)
    click.echo(f"wrote {output}: {obs.n_points} points of {equation}")


@import_.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--sample", default=0, show_default=True, help="Which sample of the tensor.")
@click.option("--points", type=int, default=None, help="Subsample this many points (default: keep the full grid).")
@click.option("--seed", default=0, show_default=True, help="Seed for --points.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
def pdebench(file, sample, points, seed, output, force):
    """Import one sample of a PDEBench 1-D Burgers file (viscosity = Nu / pi)."""
    from .io import import_pdebench, save_observations

    with user_errors():
        obs = import_pdebench(file, sample=sample, points=points, seed=seed)
        save_observations(obs, output, overwrite=force)
    click.echo(f"wrote {output}: {obs.n_points} points of burgers (nu={obs.true_params['nu']:g})")


def main():
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:  # pragma: no cover - interactive
        click.echo("interrupted", err=True)
        sys.exit(130)
