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
    "atomic_path",
    "import_pdebench",
    "import_raissi",
    "load_observations",
    "load_checkpoint",
    "load_result",
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


def _periodic_grid(x: np.ndarray, what: str) -> tuple[np.ndarray, tuple[float, float], np.ndarray]:
    """Detect a uniform periodic grid; drop a duplicated endpoint. Returns (x, domain, keep)."""
    if x.ndim != 1 or x.size < 4:
        raise ObservationError(f"{what}: x must be a 1-D grid with at least 4 points")
    dx = np.diff(x)
    if np.any(dx <= 0) or np.ptp(dx) > 1e-6 * np.abs(dx).mean():
        raise ObservationError(f"{what}: x must be a uniform increasing grid")
    keep = np.ones(x.size, dtype=bool)
    # linspace(a, b, m) with both ends: the period is b - a and x = b duplicates x = a.
    keep[-1] = False
    domain = (float(x[0]), float(x[-1]))
    return x[keep], domain, keep


def import_raissi(path, equation: str, *, points: int | None = None, seed: int = 0) -> Observations:
    """Read a PINN-paper ``.mat`` data set (``x``, ``t``/``tt``, ``usol``/``uu``).

    ``x`` is taken to include both periodic endpoints (as in those files); the duplicate
    endpoint is dropped. ``usol[i, j] = u(t[j], x[i])``. The first time row is the initial
    condition; with ``points`` the remaining rows are subsampled at random (seeded), otherwise
    they are kept as a full grid.
    """
    from scipy.io import loadmat

    path = Path(path)
    if not path.exists():
        raise ObservationError(f"{path}: no such file")
    try:
        data = loadmat(path)
    except Exception as err:
        raise ObservationError(f"{path}: not a readable MATLAB file ({err})") from None

    def pick(*names):
        for name in names:
            if name in data:
                return np.asarray(data[name], dtype=float)
        raise ObservationError(f"{path}: missing variable {' or '.join(names)}")

    x = pick("x").ravel()
    t = pick("t", "tt").ravel()
    usol = pick("usol", "uu")
    if usol.shape != (x.size, t.size):
        raise ObservationError(f"{path}: usol must have shape (len(x), len(t)) = {(x.size, t.size)}, got {usol.shape}")
    if not np.all(np.isfinite(usol)):
        raise ObservationError(f"{path}: usol contains NaN or inf")
    x_kept, domain, keep = _periodic_grid(x, str(path))
    field = usol[keep, :].T  # (nt, nx)
    if np.any(np.diff(t) <= 0):
        raise ObservationError(f"{path}: t must be increasing")
    t_span = (float(t[0]), float(t[-1]))
    common = dict(
        u0=field[0],
        domain=domain,
        t_span=t_span,
        u0_description=f"samples at t={t[0]:g} from {path.name}",
        metadata={"source": f"raissi:{path.name}"},
    )
    if points is None:
        return Observations.from_grid(equation, t[1:], x_kept, field[1:], **common)
    later = field[1:]
    tt, xx = np.meshgrid(t[1:], x_kept, indexing="ij")
    chosen = _subsample(points, later.size, seed)
    meta = {"source": f"raissi:{path.name}", "subsample_points": points, "seed": seed}
    return Observations(
        equation, tt.ravel()[chosen], xx.ravel()[chosen], later.ravel()[chosen], **{**common, "metadata": meta}
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
                "success": result.success,
                "message": result.message,
                "nfev": result.nfev,
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
        )
        return result, observations


# ---- checkpoints --------------------------------------------------------------------------------

CHECKPOINT_FORMAT = "pdeinv-checkpoint"


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
        f.attrs["version"] = int(state.get("version", 1))
        # A dataset, not an attribute: long histories exceed the 64 KiB attribute limit.
        f.create_dataset("state", data=encoded, dtype=h5py.string_dtype())
        g = f.create_group("arrays")
        for key, value in arrays.items():
            g.create_dataset(key, data=value)
        write_observations_group(f.create_group("observations_file"), observations)
    return path


def load_checkpoint(path) -> dict:
    """Read and validate a checkpoint: the state dict, with ``observations`` added."""
    from .fit import CHECKPOINT_VERSION

    with _reading(path, "checkpoint", CHECKPOINT_FORMAT, CHECKPOINT_VERSION) as f:
        if "state" not in f or "arrays" not in f or "observations_file" not in f:
            raise ObservationError("missing state, arrays or observations_file")
        text = f["state"][()]
        text = text.decode("utf-8") if isinstance(text, bytes) else str(text)
        state = _decode(json.loads(text), f["arrays"])
        observations = _read(f["observations_file"])
    required = ("options", "stage", "z", "local", "nit", "rng", "grid", "nfev", "history", "best")
    if not isinstance(state, dict) or any(k not in state for k in required):
        raise ObservationError(f"{path}: checkpoint state lacks one of {list(required)}")
    if state["stage"] not in ("start", "local", "grid", "done"):
        raise ObservationError(f"{path}: checkpoint stage {state['stage']!r} is not a fit stage")
    state["observations"] = observations
    return state
