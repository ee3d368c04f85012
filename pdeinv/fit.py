"""The outer loop: global search, local optimizer, grid check -> FitResult.

``fit(problem, init)`` runs three phases:

1. **search** (global): one batched call evaluates the misfit on a log-spaced grid (one
   unknown) or a scrambled Sobol set (several) over ``init`` x/÷ ``search_factor``; the best
   point starts the local phase. With 64 observations the misfit is multimodal (KdV has a
   dozen local minima between lambda2/100 and lambda2) and a local method started 10x off
   lands in a wrong one; the scan finds the right basin for the price of ~20 solves.
2. **local**: ``zo-gn`` (default; Levenberg-Marquardt on random-direction differences of the
   residuals, with step acceptance), ``zo`` ((FG)^2U-ZO gradient + an optax optimizer),
   ``exact`` (LM with the AD Jacobian; the reference) or ``lsq`` (scipy least_squares).
3. **grid check**: the residuals at the estimate are recomputed on a grid twice as fine; if
   the change would move the estimate by more than ``grid_tol`` (estimated with the Jacobian),
   the grid is doubled and the local phase continues. The grid used is reported.

Trial points where the solver blows up are rejected (the step shrinks); the fit never raises
for a bad trial point, it reports ``success=False`` with a message instead.
"""

from __future__ import annotations

import time
from typing import Callable, Mapping

import numpy as np

from .estimators import ExactAD, ZOGradient, ZOSketch
from .result import FitResult
from .problems.inverse import InverseProblem

__all__ = ["FitResult", "fit", "METHODS", "PRESETS"]

METHODS = ("zo-gn", "zo", "exact", "lsq")

#: Table F.3 of Shen et al. (NeurIPS 2024) for (FG)^2U-ZO: one direction, Adam, 5000 steps,
#: solver grid 256 points x 512 time steps, no global phase.
PRESETS = {
    "paper": {
        "method": "zo",
        "directions": 1,
        "scheme": "forward",
        "learning_rate": 1e-2,
        "learning_rate_kdv": 1e-3,
        "max_steps": 5000,
        "n": 256,
        "dt": 1.0 / 512,
        "search": False,
        "auto_grid": False,
    }
}


class _Recorder:
    """Collects the history and calls the user's callback; tracks the best point seen."""

    def __init__(self, problem: InverseProblem, callback: Callable | None, max_nfev: int):
        self.problem = problem
        self.callback = callback
        self.max_nfev = max_nfev
        self.history = {"nfev": [], "loss": [], "phase": [], "params": {k: [] for k in problem.unknowns}}
        self.best_z: np.ndarray | None = None
        self.best_loss = np.inf
        self.best_residual: np.ndarray | None = None
        self.stop_requested = False

    def record(self, phase: str, z: np.ndarray, loss: float, residual: np.ndarray | None = None) -> None:
        params = self.problem.to_params(z)
        self.history["nfev"].append(int(self.problem.nfev))
        self.history["loss"].append(float(loss))
        self.history["phase"].append(phase)
        for k, v in params.items():
            self.history["params"][k].append(v)
        if np.isfinite(loss) and loss < self.best_loss:
            self.best_loss, self.best_z = float(loss), np.array(z, dtype=float)
            self.best_residual = residual
        if self.callback is not None:
            info = {"phase": phase, "nfev": self.problem.nfev, "loss": float(loss), "params": params,
                    "step": len(self.history["loss"])}
            if self.callback(info) is True:
                self.stop_requested = True

    @property
    def budget_left(self) -> int:
        return self.max_nfev - self.problem.nfev


# ---- global phase -------------------------------------------------------------------------


def _search_box(problem: InverseProblem, z0: np.ndarray, factor: float):
    lo, hi = problem.z_bounds()
    half = np.where(problem.log_scaled, np.log(factor), np.maximum(np.abs(z0), 1.0) * np.log(factor) / 2)
    box_lo = np.where(np.isfinite(lo), lo, z0 - half)
    box_hi = np.where(np.isfinite(hi), hi, z0 + half)
    return box_lo, box_hi


def global_search(problem, z0, rng, recorder, points: int | None, factor: float):
    """Evaluate the misfit at ``points`` spread over the search box in one batched call."""
    d = problem.dim
    lo, hi = _search_box(problem, z0, factor)
    if points is None:
        points = 9 if d == 1 else 8 * d
    if d == 1:
        Z = np.linspace(lo, hi, points)
    else:
        from scipy.stats import qmc

        sampler = qmc.Sobol(d, scramble=True, seed=int(rng.integers(2**31)))
        Z = qmc.scale(sampler.random(points), lo, hi)
    Z = np.concatenate([z0[None, :], Z])
    R, finite = problem.residuals(Z)
    losses = problem.loss_of_residuals(R)
    losses[~finite] = np.inf
    for z, loss, r in zip(Z, losses, R):
        recorder.record("search", z, loss, r)
    best = int(np.argmin(losses))
    return Z[best], R[best], losses[best]


# ---- local phases ---------------------------------------------------------------------------


def _levenberg_marquardt(problem, z, r, estimator, rng, recorder, max_steps, tol, max_step, broyden):
    """Levenberg-Marquardt on a Jacobian estimate that keeps what every solve taught it.

    The estimate ``J`` (P, d) is refreshed along the estimator's directions (``J V`` from
    random-direction differences, or the exact Jacobian) and, with ``broyden``, corrected
    after every trial step by the secant (Broyden) update, so a full refresh is needed only
    when a step fails or, for a sketch with fewer directions than unknowns, to explore the
    directions not seen yet. Returns ``(z, r, J, nit, message, success)``.
    """
    loss = float(np.mean(r**2))
    lam = 1e-3
    lo, hi = problem.z_bounds()
    d = problem.dim
    J = np.zeros((r.size, d))
    known = np.zeros((d, 0))  # orthonormal basis of the directions J has been measured along
    refresh = True
    for it in range(1, max_steps + 1):
        if recorder.budget_left <= 0:
            return z, r, J, it - 1, "stopped: solver-call budget (max_nfev) reached", False
        if recorder.stop_requested:
            return z, r, J, it - 1, "stopped by callback", False
        if refresh or not broyden:
            est = estimator(problem, z, r, rng)
            if est.jac is None or est.jac.shape[1] == 0 or not np.all(np.isfinite(est.jac)):
                return z, r, J, it, "stopped: every perturbed solve failed near the current point", False
            V = est.directions
            if V.shape[1] >= d:
                J = est.jac @ np.linalg.pinv(V)
            else:  # exact along span(V), keep the older estimate elsewhere
                J = J + (est.jac - J @ V) @ V.T
            known = np.linalg.qr(np.concatenate([known, V], axis=1))[0][:, : min(d, known.shape[1] + V.shape[1])]
        g = J.T @ r
        H = J.T @ J
        if loss == 0.0 or not np.any(g):
            return z, r, J, it, "converged: zero residual or zero gradient", True
        accepted = False
        for attempt in range(12):
            scale = np.diag(H).copy()
            scale[scale <= 0] = max(float(np.max(scale)), 1.0)
            try:
                dz = np.linalg.solve(H + lam * np.diag(scale), -g)
            except np.linalg.LinAlgError:
                lam *= 10
                continue
            biggest = np.max(np.abs(dz))
            if attempt == 0 and biggest < tol and known.shape[1] == d:
                return z, r, J, it, f"converged: Gauss-Newton step below tol={tol:g}", True
            if biggest > max_step:  # trust region in transformed units (max_step e-folds)
                dz *= max_step / biggest
            z_trial = np.clip(z + dz, lo, hi)
            step = z_trial - z
            if recorder.budget_left <= 0:
                return z, r, J, it, "stopped: solver-call budget (max_nfev) reached", False
            R, finite = problem.residuals(z_trial[None, :])
            trial_loss = float(problem.loss_of_residuals(R)[0]) if finite[0] else np.inf
            recorder.record("local", z_trial, trial_loss, R[0])
            if finite[0] and broyden and np.any(step):
                J = J + np.outer(R[0] - r - J @ step, step) / (step @ step)
            if trial_loss < loss:
                decrease = loss - trial_loss
                z, r, previous, loss = z_trial, R[0], loss, trial_loss
                lam = max(lam / 10, 1e-12)
                accepted = True
                if np.max(np.abs(step)) < tol:
                    return z, r, J, it, f"converged: step below tol={tol:g}", True
                if decrease <= tol * previous * 1e-4:
                    return z, r, J, it, "converged: loss no longer decreases", True
                break
            lam *= 10
            if broyden and not refresh:
                break  # a stale Jacobian may be to blame: measure it again before shrinking more
        if not accepted and (refresh or not broyden):
            return z, r, J, it, "converged: no step decreases the loss further (round-off level)", True
        refresh = (not accepted) or known.shape[1] < d
    return z, r, J, max_steps, "stopped: max_steps reached", False


def _gradient_descent(problem, z, estimator, optimizer, rng, recorder, max_steps, tol):
    """An optax optimizer driven by (noisy) gradient estimates; returns the best point seen."""
    import optax

    state = optimizer.init(z)
    lo, hi = problem.z_bounds()
    update_scale = 1.0
    previous = z.copy()
    for it in range(1, max_steps + 1):
        if recorder.budget_left <= 0:
            return it - 1, "stopped: solver-call budget (max_nfev) reached", False
        if recorder.stop_requested:
            return it - 1, "stopped by callback", False
        est = estimator(problem, z, None, rng)
        recorder.record("local", z, est.loss if np.isfinite(est.loss) else np.inf, est.residual)
        if est.grad is None or not np.isfinite(est.loss) or not np.all(np.isfinite(est.grad)):
            # The current point (or all its perturbations) failed: go back and take smaller steps.
            z = previous.copy()
            update_scale *= 0.5
            if update_scale < 1e-6:
                return it, "stopped: the solver fails around the current point", False
            continue
        if est.loss <= tol**2:
            return it, "converged: loss below tol^2", True
        updates, state = optimizer.update(est.grad, state, z)
        previous = z.copy()
        z = np.clip(np.asarray(optax.apply_updates(z, update_scale * np.asarray(updates))), lo, hi)
    return max_steps, "stopped: max_steps reached", True


def _least_squares(problem, z, recorder, max_nfev, tol):
    from scipy.optimize import least_squares

    P = problem.observations.n_points

    def fun(zz):
        R, finite = problem.residuals(np.asarray(zz)[None, :])
        loss = float(problem.loss_of_residuals(R)[0]) if finite[0] else np.inf
        recorder.record("local", np.asarray(zz), loss, R[0])
        # least_squares cannot take NaN: a failed solve looks like a very bad fit.
        return R[0] if finite[0] else np.full(P, 1e6)

    lo, hi = problem.z_bounds()
    try:
        sol = least_squares(fun, z, bounds=(lo, hi), max_nfev=max(1, max_nfev), xtol=tol, ftol=tol, gtol=tol)
    except Exception as err:  # scipy may refuse a degenerate problem; report, do not crash
        return z, 0, f"least_squares failed: {err}", False
    return sol.x, sol.nfev, f"least_squares: {sol.message}", bool(sol.success)


def _jacobian(problem, z, r, eps=1e-6):
    """Forward-difference Jacobian (d solves, one batch) for the grid check."""
    V = np.eye(problem.dim)
    R, finite = problem.residuals(z[None, :] + eps * V)
    return ((R - r) / eps).T, finite.all()


# ---- entry point --------------------------------------------------------------------------


def fit(
    problem: InverseProblem,
    init: Mapping[str, float] | None = None,
    *,
    method: str = "zo-gn",
    seed: int = 0,
    max_steps: int | None = None,
    max_nfev: int | None = None,
    tol: float = 1e-8,
    callback: Callable[[dict], bool | None] | None = None,
    directions: int | None = None,
    distribution: str = "gaussian",
    scheme: str | None = None,
    eps: float | None = None,
    optimizer=None,
    learning_rate: float | None = None,
    search: bool | None = None,
    search_points: int | None = None,
    search_factor: float = 30.0,
    auto_grid: bool = True,
    grid_tol: float = 1e-5,
    max_n: int = 8192,
    max_step: float = 2.0,
    broyden: bool = True,
    preset: str | None = None,
) -> FitResult:
    """Recover the unknowns of ``problem`` from its observations.

    Parameters
    ----------
    init : starting values of the unknowns (default: the equation's default values).
    method : ``zo-gn`` (default), ``zo``, ``exact`` or ``lsq``.
    seed : seeds the random directions and the search; same seed, same result.
    max_steps, max_nfev : local iterations and total solver calls allowed.
    tol : stop when a step changes every (log-)parameter by less than ``tol``.
    callback : called with a dict (phase, step, nfev, loss, params) after every evaluation;
        return True to stop.
    directions, distribution, scheme, eps : random directions per step (``zo-gn``: min(d, 8),
        ``zo``: 4), their law (gaussian | rademacher | sphere), forward or central
        differences and the step in the transformed space.
    optimizer, learning_rate : for ``zo``: an optax optimizer (default Adam with
        ``learning_rate`` 0.05).
    search, search_points, search_factor : the global phase (default on, except for
        ``lsq``, the plain baseline) over ``init`` x/÷ ``search_factor`` (or the bounds).
    auto_grid, grid_tol, max_n : refine the solver grid until refining it again would move
        the estimate by less than ``grid_tol`` (relative), up to ``max_n`` points.
    max_step : largest change of a (log-)parameter in one LM step.
    broyden : ``zo-gn`` keeps its Jacobian estimate up to date with secant updates from the
        trial steps and measures it again only when a step fails (False: classic
        finite-difference LM, a fresh J V every iteration).
    preset : ``"paper"`` reproduces Table F.3 of Shen et al. (1 direction, Adam lr 1e-2,
        KdV 1e-3, 5000 steps, grid 256 x 512 steps, no global phase).
    """
    started = time.perf_counter()
    given = dict(method=method, max_steps=max_steps, directions=directions, scheme=scheme,
                 learning_rate=learning_rate, search=search, auto_grid=auto_grid)
    if preset is not None:
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; expected one of {sorted(PRESETS)}")
        p = PRESETS[preset]
        method, directions, scheme = p["method"], p["directions"], p["scheme"]
        learning_rate = p["learning_rate_kdv"] if problem.equation_class.name == "kdv" else p["learning_rate"]
        max_steps = p["max_steps"] if max_steps is None else max_steps
        search, auto_grid = p["search"], p["auto_grid"]
        problem.set_grid(p["n"], p["dt"])
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if not (np.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be a positive number, got {tol!r}")
    if search_factor <= 1:
        raise ValueError(f"search_factor must be > 1, got {search_factor!r}")
    if init is None:
        init = {k: problem.equation_class.defaults[k] for k in problem.unknowns}
    extra = sorted(set(init) - set(problem.unknowns))
    if extra:
        raise ValueError(f"init names {extra}, which are not unknowns of this fit ({list(problem.unknowns)})")
    z0 = problem.clip(problem.to_z({**{k: problem.equation_class.defaults[k] for k in problem.unknowns}, **init}))
    if method == "exact":
        problem.jax_residual_fn()  # raises early for a custom forward map
    search = (method != "lsq") if search is None else bool(search)
    if max_steps is None:
        max_steps = {"zo": 500, "lsq": 100}.get(method, 100)
    if max_nfev is None:
        max_nfev = max(10 * max_steps, 1000) if method != "zo" else 4 * max_steps * (1 + 2 * (directions or 4)) + 1000
    for name, value in (("max_steps", max_steps), ("max_nfev", max_nfev)):
        if isinstance(value, bool) or int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")

    if method == "zo":
        estimator = ZOGradient(directions or 4, distribution, scheme or "central", eps)
        if optimizer is None:
            import optax

            optimizer = optax.adam(learning_rate if learning_rate is not None else 0.05)
    elif method == "zo-gn":
        estimator = ZOSketch(directions, distribution, scheme or "forward", eps)
    elif method == "exact":
        estimator = ExactAD()
    else:
        estimator = None

    rng = np.random.default_rng(seed)
    problem.nfev = 0
    problem.solve_seconds = 0.0
    recorder = _Recorder(problem, callback, int(max_nfev))
    nit_total = 0
    success, message = False, ""
    grid_shift = None

    if search:
        z, r, loss = global_search(problem, z0, rng, recorder, search_points, search_factor)
        if not np.isfinite(loss):
            return _result(problem, recorder, z0, False, "every point of the global search failed to solve",
                           0, started, seed, method, given, grid_shift)
    else:
        R, finite = problem.residuals(z0[None, :])
        z, r = z0, R[0]
        recorder.record("start", z, float(problem.loss_of_residuals(R)[0]) if finite[0] else np.inf, r)
        if not finite[0]:
            return _result(problem, recorder, z0, False, "the solver fails at the initial guess; "
                           "try another --init or enable the global search", 0, started, seed, method, given, grid_shift)

    J = None
    while True:
        if method == "lsq":
            z, nit, message, success = _least_squares(problem, z, recorder, recorder.budget_left, tol)
            R, _ = problem.residuals(z[None, :]) if auto_grid else (r[None, :], None)
            r = R[0]
        elif method == "zo":
            nit, message, success = _gradient_descent(problem, z, estimator, optimizer, rng, recorder, max_steps, tol)
            z, r = recorder.best_z, recorder.best_residual
        else:
            z, r, J, nit, message, success = _levenberg_marquardt(
                problem, z, r, estimator, rng, recorder, max_steps, tol, max_step, broyden and method == "zo-gn"
            )
        nit_total += nit
        if not (auto_grid and problem._custom_forward is None) or recorder.budget_left <= problem.dim + 1:
            break
        # Grid check: how far would the estimate move on a grid twice as fine?
        n, dt = problem.equation.n, problem.equation.dt
        if 2 * n > max_n:
            break
        if method in ("zo", "lsq") or J is None:
            J, ok = _jacobian(problem, z, r)
        else:
            ok = True  # the local phase's Jacobian estimate at (or next to) z
        problem.set_grid(2 * n, dt / 2)
        R_fine, finite = problem.residuals(z[None, :])
        if not (ok and finite[0]):
            problem.set_grid(n, dt)
            break
        shift, *_ = np.linalg.lstsq(J, -(R_fine[0] - r), rcond=None)
        grid_shift = float(np.max(np.abs(shift)))
        if grid_shift < grid_tol:
            problem.set_grid(n, dt)
            break
        # The finer grid matters: continue the local phase there.
        r = R_fine[0]
        recorder.best_loss, recorder.best_z = np.inf, None
        recorder.record("grid", z, float(np.mean(r**2)), r)

    return _result(problem, recorder, z, success, message, nit_total, started, seed, method, given, grid_shift)


def _result(problem, recorder, z, success, message, nit, started, seed, method, given, grid_shift):
    R, finite = (None, None)
    loss = float("nan")
    if z is not None:
        R, finite = problem.residuals(np.asarray(z)[None, :])
        problem.nfev -= 1  # reporting the final loss is not part of the fit's cost
        loss = float(problem.loss_of_residuals(R)[0])
    obs = problem.observations
    return FitResult(
        params=problem.to_params(z),
        success=bool(success),
        message=message,
        nfev=int(problem.nfev),
        nit=int(nit),
        loss=loss,
        history=recorder.history,
        grid={**problem.grid, "grid_shift": grid_shift},
        wall_time=time.perf_counter() - started,
        seed=int(seed),
        settings={k: v for k, v in given.items() if v is not None} | {"method": method, "unknowns": list(problem.unknowns)},
        equation=problem.equation_class.name,
        true_params=None if obs.true_params is None else {k: obs.true_params[k] for k in problem.unknowns if k in obs.true_params},
        known_params=dict(problem.known),
    )
