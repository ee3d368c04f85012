"""Observations: a validated, immutable set of measurements of u(t, x) for one equation."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

import numpy as np

from ..equations import get_equation

__all__ = ["Observations", "ObservationError"]


class ObservationError(ValueError):
    """Observations (in memory or in a file) are inconsistent or unreadable.

    The message is one line that names the problem (and the file, when there is one).
    """


def _frozen(array, name: str, shape=None, complex_ok: bool = False) -> np.ndarray:
    try:
        out = np.array(array)
        is_complex = np.iscomplexobj(out)
        out = out.astype(complex if is_complex else float)
    except (TypeError, ValueError):
        raise ObservationError(f"{name} must be numeric") from None
    if is_complex and not complex_ok:
        raise ObservationError(f"{name} is complex, but this equation's state is real")
    if shape is not None and out.shape != shape:
        raise ObservationError(f"{name} must have shape {shape}, got {out.shape}")
    if not np.all(np.isfinite(out)):
        raise ObservationError(f"{name} contains NaN or inf")
    out.setflags(write=False)
    return out


def _param_dict(values: Mapping[str, float] | None, equation: str, what: str):
    if values is None:
        return None
    cls = _equation(equation)
    out = {}
    for key, value in dict(values).items():
        if key not in cls.param_names:
            raise ObservationError(
                f"unknown {what} parameter {key!r} for {equation}; expected {list(cls.param_names)}"
            )
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise ObservationError(f"{what} parameter {key} must be a number, got {value!r}") from None
        if not np.isfinite(v):
            raise ObservationError(f"{what} parameter {key} must be finite, got {v}")
        if key in cls.positive and v <= 0:
            raise ObservationError(f"{what} parameter {key} must be positive, got {v}")
        out[key] = v
    return MappingProxyType(out)


def _field_dict(values: Mapping[str, np.ndarray] | None, equation: str):
    if not values:
        return MappingProxyType({})
    cls = _equation(equation)
    out = {}
    for key, samples in dict(values).items():
        if key == "u0":  # the true initial condition behind a noisy snapshot
            arr = _frozen(samples, "true u0", complex_ok=cls.complex_state)
            if arr.ndim != 1 + bool(cls.components) or arr.shape[-1] < 4:
                raise ObservationError(f"true u0 must be 1-D samples with at least 4 points, got shape {arr.shape}")
            out[key] = arr
            continue
        if key not in cls.field_params:
            raise ObservationError(
                f"{key!r} cannot be a field for {equation}; fields: {list(cls.field_params) or 'none'}"
            )
        arr = _frozen(samples, f"true field {key}")
        if arr.ndim != 1 or arr.size < 4:
            raise ObservationError(f"true field {key} must be 1-D samples with at least 4 points, got shape {arr.shape}")
        if key in cls.positive and np.any(arr <= 0):
            raise ObservationError(f"true field {key} must be positive")
        out[key] = arr
    return MappingProxyType(out)


def _equation(spec):
    try:
        return get_equation(spec)
    except ValueError as err:
        raise ObservationError(str(err)) from None


#: What the values ``u`` measure: the field itself, or its modulus |u| (e.g. |h| of NLS).
OBSERVABLES = ("value", "abs")


@dataclass(frozen=True)
class Observations:
    """Point observations ``u[j] ~ u(t[j], x[j])`` of a solution of ``equation``.

    Attributes
    ----------
    equation : str
        The equation's registered name (``burgers``, ``kdv``, a user's equation...); an alias,
        a ``module:ClassName`` reference or the class itself are accepted and stored by name.
    t, x, u : arrays (P,)
        Observation times, positions and values (complex for an equation with a complex
        state, unless ``observable="abs"``).
    u0 : array (m,) or None
        Initial condition sampled on the equation's basis nodes for ``m`` points (periodic:
        ``linspace(a, b, m, endpoint=False)``; a system: ``(C, m)``, a row per component); None when the data
        hold no snapshot at the initial time (sensors that start later): a fit then estimates
        u0 from the later data.
    u0_measured : bool
        True when ``u0`` is a measured snapshot (the first time row of the data), with noise like
        every other measurement, rather than a known truth (default False: exact). A fit then
        estimates u0 jointly with the parameters when that noise matters (see
        ``pdeinv.problems.initial``).
    u0_sigma : float or None
        Noise standard deviation of a measured snapshot's samples, when known.
    domain, t_span : (float, float)
        The interval of x (periodic for a Fourier equation) and of t (default: the equation's).
    observable : ``"value"`` (default) or ``"abs"``
        What ``u`` measures: the field, or its modulus ``|u|`` (real; noisy values may dip
        below 0).
    sigma : array (P,) or None
        Noise standard deviation per point, when known; residuals are divided by it.
    fixed_params : mapping
        Known parameter values (those not fitted fall back to the equation defaults).
    true_params : mapping or None
        The parameters that generated the data, when known (synthetic data).
    true_fields : mapping
        Parameters that varied in x when the data were generated (e.g. Allen-Cahn ``D``), as
        samples on the basis nodes (as ``u0``); such a name is not in ``true_params``.
        ``"u0"``: the true initial condition, when ``u0`` is a noisy snapshot of it (synthetic
        data).
    grid_shape : (nt, nx) or None
        Set when the points form a full t-by-x grid (stored as such in files).
    component : array (P,) of int or None
        For a system of several fields (an equation with ``components``, e.g. ``("A", "B")``): the
        component each point measures, as an index into the equation's components (names are
        accepted and converted). None for an equation of one field; required for a system.
    u0_description, metadata : free text and a small dict of provenance.
    """

    equation: str
    t: np.ndarray
    x: np.ndarray
    u: np.ndarray
    u0: np.ndarray
    domain: tuple[float, float] | None = None
    t_span: tuple[float, float] | None = None
    sigma: np.ndarray | None = None
    fixed_params: Mapping[str, float] = field(default_factory=dict)
    true_params: Mapping[str, float] | None = None
    true_fields: Mapping[str, np.ndarray] = field(default_factory=dict)
    grid_shape: tuple[int, int] | None = None
    u0_description: str = ""
    metadata: Mapping[str, object] = field(default_factory=dict)
    observable: str = "value"
    u0_measured: bool = False
    u0_sigma: float | None = None
    component: np.ndarray | None = None

    def __post_init__(self):
        cls = _equation(self.equation)
        set_ = lambda name, value: object.__setattr__(self, name, value)
        set_("equation", cls.name)
        if self.observable not in OBSERVABLES:
            raise ObservationError(f"observable must be one of {OBSERVABLES}, got {self.observable!r}")
        t = _frozen(self.t, "t").ravel()
        set_("t", t)
        set_("x", _frozen(self.x, "x", t.shape))
        set_("u", _frozen(self.u, "u", t.shape, complex_ok=cls.complex_state and self.observable == "value"))
        if t.size == 0:
            raise ObservationError("there are no observation points")
        names = tuple(cls.components)
        if self.component is not None or names:
            if self.component is None:
                raise ObservationError(f"{cls.name} is a system of {', '.join(names)}: the observations must say which "
                                       "component each point measures")
            raw = np.array(self.component).ravel()
            if raw.shape != t.shape:
                raise ObservationError(f"component must give one per point ({t.size}), got {raw.size}")
            try:
                raw = cls.component_indices(raw)
            except ValueError as err:
                raise ObservationError(str(err)) from None
            raw.setflags(write=False)
            set_("component", raw)
            if self.grid_shape is not None:
                raise ObservationError("observations of a system are stored as points (with a component each), not as "
                                       "a grid")
        if self.domain is None:
            set_("domain", cls.default_domain)
        if self.t_span is None:
            set_("t_span", cls.default_t_span)
        if self.u0 is not None:
            u0 = _frozen(self.u0, "u0", complex_ok=cls.complex_state)
            if names:
                if u0.ndim != 2 or u0.shape[0] != len(names) or u0.shape[1] < 4:
                    raise ObservationError(f"u0 of the system {cls.name} must have a row of at least 4 samples per "
                                           f"component ({', '.join(names)}), got shape {u0.shape}")
            elif u0.ndim != 1 or u0.size < 4:
                raise ObservationError(f"u0 must be 1-D samples with at least 4 points, got shape {u0.shape}")
            set_("u0", u0)
        set_("u0_measured", bool(self.u0_measured) and self.u0 is not None)
        if self.u0_sigma is not None:
            try:
                u0_sigma = float(self.u0_sigma)
            except (TypeError, ValueError):
                raise ObservationError(f"u0_sigma must be a number, got {self.u0_sigma!r}") from None
            if not (np.isfinite(u0_sigma) and u0_sigma >= 0):
                raise ObservationError(f"u0_sigma must be a non-negative number, got {self.u0_sigma!r}")
            if not self.u0_measured:
                raise ObservationError("u0_sigma is the noise of a measured snapshot: give u0_measured=True too")
            set_("u0_sigma", u0_sigma)
        domain = tuple(_frozen(self.domain, "domain", (2,)).tolist())
        t_span = tuple(_frozen(self.t_span, "t_span", (2,)).tolist())
        if domain[1] <= domain[0]:
            raise ObservationError(f"domain must be an interval (a, b) with b > a, got {domain}")
        if t_span[1] <= t_span[0]:
            raise ObservationError(f"t_span must be an interval (t0, t1) with t1 > t0, got {t_span}")
        set_("domain", domain)
        set_("t_span", t_span)
        tol = 1e-12 * max(1.0, abs(t_span[1]))
        if np.any(t < t_span[0] - tol) or np.any(t > t_span[1] + tol):
            raise ObservationError(f"observation times must lie in t_span [{t_span[0]}, {t_span[1]}]")
        if np.any(self.x < domain[0]) or np.any(self.x > domain[1]):
            raise ObservationError(f"observation points must lie in the domain [{domain[0]}, {domain[1]}]")
        if self.sigma is not None:
            sigma = _frozen(self.sigma, "sigma", t.shape)
            if np.any(sigma <= 0):
                raise ObservationError("sigma must be positive")
            set_("sigma", sigma)
        set_("fixed_params", _param_dict(self.fixed_params, self.equation, "fixed"))
        set_("true_params", _param_dict(self.true_params, self.equation, "true"))
        set_("true_fields", _field_dict(self.true_fields, self.equation))
        both = set(self.true_fields) & set(self.true_params or {})
        if both:
            raise ObservationError(f"{sorted(both)} given both as a true parameter and as a true field")
        if self.grid_shape is not None:
            shape = tuple(int(v) for v in self.grid_shape)
            if len(shape) != 2 or shape[0] * shape[1] != t.size:
                raise ObservationError(f"grid_shape {self.grid_shape} does not match {t.size} points")
            set_("grid_shape", shape)
        set_("metadata", MappingProxyType(dict(self.metadata)))

    @classmethod
    def from_grid(cls, equation: str, t, x, u, **kwargs) -> "Observations":
        """Observations on a full grid: ``u[i, j] = u(t[i], x[j])``."""
        t = np.asarray(t, dtype=float).ravel()
        x = np.asarray(x, dtype=float).ravel()
        u = np.asarray(u)
        if u.shape != (t.size, x.size):
            raise ObservationError(f"u must have shape (len(t), len(x)) = {(t.size, x.size)}, got {u.shape}")
        tt, xx = np.meshgrid(t, x, indexing="ij")
        return cls(equation, tt.ravel(), xx.ravel(), u.ravel(), grid_shape=u.shape, **kwargs)

    @property
    def equation_class(self) -> type:
        """The equation's definition (from the registry)."""
        return get_equation(self.equation)

    @property
    def is_complex(self) -> bool:
        """True when the values are complex (real and imaginary parts both observed)."""
        return bool(np.iscomplexobj(self.u))

    @property
    def n_points(self) -> int:
        return int(self.t.size)

    def known_params(self) -> dict[str, float]:
        """The equation defaults overridden by the file's fixed parameters."""
        params = dict(self.equation_class.defaults)
        params.update(self.fixed_params)
        return params

    @property
    def component_names(self) -> np.ndarray | None:
        """The component each point measures, by name (None for an equation of one field)."""
        if self.component is None:
            return None
        return np.asarray(self.equation_class.components)[self.component]

    def _u0_summary(self) -> dict:
        if self.u0 is None:
            return {"samples": 0, "description": "none: no snapshot at the initial time (estimated by a fit)"}
        out = {"samples": int(self.u0.shape[-1]), "description": self.u0_description,
               "kind": "measured snapshot" if self.u0_measured else "exact"}
        if self.u0_sigma is not None:
            out["sigma"] = self.u0_sigma
        return out

    def summary(self) -> dict:
        """A JSON-friendly description (used by ``pdeinv info``)."""
        out = {
            "equation": self.equation,
            "points": self.n_points,
            "layout": "grid %dx%d" % self.grid_shape if self.grid_shape else "points",
            "domain": list(self.domain),
            "t_span": list(self.t_span),
            "t_range": [float(self.t.min()), float(self.t.max())],
            "x_range": [float(self.x.min()), float(self.x.max())],
            "observable": "|u|" if self.observable == "abs" else ("u (complex)" if self.is_complex else "u"),
            "u_range": [float(np.abs(self.u).min()), float(np.abs(self.u).max())] if self.is_complex
            else [float(self.u.min()), float(self.u.max())],
            "u0": self._u0_summary(),
            **({"components": {name: int(np.sum(self.component == i))
                               for i, name in enumerate(self.equation_class.components)}}
               if self.component is not None else {}),
            "noise_sigma": None if self.sigma is None else [float(self.sigma.min()), float(self.sigma.max())],
            "fixed_params": dict(self.fixed_params),
            "true_params": None if self.true_params is None else dict(self.true_params),
            "true_fields": {(k if k == "u0" else f"{k}(x)"): f"{v.size} samples in [{np.min(np.real(v)):.6g}, "
                            f"{np.max(np.real(v)):.6g}]" for k, v in self.true_fields.items()},
            "metadata": dict(self.metadata),
        }
        return out
