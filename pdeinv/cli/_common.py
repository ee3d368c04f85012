"""What the commands share: the option types, input checks, user errors, progress line and
the command group itself."""

from __future__ import annotations

import contextlib
import json
import math
import sys

import click

from .. import __version__


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
        from ..problems.inverse import check_penalty_order

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
        from ..equations import get_equation

        if not isinstance(value, str):
            return value
        try:
            return get_equation(value).name
        except ValueError as err:
            self.fail(str(err), param, ctx)

    def shell_complete(self, ctx, param, incomplete):
        from click.shell_completion import CompletionItem

        from ..equations import equation_names

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
    from ..solvers import SolverDivergedError

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
        from ..methods import method_names

        return (*method_names(), *self._extra)

    @choices.setter
    def choices(self, value):  # set by click.Choice.__init__; the registry is the truth
        pass


class MethodOption(click.Option):
    """``--method``, whose help lists every registered method with its one line."""

    def get_help_record(self, ctx):
        from ..methods import METHODS, method_names

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
    """``--u0 EXPR`` -> a function of x (None when not given); ValueError naming the option. For a
    system, ``EXPR1;EXPR2`` gives one expression per component (one expression serves all)."""
    if text is None:
        return None
    from ..expressions import parse_function

    try:
        parts = [parse_function(part) for part in text.split(";")]
    except ValueError as err:
        raise ValueError(f"--u0: {err}") from None
    if len(parts) == 1:
        return parts[0]
    return _Rows(parts, text)


class _Rows:
    """Several functions of x, one row each (a system's initial condition, one per component)."""

    def __init__(self, functions, expression: str):
        self.functions, self.expression = functions, expression

    def __call__(self, x):
        import numpy as np

        x = np.asarray(x, dtype=float)
        return np.stack([np.broadcast_to(f(x), x.shape) for f in self.functions])


def parse_ranges(values: tuple[str, ...], option: str) -> dict[str, tuple[float, float]]:
    """``("nu=0.001:0.01",)`` -> ``{"nu": (0.001, 0.01)}`` with a clear error otherwise."""
    out: dict[str, tuple[float, float]] = {}
    for item in values:
        name, sep, text = item.partition("=")
        low, colon, high = text.partition(":")
        if not sep or not colon or not name.strip():
            raise UserError(f"{option} expects NAME=LOW:HIGH, got {item!r}")
        try:
            pair = (float(low), float(high))
        except ValueError:
            raise UserError(f"{option} {name.strip()}: {text!r} is not LOW:HIGH numbers") from None
        if not (all(math.isfinite(v) for v in pair) and pair[0] < pair[1]):
            raise UserError(f"{option} {name.strip()}: needs finite LOW < HIGH, got {text!r}")
        if name.strip() in out:
            raise UserError(f"{option} gives {name.strip()} twice; give it once")
        out[name.strip()] = pair
    return out


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
    from ..equations import get_equation

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
