"""Importers: data laid out by other tools -> Observations, deciding (never guessing) the grid."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..equations import get_equation
from ..problems.observations import ObservationError, Observations
from .h5 import _reading

__all__ = ["ENDPOINT_RTOL", "PeriodicGrid", "import_arrays", "import_pdebench", "import_raissi", "periodic_grid"]


def _subsample(points: int | None, total: int, seed: int) -> np.ndarray | None:
    if points is None:
        return None
    if points < 1 or points > total:
        raise ObservationError(f"points must be between 1 and {total}, got {points}")
    return np.sort(np.random.default_rng(seed).choice(total, size=points, replace=False))


#: Two columns of u count as equal when they differ by at most this fraction of max|u| (or by
#: 100 machine epsilons of the stored precision, if that is larger). A duplicated periodic
#: endpoint is a copy of the first column or the same solution evaluated at x = b, equal to it
#: up to round-off (~1e-16 relative in float64; 3.7e-16 in the published burgers_shock.mat). A
#: distinct column one step dx away differs by about dx |u_x|, above 1e-6 of max|u| at some
#: time for any field the grid resolves. 1e-10 sits orders of magnitude from both.
ENDPOINT_RTOL = 1e-10


def _eps(array: np.ndarray) -> float:
    """Machine epsilon of the stored precision (0 for integers)."""
    return float(np.finfo(array.dtype).eps) if array.dtype.kind in "fc" else 0.0


def _check_domain(domain, where: str) -> tuple[float, float] | None:
    if domain is None:
        return None
    try:
        a, b = (float(v) for v in domain)
    except (TypeError, ValueError):
        raise ObservationError(f"{where}: domain must be two numbers (a, b), got {domain!r}") from None
    if not (np.isfinite(a) and np.isfinite(b) and b > a):
        raise ObservationError(f"{where}: domain must be a finite interval (a, b) with b > a, got {domain!r}")
    return a, b


@dataclass(frozen=True)
class PeriodicGrid:
    """How an imported x grid maps onto one period: the kept positions and the decision taken.

    ``x`` are the positions kept (the first ``len(x)`` columns of the field); ``domain`` the
    periodic interval ``(a, b)``; ``description`` says in words what was decided and why;
    ``domain_source`` is ``"data"`` (decided from the field) or ``"user"`` (a given domain).
    """

    x: np.ndarray
    domain: tuple[float, float]
    description: str
    domain_source: str


def periodic_grid(x: np.ndarray, u: np.ndarray, where: str, domain=None) -> PeriodicGrid:
    """Decide how a uniform grid ``x`` covers one period of the field ``u`` (shape (nt, nx)).

    Without ``domain`` the data decide: when the last column of ``u`` equals the first at every
    time (to ``ENDPOINT_RTOL`` of max|u|), x[-1] is the periodic copy of x[0] and is dropped, the
    period being x[-1] - x[0]; otherwise every column is kept and the period is n dx (also when
    x[-1] lands on a round number: a column that differs from the first is a sample of its own).
    When the field is flat at both ends at every time the data cannot tell, and the domain is
    required. With ``domain = (a, b)`` the grid must start at a and either end at b (the
    endpoint, whose column must then equal the first) or at b - dx. Anything else is an
    ``ObservationError``.
    """
    xs, dx, xtol = _uniform_grid(x, where)
    if np.ndim(u) != 2 or np.shape(u)[1] != xs.size:
        raise ObservationError(f"{where}: u must have shape (len(t), len(x) = {xs.size}), got {np.shape(u)}")
    ends_equal, flat, mismatch = _compare_end_columns(u)
    first, last, n = float(xs[0]), float(xs[-1]), xs.size
    given = _check_domain(domain, where)
    if given is None:
        if ends_equal and flat:
            raise ObservationError(
                f"{where}: u is flat at both ends of x at every time, so the data cannot tell whether "
                f"x = {last:g} repeats x = {first:g}; give the domain (CLI: --domain A,B)"
            )
        included = ends_equal
    else:
        a, b = given
        if abs(first - a) > xtol:
            raise ObservationError(f"{where}: x starts at {first:.10g}, not at the start {a:g} of the domain ({a:g}, {b:g})")
        included = abs(last - b) <= xtol
        if included and not ends_equal:
            raise ObservationError(
                f"{where}: x ends at the domain end {b:g}, but u there differs from u at {a:g} by up to "
                f"{mismatch:.1e} of max|u|, so it is not the periodic copy of x = {a:g}"
            )
        if not included and abs(first + n * dx - b) > xtol:
            raise ObservationError(
                f"{where}: x = {first:g} .. {last:.10g} (n = {n}, dx = {dx:.6g}) does not fit the domain ({a:g}, {b:g}): "
                f"neither x[-1] = {b:g} (endpoint included) nor x[0] + n dx = {b:g} (endpoint excluded; "
                f"here {first + n * dx:.10g})"
            )
    source = "data" if given is None else "user"
    if included:
        a, b = given or (first, last)
        exact = "" if mismatch == 0 else f", to {mismatch:.1e} of max|u|"
        words = (f"linspace({a:g}, {b:g}, {n}) with the periodic endpoint: last column dropped "
                 f"(equal to the first at every time{exact})")
        return PeriodicGrid(xs[:-1], (float(a), float(b)), words, source)
    a, b = given or (first, first + n * dx)
    why = "the given domain" if given else f"first and last columns differ by up to {mismatch:.1e} of max|u|"
    words = f"linspace({a:g}, {b:g}, {n}, endpoint=False): endpoint excluded, period n*dx = {n * dx:g} ({why})"
    return PeriodicGrid(xs, (float(a), float(b)), words, source)


def _uniform_grid(x: np.ndarray, where: str) -> tuple[np.ndarray, float, float]:
    """``(x as float64, step, tolerance on positions)`` of a uniform increasing grid.

    The tolerance allows for the stored precision: float32 positions are off by ~1e-7.
    """
    x = np.asarray(x)
    if x.ndim != 1 or x.size < 4:
        raise ObservationError(f"{where}: x must be a 1-D grid with at least 4 points, got shape {x.shape}")
    xs = x.astype(float)
    dx = (xs[-1] - xs[0]) / (xs.size - 1)
    xtol = max(1e-6 * abs(dx), 8 * _eps(x) * float(np.max(np.abs(xs))))
    steps = np.diff(xs)
    if np.any(steps <= 0) or np.max(np.abs(xs - (xs[0] + dx * np.arange(xs.size)))) > xtol:
        raise ObservationError(
            f"{where}: x must be uniformly spaced and increasing (steps range from {steps.min():.6g} to {steps.max():.6g})"
        )
    return xs, float(dx), xtol


def _compare_end_columns(u: np.ndarray) -> tuple[bool, bool, float]:
    """``(ends equal, flat at both ends, max|u[:, -1] - u[:, 0]| / max|u|)`` over every time.

    Equal means within ``ENDPOINT_RTOL`` (or 100 epsilons of the stored precision) of max|u|;
    flat means each end column also equals its neighbour, so equal ends prove nothing.
    """
    u = np.asarray(u)
    us = u.astype(complex if u.dtype.kind == "c" else float)
    scale = float(np.max(np.abs(us)))
    tol = max(ENDPOINT_RTOL, 100 * _eps(u)) * scale
    ends = float(np.max(np.abs(us[:, -1] - us[:, 0])))
    flat = bool(max(np.max(np.abs(us[:, 1] - us[:, 0])), np.max(np.abs(us[:, -1] - us[:, -2]))) <= tol)
    return ends <= tol, bool(flat), ends / scale if scale > 0 else 0.0


def _load_variables(path: Path) -> dict[str, np.ndarray]:
    """All variables of a ``.mat`` (scipy.io.loadmat) or ``.npz`` (numpy.load) file."""
    if not path.exists():
        raise ObservationError(f"{path}: no such file")
    if path.is_dir():
        raise ObservationError(f"{path}: is a folder, not a data file")
    suffix = path.suffix.lower()
    if suffix == ".mat":
        from scipy.io import loadmat

        try:
            data = loadmat(path)
        except NotImplementedError:  # scipy's message for MATLAB v7.3 files
            raise ObservationError(f"{path}: MATLAB v7.3 (HDF5) files are not supported; save with -v7 or as .npz") from None
        except Exception as err:
            raise ObservationError(f"{path}: not a readable MATLAB file ({_first_line(err)})") from None
        return {k: v for k, v in data.items() if not k.startswith("__")}
    if suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as data:
                names = list(data.files)
                out = {}
                for name in names:
                    try:
                        out[name] = data[name]
                    except ValueError:  # object arrays need pickle, which is never allowed
                        out[name] = np.empty(0, dtype=object)
                return out
        except Exception as err:
            raise ObservationError(f"{path}: not a readable .npz file ({_first_line(err)})") from None
    raise ObservationError(f"{path}: unknown file type {path.suffix or '(no suffix)'!r}; expected .mat or .npz")


def _first_line(err: Exception) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _variable(data: dict, names: tuple[str, ...], where: str, *, vector: bool = False,
              complex_ok: bool = False) -> np.ndarray:
    """The first of ``names`` present in ``data``: numeric, finite, real unless ``complex_ok``
    (stored dtype kept)."""
    for name in names:
        if name in data:
            break
    else:
        wanted = " or ".join(repr(n) for n in names)
        found = ", ".join(repr(k) for k in sorted(data)) or "none"
        raise ObservationError(f"{where}: missing variable {wanted} (the file has: {found})")
    value = np.asarray(data[name])
    if value.dtype.kind == "c" and not complex_ok:
        raise ObservationError(f"{where}: variable {name!r} must be real, got complex values")
    if value.dtype.kind not in ("fiuc" if complex_ok else "fiu"):
        raise ObservationError(f"{where}: variable {name!r} is not a numeric array (dtype {value.dtype})")
    if vector:
        if value.size != max(value.shape, default=0) or value.size == 0:
            raise ObservationError(f"{where}: variable {name!r} must be a vector, got shape {value.shape}")
        value = value.ravel()
    if not np.all(np.isfinite(value)):
        raise ObservationError(f"{where}: variable {name!r} contains NaN or inf")
    return value


def _orient(u: np.ndarray, nt: int, nx: int, layout: str | None, where: str) -> tuple[np.ndarray, str]:
    """``(u as (nt, nx), layout)``: layout ``"tx"`` is u[i, j] = u(t[i], x[j]), ``"xt"`` u(t[j], x[i])."""
    if layout not in (None, "tx", "xt"):
        raise ObservationError(f"{where}: layout must be 'tx' or 'xt', got {layout!r}")
    tx, xt = (nt, nx), (nx, nt)
    if layout is None:
        if u.shape == tx == xt:
            raise ObservationError(
                f"{where}: u is {nt} x {nx} with len(t) == len(x), so its orientation is ambiguous; "
                "give the layout: 'tx' if u[i, j] = u(t[i], x[j]), 'xt' if u(t[j], x[i]) (CLI: --layout)"
            )
        layout = "tx" if u.shape == tx else "xt" if u.shape == xt else None
        if layout is None:
            raise ObservationError(
                f"{where}: u has shape {u.shape}, which is neither (len(t), len(x)) = {tx} nor (len(x), len(t)) = {xt}"
            )
    expected = tx if layout == "tx" else xt
    if u.shape != expected:
        raise ObservationError(f"{where}: u has shape {u.shape}; layout {layout!r} needs {expected}")
    return (u if layout == "tx" else u.T), layout


def _grid_observations(
    equation: str,
    t: np.ndarray,
    x: np.ndarray,
    field: np.ndarray,
    where: Path,
    *,
    domain=None,
    points: int | None = None,
    seed: int = 0,
    u0=None,
    t0: float | None = None,
    metadata: dict | None = None,
) -> Observations:
    """Observations from a field ``(len(t), len(x))`` on a uniform periodic x grid.

    The grid is decided by ``periodic_grid``. Without ``u0`` the first time row is the initial
    condition at t[0] and the later rows are the observations; with ``u0`` (a function of x, or
    samples on linspace(a, b, m, endpoint=False)) it is the state at ``t0`` (default 0, at most
    t[0]) and every row after t0 is an observation. ``points`` subsamples those rows (seeded).
    """
    t = np.asarray(t, dtype=float)
    if t.size > 1 and np.any(np.diff(t) <= 0):
        i = int(np.argmax(np.diff(t) <= 0))
        raise ObservationError(f"{where}: t must be strictly increasing (t[{i}] = {t[i]:g}, t[{i + 1}] = {t[i + 1]:g})")
    try:
        basis = get_equation(equation).basis_type
    except ValueError:  # an unknown equation: Observations names the problem below
        basis = None
    if basis is not None and not basis.periodic:
        # A bounded grid's ends and its u0's nodes follow other rules than a periodic one's; guessing
        # them would put the data on the wrong points.
        raise ObservationError(f"{where}: the importers read periodic grids, and {equation} is on a bounded domain "
                               f"({basis.boundary}); build its Observations in Python (pdeinv.Observations)")
    grid = periodic_grid(x, field, str(where), domain)
    field = np.asarray(field)
    field = field.astype(complex if field.dtype.kind == "c" else float)[:, : grid.x.size]
    start, initial, described, initial_note = _initial_condition(t, field, grid, u0, t0, where)
    later = t > start
    meta = {
        **(metadata or {}),
        "x_grid": grid.description,
        "domain_source": grid.domain_source,
        "initial_condition": initial_note,
    }
    common = dict(u0=initial, domain=grid.domain, t_span=(start, float(t[-1])), u0_description=described,
                  u0_measured=u0 is None)
    try:
        if points is None:
            return Observations.from_grid(equation, t[later], grid.x, field[later], metadata=meta, **common)
        tt, xx = np.meshgrid(t[later], grid.x, indexing="ij")
        chosen = _subsample(points, tt.size, seed)
        meta.update(subsample_points=points, seed=seed)
        return Observations(
            equation, tt.ravel()[chosen], xx.ravel()[chosen], field[later].ravel()[chosen], metadata=meta, **common
        )
    except ObservationError as err:
        raise ObservationError(f"{where}: {err}") from None


#: Samples of a given initial condition on a bounded interval (the basis's nodes).
BOUNDED_U0_SAMPLES = 128


def component_grid_observations(cls, t, x, fields, where: Path, *, domain=None, points=None, seed: int = 0, u0=None,
                                t0=None, metadata=None) -> Observations:
    """Observations from grids ``(len(t), len(x))`` of each component of a system, or of one
    field on a bounded interval, as points with the component each measures.

    Periodic: the grid is decided by ``periodic_grid`` from all components together. Bounded: x must
    increase; the domain is ``domain`` when given, else the grid's first and last x (said in the
    metadata). The initial condition is the first time row when x lies on the basis's nodes (a
    periodic grid; Chebyshev points), else it must be given (``u0``, a function of x; for a system
    one row per component or one function for all): a uniform bounded grid is not where the
    solver's state lives, and moving samples from it by a polynomial would amplify their noise.
    ``points`` subsamples the later (t, x) positions, each then observed in every component.
    """
    names = tuple(cls.components)
    if names and len(fields) != len(names):
        raise ObservationError(f"{where}: {cls.name} has components {', '.join(names)}: name one variable per "
                               f"component (--u with {len(names)} names, comma-separated), got {len(fields)}")
    if not names and len(fields) != 1:
        raise ObservationError(f"{where}: {cls.name} has one field; name one variable (--u), got {len(fields)}")
    t = np.asarray(t, dtype=float)
    if t.size > 1 and np.any(np.diff(t) <= 0):
        raise ObservationError(f"{where}: t must be strictly increasing")
    x = np.asarray(x, dtype=float)
    basis = cls.basis_type
    meta = dict(metadata or {})
    if basis.periodic:
        grid = periodic_grid(x, np.concatenate(fields, axis=0), str(where), domain)
        keep, xs, dom = slice(0, grid.x.size), grid.x, grid.domain
        meta.update(x_grid=grid.description, domain_source=grid.domain_source)
        on_nodes = True
    else:
        if x.size < 4 or np.any(np.diff(x) <= 0):
            raise ObservationError(f"{where}: x must be strictly increasing with at least 4 points")
        if domain is not None:
            dom = _check_domain(domain, str(where))
            meta["domain_source"] = "given"
        else:
            dom = (float(x[0]), float(x[-1]))
            meta["domain_source"] = (f"the grid's first and last x, [{dom[0]:g}, {dom[1]:g}], taken as the ends of the "
                                     "interval (give --domain otherwise)")
        keep, xs = slice(0, x.size), x
        on_nodes = bool(np.allclose(x, basis.nodes(dom, x.size), rtol=0, atol=1e-9 * (dom[1] - dom[0])))
    stack = np.stack([np.asarray(f)[:, keep] for f in fields], axis=1)  # (nt, C, nx)
    if u0 is None:
        if t.size < 2:
            raise ObservationError(f"{where}: need at least two times (the first is the initial condition)")
        if t0 is not None and t0 != t[0]:
            raise ObservationError(f"{where}: t0 = {t0:g} without u0; the initial condition is the first row, at t = "
                                   f"{t[0]:g}")
        if not on_nodes:
            raise ObservationError(f"{where}: the first time row lies on {x.size} evenly spaced x, not on the "
                                   f"{basis.name} points {cls.name}'s initial condition is given on: give the initial "
                                   "condition (--u0 EXPR; for a system one per component separated by ';')")
        start = float(t[0])
        initial = stack[0] if names else stack[0, 0]
        described, note, measured = f"samples at t={start:g} from {where.name}", f"first time row (t = {start:g}), "             "measured", True
    else:
        start = 0.0 if t0 is None else float(t0)
        if start > t[0] or start >= t[-1]:
            raise ObservationError(f"{where}: t0 = {start:g} must be at most the first time t[0] = {t[0]:g} and before "
                                   "the last")
        nodes = basis.nodes(dom, BOUNDED_U0_SAMPLES if not basis.periodic else xs.size)
        try:
            initial = np.asarray(u0(nodes) if callable(u0) else u0, dtype=float)
            initial = np.broadcast_to(initial, ((len(names),) if names else ()) + initial.shape[-1:]).copy()
        except (ValueError, TypeError) as err:
            raise ObservationError(f"{where}: the given u0 does not give {'a row per component' if names else 'samples'}"
                                   f": {err}") from None
        described = str(getattr(u0, "expression", "given function" if callable(u0) else "given samples"))
        note, measured = f"given ({described}) at t = {start:g}", False
    meta["initial_condition"] = note
    later = t > start
    rows = stack[later]  # (nt', C, nx)
    tt, xx = np.meshgrid(t[later], xs, indexing="ij")
    chosen = _subsample(points, tt.size, seed)
    pick = np.arange(tt.size) if chosen is None else chosen
    if chosen is not None:
        meta.update(subsample_points=points, seed=seed)
    C = max(len(names), 1)
    values = np.moveaxis(rows, 1, 0).reshape(C, -1)[:, pick]
    try:
        return Observations(
            cls.name, np.tile(tt.ravel()[pick], C), np.tile(xx.ravel()[pick], C), values.ravel(), u0=initial,
            domain=dom, t_span=(start, float(t[-1])), u0_description=described, u0_measured=measured,
            component=np.repeat(np.arange(C), pick.size) if names else None, metadata=meta)
    except ObservationError as err:
        raise ObservationError(f"{where}: {err}") from None


def _initial_condition(t, field, grid: PeriodicGrid, u0, t0, where: Path) -> tuple[float, np.ndarray, str, str]:
    """``(t0, u0 samples, description, metadata note)``: the first row at t[0] unless u0 is given."""
    if u0 is None:
        if t.size < 2:
            raise ObservationError(f"{where}: need at least two times (the first is the initial condition)")
        if t0 is not None and t0 != t[0]:
            raise ObservationError(f"{where}: t0 = {t0:g} without u0; the initial condition is the first row, at t = {t[0]:g}")
        return (float(t[0]), field[0], f"samples at t={t[0]:g} from {where.name}",
                f"first time row (t = {t[0]:g}), measured")
    start = 0.0 if t0 is None else float(t0)
    if start > t[0]:
        raise ObservationError(f"{where}: t0 = {start:g} is after the first time t[0] = {t[0]:g}")
    if start >= t[-1]:
        raise ObservationError(f"{where}: no time after t0 = {start:g}")
    described = str(getattr(u0, "expression", "given function" if callable(u0) else "given samples"))
    return start, _initial_samples(u0, grid, where), described, f"given ({described}) at t = {start:g}"


def _initial_samples(u0, grid: PeriodicGrid, where: Path) -> np.ndarray:
    values = np.asarray(u0(grid.x) if callable(u0) else u0)
    values = values.astype(complex if values.dtype.kind == "c" else float)
    if callable(u0):
        values = np.broadcast_to(values, grid.x.shape).copy()
    if values.ndim != 1 or values.size < 4 or not np.all(np.isfinite(values)):
        raise ObservationError(f"{where}: u0 must give finite samples (at least 4) of one period, got shape {values.shape}")
    return values


def import_raissi(
    path, equation: str, *, domain=None, points: int | None = None, seed: int = 0
) -> Observations:
    """Read a PINN-paper ``.mat`` data set (``x``, ``t``/``tt``, ``usol``/``uu``).

    ``usol[i, j] = u(t[j], x[i])``. Whether x[-1] repeats x[0] is decided from the data, or
    from ``domain=(a, b)`` when given (see ``periodic_grid``; the decision is recorded in
    ``metadata["x_grid"]``). The first time row is the initial condition; with ``points`` the
    remaining rows are subsampled at random (seeded), otherwise they are kept as a full grid.
    """
    path = Path(path)
    data = _load_variables(path)
    x = _variable(data, ("x",), str(path), vector=True)
    t = _variable(data, ("t", "tt"), str(path), vector=True)
    usol = _variable(data, ("usol", "uu"), str(path), complex_ok=True)
    if usol.shape != (x.size, t.size):
        raise ObservationError(f"{path}: usol must have shape (len(x), len(t)) = {(x.size, t.size)}, got {usol.shape}")
    return _grid_observations(
        equation, t, x, usol.T, path, domain=domain, points=points, seed=seed,
        metadata={"source": f"raissi:{path.name}"},
    )


def import_arrays(
    path,
    equation: str,
    *,
    t: str = "t",
    x: str = "x",
    u: str = "u",
    layout: str | None = None,
    domain=None,
    points: int | None = None,
    seed: int = 0,
    u0=None,
    t0: float | None = None,
) -> Observations:
    """Read u(t, x) on a grid from a ``.mat`` or ``.npz`` file with the variables named.

    Parameters
    ----------
    t, x, u : variable names in the file; t and x vectors, u a matrix. For a system of several
        components (e.g. ``reaction``: A, B), ``u`` names one matrix per component, comma-separated
        in the equation's order (``"Ca,Cb"``).
    layout : ``"tx"`` (u of shape (len(t), len(x))) or ``"xt"`` (shape (len(x), len(t)));
        ``None`` infers it from the shape, and is an error when len(t) == len(x).
    domain : the periodic interval ``(a, b)``; ``None`` decides from the data whether x[-1]
        repeats x[0] (see ``periodic_grid``).
    points, seed : subsample this many observations at random (seeded); ``None`` keeps the grid.
    u0, t0 : the initial condition (a function of x or samples of one period) at time ``t0``
        (default 0); without ``u0`` the first time row is the initial condition at t[0].
    """
    path = Path(path)
    data = _load_variables(path)
    tv = _variable(data, (t,), str(path), vector=True)
    xv = _variable(data, (x,), str(path), vector=True)
    names = [name.strip() for name in str(u).split(",") if name.strip()]
    try:
        cls = get_equation(equation)
    except ValueError as err:
        raise ObservationError(str(err)) from None
    if len(names) > 1 or cls.components or not cls.basis_type.periodic:
        fields, orientations = [], set()
        for name in names:
            uv = _variable(data, (name,), str(path), complex_ok=True)
            if uv.ndim != 2:
                raise ObservationError(f"{path}: variable {name!r} must be 2-D, got shape {uv.shape}")
            field, chosen = _orient(uv, tv.size, xv.size, layout, str(path))
            fields.append(field)
            orientations.add(chosen)
        meta = {"source": f"arrays:{path.name}", "variables": {"t": t, "x": x, "u": names},
                "layout": orientations.pop()}
        return component_grid_observations(cls, tv, xv, fields, path, domain=domain, points=points, seed=seed, u0=u0,
                                           t0=t0, metadata=meta)
    uv = _variable(data, (u,), str(path), complex_ok=True)
    if uv.ndim != 2:
        raise ObservationError(f"{path}: variable {u!r} must be 2-D, got shape {uv.shape}")
    field, layout = _orient(uv, tv.size, xv.size, layout, str(path))
    meta = {"source": f"arrays:{path.name}", "variables": {"t": t, "x": x, "u": u}, "layout": layout}
    return _grid_observations(
        equation, tv, xv, field, path, domain=domain, points=points, seed=seed, u0=u0, t0=t0, metadata=meta
    )


def import_pdebench(path, *, sample: int = 0, points: int | None = None, seed: int = 0) -> Observations:
    """Read one sample of PDEBench's 1-D Burgers layout.

    Datasets ``tensor`` (samples, nt, nx), ``x-coordinate`` (nx cell centres), ``t-coordinate``
    (nt + 1 edges; snapshot i is at edge i); root attribute ``Nu`` with viscosity ``Nu / pi``.
    """
    path = Path(path)
    with _reading(path, "PDEBench file") as f:
        for name in ("tensor", "x-coordinate", "t-coordinate"):
            if name not in f:
                raise ObservationError(f"missing dataset {name}")
        tensor = f["tensor"]
        if tensor.ndim != 3:
            raise ObservationError(f"tensor must be 3-D (samples, nt, nx), got shape {tensor.shape}")
        if not 0 <= sample < tensor.shape[0]:
            raise ObservationError(f"sample must be in [0, {tensor.shape[0] - 1}], got {sample}")
        field = np.asarray(tensor[sample], dtype=float)
        x = np.asarray(f["x-coordinate"][()], dtype=float).ravel()
        t_edges = np.asarray(f["t-coordinate"][()], dtype=float).ravel()
        if "Nu" not in f.attrs:
            raise ObservationError("missing root attribute Nu")
        nu = float(np.asarray(f.attrs["Nu"]).reshape(())) / np.pi
    nt, nx = field.shape
    if x.size != nx or t_edges.size not in (nt, nt + 1):
        raise ObservationError(f"{path}: coordinates do not match tensor shape {field.shape}")
    if not np.all(np.isfinite(field)):
        raise ObservationError(f"{path}: tensor sample {sample} contains NaN or inf")
    dx = x[1] - x[0]
    domain = (float(x[0] - dx / 2), float(x[-1] + dx / 2))  # cell centres -> periodic interval
    t = t_edges[:nt]
    common = dict(
        u0=field[0],
        domain=domain,
        t_span=(float(t[0]), float(t_edges[-1])),
        true_params={"nu": nu},
        u0_description=f"PDEBench sample {sample} at t={t[0]:g} (cell centres)",
        u0_measured=True,
        metadata={"source": f"pdebench:{path.name}", "sample": sample},
    )
    # The stored u0 must be on linspace(a, b, m, endpoint=False); cell centres are shifted by
    # dx/2, so resample by a spectral shift to the left edges.
    k = 2 * np.pi / (domain[1] - domain[0]) * np.fft.rfftfreq(nx, d=1.0 / nx)
    common["u0"] = np.fft.irfft(np.fft.rfft(field[0]) * np.exp(-1j * k * dx / 2), n=nx)
    if points is None:
        return Observations.from_grid("burgers", t[1:], x, field[1:], **common)
    tt, xx = np.meshgrid(t[1:], x, indexing="ij")
    chosen = _subsample(points, tt.size, seed)
    return Observations("burgers", tt.ravel()[chosen], xx.ravel()[chosen], field[1:].ravel()[chosen], **common)
