"""Synthetic observation sets from the spectral solvers, on a finer grid than fits use."""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

from ..equations import get_equation
from ..solvers.memory import check_memory, points_bytes
from .observations import ObservationError, Observations

__all__ = ["simulate", "observation_layout"]


def observation_layout(
    points: int,
    layout: str,
    domain: tuple[float, float],
    t_span: tuple[float, float],
    seed: int = 0,
    grid: tuple[int, int] | None = None,
) -> tuple[np.ndarray, np.ndarray, tuple[int, int] | None]:
    """Observation points ``(t, x)``.

    ``grid``: a ``sqrt(points)`` x ``sqrt(points)`` grid of interior points (endpoints and
    the initial time excluded), as in the paper's experiments (64 points = 8 x 8), or an
    ``nt`` x ``nx`` grid when ``grid=(nt, nx)`` is given (``points`` is then ignored).
    ``random``: uniform in ``(t0, t1] x [a, b)``, seeded.
    """
    (a, b), (t0, t1) = domain, t_span
    if grid is not None:
        if layout != "grid":
            raise ObservationError(f"a grid shape needs the grid layout, not {layout!r}")
        if len(grid) != 2 or any(isinstance(v, bool) or int(v) != v or v < 1 for v in grid):
            raise ObservationError(f"grid must be two positive integers (times, positions), got {grid!r}")
        nt, nx = (int(v) for v in grid)
        points = nt * nx
    if isinstance(points, bool) or int(points) != points or points < 1:
        raise ObservationError(f"points must be a positive integer, got {points!r}")
    points = int(points)
    if layout == "grid":
        if grid is None:
            side = int(round(np.sqrt(points)))
            if side * side != points:
                raise ObservationError(
                    f"--layout grid needs a square number of points (64 = 8 x 8) or a grid shape NTxNX, got {points}"
                )
            nt = nx = side
        t = t0 + (t1 - t0) * np.arange(1, nt + 1) / (nt + 1)
        x = a + (b - a) * np.arange(1, nx + 1) / (nx + 1)
        tt, xx = np.meshgrid(t, x, indexing="ij")
        return tt.ravel(), xx.ravel(), (nt, nx)
    if layout == "random":
        rng = np.random.default_rng(seed)
        t = t1 - (t1 - t0) * rng.random(points)  # in (t0, t1]
        x = a + (b - a) * rng.random(points)
        return t, x, None
    raise ObservationError(f"layout must be 'grid' or 'random', got {layout!r}")


#: What a simulated data set says about its initial condition (see ``simulate``).
SNAPSHOTS = ("measured", "exact", "none")

#: Samples of a simulated first snapshot (the PINN papers' Burgers grid has 256).
SNAPSHOT_POINTS = 256

#: Observation points interpolated per call by ``simulate`` (bounds its memory: chunk x n values).
SAMPLE_CHUNK = 2048


def simulate(
    equation,
    params: Mapping[str, float] | None = None,
    *,
    points: int = 64,
    layout: str = "grid",
    noise: float = 0.0,
    seed: int = 0,
    n: int | None = None,
    dt: float | None = None,
    domain: tuple[float, float] | None = None,
    t_span: tuple[float, float] | None = None,
    u0: Callable | np.ndarray | None = None,
    fixed: tuple[str, ...] | None = None,
    grid: tuple[int, int] | None = None,
    observable: str = "value",
    snapshot: str | None = None,
    snapshot_points: int = SNAPSHOT_POINTS,
    components=None,
    at=None,
) -> Observations:
    """Solve ``equation`` at ``params`` and sample observations.

    The solve uses twice the equation's default grid and half its default time step unless
    ``n`` / ``dt`` are given: data made on the grid the fit uses would hide the fit's own
    discretization error ("inverse crime"). ``noise`` is Gaussian with standard deviation
    ``noise * std(u)`` (u over the whole simulated field), seeded; the per-point sigma is stored.
    Parameters other than the equation's default unknowns are recorded as fixed (known).
    A parameter the equation lets vary in x (Allen-Cahn ``D``) may be a callable of x or
    samples; it is stored as a true field (samples on the simulation grid).

    ``equation`` is a registered name, a ``module:ClassName`` reference or an Equation class;
    ``domain`` and ``t_span`` default to the equation's. For a complex state the noise is added
    to the real and imaginary parts alike; ``observable="abs"`` records ``|u|`` only.

    ``snapshot``: what the data say about the initial condition. ``"measured"`` (the default
    with noise, for a real state): a first snapshot of ``snapshot_points`` uniform samples at t0
    with the same noise as the other points, recorded as measured (``u0_measured``, its sigma in
    ``u0_sigma``) with the true u0 beside it (``true_fields["u0"]``), as an experiment gives it.
    ``"exact"`` (the default without noise): the exact u0 on the simulation grid, as known.
    ``"none"``: no snapshot (sensors that start later; the true u0 is kept for comparison).

    A system (an equation with ``components``) is observed at the same ``(t, x)`` points in each
    of ``components`` (names; default all), with noise scaled to each component's own spread.

    ``at``: observe at given points instead of a layout: a ``pdeinv.design.Plan`` (from
    ``design`` or ``load_plan``; for a system it names each point's component) or ``(t, x)``
    arrays; ``points``, ``layout`` and ``grid`` are then not used.
    """
    try:
        cls = get_equation(equation)
    except ValueError as err:
        raise ObservationError(str(err)) from None
    if not np.isfinite(noise) or noise < 0:
        raise ObservationError(f"noise must be a non-negative number, got {noise!r}")
    if snapshot is None:
        snapshot = "measured" if noise > 0 and not cls.complex_state else "exact"
    if snapshot not in SNAPSHOTS:
        raise ObservationError(f"snapshot must be one of {SNAPSHOTS}, got {snapshot!r}")
    if snapshot == "measured" and cls.complex_state:
        raise ObservationError(f"a measured snapshot of {cls.name}'s complex state cannot be fitted yet: use "
                               "snapshot='exact' (CLI --snapshot exact)")
    if isinstance(snapshot_points, bool) or int(snapshot_points) != snapshot_points or snapshot_points < 16:
        raise ObservationError(f"snapshot_points must be an integer >= 16, got {snapshot_points!r}")
    try:
        probe = cls(n=cls.default_n, domain=domain, t_span=t_span, u0=u0)
        n = 2 * cls.default_n if n is None else n
        dt = probe.dt / 2 if dt is None else dt
        eq = cls(n=n, domain=domain, t_span=t_span, u0=u0, dt=dt)
        true = eq.check_params(params or {})
    except ValueError as err:
        raise ObservationError(str(err)) from None
    picked = None
    if at is not None:
        t, x, picked = _given_points(at, cls, eq, components)
        count = t.size
    try:
        count = count if at is not None else int(np.prod([int(v) for v in grid])) if grid is not None else int(points)
    except (TypeError, ValueError):
        count = 0  # observation_layout names the problem
    if count > 0:
        check_memory(points_bytes(count, eq.k.size), f"{count} observation points on n={eq.n}",
                     "use fewer points or a coarser grid")
    observed = _observed_components(cls, components) if picked is None else sorted(set(picked.tolist()))
    if at is None:
        t, x, grid_shape = observation_layout(points, layout, eq.domain, eq.t_span, seed, grid)
    else:
        grid_shape = None
    if observed is not None:
        grid_shape = None  # a system's values are stored as points, a component each
    times, row = np.unique(t, return_inverse=True)
    field = eq.solve(true, times)
    # Each point's own row, in chunks: one interpolation call per chunk, not per point (a point
    # at a time cost ~4 ms each: 10 s for a 50 x 48 grid).
    layers = [field] if observed is None else [field[:, c] for c in observed]
    values = np.empty((len(layers),) + t.shape, dtype=field.dtype)
    for c, layer in enumerate(layers):
        for start in range(0, t.size, SAMPLE_CHUNK):
            part = slice(start, start + SAMPLE_CHUNK)
            values[c, part] = eq.interpolate(layer[row[part]], x[part, None])[:, 0]
    if picked is not None:  # each point measures its own component
        values = values[np.searchsorted(observed, picked), np.arange(t.size)][None] if observed is not None \
            else values
    if observable == "abs":
        values = np.abs(values)
    sigma = None
    scale = np.zeros(len(eq.components) or 1)
    if noise > 0:
        reference = eq.solve(true, np.linspace(*eq.t_span, 51))
        reference = np.abs(reference) if observable == "abs" else reference
        if eq.components:  # each component's own spread
            scale = noise * np.std(np.moveaxis(reference, 1, 0).reshape(len(eq.components), -1), axis=1)
        else:
            scale = np.array([noise * float(np.std(reference))])
        per_point = scale[observed][:, None] if observed is not None else scale[:, None]
        if picked is not None and observed is not None:
            per_point = scale[picked][None, :]
        draw = np.random.default_rng([seed, 1]).normal(size=values.shape + ((2,) if np.iscomplexobj(values) else ()))
        values = values + per_point * (draw[..., 0] + 1j * draw[..., 1] if np.iscomplexobj(values) else draw)
        sigma = np.broadcast_to(per_point, values.shape).ravel().copy()
    component = None
    if picked is not None and observed is not None:
        component = picked
    elif observed is not None:
        component = np.repeat(np.asarray(observed), t.size)
        t, x = np.tile(t, len(observed)), np.tile(x, len(observed))
    values = values.ravel()
    initial = {"u0": eq.u0}
    if snapshot != "exact":
        samples = np.asarray(eq.u0)
        samples = np.stack([cls.basis_type.resample(r, int(snapshot_points)) for r in samples]) if eq.components \
            else cls.basis_type.resample(samples, int(snapshot_points))
        # its own noise stream: the later points' noise is the same with and without a snapshot
        samples = samples + (scale[:, None] if eq.components else scale[0]) * \
            np.random.default_rng([seed, 2]).standard_normal(samples.shape)
        initial = {"u0": samples if snapshot == "measured" else None, "u0_measured": snapshot == "measured",
                   "u0_sigma": float(np.max(scale)) if snapshot == "measured" else None}
    fixed = tuple(p for p in cls.param_names if p not in cls.default_unknowns) if fixed is None else tuple(fixed)
    fields = {name: np.asarray(v) for name, v in true.items() if np.ndim(v)}
    if snapshot != "exact":
        fields["u0"] = np.asarray(eq.u0)
    for name in fixed:
        if name not in cls.param_names:
            raise ObservationError(f"unknown parameter {name!r} to record as known; expected some of {list(cls.param_names)}")
        if name in fields:
            raise ObservationError(f"{name} varies in x: it can be simulated and fitted, not recorded as known")
    description = cls.u0_description if u0 is None else (
        getattr(u0, "expression", "custom callable") if callable(u0) else "samples")
    if snapshot == "measured":
        description = f"snapshot of {description} at t0: {int(snapshot_points)} samples with noise " + \
            "/".join(f"{v:.3g}" for v in scale)
    elif snapshot == "none":
        description = f"none (the data start after t0; the true u0 is {description})"
    return Observations(
        cls.name,
        t,
        x,
        values,
        **initial,
        domain=eq.domain,
        t_span=eq.t_span,
        sigma=sigma,
        fixed_params={p: true[p] for p in fixed},
        true_params={k: v for k, v in true.items() if k not in fields},
        true_fields=fields,
        grid_shape=grid_shape,
        observable=observable,
        component=component,
        u0_description=description,
        metadata={
            "source": "pdeinv simulate",
            "solver_n": eq.n,
            "solver_dt": eq.dt,
            "layout": layout if at is None else "plan",
            "noise": noise,
            "seed": seed,
            "snapshot": snapshot if snapshot == "exact" else f"{snapshot} ({int(snapshot_points)} points)",
        },
    )


def _observed_components(cls, components) -> list[int] | None:
    """Indices of the components a simulated system is observed in (all by default); None for an
    equation of one field (a clear error if components are named for it)."""
    names = tuple(cls.components)
    if components is None:
        return list(range(len(names))) if names else None
    wanted = [components] if isinstance(components, str) else list(components)
    if not wanted:
        raise ObservationError("components must name at least one component")
    if len(set(wanted)) != len(wanted):
        raise ObservationError(f"components repeat a name: {wanted}")
    try:
        return cls.component_indices(wanted).tolist()
    except ValueError as err:
        raise ObservationError(str(err)) from None


def _given_points(at, cls, eq, components):
    """``(t, x, component per point or None)`` of observation points given by a plan or arrays."""
    component = None
    if hasattr(at, "t") and hasattr(at, "x"):  # a Plan
        if at.equation != cls.name:
            raise ObservationError(f"the plan is for {at.equation}, not {cls.name}")
        t, x, component = at.t, at.x, at.component
    else:
        try:
            t, x = at
        except (TypeError, ValueError):
            raise ObservationError("at must be a plan or (t, x) arrays of observation points") from None
    t, x = np.asarray(t, dtype=float).ravel(), np.asarray(x, dtype=float).ravel()
    if t.shape != x.shape or t.size == 0:
        raise ObservationError(f"observation points need one t per x, got {t.size} times and {x.size} positions")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(x))):
        raise ObservationError("observation points must be finite")
    t0, t1 = eq.t_span
    if t.min() < t0 or t.max() > t1:
        raise ObservationError(f"observation times must lie in [{t0:g}, {t1:g}], got {t.min():g} ... {t.max():g}")
    a, b = eq.domain
    if x.min() < a or x.max() > b:
        raise ObservationError(f"observation positions must lie in [{a:g}, {b:g}], got {x.min():g} ... {x.max():g}")
    if cls.components:
        if component is None:
            observed = _observed_components(cls, components)
            component = np.repeat(np.asarray(observed), t.size)
            t, x = np.tile(t, len(observed)), np.tile(x, len(observed))
        component = np.asarray(component, dtype=np.int64)
        if component.min() < 0 or component.max() >= len(cls.components):
            raise ObservationError(f"plan components must be indices 0..{len(cls.components) - 1}")
        if components is not None:
            raise ObservationError("the plan names each point's component: components cannot be given as well")
    elif component is not None:
        raise ObservationError(f"the plan names components, but {cls.name} has one field")
    return t, x, component
