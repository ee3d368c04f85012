"""Commands about data and files: equations, simulate, info, import, plot."""

from __future__ import annotations

import json

import click

from ._common import (
    EQUATION_CHOICE, _existing_files, _given_options, check_output, cli, parse_assignments, parse_u0, plugin_option,
    user_errors, UserError,
)
from .report import _describe_uncertainty, _samples_file, _scalars_and_fields, describe_goodness

@cli.command()
@plugin_option
@click.argument("name", required=False, type=EQUATION_CHOICE)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def equations(name, as_json):
    """List the equations available (built-in, registered, plug-ins), or describe NAME."""
    from ..equations import describe_equation, equation_names, plugin_errors

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
        if d["components"]:
            extras.append(f"a system of {', '.join(d['components'])} (observations name their component)")
        if extras:
            click.echo(f"    {'; '.join(extras)}")
        closed = ")" if d["boundary"] == "periodic" else f"] ({d['boundary']})"
        click.echo(f"    u0 = {d['u0']}, x in [{d['domain'][0]:g}, {d['domain'][1]:g}{closed}, "
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
@click.option("--components", "components_text", default=None, metavar="NAMES",
              help="For a system (e.g. reaction: A,B): the components observed at each point, comma-separated "
                   "[default: all].")
@click.option("--plan", "plan_path", default=None, type=click.Path(dir_okay=False),
              callback=lambda ctx, param, value: _existing_files(value) if value else None,
              help="Observe at the points of an observation plan (.h5, from pdeinv design) instead of --points.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Observation file to write (.h5).")
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
def simulate(equation, params, fields, u0_text, points, layout, grid_shape, noise, seed, n, dt, known, observe,
             snapshot, snapshot_points, components_text, plan_path, output, force):
    """Simulate EQUATION with pdeinv's solver and sample observations into an HDF5 file.

    The solve runs on a finer grid and step than fits use by default, so a fit on these data
    sees its own discretization error, as it would on real data. With --noise the initial
    condition is recorded as a measured first snapshot with the same noise (a fit then
    estimates u0 with the parameters); --snapshot exact keeps the exact u0. A system of several
    components is observed in each of --components at the same (t, x) points.
    """
    from ..io import save_observations
    from ..problems import simulate as simulate_obs

    from ..expressions import parse_function

    check_output(output, force, inputs=(plan_path,) if plan_path else ())
    values = parse_assignments(params, "--param")
    grid = None
    given = _given_options()
    if plan_path is not None and given & {"points", "layout", "grid_shape"}:
        raise UserError("--plan sets the observation points; it cannot be combined with "
                        + " and ".join(f"--{name.replace('_shape', '')}" for name in sorted(given & {"points", "layout", "grid_shape"})))
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
        at = None
        if plan_path is not None:
            from ..designs import load_plan

            at = load_plan(plan_path)
        obs = simulate_obs(
            equation, values, points=points, layout=layout, grid=grid, u0=u0, at=at,
            noise=noise, seed=seed, n=n, dt=dt, observable=observe, snapshot=snapshot, snapshot_points=snapshot_points,
            fixed=None if known is None else tuple(k.strip() for k in known.split(",") if k.strip()),
            components=None if components_text is None else [c.strip() for c in components_text.split(",") if c.strip()],
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
    from ..io import load_any

    with user_errors():
        samples = _samples_file(file)
        kind, summary = ("posterior samples", samples.summary()) if samples is not None else load_any(file)
        if kind == "fit result":  # what was decided about u0, and what was assumed, are in its settings
            from ..io import load_result

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

    from ..expressions import parse_function

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
    from ..io import import_raissi, save_observations

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
@click.option("--u", "u_name", default="u", show_default=True,
              help="Name of the field matrix in FILE; for a system one per component, comma-separated (--u Ca,Cb).")
@click.option("--layout", type=click.Choice(["tx", "xt"]), default=None,
              help="tx: u[i, j] = u(t[i], x[j]); xt: u(t[j], x[i]) [default: from the shape; required when len(t) == len(x)].")
@domain_option
@click.option("--u0", "u0_text", default=None, metavar="EXPR",
              help="Initial condition as a function of x, at time --t0 (a system: one per component separated by ';', "
                   "or one for all) [default: the first time row of u; required on a bounded interval unless x are "
                   "the Chebyshev points].")
@click.option("--t0", type=float, default=None, help="Time of --u0 [default: 0].")
@import_options
def arrays(file, equation, t_name, x_name, u_name, layout, domain_text, u0_text, t0, points, seed, output, force):
    """Import u(t, x) on a grid from a .mat or .npz file, variables and orientation named.

    A system's components come from one matrix each (--u Ca,Cb); a bounded interval's ends are the
    grid's first and last x unless --domain says otherwise."""
    from ..io import import_arrays, save_observations

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
    from ..io import import_pdebench, save_observations

    check_output(output, force, inputs=(file,))
    with user_errors():
        obs = import_pdebench(file, sample=sample, points=points, seed=seed)
        save_observations(obs, output, overwrite=force)
    click.echo(f"wrote {output}: {obs.n_points} points of burgers (nu={obs.true_params['nu']:g})")



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

    from .. import plotting
    from ..io import atomic_path

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
            from ..io import load_any

            if load_any(file)[0] != "fit result":
                raise ValueError(f"--kind {kind} draws a fit result; {file} holds observations (drawn as the field "
                                 "at the file's true parameters, without --kind)")
        fig = plotting.figure_for_file(file, kind, n=n)
        with atomic_path(out, overwrite=force) as tmp:
            fig.savefig(tmp, format=out.suffix[1:].lower(), dpi=110)
        plt.close(fig)
    click.echo(f"wrote {out}")
