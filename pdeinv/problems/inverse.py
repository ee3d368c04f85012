"""InverseProblem: which parameters are unknown, how they are transformed, and the forward map.

The optimizer works on an unconstrained vector ``z``: ``log(p)`` for scale parameters
(``nu``, ``D``, ``lambda2``), ``p`` itself otherwise. The forward map takes a batch of ``z``
and returns predictions at the observation points plus a mask of the members that produced
finite values. It counts every solve (``nfev``). Estimators only call it; they never
differentiate it, so any Python callable ``params -> predictions`` can stand in for the solver.
"""

from __future__ import annotations

import time
from typing import Callable, Mapping, Sequence

import numpy as np

from .._jax import jax, jnp
from ..solvers import get_equation
from .external import ForwardTimeout
from .observations import ObservationError, Observations

__all__ = ["InverseProblem", "DEFAULT_UNKNOWNS", "LOG_SCALED"]

#: The unknowns of the paper's experiments; the others are known unless asked for.
DEFAULT_UNKNOWNS = {"burgers": ("nu",), "allen-cahn": ("D",), "kdv": ("lambda2",)}
#: Parameters that set a scale and are optimized as log(p) (so they stay positive).
LOG_SCALED = {"nu", "D", "lambda2"}


class InverseProblem:
    """Recover ``unknowns`` of the equation of ``observations`` from its data.

    Parameters
    ----------
    observations : Observations
    unknowns : names of the fitted parameters (default: ``nu`` / ``D`` / ``lambda2``)
    bounds : optional ``{name: (low, high)}`` in parameter units; also bounds the global search
    n, dt : solver grid and step (default: the equation's defaults for the data's domain)
    forward : optional black-box forward map ``params dict -> predictions (P,)`` replacing the
        spectral solver (NumPy, SciPy, a subprocess...). It may raise or return NaN at bad
        points; such trial points are rejected by the fit.
    """

    def __init__(
        self,
        observations: Observations,
        unknowns: Sequence[str] | None = None,
        *,
        bounds: Mapping[str, tuple[float, float]] | None = None,
        n: int | None = None,
        dt: float | None = None,
        forward: Callable[[dict], np.ndarray] | None = None,
    ):
        if not isinstance(observations, Observations):
            raise ValueError("observations must be an Observations object (see pdeinv.load_observations)")
        self.observations = obs = observations
        self.equation_class = cls = get_equation(obs.equation)
        unknowns = tuple(DEFAULT_UNKNOWNS[cls.name] if unknowns is None else unknowns)
        if not unknowns:
            raise ValueError("unknowns must name at least one parameter")
        for name in unknowns:
            if name not in cls.param_names:
                raise ValueError(f"unknown parameter {name!r} to fit for {cls.name}; expected some of {list(cls.param_names)}")
        if len(set(unknowns)) != len(unknowns):
            raise ValueError(f"unknowns repeat a name: {list(unknowns)}")
        self.unknowns = unknowns
        self.known = {k: v for k, v in obs.known_params().items() if k not in unknowns}
        self.log_scaled = np.array([name in LOG_SCALED for name in unknowns])
        self.bounds = self._check_bounds(bounds or {})
        self.weights = 1.0 / obs.sigma if obs.sigma is not None else np.ones(obs.n_points)
        self.data = np.asarray(obs.u)
        self._custom_forward = forward
        self.nfev = 0
        self.solve_seconds = 0.0
        #: failed forward evaluations by kind (rejected trial points), reported by fit
        self.failures = {"non-finite": 0, "error": 0, "timeout": 0}
        self.set_grid(n, dt)

    # ---- grid -------------------------------------------------------------------------------
    def set_grid(self, n: int | None = None, dt: float | None = None) -> None:
        """(Re)build the solver on grid ``n`` with step ``dt`` (``None``: defaults)."""
        obs = self.observations
        self.equation = self.equation_class(n=n, domain=obs.domain, t_span=obs.t_span, u0=obs.u0, dt=dt)
        if self._custom_forward is None:
            point_solver = self.equation.point_solver(obs.t, obs.x)
            u0_hat = self.equation.initial_spectrum()
            self._batched = jax.jit(jax.vmap(point_solver, in_axes=(0, None)))
            self._u0_hat = u0_hat
            self._point_solver = point_solver

    @property
    def grid(self) -> dict:
        return {"n": self.equation.n, "dt": self.equation.dt}

    def _check_bounds(self, bounds):
        out = {}
        for name, pair in bounds.items():
            if name not in self.unknowns:
                raise ValueError(f"bounds given for {name!r}, which is not an unknown ({list(self.unknowns)})")
            lo, hi = (float(v) for v in pair)
            if not lo < hi:
                raise ValueError(f"bounds for {name} must satisfy low < high, got ({lo}, {hi})")
            if name in LOG_SCALED and lo <= 0:
                raise ValueError(f"bounds for {name} must be positive, got ({lo}, {hi})")
            out[name] = (lo, hi)
        return out

    # ---- transforms ---------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        return len(self.unknowns)

    def to_z(self, params: Mapping[str, float]) -> np.ndarray:
        """Parameters (dict) -> unconstrained vector."""
        values = []
        for name, is_log in zip(self.unknowns, self.log_scaled):
            if name not in params:
                raise ValueError(f"missing initial value for {name}")
            v = float(params[name])
            if not np.isfinite(v):
                raise ValueError(f"initial value of {name} must be finite, got {v}")
            if is_log and v <= 0:
                raise ValueError(f"initial value of {name} must be positive, got {v}")
            values.append(np.log(v) if is_log else v)
        return np.array(values)

    def to_params(self, z) -> dict[str, float]:
        z = np.asarray(z, dtype=float)
        return {
            name: float(np.exp(v) if is_log else v) for name, v, is_log in zip(self.unknowns, z, self.log_scaled)
        }

    def z_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        lo = np.full(self.dim, -np.inf)
        hi = np.full(self.dim, np.inf)
        for i, name in enumerate(self.unknowns):
            if name in self.bounds:
                a, b = self.bounds[name]
                lo[i], hi[i] = (np.log(a), np.log(b)) if self.log_scaled[i] else (a, b)
        return lo, hi

    def clip(self, z) -> np.ndarray:
        lo, hi = self.z_bounds()
        return np.clip(z, lo, hi)

    def full_params(self, z) -> dict[str, float]:
        return {**self.known, **self.to_params(z)}

    # ---- the forward map --------------------------------------------------------------------
    def predict(self, Z) -> tuple[np.ndarray, np.ndarray]:
        """Predictions at the observation points for a batch ``Z (B, d)``.

        Returns ``(pred (B, P), finite (B,))``; non-finite members (blow-up, a raising black
        box, a parameter the solver refuses) have ``finite = False`` and NaN predictions.
        Every member counts as one solver call.
        """
        Z = np.atleast_2d(np.asarray(Z, dtype=float))
        B = Z.shape[0]
        self.nfev += B
        start = time.perf_counter()
        try:
            if self._custom_forward is not None:
                failed_before = self.failures["error"] + self.failures["timeout"]
                pred = np.full((B, self.observations.n_points), np.nan)
                for b in range(B):
                    try:
                        out = np.asarray(self._custom_forward(self.full_params(Z[b])), dtype=float).ravel()
                    except Exception as err:  # a black box may fail anywhere: a rejected trial point
                        self.failures["timeout" if isinstance(err, ForwardTimeout) else "error"] += 1
                        continue
                    if out.shape == (self.observations.n_points,):
                        pred[b] = out
                    else:
                        self.failures["error"] += 1
                raised = self.failures["error"] + self.failures["timeout"] - failed_before
            else:
                pytree = {name: [] for name in self.equation.param_names}
                for b in range(B):
                    full = self.full_params(Z[b])
                    for name in pytree:
                        pytree[name].append(full[name])
                arrays = {k: jnp.asarray(np.array(v, dtype=float)) for k, v in pytree.items()}
                pred = np.array(self._batched(arrays, self._u0_hat))
                raised = 0
        finally:
            self.solve_seconds += time.perf_counter() - start
        finite = np.all(np.isfinite(pred), axis=1)
        self.failures["non-finite"] += int(np.sum(~finite)) - raised
        # Parameters a solver must refuse (e.g. a viscosity that underflowed to 0) are rejected.
        for b in range(B):
            full = self.full_params(Z[b])
            if any(full[p] <= 0 for p in self.equation_class.positive if p in full):
                finite[b] = False
        pred[~finite] = np.nan
        return pred, finite

    def residuals(self, Z) -> tuple[np.ndarray, np.ndarray]:
        """Weighted residuals ``(pred - data) / sigma`` for a batch: ``(R (B, P), finite (B,))``."""
        pred, finite = self.predict(Z)
        return (pred - self.data) * self.weights, finite

    def loss_of_residuals(self, R) -> np.ndarray:
        """Mean squared weighted residual (inf for non-finite members)."""
        R = np.atleast_2d(R)
        loss = np.mean(R**2, axis=1)
        return np.where(np.isfinite(loss), loss, np.inf)

    # ---- differentiable version (for the exact-AD reference only) ---------------------------
    def jax_residual_fn(self) -> Callable:
        """``z -> weighted residuals`` as a JAX function (spectral solver only)."""
        if self._custom_forward is not None:
            raise ValueError("exact derivatives need the built-in JAX solver, not a custom forward map")
        names = self.unknowns
        log_scaled = tuple(bool(v) for v in self.log_scaled)
        known = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in self.known.items()}
        data = jnp.asarray(self.data)
        weights = jnp.asarray(self.weights)
        solver, u0_hat = self._point_solver, self._u0_hat

        def residual(z):
            params = dict(known)
            for i, (name, is_log) in enumerate(zip(names, log_scaled)):
                params[name] = jnp.exp(z[i]) if is_log else z[i]
            return (solver(params, u0_hat) - data) * weights

        return residual

    def describe(self) -> str:
        return f"{self.equation_class.name}: fit {', '.join(self.unknowns)} on n={self.equation.n}, dt={self.equation.dt:.3g}"


def check_observations_match(obs: Observations, equation: str) -> None:
    if obs.equation != equation:
        raise ObservationError(f"the observation file is for {obs.equation}, not {equation}")
