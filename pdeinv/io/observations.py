"""Observation files (format ``pdeinv-observations``, see docs/observations.md)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ..equations.registry import is_builtin
from ..problems.observations import ObservationError, Observations
from .h5 import LIBVER, _attr, _read_array, _read_real_imag, _reading, _write_real_imag, atomic_path

__all__ = ["FORMAT", "READABLE_VERSIONS", "VERSION", "load_observations", "save_observations",
           "write_observations_group"]

FORMAT = "pdeinv-observations"
VERSION = 4
#: Observation-file versions this pdeinv reads (4 added the component of each point, for systems).
READABLE_VERSIONS = (1, 2, 3, 4)


def save_observations(obs: Observations, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write ``obs`` to ``path`` atomically (refusing to overwrite unless asked)."""
    import h5py

    path = Path(path)
    with atomic_path(path, overwrite=overwrite) as tmp, h5py.File(tmp, "w", libver=LIBVER) as f:
        write_observations_group(f, obs)
    return path


def write_observations_group(f, obs: Observations) -> None:
    """Write ``obs`` into an open h5py file or group (layout version 4)."""
    f.attrs["format"] = FORMAT
    f.attrs["version"] = VERSION
    f.attrs["equation"] = obs.equation
    cls = obs.equation_class
    if not is_builtin(cls):
        f.attrs["equation_source"] = f"{cls.__module__}:{cls.__qualname__}"
    f.attrs["domain"] = np.asarray(obs.domain)
    f.attrs["t_span"] = np.asarray(obs.t_span)
    ic = f.create_group("initial_condition")
    if obs.u0 is not None:
        _write_real_imag(ic, "u0", obs.u0)
    ic.attrs["description"] = obs.u0_description
    ic.attrs["kind"] = "none" if obs.u0 is None else ("measured" if obs.u0_measured else "exact")
    if obs.u0_sigma is not None:
        ic.attrs["sigma"] = obs.u0_sigma
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
        if obs.component is not None:
            g.create_dataset("component", data=obs.component.astype(np.int32))
            g["component"].attrs["names"] = json.dumps(list(obs.equation_class.components))
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


def _fields(f, name: str, system: bool = False) -> dict:
    if "parameters" not in f or name not in f["parameters"]:
        return {}
    group = f["parameters"][name]
    if not hasattr(group, "keys"):
        raise ObservationError(f"/parameters/{name} must be a group")
    return {k: _read_array(group, k, f"/parameters/{name}", ndim=2 if k == "u0" and system else 1) for k in group.keys()}


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
        from ..equations import get_equation

        get_equation(equation)
    except ValueError:
        where = f" (defined in {source}; make it available with --plugin {source} or PDEINV_EQUATIONS={source})" \
            if source else ""
        raise ObservationError(f"unknown equation {equation!r}{where}") from None
    domain = np.asarray(_attr(f, "domain", "/"), dtype=float)
    t_span = np.asarray(_attr(f, "t_span", "/"), dtype=float)
    if "initial_condition" not in f:
        raise ObservationError("missing group /initial_condition")
    ic = f["initial_condition"]
    kind = ic.attrs.get("kind", "exact")
    kind = kind.decode() if isinstance(kind, bytes) else str(kind)
    if kind not in ("exact", "measured", "none"):
        raise ObservationError(f"/initial_condition kind must be 'exact', 'measured' or 'none', got {kind!r}")
    from ..equations import get_equation

    system = bool(get_equation(equation).components)
    u0 = None if kind == "none" else _read_real_imag(ic, "u0", "/initial_condition", ndim=2 if system else 1)
    u0_sigma = ic.attrs.get("sigma")
    if u0_sigma is not None:
        try:
            u0_sigma = float(np.asarray(u0_sigma).reshape(()))
        except (TypeError, ValueError):
            raise ObservationError("/initial_condition sigma must be a number") from None
    description = str(ic.attrs.get("description", ""))
    if "observations" not in f:
        raise ObservationError("missing group /observations")
    g = f["observations"]
    layout = str(_attr(g, "layout", "/observations"))
    observable = g.attrs.get("observable", "value")
    common = dict(
        observable=observable.decode() if isinstance(observable, bytes) else str(observable),
        u0=u0,
        u0_measured=kind == "measured",
        u0_sigma=u0_sigma,
        domain=tuple(domain.ravel()) if domain.size == 2 else domain,
        t_span=tuple(t_span.ravel()) if t_span.size == 2 else t_span,
        fixed_params=_params(f, "fixed") or {},
        true_params=_params(f, "true"),
        true_fields=_fields(f, "true", system),
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
        component = _components(g, get_equation(equation)) if "component" in g else None
        return Observations(equation, t, x, u, sigma=sigma, component=component, **common)
    raise ObservationError(f"/observations layout must be 'points' or 'grid', got {layout!r}")


def _components(g, cls) -> np.ndarray:
    """The component of each point, as names (checked against the equation's by ``Observations``)."""
    index = _read_array(g, "component", "/observations", ndim=1)
    names = g["component"].attrs.get("names")
    try:
        names = json.loads(names.decode() if isinstance(names, bytes) else str(names))
    except (TypeError, json.JSONDecodeError):
        raise ObservationError("/observations/component needs a 'names' attribute (a JSON list of component "
                               "names)") from None
    if not isinstance(names, list) or not names or np.any(index != np.round(index)) or \
            np.any(index < 0) or np.any(index >= len(names)):
        raise ObservationError(f"/observations/component must hold indices into its names {names}")
    return np.asarray([str(v) for v in names])[index.astype(int)]


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
