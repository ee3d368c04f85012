"""Figures for observations and fits (matplotlib only).

Every function takes ``ax=None`` (or ``axes=None``) and returns what it drew on, so figures can
be composed. Fields are arrays ``u[i, j] = u(t[i], x[j])``; ``field_at`` computes one from an
observation set and parameters.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

__all__ = [
    "field_at",
    "predictions_at",
    "plot_comparison",
    "plot_uncertainty",
    "plot_convergence",
    "plot_design",
    "plot_field",
    "plot_recovered_field",
    "plot_residuals",
    "plot_slices",
    "summary_figure",
]


def _axes(ax, **subplots):
    import matplotlib.pyplot as plt

    if ax is not None:
        return ax
    _, ax = plt.subplots(constrained_layout=True, **subplots)  # labels inside the figure
    return ax


def _equation_for(observations, params: Mapping[str, float], n: int | None):
    """The solver for ``observations`` at ``params``, whose field coefficients (``u0[j]``: a
    recovered initial condition; ``logD[j]``: a recovered D(x)) replace the file's u0 or the
    scalar D; returns ``(equation, parameters for solve)``."""
    from .problems.fields import field_samples, field_unknowns, split_field

    cls = observations.equation_class
    params = dict(params)
    given = params.pop("u0", None)  # samples of a true initial condition (``true_fields["u0"]``)
    name, coefficients, params = split_field(params, cls)
    u0 = observations.u0 if given is None else given
    samples = None
    if name is not None:
        samples = field_samples(name, coefficients, observations.domain, max(2 * coefficients.size + 2, 256), cls)
        if name == "u0":
            u0 = samples
    eq = cls(n=n, domain=observations.domain, t_span=observations.t_span, u0=u0)
    full = {**observations.known_params(), **params}
    parameter = None if name is None else field_unknowns(cls)[name][1]
    if parameter is not None:
        full[parameter] = samples
    return eq, full


def field_at(observations, params: Mapping[str, float], *, n: int | None = None, times: int = 101):
    """Solve the observations' equation at ``params`` on ``times`` uniform times of its span.

    Returns ``(t, x, u)``; parameters missing from ``params`` take the file's known values;
    coefficients ``u0[j]`` of a recovered initial condition replace the file's u0. A complex
    field (NLS) is returned as its modulus |u|, which is what the figures draw. A system's ``u``
    has a component axis: ``(times, C, n)``.
    """
    eq, full = _equation_for(observations, params, n)
    t = np.linspace(*observations.t_span, times)
    u = eq.solve(full, t, check_ends=False)  # the ends as a fit's solves have them (set by the conditions)
    return t, eq.x, np.abs(u) if np.iscomplexobj(u) else u


def predictions_at(observations, params: Mapping[str, float], *, n: int | None = None):
    """The model's values at the observation points for ``params`` (see ``field_at``): what
    the observations measure (``|u|`` for observable "abs")."""
    eq, full = _equation_for(observations, params, n)
    values = eq.solve_at(full, observations.t, observations.x, components=observations.component)
    return np.abs(values) if observations.observable == "abs" else values


def observed_values(observations) -> np.ndarray:
    """The observed values as drawn: complex ones by their modulus."""
    return np.abs(observations.u) if observations.is_complex else observations.u


#: Above this many observation points, plots name them rather than mark each one.
DENSE_POINTS = 2000

#: Observations marked on each slice of dense data (evenly spread in x).
SLICE_MARKS = 40


def _image(ax, t, x, u, vmin, vmax, cmap="RdBu_r"):
    steps = np.diff(x)
    if steps.size and not np.allclose(steps, steps[0], rtol=1e-6):  # Chebyshev points: each row where it lies
        return ax.pcolormesh(t, x, np.asarray(u).T, vmin=vmin, vmax=vmax, cmap=cmap, shading="nearest")
    dx = x[1] - x[0] if x.size > 1 else 1.0
    extent = (t[0], t[-1], x[0], x[-1] + dx)
    return ax.imshow(u.T, origin="lower", aspect="auto", extent=extent, vmin=vmin, vmax=vmax, cmap=cmap,
                     interpolation="nearest")


def plot_field(t, x, u, *, observations=None, ax=None, title: str | None = None, vmin=None, vmax=None,
               colorbar: bool = True):
    """u(t, x) as an image (t across, x up) with the observation points overlaid."""
    ax = _axes(ax, figsize=(6, 3.5))
    limit = float(np.max(np.abs(u)))
    image = _image(ax, t, x, u, -limit if vmin is None else vmin, limit if vmax is None else vmax)
    if observations is not None:
        # Open circles for a few points; dense data (a whole published grid) would hatch the field
        # with their marks: they are then named, not drawn.
        if observations.n_points <= DENSE_POINTS:
            ax.scatter(observations.t, observations.x, s=14, facecolor="none", edgecolor="k", linewidth=0.8,
                       label=f"{observations.n_points} observations")
        else:
            ax.plot([], [], " ", label=f"{observations.n_points} observations (dense: not marked)")
        ax.legend(loc="upper right", fontsize="small", framealpha=0.8)
    ax.set_xlabel("t")
    ax.set_ylabel("x")
    if title:
        ax.set_title(title)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, label="u")
    return ax


def plot_comparison(t, x, recovered, reference=None, *, observations=None, axes=None,
                    labels: Sequence[str] = ("recovered", "reference")):
    """Recovered field, reference field (when given) and their difference.

    The two fields share one colour scale; the difference has its own symmetric scale.
    Returns the array of axes.
    """
    import matplotlib.pyplot as plt

    panels = 3 if reference is not None else 1
    if axes is None:
        _, axes = plt.subplots(1, panels, figsize=(4.2 * panels, 3.4), sharey=True, constrained_layout=True)
    axes = np.atleast_1d(axes)
    fields = [recovered] + ([reference] if reference is not None else [])
    limit = max(float(np.max(np.abs(f))) for f in fields)
    for ax, field, label in zip(axes, fields, labels):
        plot_field(t, x, field, observations=observations, ax=ax, title=label, vmin=-limit, vmax=limit,
                   colorbar=ax is axes[len(fields) - 1])
    if reference is not None:
        diff = recovered - reference
        d = max(float(np.max(np.abs(diff))), 1e-300)
        image = _image(axes[2], t, x, diff, -d, d, cmap="PuOr_r")
        axes[2].set_title(f"difference (max {d:.2e})")
        axes[2].set_xlabel("t")
        axes[2].figure.colorbar(image, ax=axes[2], label="Δu")
    for ax in axes[1:]:  # x is shared: one label, so no colorbar label runs into the next panel's
        ax.set_ylabel("")
    return axes


def plot_slices(t, x, fields: Mapping[str, np.ndarray], times: Sequence[float], *, observations=None, ax=None,
                window: float | None = None):
    """Line slices u(t_k, x) of each field at chosen times, with the observations near them.

    An observation is drawn at the slice whose time is nearest, when within ``window``
    (default: half the spacing of the slices).
    """
    ax = _axes(ax, figsize=(6, 3.5))
    times = np.asarray(times, dtype=float)
    colors = ax._get_lines.get_next_color if hasattr(ax, "_get_lines") else None
    window = window if window is not None else (0.5 * np.min(np.diff(times)) if times.size > 1 else np.inf)
    styles = ["-", "--", ":", "-."]
    # Colour tells the time, line style the field: one legend entry each.
    for k, tk in enumerate(times):
        row = int(np.argmin(np.abs(t - tk)))
        color = colors() if colors else None
        for s, (name, u) in enumerate(fields.items()):
            label = f"t = {t[row]:.2f}" if s == 0 else None
            ax.plot(x, u[row], styles[s % len(styles)], color=color, label=label)
        if observations is not None:
            few = observations.n_points <= DENSE_POINTS
            if few:
                near = np.flatnonzero(np.abs(observations.t - tk) <= window)
            else:  # dense: the points at the observation time nearest the slice, at most SLICE_MARKS of them
                nearest = observations.t[np.argmin(np.abs(observations.t - tk))]
                near = np.flatnonzero(observations.t == nearest)
                near = near[np.argsort(observations.x[near])]
                near = near[np.unique(np.linspace(0, near.size - 1, min(SLICE_MARKS, near.size)).round().astype(int))]
            if near.size:
                ax.plot(observations.x[near], observed_values(observations)[near], "o", color=color,
                        markersize=4, markeredgecolor="k")
    for s, name in enumerate(fields):
        ax.plot([], [], styles[s % len(styles)], color="0.3", label=name)
    if observations is not None:
        said = "nearest slice" if observations.n_points <= DENSE_POINTS else f"at the slice's time, {SLICE_MARKS} shown"
        ax.plot([], [], "o", color="0.6", markeredgecolor="k", markersize=4, label=f"observations ({said})")
    ax.set_xlabel("x")
    ax.set_ylabel("u")
    ax.legend(fontsize="x-small", loc="best", framealpha=0.7)
    return ax


def _wrap(text: str, width: int = 70) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))


def plot_residuals(observations, predictions, *, ax=None, goodness: dict | None = None):
    """Residuals (prediction - observation) at the observation points, coloured by time,
    with the noise level as a band when the file has one, and the goodness-of-fit verdict
    (``result.goodness``) in the title when given."""
    ax = _axes(ax, figsize=(6, 3))
    residuals = np.asarray(predictions) - observations.u
    label = "prediction − observation"
    if np.iscomplexobj(residuals):  # complex data: the size of each point's miss
        residuals, label = np.abs(residuals), "|prediction − observation|"
    few = residuals.size <= DENSE_POINTS  # dense data: small rasterized dots, or the panel is a blob
    points = ax.scatter(observations.x, residuals, c=observations.t, cmap="viridis", s=18 if few else 1.5,
                        alpha=1.0 if few else 0.5, linewidth=0, rasterized=not few)
    ax.axhline(0.0, color="k", linewidth=0.8)
    if observations.sigma is not None:
        s = float(np.median(observations.sigma))
        ax.axhspan(-s, s, color="0.85", zorder=0, label="±σ (noise)")
        ax.legend(fontsize="small")
    ax.set_xlabel("x of observation")
    ax.set_ylabel(label)
    title = f"residuals (rms {np.sqrt(np.mean(residuals**2)):.2e})"
    if goodness and goodness.get("verdict") in ("good", "poor"):
        verdict = "POOR FIT" if goodness["verdict"] == "poor" else "fit explains the data"
        title += f"\n{verdict}: p = {goodness['p_value']:.2g}"
        if goodness["verdict"] == "poor":
            ax.text(0.01, 0.02, _wrap(goodness["reason"]), transform=ax.transAxes, fontsize="x-small", va="bottom",
                    color="firebrick")
    ax.set_title(title, fontsize="medium")
    ax.figure.colorbar(points, ax=ax, label="t")
    return ax


def plot_convergence(results, *, axes=None, true_params: Mapping[str, float] | None = None):
    """Loss and each scalar parameter against solver calls, for one fit or several
    (``{label: result}``); a fitted field's coefficients are left out (see ``plot_recovered_field``).

    Solver calls are the axis that matters for black-box solvers. A parameter's true value,
    when known, is drawn as a horizontal line. Returns the array of axes (loss first).
    """
    import matplotlib.pyplot as plt

    if not isinstance(results, Mapping):
        results = {results.settings.get("method", "fit"): results}
    # the scalar unknowns (a field's coefficients, one panel each, would bury them)
    names = [k for k in next(iter(results.values())).params if "[" not in k]
    if axes is None:
        _, axes = plt.subplots(1 + len(names), 1, figsize=(6, 2.4 * (1 + len(names))), sharex=True,
                               constrained_layout=True)
    axes = np.atleast_1d(axes)
    for label, result in results.items():
        h = result.history
        nfev = np.asarray(h["nfev"])
        loss = np.asarray(h["loss"], dtype=float)
        finite = np.isfinite(loss) & (loss > 0)
        phase = np.asarray(h.get("phase", ["local"] * loss.size)).astype(str)
        # Losses on the early time windows of the global phase (and of its scan, when there are
        # windows) are on other data: dots only. The best-so-far line covers the full data and
        # starts again on a finer grid.
        early = (phase == "window") | ((phase == "search") & np.any(phase == "window"))
        best = np.full(loss.size, np.nan)
        running = np.inf
        for i in range(loss.size):
            if phase[i] == "grid":
                running = np.inf
            if not early[i]:
                if finite[i]:
                    running = min(running, loss[i])
                best[i] = running if np.isfinite(running) else np.nan
        line, = axes[0].semilogy(nfev[finite], loss[finite], ".", alpha=0.35)
        axes[0].semilogy(nfev, best, "-", color=line.get_color(), label=f"{label} (best so far on all data)")
        for ax, name in zip(axes[1:], names):
            ax.plot(nfev, h["params"][name], "-", color=line.get_color(), label=label)
        truth = true_params or result.true_params or {}
        for ax, name in zip(axes[1:], names):
            if name in truth:
                ax.axhline(truth[name], color="k", linestyle="--", linewidth=1, label=f"true {name}")
    axes[0].set_ylabel("loss")
    axes[0].legend(fontsize="small")
    for ax, name in zip(axes[1:], names):
        ax.set_ylabel(name)
        ax.set_yscale("log" if all(np.all(np.asarray(r.history["params"][name]) > 0) for r in results.values()) else "linear")
        if ax.get_yscale() == "linear":  # an offset ("1e-9 + 1") would sit on the panel above
            ax.ticklabel_format(axis="y", useOffset=False)
        handles, labels = ax.get_legend_handles_labels()
        unique = dict(zip(labels, handles))
        ax.legend(unique.values(), unique.keys(), fontsize="small")
    axes[-1].set_xlabel("solver calls")
    return axes


def plot_recovered_field(observations, params: Mapping[str, float], *, ax=None, points: int = 512):
    """A recovered field (u0 or D(x), from its coefficients in ``params``) against the true one
    when the observations know it."""
    from .problems.fields import field_samples, split_field, true_field

    cls = observations.equation_class
    name, coefficients, _ = split_field(dict(params), cls)
    if name is None:
        raise ValueError("params hold no field coefficients (u0[j] or logD[j])")
    ax = _axes(ax)
    x = cls.basis_type.nodes(observations.domain, points)
    truth = true_field(observations, name, points)
    if truth is not None:
        ax.plot(x, truth, "k--", label=f"true {name}")
    ax.plot(x, field_samples(name, coefficients, observations.domain, points, cls), "-",
            label=f"recovered {name} ({coefficients.size} modes)")
    ax.set_xlabel("x")
    ax.set_ylabel(name)
    ax.legend(fontsize="small")
    return ax


def component_view(observations, c: int):
    """The observations of a system's component ``c`` alone (for drawing them over its field);
    None when no point measures it."""
    import dataclasses

    keep = observations.component == c
    if not keep.any():
        return None
    return dataclasses.replace(observations, t=observations.t[keep], x=observations.x[keep], u=observations.u[keep],
                               sigma=None if observations.sigma is None else observations.sigma[keep],
                               component=observations.component[keep])


def plot_system_fields(t, x, recovered, reference, observations, rows):
    """A system's components, one row of panels each (recovered, true when known, difference),
    each with the points that measure that component."""
    names = observations.equation_class.components
    for c, (name, axes) in enumerate(zip(names, rows)):
        view = component_view(observations, c)
        plot_comparison(t, x, recovered[:, c], None if reference is None else reference[:, c],
                        observations=view, axes=axes,
                        labels=(f"{name}: recovered", f"{name}: true"))
    return rows


def _system_summary(result, observations, n):
    import matplotlib.pyplot as plt

    t, x, recovered = field_at(observations, result.params, n=n)
    reference = None
    if observations.true_params:
        reference = field_at(observations, {**observations.true_params, **observations.true_fields}, n=n)[2]
    C = len(observations.equation_class.components)
    columns = 3 if reference is not None else 1
    fig = plt.figure(figsize=(13, 3.6 * (C + 1)), constrained_layout=True)
    grid = fig.add_gridspec(C + 1, 3)
    rows = [[fig.add_subplot(grid[c, i]) for i in range(3)] if columns == 3 else [fig.add_subplot(grid[c, :])]
            for c in range(C)]
    plot_system_fields(t, x, recovered, reference, observations, rows)
    plot_residuals(observations, predictions_at(observations, result.params, n=n), ax=fig.add_subplot(grid[C, 0]),
                   goodness=result.goodness)
    scalars = {k: v for k, v in result.params.items() if "[" not in k}
    sub = grid[C, 1:].subgridspec(1 + len(scalars), 1)
    plot_convergence({result.settings.get("method", "fit"): result},
                     axes=[fig.add_subplot(sub[i]) for i in range(1 + len(scalars))])
    fig.suptitle(f"{observations.equation}: {estimate_text(result)}  ({result.nfev} solver calls)")
    return fig


def _system_field_figure(t, x, u, observations, title):
    import matplotlib.pyplot as plt

    names = observations.equation_class.components
    fig, axes = plt.subplots(len(names), 1, figsize=(6, 3.2 * len(names)), constrained_layout=True, squeeze=False)
    for c, (name, ax) in enumerate(zip(names, axes[:, 0])):
        view = component_view(observations, c)
        plot_field(t, x, u[:, c], observations=view, ax=ax, title=f"{title}: {name}")
    return fig


def summary_figure(result, observations, *, n: int | None = None):
    """One figure for a fit: recovered vs true field and difference, slices, residuals and
    convergence (a system: a row of fields per component)."""
    import matplotlib.pyplot as plt

    from .problems.fields import split_field

    n = n or result.grid.get("n")
    if observations.component is not None:
        return _system_summary(result, observations, n)
    t, x, recovered = field_at(observations, result.params, n=n)
    reference = None
    if observations.true_params or observations.true_fields:
        reference = field_at(observations, {**observations.true_params, **observations.true_fields}, n=n)[2]
    fig = plt.figure(figsize=(13, 8.5), constrained_layout=True)
    grid = fig.add_gridspec(2, 3)
    # without a truth the recovered field alone spans the row (no empty panels beside it)
    top = [fig.add_subplot(grid[0, i]) for i in range(3)] if reference is not None else [fig.add_subplot(grid[0, :])]
    plot_comparison(t, x, recovered, reference, observations=observations, axes=top,
                    labels=("recovered", "true"))
    slices = np.unique(observations.t)
    chosen = slices[np.linspace(0, slices.size - 1, min(3, slices.size)).round().astype(int)]
    fields = {"recovered": recovered} | ({"true": reference} if reference is not None else {})
    plot_slices(t, x, fields, chosen, observations=observations, ax=fig.add_subplot(grid[1, 0]))
    predictions = predictions_at(observations, result.params, n=n)
    plot_residuals(observations, predictions, ax=fig.add_subplot(grid[1, 1]), goodness=result.goodness)
    name, coefficients, _ = split_field(result.params, observations.equation_class)
    scalars = {k: v for k, v in result.params.items() if "[" not in k}
    if name is not None:  # a recovered field: show it against the true one
        plot_recovered_field(observations, result.params, ax=fig.add_subplot(grid[1, 2]))
    else:
        sub = grid[1, 2].subgridspec(1 + len(scalars), 1)
        conv_axes = [fig.add_subplot(sub[i]) for i in range(1 + len(scalars))]
        plot_convergence({result.settings.get("method", "fit"): result}, axes=conv_axes)
    fig.suptitle(f"{observations.equation}: {estimate_text(result)}  ({result.nfev} solver calls)")
    return fig


def estimate_text(result) -> str:
    """``nu = 0.00304 [0.00282, 0.00328]; u0 from 8 Fourier modes``: the scalars with their
    intervals (when assessed), then each fitted field."""
    intervals = result.intervals
    parts = []
    for name, value in result.params.items():
        if "[" in name:
            continue
        low, high = intervals.get(name, (None, None))
        parts.append(f"{name} = {value:.4g}" + (f" [{low:.4g}, {high:.4g}]" if low is not None and high is not None
                                                  else ""))
    fields: dict[str, int] = {}
    for name in result.params:
        if "[" in name:
            fields[name.split("[")[0]] = fields.get(name.split("[")[0], 0) + 1
    word = "Fourier modes"
    if fields and result.equation:
        from .equations import get_equation

        try:
            word = get_equation(result.equation).basis_type.mode_word
        except ValueError:  # a user's equation not loaded here: its name is all there is
            pass
    parts += [f"{'D(x)' if field == 'logD' else field} from {count} {word}" for field, count in fields.items()]
    return "; ".join(parts)


def plot_uncertainty(result, *, axes=None, observations=None):
    """One panel per scalar unknown: the profile Delta(p) (when profiled) with the level's
    threshold, the estimate, the interval and the truth when known. Without a profile, the
    Laplace interval as a bar. For a fitted field: its pointwise band, with the true field when
    ``observations`` know it."""
    import matplotlib.pyplot as plt

    unc = result.uncertainty
    if not unc or not (unc.get("intervals") or unc.get("band")):
        raise ValueError("this result has no intervals (fit with --intervals laplace or profile, to convergence)")
    names = [k for k in unc.get("intervals") or {} if "[" not in k]
    band = bool(unc.get("band"))
    panels = len(names) + band
    if axes is None:
        fig, axes = plt.subplots(1, panels, figsize=(4.2 * len(names) + 6.5 * band, 3.6), constrained_layout=True,
                                 squeeze=False)
        axes = axes[0]
    if band:  # a fitted field: its pointwise band, in the last panel
        _band_panel(result, unc, axes[len(names)], observations)
    if names:
        _interval_panels(result, unc, names, axes[: len(names)])
    axes[0].figure.suptitle(f"{result.equation}: how sure the estimate is")
    return axes


def _band_panel(result, unc, ax, observations=None):
    from .problems.fields import split_field, true_field

    x = np.asarray(unc["x"])
    low, high = (np.asarray(v) for v in unc["band"])
    field = split_field(dict(result.params), None if observations is None else observations.equation_class)[0]
    # the true field, when the observations know it
    truth = None if observations is None else true_field(observations, field, x.size)
    width = float(np.max(high - low) / 2)
    ax.fill_between(x, low, high, color="C0", alpha=0.25,
                    label=f"{unc['level']:.0%} band (half-width up to {width:.2g})")
    ax.plot(x, np.sqrt(low * high) if np.all(low > 0) else (low + high) / 2, color="C0", label="estimate")
    if truth is not None:
        inside = np.mean((truth >= low) & (truth <= high))
        ax.plot(x, truth, "k--", lw=1, label=f"truth (inside the band at {inside:.0%} of x)")
    ax.set_xlabel("x")
    ax.set_ylabel(field)
    if np.all(low > 0) and np.max(high) / np.min(low) > 20:
        ax.set_yscale("log")
    said = list(unc.get("undetermined") or [])
    ax.set_title("\n".join(said) if said else f"{field}: pointwise band", fontsize=8, wrap=True)
    ax.legend(fontsize=7)


def _interval_panels(result, unc, names, axes):
    import matplotlib.pyplot as plt

    truth = result.true_params or {}
    for ax, name in zip(axes, names):
        low, high = unc["intervals"][name]
        profile = (unc.get("profiles") or {}).get(name)
        if profile:
            ax.plot(profile["values"], profile["delta"], "o-", color="C0", ms=3, label="profile")
            ax.axhline(profile["threshold"], color="0.5", ls="--", lw=1, label=f"{unc['level']:.0%} threshold")
            ax.set_ylabel("Delta misfit / sigma^2")
        elif low is not None and high is not None:  # Laplace: the quadratic model behind the interval
            from scipy.stats import chi2

            threshold = float(chi2.ppf(unc["level"], 1))
            estimate = result.params[name]
            values = np.linspace(low - 0.5 * (estimate - low), high + 0.5 * (high - estimate), 101)
            side = np.where(values < estimate, estimate - low, high - estimate)
            ax.plot(values, threshold * ((values - estimate) / side) ** 2, "-", color="C0", lw=1,
                    label="quadratic model (Laplace)")
            ax.axhline(threshold, color="0.5", ls="--", lw=1, label=f"{unc['level']:.0%} threshold")
            ax.set_ylabel("Delta misfit / sigma^2")
        else:
            ax.set_yticks([])
        for end in (low, high):
            if end is not None:
                ax.axvline(end, color="C0", lw=1, alpha=0.6)
        if low is not None and high is not None:
            ax.axvspan(low, high, color="C0", alpha=0.12, label=f"{unc['level']:.0%} interval ({unc['method']})")
        ax.axvline(result.params[name], color="k", lw=1.5, label="estimate")
        if name in truth:
            ax.axvline(truth[name], color="C3", ls=":", lw=1.5, label="truth")
        ax.set_xlabel(name)
        ax.xaxis.set_major_locator(plt.MaxNLocator(4))
        ax.ticklabel_format(axis="x", style="sci", scilimits=(-3, 4), useOffset=False)
    axes[0].legend(fontsize=7, loc="upper center")


FIGURE_KINDS = ("summary", "field", "convergence", "residuals", "uncertainty")


def figure_for_file(path, kind: str = "summary", *, n: int | None = None):
    """The figure ``pdeinv plot`` draws for a fit result or an observation file.

    For a result, ``kind`` is one of ``FIGURE_KINDS``: the summary (recovered vs true field,
    slices, residuals, convergence), the field at the estimate, the convergence, or the
    residuals, or the intervals and profiles ("uncertainty"). For observations: the points over the field at the file's true parameters (or
    the points alone when those are unknown). ``n``: solver grid (default: the fit's).
    """
    import matplotlib.pyplot as plt

    from .io import load_any, load_observations, load_result

    if kind not in FIGURE_KINDS:
        raise ValueError(f"kind must be one of {FIGURE_KINDS}, got {kind!r}")
    what, _ = load_any(path)
    if what == "observation plan":
        from .designs import load_plan

        return plot_design(load_plan(path))
    if what == "fit result":
        result, obs = load_result(path)
        grid_n = n or result.grid.get("n")
        if kind == "summary":
            return summary_figure(result, obs, n=grid_n)
        if kind == "convergence":
            return plot_convergence(result)[0].figure
        if kind == "residuals":
            return plot_residuals(obs, predictions_at(obs, result.params, n=grid_n), goodness=result.goodness).figure
        if kind == "uncertainty":
            return plot_uncertainty(result, observations=obs)[0].figure
        t, x, u = field_at(obs, result.params, n=grid_n)
        if obs.component is not None:
            return _system_field_figure(t, x, u, obs, f"{obs.equation} at the estimate")
        return plot_field(t, x, u, observations=obs, title=f"{obs.equation} at the estimate").figure
    obs = load_observations(path)
    if obs.true_params is not None:
        t, x, u = field_at(obs, {**obs.true_params, **obs.true_fields}, n=n)
        if obs.component is not None:
            return _system_field_figure(t, x, u, obs, f"{obs.equation} at the true parameters")
        return plot_field(t, x, u, observations=obs, title=f"{obs.equation} at the true parameters").figure
    fig, ax = plt.subplots(figsize=(6, 3.5), constrained_layout=True)
    values = observed_values(obs)
    if obs.grid_shape is not None and obs.n_points > DENSE_POINTS:  # a full grid: draw it as the image it is
        nt, nx = obs.grid_shape
        t, x = obs.t.reshape(nt, nx)[:, 0], obs.x.reshape(nt, nx)[0]
        order = np.argsort(x)
        limit = float(np.max(np.abs(values)))
        points = _image(ax, t, x[order], values.reshape(nt, nx)[:, order], -limit, limit)
    else:
        few = obs.n_points <= DENSE_POINTS
        points = ax.scatter(obs.t, obs.x, c=values, cmap="RdBu_r", s=30 if few else 2,
                            edgecolor="k" if few else "none", rasterized=not few)
    fig.colorbar(points, ax=ax, label="|u|" if obs.is_complex else "u")
    ax.set_xlabel("t")
    ax.set_ylabel("x")
    ax.set_title(f"{obs.n_points} observations of {obs.equation}")
    return fig


def plot_posterior(samples, *, names=None, bins: int = 40):
    """Draws from the posterior (a ``pdeinv.sampling.SampleResult``): each scalar unknown's
    histogram with its credible interval and the start on the diagonal, the pairs' draws below
    it (a corner plot). A fitted field's coefficients are left out unless ``names`` asks."""
    import matplotlib.pyplot as plt

    names = [n for n in samples.names if "[" not in n] if names is None else list(names)
    index = {n: i for i, n in enumerate(samples.names)}
    d = len(names)
    fig, axes = plt.subplots(d, d, figsize=(2.6 * d + 1.2, 2.6 * d + 0.6), constrained_layout=True, squeeze=False)
    start = samples.settings.get("start", {})
    for row, a in enumerate(names):
        for col, b in enumerate(names):
            ax = axes[row, col]
            if col > row:
                ax.axis("off")
                continue
            if row == col:
                values = samples.samples[:, index[a]]
                ax.hist(values, bins=bins, color="C0", alpha=0.6)
                low, high = samples.intervals[a]
                ax.axvspan(low, high, color="C0", alpha=0.12,
                           label=f"{samples.settings.get('level', 0.95):.0%} credible interval")
                ax.axvline(samples.median[a], color="k", lw=1.2, label="median")
                if a in start:
                    ax.axvline(start[a], color="C3", ls=":", lw=1.2, label="start")
                ax.set_yticks([])
                ax.set_title(f"{a} = {samples.median[a]:.4g} [{low:.4g}, {high:.4g}]", fontsize=8)
            else:
                ax.plot(samples.samples[:, index[b]], samples.samples[:, index[a]], ",", color="C0", alpha=0.3,
                        rasterized=True)
                ax.set_ylabel(a)
            ax.set_xlabel(b)
            ax.ticklabel_format(axis="x", style="sci", scilimits=(-3, 4), useOffset=False)
    axes[0, 0].legend(fontsize=7, loc="upper right")
    fig.suptitle(_wrap(f"{samples.settings.get('equation', '')}: posterior ({samples.samples.shape[0]} draws; "
                       f"{samples.verdict})", width=int(18 * d + 22)), fontsize=9)
    return fig


def plot_design(plan, *, axes=None):
    """Where a design (``pdeinv.design``) puts its points and why: per observed component, the
    candidates' information (sensitivity to the unknowns over the noise, at the guess; the root
    sum of squares over several unknowns) over (t, x), the chosen points on top. A plan read from a
    file has no candidates: its points are drawn alone."""
    import matplotlib.pyplot as plt

    candidates = plan.candidates
    rows = len(candidates["components"]) if candidates is not None else 1
    if axes is None:
        fig, axes = plt.subplots(rows, 1, figsize=(7.5, 3.2 * rows + 0.6), constrained_layout=True, squeeze=False)
        axes = axes[:, 0]
    axes = np.atleast_1d(axes)
    fig = axes[0].figure
    for r, ax in enumerate(axes):
        if candidates is not None:
            c = candidates["components"][r]
            info = candidates["sensitivity"][:, r, :]
            image = _image(ax, candidates["t"], candidates["x"], info, 0.0, float(np.max(info)) or 1.0, cmap="viridis")
            coords = plan.settings.get("coordinates", {})
            wrt = ", ".join(f"log {u}" if coords.get(u) == "log" else u for u in plan.unknowns)
            fig.colorbar(image, ax=ax, label=f"|du/d({wrt})| / noise")
            mine = plan.component == c if plan.component is not None else np.ones(plan.t.size, dtype=bool)
        else:
            mine = np.ones(plan.t.size, dtype=bool)
        ax.scatter(plan.t[mine], plan.x[mine], s=18, facecolor="white", edgecolor="black", linewidth=0.8,
                   label=f"{int(mine.sum())} designed points")
        if plan.sensors is not None:
            for x in plan.sensors:
                ax.axhline(x, color="white", linewidth=0.6, alpha=0.7)
        ax.set_xlabel("t")
        ax.set_ylabel("x")
        ax.set_xlim(plan.t_span)
        ax.set_ylim(plan.domain)
        name = f" ({plan.equation} component {c})" if plan.component is not None and candidates is not None else ""
        ax.legend(loc="upper right", fontsize=8, framealpha=0.8)
        if r == 0:
            gains = "; ".join(f"{u}: sd {plan.predicted_std[u]:.3g} (random points {plan.random_std[u]:.3g})"
                              for u in plan.unknowns)
            ax.set_title(_wrap(f"{plan.criterion}-optimal design for {plan.equation}{name}: {gains}"), fontsize=9)
        elif name:
            ax.set_title(name.strip(" ()"), fontsize=9)
    return fig
