"""Observation files (HDF5) and importers. The only module that touches h5py or scipy.io.

Layout, version 2 (documented in docs/observations.md; version 1 files, which lack what is
marked "v2", still load)::

    /                      attrs: format="pdeinv-observations", version=2, equation,
                                  domain (2,), t_span (2,),
                                  equation_source (v2, optional: module:Class of a user equation)
    /initial_condition/u0  (m,) samples on linspace(a, b, m, endpoint=False); attr description
    /initial_condition/u0_imag   (v2) imaginary part of a complex u0
    /observations          attr layout = "points" | "grid", observable = "value" | "abs" (v2)
        t, x, u            points: (P,) each;  grid: t (nt,), x (nx,), u (nt, nx)
        u_imag             (v2) imaginary part of complex observations, shape of u
        sigma              optional, same shape as u
    /parameters/fixed      attrs name -> value (known parameters)
    /parameters/true       attrs name -> value (only when known); a parameter that varied in
                           x is a dataset name (m,) of samples on linspace(a, b, m, endpoint=False)
    /metadata              attr json: provenance as a JSON object

Every problem with a file raises ``ObservationError`` whose message starts with the file name.
Writes go to a temporary file in the same folder and are renamed into place, so a failed or
interrupted write never leaves a partial file.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from .problems.observations import ObservationError, Observations
from .result import FitResult

FORMAT = "pdeinv-observations"
VERSION = 2
#: Observation-file versions this pdeinv reads.
READABLE_VERSIONS = (1, 2)
#: HDF5 file-format features of HDF5 1.8: its metadata blocks carry checksums, so a damaged file
#: is reported by the library instead of being parsed (corrupted metadata in the older format can
#: crash the HDF5 library itself). Readable by any HDF5 >= 1.8 (2008).
LIBVER = ("v108", "v108")

__all__ = [
    "FORMAT",
    "VERSION",
    "ObservationError",
    "PeriodicGrid",
    "atomic_path",
    "import_arrays",
    "import_pdebench",
    "import_raissi",
    "load_observations",
    "load_checkpoint",
    "load_result",
    "periodic_grid",
    "save_checkpoint",
    "save_observations",
    "save_result",
]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``.

    Refuses an existing ``path`` unless ``overwrite``. On any error the temporary file is
    removed and ``path`` is untouched.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True (CLI: --force) to replace it")
    if not path.parent.exists():
        raise FileNotFoundError(f"folder {path.parent} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp creates 0600; give the result the permissions a plain open() would.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def save_observations(obs: Observations, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write ``obs`` to ``path`` atomically (refusing to overwrite unless asked)."""
    import h5py

    path = Path(path)
    with atomic_path(path, overwrite=overwrite) as tmp, h5py.File(tmp, "w", libver=LIBVER) as f:
        write_observations_group(f, obs)
    return path


def write_observations_group(f, obs: Observations) -> None:
    """Write ``obs`` into an open h5py file or group (layout version 2)."""
    f.attrs["format"] = FORMAT
    f.attrs["version"] = VERSION
    f.attrs["equation"] = obs.equation
    cls = obs.equation_class
    if not cls.__module__.startswith("pdeinv."):
        f.attrs["equation_source"] = f"{cls.__module__}:{cls.__qualname__}"
    f.attrs["domain"] = np.asarray(obs.domain)
    f.attrs["t_span"] = np.asarray(obs.t_span)
    ic = f.create_group("initial_condition")
    _write_real_imag(ic, "u0", obs.u0)
    ic.attrs["description"] = obs.u0_description
    g = f.create_group("observations")
    g.attrs["observable"] = obs.observable
    if obs.grid_shape is not None:
        nt, nx = obs.grid_shape
        g.attrs["layout"] = "grid"
        g.create_dataset("t", data=obs.t.reshape(nt, nx)[:, 0])
        g.create_dataset("x", data=obs.x.reshape(nt, nx)[0, :])
        _write_real_imag(g, "u", obs.u.reshape(nt, nx))
        if obs.sigma is not None:
            g.create_dataset("sigma", data=obs.sigma.reshape(nt, nx))
    else:
        g.attrs["layout"] = "points"
        for name in ("t", "x"):
            g.create_dataset(name, data=getattr(obs, name))
        _write_real_imag(g, "u", obs.u)
        if obs.sigma is not None:
            g.create_dataset("sigma", data=obs.sigma)
    params = f.create_group("parameters")
    fixed = params.create_group("fixed")
    for k, v in obs.fixed_params.items():
        fixed.attrs[k] = v
    if obs.true_params is not None or obs.true_fields:
        true = params.create_group("true")
        for k, v in (obs.true_params or {}).items():
            true.attrs[k] = v
        for k, v in obs.true_fields.items():
            true.create_dataset(k, data=v)
    meta = f.create_group("metadata")
    meta.attrs["json"] = json.dumps(dict(obs.metadata), default=str)


def _write_real_imag(group, name: str, values: np.ndarray) -> None:
    """``name`` holds the real part; complex values add ``name_imag`` (plain float datasets
    that any HDF5 reader understands, unlike compound complex types)."""
    group.create_dataset(name, data=np.real(values))
    if np.iscomplexobj(values):
        group.create_dataset(f"{name}_imag", data=np.imag(values))


def _read_real_imag(group, name: str, where: str, ndim: int | None = None) -> np.ndarray:
    values = _read_array(group, name, where, ndim)
    if f"{name}_imag" in group:
        imag = _read_array(group, f"{name}_imag", where, ndim)
        if imag.shape != values.shape:
            raise ObservationError(f"{where}/{name}_imag must have the shape of {name} {values.shape}, got {imag.shape}")
        values = values + 1j * imag
    return values


def _read_array(group, name: str, where: str, ndim: int | None = None) -> np.ndarray:
    if name not in group:
        raise ObservationError(f"missing dataset {where}/{name}")
    node = group[name]
    if not hasattr(node, "shape") or not hasattr(node, "dtype"):
        raise ObservationError(f"{where}/{name} is not a dataset")
    if node.dtype.kind not in "fiu":
        raise ObservationError(f"{where}/{name} must be numeric, got dtype {node.dtype}")
    data = np.asarray(node[()], dtype=float)
    if ndim is not None and data.ndim != ndim:
        raise ObservationError(f"{where}/{name} must be {ndim}-D, got shape {data.shape}")
    if not np.all(np.isfinite(data)):
        raise ObservationError(f"{where}/{name} contains NaN or inf")
    return data


def _attr(node, name: str, where: str):
    if name not in node.attrs:
        raise ObservationError(f"missing attribute {name!r} on {where}")
    value = node.attrs[name]
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    return value


@contextlib.contextmanager
def _reading(path, what: str, fmt: str | None = None, version: int | None = None):
    """Open a pdeinv HDF5 file for reading; every problem becomes one ``ObservationError`` line.

    Checks that the file exists and is HDF5, and (when given) its root ``format`` and
    ``version`` attributes. Errors raised while the caller reads are prefixed with the path;
    anything else h5py raises on a damaged file is reported as such.
    """
    import h5py

    path = Path(path)
    if not path.exists():
        raise ObservationError(f"{path}: no such file")
    if path.is_dir():
        raise ObservationError(f"{path}: is a folder, not a {what}")
    if not h5py.is_hdf5(path):
        raise ObservationError(f"{path}: not an HDF5 file")
    try:
        with h5py.File(path, "r") as f:
            if fmt is not None:
                found = _attr(f, "format", "/")
                if found != fmt:
                    raise ObservationError(f"not a pdeinv {what} (format {found!r}, expected {fmt!r})")
                found_version = int(np.asarray(_attr(f, "version", "/")).reshape(()))
                if found_version != version:
                    raise ObservationError(f"unsupported {what} version {found_version} (this pdeinv reads version {version})")
            yield f
    except ObservationError as err:
        raise ObservationError(f"{path}: {err}") from None
    except Exception as err:  # a damaged file can fail inside h5py in many ways
        detail = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ObservationError(f"{path}: unreadable or damaged {what} ({detail})") from None


def _params(f, name: str) -> dict | None:
    where = f"/parameters/{name}"
    if "parameters" not in f or name not in f["parameters"]:
        return None
    out = {}
    for k, v in f["parameters"][name].attrs.items():
        try:
            out[k] = float(np.asarray(v).reshape(()))
        except (TypeError, ValueError):
            raise ObservationError(f"{where}: parameter {k} must be a number") from None
    return out


def _fields(f, name: str) -> dict:
    if "parameters" not in f or name not in f["parameters"]:
        return {}
    group = f["parameters"][name]
    if not hasattr(group, "keys"):
        raise ObservationError(f"/parameters/{name} must be a group")
    return {k: _read_array(group, k, f"/parameters/{name}", ndim=1) for k in group.keys()}


def load_observations(path: str | os.PathLike) -> Observations:
    """Read and validate an observation file; raises ``ObservationError`` on any problem."""
    with _reading(path, "observation file") as f:
        return _read(f)


def _read(f) -> Observations:
    fmt = _attr(f, "format", "/")
    if fmt != FORMAT:
        raise ObservationError(f"not a pdeinv observation file (format {fmt!r}, expected {FORMAT!r})")
    version = _attr(f, "version", "/")
    try:
        version = int(np.asarray(version).reshape(()))
    except (TypeError, ValueError):
        raise ObservationError(f"format version must be an integer, got {version!r}") from None
    if version not in READABLE_VERSIONS:
        raise ObservationError(f"unsupported format version {version} (this pdeinv reads versions "
                               f"{', '.join(map(str, READABLE_VERSIONS))})")
    equation = str(_attr(f, "equation", "/"))
    source = f.attrs.get("equation_source")
    source = source.decode() if isinstance(source, bytes) else source
    try:
        from .equations import get_equation

        get_equation(equation)
    except ValueError:
        where = f" (defined in {source}; make it available with --plugin {source} or PDEINV_EQUATIONS={source})" \
            if source else ""
        raise ObservationError(f"unknown equation {equation!r}{where}") from None
    domain = np.asarray(_attr(f, "domain", "/"), dtype=float)
    t_span = np.asarray(_attr(f, "t_span", "/"), dtype=float)
    if "initial_condition" not in f:
        raise ObservationError("missing group /initial_condition")
    u0 = _read_real_imag(f["initial_condition"], "u0", "/initial_condition", ndim=1)
    description = str(f["initial_condition"].attrs.get("description", ""))
    if "observations" not in f:
        raise ObservationError("missing group /observations")
    g = f["observations"]
    layout = str(_attr(g, "layout", "/observations"))
    observable = g.attrs.get("observable", "value")
    common = dict(
        observable=observable.decode() if isinstance(observable, bytes) else str(observable),
        u0=u0,
        domain=tuple(domain.ravel()) if domain.size == 2 else domain,
        t_span=tuple(t_span.ravel()) if t_span.size == 2 else t_span,
        fixed_params=_params(f, "fixed") or {},
        true_params=_params(f, "true"),
        true_fields=_fields(f, "true"),
        u0_description=description,
        metadata=_metadata(f),
    )
    if layout == "grid":
        t = _read_array(g, "t", "/observations", ndim=1)
        x = _read_array(g, "x", "/observations", ndim=1)
        u = _read_real_imag(g, "u", "/observations", ndim=2)
        sigma = _read_array(g, "sigma", "/observations", ndim=2).ravel() if "sigma" in g else None
        if sigma is not None and sigma.size != u.size:
            raise ObservationError(f"/observations/sigma must have the shape of u {u.shape}")
        return Observations.from_grid(equation, t, x, u, sigma=sigma, **common)
    if layout == "points":
        t = _read_array(g, "t", "/observations", ndim=1)
        x = _read_array(g, "x", "/observations", ndim=1)
        u = _read_real_imag(g, "u", "/observations", ndim=1)
        sigma = _read_array(g, "sigma", "/observations", ndim=1) if "sigma" in g else None
        return Observations(equation, t, x, u, sigma=sigma, **common)
    raise ObservationError(f"/observations layout must be 'points' or 'grid', got {layout!r}")


def _metadata(f) -> dict:
    if "metadata" not in f or "json" not in f["metadata"].attrs:
        return {}
    text = f["metadata"].attrs["json"]
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    try:
        value = json.loads(str(text))
    except json.JSONDecodeError:
        raise ObservationError("/metadata json attribute is not valid JSON") from None
    if not isinstance(value, dict):
        raise ObservationError("/metadata json attribute must be a JSON object")
    return value


# ---- importers ----------------------------------------------------------------------------


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
    common = dict(u0=initial, domain=grid.domain, t_span=(start, float(t[-1])), u0_description=described)
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


def _initial_condition(t, field, grid: PeriodicGrid, u0, t0, where: Path) -> tuple[float, np.ndarray, str, str]:
    """``(t0, u0 samples, description, metadata note)``: the first row at t[0] unless u0 is given."""
    if u0 is None:
        if t.size < 2:
            raise ObservationError(f"{where}: need at least two times (the first is the initial condition)")
        if t0 is not None and t0 != t[0]:
            raise ObservationError(f"{where}: t0 = {t0:g} without u0; the initial condition is the first row, at t = {t[0]:g}")
        return float(t[0]), field[0], f"samples at t={t[0]:g} from {where.name}", f"first time row (t = {t[0]:g})"
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
    t, x, u : variable names in the file; t and x vectors, u a matrix.
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



def load_any(path) -> tuple[str, dict]:
    """Identify a pdeinv file and summarise it: ``("observations" | "fit result", summary)``."""
    import h5py

    path = Path(path)
    fmt = None
    if path.is_file() and h5py.is_hdf5(path):
        try:
            with h5py.File(path, "r") as f:
                fmt = f.attrs.get("format")
        except Exception:
            fmt = None
    if isinstance(fmt, bytes):
        fmt = fmt.decode("utf-8", errors="replace")
    if fmt == RESULT_FORMAT:
        return "fit result", load_result(path)[0].summary()
    return "observations", load_observations(path).summary()


# ---- fit results ------------------------------------------------------------------------------

RESULT_FORMAT = "pdeinv-fit-result"
RESULT_VERSION = 1


def save_result(result, observations: Observations, path, *, overwrite: bool = False) -> Path:
    """Write a FitResult and the observations it was fitted to (enough to re-plot) atomically.

    Layout: root attrs ``format="pdeinv-fit-result"``, ``version=1``, ``summary`` (JSON of
    the scalar fields and parameters), ``settings`` (JSON); ``/history`` datasets ``nfev``,
    ``loss``, ``phase`` and ``params/NAME``; ``/observations_file`` an observation group in
    the observation-file layout.
    """
    import h5py

    path = Path(path)
    with atomic_path(path, overwrite=overwrite) as tmp, h5py.File(tmp, "w", libver=LIBVER) as f:
        f.attrs["format"] = RESULT_FORMAT
        f.attrs["version"] = RESULT_VERSION
        f.attrs["result"] = json.dumps(
            {
                "equation": result.equation,
                "params": result.params,
                "status": result.status,
                "success": result.success,
                "message": result.message,
                "nfev": result.nfev,
                "evaluations": result.evaluations,
                "nit": result.nit,
                "loss": result.loss,
                "grid": result.grid,
                "wall_time": result.wall_time,
                "seed": result.seed,
                "true_params": result.true_params,
                "known_params": result.known_params,
            },
            default=float,
        )
        f.attrs["settings"] = json.dumps(result.settings, default=str)
        h = f.create_group("history")
        h.create_dataset("nfev", data=np.asarray(result.history["nfev"], dtype=np.int64))
        h.create_dataset("loss", data=np.asarray(result.history["loss"], dtype=float))
        h.create_dataset("phase", data=np.asarray(result.history["phase"], dtype="S16"))
        hp = h.create_group("params")
        for name, values in result.history["params"].items():
            hp.create_dataset(name, data=np.asarray(values, dtype=float))
        write_observations_group(f.create_group("observations_file"), observations)
    return path


def load_result(path):
    """Read a fit result file: ``(FitResult, Observations)``; ``ObservationError`` if bad."""
    path = Path(path)
    with _reading(path, "fit result file", RESULT_FORMAT, RESULT_VERSION) as f:
        data = json.loads(str(_attr(f, "result", "/")))
        settings = json.loads(str(_attr(f, "settings", "/")))
        if not isinstance(data, dict) or not isinstance(settings, dict):
            raise ObservationError("result and settings attributes must be JSON objects")
        if "history" not in f or "observations_file" not in f:
            raise ObservationError("missing group /history or /observations_file")
        h = f["history"]
        history = {
            "nfev": _read_array(h, "nfev", "/history", ndim=1).astype(int).tolist(),
            "loss": np.asarray(h["loss"][()], dtype=float).tolist() if "loss" in h else [],
            "phase": [p.decode() if isinstance(p, bytes) else str(p) for p in h["phase"][()]] if "phase" in h else [],
            "params": {k: np.asarray(v[()], dtype=float).tolist() for k, v in h["params"].items()} if "params" in h else {},
        }
        observations = _read(f["observations_file"])
        required = ("equation", "params", "success", "message", "nfev", "nit", "loss", "grid", "wall_time", "seed")
        missing = [k for k in required if k not in data]
        if missing:
            raise ObservationError(f"result attribute lacks {missing}")
        params = {str(k): float(v) for k, v in dict(data["params"]).items()}
        result = FitResult(
            params=params,
            success=bool(data["success"]),
            message=str(data["message"]),
            nfev=int(data["nfev"]),
            nit=int(data["nit"]),
            loss=float(data["loss"]) if data["loss"] is not None else float("nan"),
            history=history,
            grid=dict(data["grid"]),
            wall_time=float(data["wall_time"]),
            seed=int(data["seed"]),
            settings=settings,
            equation=str(data["equation"]),
            true_params=data.get("true_params"),
            known_params=dict(data.get("known_params") or {}),
            status=str(data.get("status", "")),
            evaluations=data.get("evaluations"),
        )
        return result, observations


# ---- checkpoints --------------------------------------------------------------------------------

CHECKPOINT_FORMAT = "pdeinv-checkpoint"
#: Version 2: the state of a composed solver (step-rule state, the run's evaluation counts).
CHECKPOINT_VERSION = 2


def _encode(obj, arrays: dict):
    """JSON-able copy of ``obj`` with every array moved into ``arrays`` (exact round trip)."""
    if hasattr(obj, "shape") and hasattr(obj, "dtype"):
        key = f"a{len(arrays)}"
        arrays[key] = np.asarray(obj)
        return {"__array__": key}
    if isinstance(obj, dict):
        return {str(k): _encode(v, arrays) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_encode(v, arrays) for v in obj]
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    return obj


def _decode(obj, arrays):
    if isinstance(obj, dict):
        if set(obj) == {"__array__"}:
            key = obj["__array__"]
            if key not in arrays:
                raise ObservationError(f"checkpoint refers to a missing array {key!r}")
            return np.asarray(arrays[key][()])
        return {k: _decode(v, arrays) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode(v, arrays) for v in obj]
    return obj


def save_checkpoint(state: dict, observations: Observations, path) -> Path:
    """Write a fit state (see ``pdeinv.fit``) and its observations atomically, replacing any
    previous checkpoint at ``path``."""
    import h5py

    path = Path(path)
    arrays: dict = {}
    encoded = json.dumps(_encode(state, arrays), allow_nan=True)
    with atomic_path(path, overwrite=True) as tmp, h5py.File(tmp, "w", libver=LIBVER) as f:
        f.attrs["format"] = CHECKPOINT_FORMAT
        f.attrs["version"] = CHECKPOINT_VERSION
        # A dataset, not an attribute: long histories exceed the 64 KiB attribute limit.
        f.create_dataset("state", data=encoded, dtype=h5py.string_dtype())
        g = f.create_group("arrays")
        for key, value in arrays.items():
            g.create_dataset(key, data=value)
        write_observations_group(f.create_group("observations_file"), observations)
    return path


def load_checkpoint(path) -> dict:
    """Read and validate a checkpoint: the state dict, with ``observations`` added."""
    with _reading(path, "checkpoint", CHECKPOINT_FORMAT, CHECKPOINT_VERSION) as f:
        if "state" not in f or "arrays" not in f or "observations_file" not in f:
            raise ObservationError("missing state, arrays or observations_file")
        text = f["state"][()]
        text = text.decode("utf-8") if isinstance(text, bytes) else str(text)
        state = _decode(json.loads(text), f["arrays"])
        observations = _read(f["observations_file"])
    required = ("options", "stage", "z", "local", "nit", "rng", "grid", "evaluator", "history", "best")
    if not isinstance(state, dict) or any(k not in state for k in required):
        raise ObservationError(f"{path}: checkpoint state lacks one of {list(required)}")
    if state["stage"] not in ("start", "local", "grid", "done"):
        raise ObservationError(f"{path}: checkpoint stage {state['stage']!r} is not a fit stage")
    state["observations"] = observations
    return state
