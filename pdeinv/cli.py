"""Command-line interface: a thin shell over the Python API.

Every user error (bad file, bad option value, name clash) ends with one line on stderr and
exit code 2; nothing is written unless the command succeeds.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys

import click

__version__ = "0.1.0"



#: The rules choosing a field's smoothness weight from the data (pdeinv.fit.regularization.RULES).
RULE_NAMES = ("auto", "risk", "evidence", "discrepancy", "gcv")
#: What --u0 may say besides an expression (``pdeinv.problems.initial.U0_CHOICES``, kept here so
#: that --help imports no numerical module; a test keeps the two equal).
U0_CHOICES = ("auto", "exact", "fit")


class PenaltyOrderType(click.ParamType):
    """A smoothness penalty's form: 1 ... 4, exponential[:RATE] or auto (see InverseProblem)."""

    name = "penalty"
    forms = ("1", "2", "3", "4", "exponential", "auto")

    def get_metavar(self, param, ctx=None):
        return "[1|2|3|4|exponential[:RATE]|auto]"

    def convert(self, value, param, ctx):
        from .problems.inverse import check_penalty_order

        try:
            return check_penalty_order(int(value) if isinstance(value, str) and value.isdigit() else value)
        except ValueError as err:
            self.fail(str(err), param, ctx)

    def shell_complete(self, ctx, param, incomplete):
        from click.shell_completion import CompletionItem

        return [CompletionItem(f) for f in self.forms if f.startswith(incomplete)]


class EquationType(click.ParamType):
    """An equation: a registered name or alias, or ``module:ClassName`` (see ``pdeinv equations``)."""

    name = "equation"

    def get_metavar(self, param, ctx=None):
        return "EQUATION"

    def convert(self, value, param, ctx):
        from .equations import get_equation

        if not isinstance(value, str):
            return value
        try:
            return get_equation(value).name
        except ValueError as err:
            self.fail(str(err), param, ctx)

    def shell_complete(self, ctx, param, incomplete):
        from click.shell_completion import CompletionItem

        from .equations import equation_names

        return [CompletionItem(n) for n in equation_names(with_aliases=True) if n.startswith(incomplete)]


EQUATION_CHOICE = EquationType()


class JsonAwareCommand(click.Command):
    """A command whose options checked while the command line is read (before --json itself
    is) still answer in JSON when --json was given."""

    def parse_args(self, ctx, args):
        ctx.meta["json_asked"] = "--json" in args
        return super().parse_args(ctx, args)


class UserError(click.ClickException):
    """A problem with the user's input: one line, exit code 2, no traceback."""

    exit_code = 2

    def __init__(self, message: str):
        super().__init__(message)
        ctx = click.get_current_context(silent=True)
        #: a command run with --json also gets the error as JSON on standard output, for scripts
        self.as_json = bool(ctx is not None and (ctx.params.get("as_json") or ctx.meta.get("json_asked")))

    def show(self, file=None):
        click.echo(f"Error: {self.format_message()}", err=True)
        if self.as_json:
            click.echo(json.dumps({"error": self.format_message(), "exit_code": self.exit_code}))


def check_workers(workers, scheduler) -> None:
    """``--workers`` and ``--scheduler``, as ``fit`` and ``fit-many`` take them: one or the other,
    and at least one worker."""
    if workers is not None and scheduler is not None:
        raise UserError("give --workers or --scheduler, not both")
    if workers is not None and workers < 1:
        raise UserError(f"--workers must be at least 1, got {workers}")


@contextlib.contextmanager
def user_errors():
    """Turn the API's input errors into ``UserError``."""
    from .solvers import SolverDivergedError

    try:
        yield
    except (ValueError, OSError, SolverDivergedError) as err:
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UserError(message) from None


class MethodChoice(click.Choice):
    """The registered methods (and ``extra`` names), read from the registry each time the
    command line is used: a method registered after this module was imported is a choice too."""

    def __init__(self, extra: tuple[str, ...] = ()):
        self._extra = tuple(extra)
        super().__init__(self.choices)

    @property
    def choices(self):
        from .methods import method_names

        return (*method_names(), *self._extra)

    @choices.setter
    def choices(self, value):  # set by click.Choice.__init__; the registry is the truth
        pass


class MethodOption(click.Option):
    """``--method``, whose help lists every registered method with its one line."""

    def get_help_record(self, ctx):
        from .methods import METHODS, method_names

        listed = "; ".join(f"{name}: {METHODS[name]}" for name in method_names())
        given = self.help or ""
        self.help = f"{listed}; {given}" if not given.startswith(listed) else given
        return super().get_help_record(ctx)


class StatusLine:
    """One line on stderr rewritten in place (on a terminal; elsewhere, at most one line a
    second), so long work shows that it moves and where it stands."""

    def __init__(self, label: str):
        import time

        self.label, self.width, self.last = label, 0, 0.0
        self.clock = time.monotonic
        self.tty = sys.stderr.isatty()

    def show(self, text: str) -> None:
        now = self.clock()
        if not self.tty and now - self.last < 1.0:
            return
        self.last = now
        line = f"{self.label}: {text}"
        if self.tty:
            line = line[: 200]
            click.echo("\r" + line.ljust(self.width), err=True, nl=False)
            self.width = len(line)
        else:
            click.echo(line, err=True)

    def close(self) -> None:
        if self.tty and self.width:
            click.echo("", err=True)


def _is_zero(text: str) -> bool:
    """Whether an option's text is the number 0 (e.g. "0", "0.0", "0e0")."""
    try:
        return float(text) == 0
    except ValueError:
        return False


def _given_options() -> set[str]:
    """Names of the current command's options given on the command line (not defaults)."""
    from click.core import ParameterSource

    ctx = click.get_current_context()
    return {name for name in ctx.params if ctx.get_parameter_source(name) == ParameterSource.COMMANDLINE}


def _existing_files(value):
    """An option's file(s), refused when missing: checked while the command line is read,
    before an equation name loads the numerical modules (a second or more)."""
    from pathlib import Path

    for path in (value if isinstance(value, tuple) else (value,)):
        if path is not None and not Path(path).is_file():
            raise UserError(f"{path}: no such file")
        if path is not None and Path(path).suffix.lower() in (".npz", ".mat", ".npy", ".csv"):
            raise UserError(f"{path}: pdeinv fits its own observation files (.h5); make one from a grid with "
                            f"pdeinv import arrays {Path(path).name} --equation EQUATION -o obs.h5")
    return value


def _flags(names) -> list[str]:
    """The current command's flags of option ``names``, in the order --help lists them."""
    ctx = click.get_current_context()
    return [max(p.opts, key=len) for p in ctx.command.params if p.name in names]


#: What ``pdeinv fit --resume`` may be given besides the checkpoint: the budgets (they count
#: the whole fit, the earlier runs included), the outputs and the display. Anything else would
#: change the fit being continued, and is refused rather than ignored.
RESUME_MAY_CHANGE = {"resume", "equation", "steps", "max_nfev", "max_time", "output", "checkpoint", "checkpoint_every",
                     "force", "quiet", "as_json"}


def check_output(output, force: bool, inputs=()) -> None:
    """Refuse an output before any work: an existing file without --force, a missing folder,
    or a path that is one of the command's inputs (never overwritten, --force or not)."""
    from pathlib import Path

    if output is None:
        return
    out = Path(output)
    for given in inputs:
        if given is not None and Path(given).exists() and out.exists() and out.resolve() == Path(given).resolve():
            raise UserError(f"{output} is an input of this command; write the output elsewhere")
    if out.exists() and not force:
        raise UserError(f"{output} exists; pass --force to replace it")
    if not out.parent.exists():
        raise UserError(f"folder {out.parent} does not exist")
    if out.suffix.lower() not in (".h5", ".hdf5"):
        raise UserError(f"{output}: pdeinv writes HDF5; name the output .h5 (or .hdf5)")


def parse_u0(text: str | None):
    """``--u0 EXPR`` -> a function of x (None when not given); ValueError naming the option."""
    if text is None:
        return None
    from .expressions import parse_function

    try:
        return parse_function(text)
    except ValueError as err:
        raise ValueError(f"--u0: {err}") from None


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
                number = float(value)
            except ValueError:
                raise UserError(f"{option} {name.strip()}: {value!r} is not a number") from None
            key = name.strip()
            if key in out and out[key] != number:
                raise UserError(f"{option} gives {key} twice ({out[key]:g} and {number:g}); give it once")
            out[key] = number
    return out


def _register_plugins(ctx, param, values):
    if not values:
        return
    from .equations import get_equation

    for reference in values:
        if ":" not in reference:
            raise UserError(f"--plugin expects MODULE:CLASS, got {reference!r}")
        with user_errors():
            get_equation(reference)


def plugin_option(command):
    """``--plugin MODULE:CLASS``, on the group and on every command that names an equation or
    reads a file: eager, so the equation is registered before any argument names it."""
    return click.option(
        "--plugin", "plugins", multiple=True, metavar="MODULE:CLASS", is_eager=True, expose_value=False,
        callback=_register_plugins,
        help="Make a user-defined equation available (repeatable), e.g. --plugin my_eqs:Heat; also read "
             "from PDEINV_EQUATIONS (comma-separated) and from installed entry points of the group "
             "'pdeinv.equations'.")(command)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pdeinv")
@plugin_option
def cli():
    """pdeinv: recover PDE parameters from scattered observations of u(t, x).

    \b
    Typical session:
      pdeinv equations                                   # the equations available
      pdeinv simulate burgers --points 64 -o obs.h5     # synthetic observations
      pdeinv info obs.h5                                 # what is in the file
      pdeinv fit burgers --obs obs.h5 -o fit.h5          # recover nu

    EQUATION is a name from `pdeinv equations` or MODULE:CLASS naming your own
    pdeinv.Equation subclass.
    """


@cli.command()
@plugin_option
@click.argument("name", required=False, type=EQUATION_CHOICE)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def equations(name, as_json):
    """List the equations available (built-in, registered, plug-ins), or describe NAME."""
    from .equations import describe_equation, equation_names, plugin_errors

    described = [describe_equation(n) for n in ([name] if name else equation_names())]
    errors = plugin_errors()
    if as_json:
        click.echo(json.dumps(described[0] if name else {"equations": described, "plugin_errors": errors}, indent=2))
        return
    for d in described:
        aliases = f" (alias {', '.join(d['aliases'])})" if d["aliases"] else ""
        params = ", ".join(f"{p}={v:g}" for p, v in d["parameters"].items())
        click.echo(f"{d['name']}{aliases}: {d['pde']}")
        click.echo(f"    parameters {params}; fitted by default: {', '.join(d['default_unknowns'])}")
        extras = []
        if d["positive"]:
            extras.append(f"positive (fitted as log): {', '.join(d['positive'])}")
        if d["field_params"]:
            extras.append(f"may vary in x: {', '.join(d['field_params'])}")
        if d["complex_state"]:
            extras.append("complex field")
        if extras:
            click.echo(f"    {'; '.join(extras)}")
        click.echo(f"    u0 = {d['u0']}, x in [{d['domain'][0]:g}, {d['domain'][1]:g}), "
                   f"t in [{d['t_span'][0]:g}, {d['t_span'][1]:g}], n = {d['default_n']}"
                   + ("" if d["pinn"] else "; no PINN residual"))
        if name:
            click.echo(f"    defined in {d['source']}")
    for where, error in errors.items():
        click.echo(f"warning: {where} failed to load: {error}", err=True)


@cli.command()
@plugin_option
@click.argument("equation", type=EQUATION_CHOICE)
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="True parameter (repeatable); others take the equation defaults.")
@click.option("--field", "fields", multiple=True, metavar="NAME=EXPR",
              help="A parameter that varies in x, as a function of x (Allen-Cahn D), e.g. "
                   "D='1e-3*exp(0.5*sin(pi*x))'. Allowed: numbers, x, pi, e, + - * / ** and sin, cos, "
                   "exp, log, sqrt, tanh, ...")
@click.option("--u0", "u0_text", default=None, metavar="EXPR",
              help="Initial condition as a function of x, e.g. '0.5*sin(pi*x) - 0.2*cos(3*pi*x)' "
                   "[default: the equation's].")
@click.option("--points", default=64, show_default=True, help="Number of observation points.")
@click.option("--layout", type=click.Choice(["grid", "random"]), default="grid", show_default=True, help="grid: sqrt(P) x sqrt(P) interior (t, x) points; random: uniform, seeded.")
@click.option("--grid", "grid_shape", default=None, metavar="NTxNX",
              help="Observe on an NT x NX grid of interior points (times x positions) instead of --points.")
@click.option("--noise", default=0.0, show_default=True, help="Gaussian noise, relative to the field's standard deviation.")
@click.option("--seed", default=0, show_default=True, help="Seed for random layout and noise.")
@click.option("--n", "n", type=int, default=None, help="Solver grid points [default: 2x the fit default].")
@click.option("--dt", type=float, default=None, help="Solver time step [default: half the fit default].")
@click.option("--known", default=None, metavar="NAMES",
              help="Parameters recorded as known in the file [default: all but the equation's default "
                   "unknowns, e.g. nu / D / lambda2]; give all of them when the fit will recover u0.")
@click.option("--observe", type=click.Choice(["value", "abs"]), default="value", show_default=True,
              help="What the observations measure: the field, or its modulus |u| (e.g. |h| of nls).")
@click.option("--snapshot", type=click.Choice(["measured", "exact", "none"]), default=None,
              help="The initial condition in the file: a first snapshot with the same noise as the other points "
                   "(measured), the exact u0 (exact), or no snapshot at all (none: sensors that start later) "
                   "[default: measured with --noise, exact without].")
@click.option("--snapshot-points", type=int, default=256, show_default=True,
              help="Samples of a measured first snapshot.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Observation file to write (.h5).")
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
def simulate(equation, params, fields, u0_text, points, layout, grid_shape, noise, seed, n, dt, known, observe,
             snapshot, snapshot_points, output, force):
    """Simulate EQUATION with pdeinv's solver and sample observations into an HDF5 file.

    The solve runs on a finer grid and step than fits use by default, so a fit on these data
    sees its own discretization error, as it would on real data. With --noise the initial
    condition is recorded as a measured first snapshot with the same noise (a fit then
    estimates u0 with the parameters); --snapshot exact keeps the exact u0.
    """
    from .io import save_observations
    from .problems import simulate as simulate_obs

    from .expressions import parse_function

    check_output(output, force)
    values = parse_assignments(params, "--param")
    grid = None
    given = _given_options()
    if grid_shape is not None and given & {"points", "layout"}:
        raise UserError(f"--grid {grid_shape} sets the observation points; it cannot be combined with "
                        + " and ".join(f"--{name}" for name in sorted(given & {"points", "layout"})))
    if grid_shape is not None:
        parts = grid_shape.lower().split("x")
        if len(parts) != 2 or not all(p.strip().isdigit() and int(p) > 0 for p in parts):
            raise UserError(f"--grid expects NTxNX with positive integers (e.g. 10x80), got {grid_shape!r}")
        grid = (int(parts[0]), int(parts[1]))
        layout = "grid"
    with user_errors():
        for item in fields:
            name, sep, text = item.partition("=")
            if not sep or not name.strip():
                raise ValueError(f"--field expects NAME=EXPRESSION, got {item!r}")
            if name.strip() in values:
                raise ValueError(f"{name.strip()} given both by --param and --field")
            try:
                values[name.strip()] = parse_function(text)
            except ValueError as err:
                raise ValueError(f"--field {name.strip()}: {err}") from None
        u0 = parse_u0(u0_text)
        obs = simulate_obs(
            equation, values, points=points, layout=layout, grid=grid, u0=u0,
            noise=noise, seed=seed, n=n, dt=dt, observable=observe, snapshot=snapshot, snapshot_points=snapshot_points,
            fixed=None if known is None else tuple(k.strip() for k in known.split(",") if k.strip()),
        )
        save_observations(obs, output, overwrite=force)
    truth = ", ".join([f"{k}={v:g}" for k, v in obs.true_params.items()]
                      + [f"{k}(x) in [{v.min():g}, {v.max():g}]" for k, v in obs.true_fields.items() if k != "u0"])
    click.echo(f"wrote {output}: {obs.n_points} points of {equation} ({truth}), noise {noise:g}")


@cli.command()
@plugin_option
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of text.")
def info(file, as_json):
    """Describe an observation file, a fit result, a checkpoint or posterior draws."""
    from .io import load_any

    with user_errors():
        samples = _samples_file(file)
        kind, summary = ("posterior samples", samples.summary()) if samples is not None else load_any(file)
        if kind == "fit result":  # what was decided about u0, and what was assumed, are in its settings
            from .io import load_result

            settings = load_result(file)[0].settings
            summary["initial_condition"] = settings.get("initial_condition")
            summary["assumed_params"] = settings.get("assumed_params") or {}
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    click.echo(f"{file}: {kind}")
    for key, value in summary.items():
        if kind == "fit result" and key in ("params", "true_params", "relative_errors", "intervals") \
                and isinstance(value, dict):
            value = _scalars_and_fields(value)
        if key == "goodness" and isinstance(value, dict) and value.get("verdict") in ("good", "poor"):
            value = describe_goodness(value)
        elif key == "uncertainty" and isinstance(value, dict):
            value = _describe_uncertainty(value)
        elif key == "initial_condition" and isinstance(value, dict):
            value = value.get("reason", "-")
        elif isinstance(value, dict):
            value = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in value.items()) or "-"
        elif isinstance(value, list):
            value = " .. ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
        click.echo(f"  {key:14s} {value if value is not None else '-'}")


def _samples_file(path):
    """The draws in ``path`` when it is a samples file (pdeinv sample -o), else None."""
    import h5py

    from .sampling import FORMAT, load_samples

    try:
        with h5py.File(path, "r") as f:
            is_samples = f.attrs.get("format") == FORMAT
    except (OSError, ValueError):
        return None
    return load_samples(path) if is_samples else None


def _scalars_and_fields(values: dict) -> dict:
    """A result's per-unknown entries for people: the scalars, and each field's coefficients as
    one count (they are all in --json)."""
    out, fields = {}, {}
    for name, value in values.items():
        if "[" in name:
            field = name.split("[")[0]
            fields[field] = fields.get(field, 0) + 1
        else:
            out[name] = value
    out.update({field: f"{count} coefficients (in --json)" for field, count in fields.items()})
    return out


def _describe_uncertainty(unc: dict) -> str:
    """How the intervals were made, in one line (the intervals themselves are on their own line;
    a field's pointwise band is in --json and drawn by pdeinv plot --kind uncertainty)."""
    said = [f"{unc.get('method')} at {unc.get('level', 0.95):.0%}"]
    sigma = unc.get("sigma")
    if isinstance(sigma, dict) and sigma.get("value") is not None:
        said.append(f"sigma {sigma['value']:.3g} (from the {sigma.get('source', 'file')})")
    if unc.get("calibrated") is False:
        said.append("NOT calibrated (the fit does not explain its data)")
    if unc.get("band"):
        said.append(f"a pointwise band of the field on {len(unc.get('x') or [])} points")
    if unc.get("nfev"):
        said.append(f"{unc['nfev']} solver calls")
    said += list(unc.get("undetermined") or [])
    return "; ".join(said)


@cli.group(name="import")
def import_():
    """Convert published data sets into pdeinv observation files."""


def import_options(command):
    """The options every importer shares: subsampling and the output file."""
    for option in reversed([
        click.option("--points", type=int, default=None, help="Subsample this many points (default: keep the full grid)."),
        click.option("--seed", default=0, show_default=True, help="Seed for --points."),
        click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Observation file to write."),
        click.option("--force", is_flag=True, help="Overwrite an existing output file."),
    ]):
        command = option(command)
    return plugin_option(command)


def parse_domain(text: str | None) -> tuple[float, float] | None:
    """``"-1,1"`` or ``"0,2*pi"`` -> ``(a, b)``, with a clear error otherwise."""
    import numpy as np

    from .expressions import parse_function

    if text is None:
        return None
    parts = text.split(",")
    if len(parts) != 2:
        raise UserError(f"--domain expects A,B (e.g. -1,1 or 0,2*pi), got {text!r}")
    bounds = []
    for part in parts:
        try:
            values = parse_function(part)(np.array([0.0, 1.0]))
        except ValueError:
            raise UserError(f"--domain: {part.strip()!r} is not a number") from None
        if values[0] != values[1] or not np.isfinite(values[0]):
            raise UserError(f"--domain: {part.strip()!r} is not a number")
        bounds.append(float(values[0]))
    if bounds[1] <= bounds[0]:
        raise UserError(f"--domain expects A,B with A < B, got {text!r}")
    return bounds[0], bounds[1]


domain_option = click.option(
    "--domain", "domain_text", default=None, metavar="A,B",
    help="The periodic interval of x, e.g. -1,1 or 0,2*pi [default: decided from the data: x[-1] is dropped "
         "only when u there equals u at x[0] at every time].",
)


def report_import(output, obs) -> str:
    """The line an import prints: what was written and how the x grid was read."""
    line = f"wrote {output}: {obs.n_points} points of {obs.equation}"
    if "x_grid" in obs.metadata:
        source = "given" if obs.metadata.get("domain_source") == "user" else "from the data"
        line += f"; domain ({obs.domain[0]:g}, {obs.domain[1]:g}) {source}; x: {obs.metadata['x_grid']}"
    return line


@import_.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--equation", type=EQUATION_CHOICE, required=True, help="Which PDE the data solve.")
@domain_option
@import_options
def raissi(file, equation, domain_text, points, seed, output, force):
    """Import a PINN-paper .mat file (x, t/tt, usol/uu with usol[i, j] = u(t[j], x[i]))."""
    from .io import import_raissi, save_observations

    check_output(output, force, inputs=(file,))
    domain = parse_domain(domain_text)
    with user_errors():
        obs = import_raissi(file, equation, domain=domain, points=points, seed=seed)
        save_observations(obs, output, overwrite=force)
    click.echo(report_import(output, obs))


@import_.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--equation", type=EQUATION_CHOICE, required=True, help="Which PDE the data solve.")
@click.option("--t", "t_name", default="t", show_default=True, help="Name of the time vector in FILE.")
@click.option("--x", "x_name", default="x", show_default=True, help="Name of the position vector in FILE.")
@click.option("--u", "u_name", default="u", show_default=True, help="Name of the field matrix in FILE.")
@click.option("--layout", type=click.Choice(["tx", "xt"]), default=None,
              help="tx: u[i, j] = u(t[i], x[j]); xt: u(t[j], x[i]) [default: from the shape; required when len(t) == len(x)].")
@domain_option
@click.option("--u0", "u0_text", default=None, metavar="EXPR",
              help="Initial condition as a function of x, at time --t0 [default: the first time row of u].")
@click.option("--t0", type=float, default=None, help="Time of --u0 [default: 0].")
@import_options
def arrays(file, equation, t_name, x_name, u_name, layout, domain_text, u0_text, t0, points, seed, output, force):
    """Import u(t, x) on a grid from a .mat or .npz file, variables and orientation named."""
    from .io import import_arrays, save_observations

    check_output(output, force, inputs=(file,))
    domain = parse_domain(domain_text)
    with user_errors():
        u0 = parse_u0(u0_text)
        obs = import_arrays(file, equation, t=t_name, x=x_name, u=u_name, layout=layout, domain=domain,
                            points=points, seed=seed, u0=u0, t0=t0)
        save_observations(obs, output, overwrite=force)
    click.echo(report_import(output, obs))


@import_.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--sample", default=0, show_default=True, help="Which sample of the tensor.")
@import_options
def pdebench(file, sample, points, seed, output, force):
    """Import one sample of a PDEBench 1-D Burgers file (viscosity = Nu / pi)."""
    from .io import import_pdebench, save_observations

    check_output(output, force, inputs=(file,))
    with user_errors():
        obs = import_pdebench(file, sample=sample, points=points, seed=seed)
        save_observations(obs, output, overwrite=force)
    click.echo(f"wrote {output}: {obs.n_points} points of burgers (nu={obs.true_params['nu']:g})")


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
def fit_command(equation, obs_paths, method, inits, fit_names, modes, u0_text, regularization, penalty_order, directions, steps, max_nfev, max_time,
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
    from .fit import fit, resume_problem
    from .io import load_checkpoint, load_observations, save_result
    from .problems.inverse import InverseProblem

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

                from .parallel import check_scheduler_address, make_executor
                from .problems.external import CommandForward

                forward = CommandForward(shlex.split(forward_command), timeout=forward_timeout)
                if scheduler is not None:
                    check_scheduler_address(scheduler)
                if workers is not None or scheduler is not None:
                    executor = stack.enter_context(make_executor(workers, scheduler))
            u0 = u0_text if u0_text in U0_CHOICES else parse_u0(u0_text)
            problem = InverseProblem(obs, unknowns, n=n, dt=dt, modes=modes, regularization=weight, u0=u0,
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
    from .ensemble import fit_many, summary_line, task_folder
    from .io import load_observations
    from .parallel import check_scheduler_address, make_executor

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
    from .sampling import parse_prior

    init = parse_assignments(inits, "--init")
    unknowns = None if fit_names is None else [s.strip() for s in fit_names.split(",") if s.strip()]
    with user_errors():
        prior = dict(parse_prior(text) for text in priors)
    if not 0 < level < 1:
        raise UserError(f"--level must be a probability in (0, 1), e.g. 0.95, got {level:g}")
    if output is not None:
        check_output(output, force, inputs=(obs_path,))
    from .fit import fit
    from .io import load_observations
    from .problems.inverse import InverseProblem
    from .sampling import sample, save_samples

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


def format_interval(value, low, high) -> str:
    """``± half-width [low, high]``; an unbounded side is shown as such."""
    if low is None or high is None:
        return f"[{'-inf' if low is None else f'{low:.4g}'}, {'+inf' if high is None else f'{high:.4g}'}] (not bounded)"
    return f"± {(high - low) / 2:.2g} [{low:.6g}, {high:.6g}]"


def describe_goodness(goodness: dict) -> str:
    """``good (family p = 0.59; misfit 1.07x the noise level)`` or ``poor (...): reason``."""
    if not goodness["tests"]:
        return (f"{goodness['verdict']} (residuals at the solver's precision, {goodness['level']:.2g} of the data's RMS: "
                "no noise left to test)")
    said = [f"p = {goodness['p_value']:.2g} over {len(goodness['tests'])} tests"]
    if goodness.get("misfit_ratio") is not None:
        said.append(f"misfit {goodness['misfit_ratio']:.2f}x the noise level")
    if goodness.get("level") is not None:
        said.append(f"residuals {goodness['level']:.2g} of the data's RMS")
    if goodness.get("discretization") is not None:
        said.append("residuals at the discretization level")
    text = f"{goodness['verdict']} ({'; '.join(said)})"
    return text + (f": {goodness['reason']}" if goodness["verdict"] == "poor" else "")


def format_result_table(result, observations=None) -> str:
    """The end-of-fit table: estimate, truth and relative error per parameter, then the cost.

    A fitted field gets one line: its modes and its relative L2 distance from the true field
    (the file's u0, or the stored true D(x) of synthetic data)."""
    import numpy as np

    from .problems.fields import field_samples, split_field, true_field
    from .result import describe_penalty, penalty_settings

    truth = result.true_params or {}
    errors = result.relative_errors()
    lines = [f"{'parameter':10s} {'estimate':>14s} {'truth':>14s} {'rel. error':>11s}"]
    cls = None if observations is None else observations.equation_class
    field, coefficients, scalars = split_field(result.params, cls)
    if field is not None:
        line = f"{field:10s} {coefficients.size} Fourier modes"
        reference = None if observations is None else true_field(observations, field, 1024)
        if reference is not None:
            recovered = field_samples(field, coefficients, observations.domain, 1024, cls)
            distance = np.linalg.norm(recovered - reference) / np.linalg.norm(reference)
            line += f"; relative L2 distance from the true {field}: {distance:.2e}"
        lines.append(line)
        penalty = penalty_settings(result.settings)
        if penalty is not None:
            lines.append(f"{'':10s} {describe_penalty(penalty)}")
    unc = result.uncertainty or {}
    intervals = unc.get("intervals") or {}
    if intervals:
        lines[0] += f"   {unc['level']:.0%} interval ({unc['method']})"
    for name, value in scalars.items():
        t = f"{truth[name]:14.6e}" if name in truth else f"{'-':>14s}"
        e = f"{errors[name]:11.2e}" if name in errors else f"{'-':>11s}"
        line = f"{name:10s} {value:14.6e} {t} {e}"
        if name in intervals:
            line += "   " + format_interval(value, *intervals[name])
        lines.append(line)
    tail = []
    if unc:
        sigma = unc["sigma"]
        if sigma["source"] != "file":
            said = f"sigma {sigma['value']:.3g} estimated from the residuals ({sigma['dof']} degrees of freedom)"
        elif sigma.get("value") is not None:
            said = f"sigma {sigma['value']:.3g} from the file"
        else:
            said = "sigma per point from the file ({min:.3g} to {max:.3g})".format(**sigma["per_point"])
        corr = unc.get("correlation") or {}
        names = list(corr)
        pairs = [f"{a}~{b} {corr[a][b]:+.3f}" for i, a in enumerate(names) for b in names[i + 1:]
                 if corr[a].get(b) is not None]
        tail.append(f"intervals: {said}" + (f"; correlation {', '.join(pairs)}" if pairs else "")
                    + f"; {unc['nfev']} more solver call{'s' if unc['nfev'] != 1 else ''}")
        tail += [f"note: {sentence}" for sentence in unc.get("undetermined") or []]
    grid = result.grid
    goodness = result.goodness or {}
    if goodness.get("verdict") in ("good", "poor"):
        tail.insert(0, "goodness of fit: " + describe_goodness(goodness))
    headline = result.message if result.success else (
        f"POOR FIT: {result.message}" if result.status == "poor_fit" else f"NOT converged ({result.status}: {result.message})")
    lines.append(
        f"{headline}\n"
        + (f"outer evaluations {result.evaluations}, " if result.evaluations is not None else f"solver calls {result.nfev}, ")
        + 
        f"iterations {result.nit}, loss {result.loss:.3e}, "
        + (f"grid n={grid['n']} dt={grid['dt']:.3g}, " if grid.get("n") else "")
        + f"wall {result.wall_time:.1f} s"
    )
    initial = result.settings.get("initial_condition") or {}
    if initial and (initial.get("mode") != "exact" or initial.get("source") != "file"):
        lines.append(f"initial condition: {initial['reason']}")
    assumed = result.settings.get("assumed_params") or {}
    if assumed:
        lines.append("assumed (equation defaults; neither fitted nor known in the file): "
                     + ", ".join(f"{k}={v:g}" for k, v in assumed.items()))
    return "\n".join(lines + tail)


@cli.command()
@plugin_option
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Figure file (.png, .pdf or .svg) [default: FILE with .png beside it].")
@click.option("--kind", type=click.Choice(["summary", "field", "convergence", "residuals", "uncertainty"]), default="summary",
              show_default=True, help="What to draw (for an observation file: always the field).")
@click.option("--n", "n", type=int, default=None, help="Solver grid for the fields [default: the fit's grid].")
@click.option("--force", is_flag=True, help="Overwrite an existing figure.")
def plot(file, output, kind, n, force):
    """Draw a fit result (RESULT.h5), an observation file (OBS.h5) or posterior draws (pdeinv sample -o).

    For a result: the recovered field beside the true one (when known) and their difference,
    slices, residuals and convergence. For observations: the points over the field simulated
    at the file's true parameters (or alone when those are unknown).
    """
    from pathlib import Path

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from . import plotting
    from .io import atomic_path

    suffixes = {".png", ".pdf", ".svg"}
    out = Path(output) if output else Path(file).with_suffix(".png")
    if out.suffix.lower() not in suffixes:
        raise UserError(f"output must end in one of {sorted(suffixes)}, got {out.name!r}")
    if out.exists() and not force:
        raise UserError(f"{out} exists; pass --force to replace it")
    with user_errors():
        if not out.parent.exists():
            raise ValueError(f"folder {out.parent} does not exist")
        samples = _samples_file(file)
        if samples is not None:
            if "kind" in _given_options() and kind != "summary":
                raise ValueError(f"--kind {kind} draws a fit result; {file} holds posterior draws (drawn as a corner "
                                 "plot, without --kind)")
            fig = plotting.plot_posterior(samples)
            with atomic_path(out, overwrite=force) as tmp:
                fig.savefig(tmp, format=out.suffix[1:].lower(), dpi=110)
            plt.close(fig)
            click.echo(f"wrote {out}")
            return
        if "kind" in _given_options() and kind != "summary":
            from .io import load_any

            if load_any(file)[0] != "fit result":
                raise ValueError(f"--kind {kind} draws a fit result; {file} holds observations (drawn as the field "
                                 "at the file's true parameters, without --kind)")
        fig = plotting.figure_for_file(file, kind, n=n)
        with atomic_path(out, overwrite=force) as tmp:
            fig.savefig(tmp, format=out.suffix[1:].lower(), dpi=110)
        plt.close(fig)
    click.echo(f"wrote {out}")


#: SIGINTs received by this process (the ``pdeinv`` command), whoever handled them.
_SIGNALS: list[int] = []


def _interrupt(signum, frame):
    """Ctrl-C: stop now, except while JAX's native libraries are loading (interrupting them
    crashed the process with SIGSEGV): then remember it, and the command stops when it next
    looks (a fit at its next step; any command at its end, with 130)."""
    _SIGNALS.append(signum)
    jax_setup = sys.modules.get("pdeinv._jax")
    if jax_setup is not None and getattr(jax_setup, "jnp", None) is None:
        return
    raise KeyboardInterrupt


def main():
    # The command line owns its process: split batches of solves across the cores, unless the
    # environment already decides (PDEINV_CPU_DEVICES or a device count in XLA_FLAGS).
    # Without importing JAX (a second or more) when it is not loaded yet: `pdeinv --help` and
    # input errors answer at once; commands import what they need when they run.
    if not os.environ.get("PDEINV_CPU_DEVICES", "").strip():
        if "jax" in sys.modules:
            from ._jax import use_cpu_cores

            use_cpu_cores()
        else:
            from ._devices import device_count, set_device_flag

            set_device_flag(device_count(None))
    import signal

    # Ctrl-C from the first moment (see _interrupt): exit 130 in one line, never a traceback.
    signal.signal(signal.SIGINT, _interrupt)
    try:
        code = cli.main(standalone_mode=False)
    except (KeyboardInterrupt, click.Abort):  # Ctrl-C outside a fit (a fit saves its checkpoint)
        click.echo("interrupted", err=True)
        sys.exit(130)
    except click.UsageError as err:  # one line, as every other error (click prints usage and a hint)
        where = f"; see '{err.ctx.command_path} --help'" if err.ctx is not None else ""
        click.echo(f"Error: {err.format_message().rstrip('.')}{where}", err=True)
        sys.exit(err.exit_code)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    if _SIGNALS:
        click.echo("interrupted", err=True)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
