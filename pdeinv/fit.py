"""The outer loop: global search, local optimizer, grid check -> FitResult.

``fit(problem, init)`` runs three phases:

1. **search** (global): one batched call evaluates the misfit on a log-spaced grid (one
   unknown) or a scrambled Sobol set (several) over ``init`` x/÷ ``search_factor``; the best
   point starts the local phase. With 64 observations the misfit is multimodal (KdV has a
   dozen local minima between lambda2/100 and lambda2) and a local method started 10x off
   lands in a wrong one; the scan finds the right basin for the price of ~10 solves.
2. **local**: ``zo-gn`` (default; Levenberg-Marquardt on random-direction differences of the
   residuals, with step acceptance), ``zo`` ((FG)^2U-ZO gradient + an optax optimizer),
   ``exact`` (LM with the AD Jacobian; the reference) or ``lsq`` (scipy least_squares).
3. **grid check**: the residuals at the estimate are recomputed on a grid twice as fine; if
   the change would move the estimate by more than ``grid_tol`` (estimated with the Jacobian),
   the grid is doubled and the local phase continues. The grid used is reported.

Trial points where the solver blows up are rejected (the step shrinks); the fit never raises
for a bad trial point, it reports ``success=False`` with a message instead.

The fit is a small state machine whose whole state (iterate, Jacobian estimate or optimizer
state, random generator, history, grid, solver-call count) can be checkpointed between
iterations; resuming from a checkpoint gives bitwise the same result as not stopping.
"""

from __future__ import annotations

import copy
import time
from typing import Callable, Mapping

import numpy as np

from .estimators import ExactAD, ZOGradient, ZOSketch
from .problems.inverse import InverseProblem
from .result import FitResult

__all__ = ["FitResult", "fit", "METHODS", "PRESETS", "CHECKPOINT_VERSION"]

METHODS = ("zo-gn", "zo", "exact", "lsq")
#: A sketch stops drawing new directions when their Jacobian columns are this small relative to
#: the columns already measured (relative root-mean-square).
EXPLORE_TOL = 1e-3
CHECKPOINT_VERSION = 1

#: Table F.3 of Shen et al. (NeurIPS 2024) for (FG)^2U-ZO: one direction, Adam, 5000 steps,
#: solver grid 256 points x 512 time steps, no global phase. The Adam learning rate is the
#: equation's ``paper_learning_rate`` (1e-2; KdV 1e-3).
PRESETS = {
    "paper": {
        "method": "zo",
        "directions": 1,
        "scheme": "forward",
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
            self.best_residual = None if residual is None else np.array(residual, dtype=float)
        if self.callback is not None:
            info = {"phase": phase, "nfev": self.problem.nfev, "loss": float(loss), "params": params,
                    "step": len(self.history["loss"])}
            if self.callback(info) is True:
                self.stop_requested = True

    def forget_best(self) -> None:
        self.best_loss, self.best_z, self.best_residual = np.inf, None, None

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
    """Evaluate the misfit at ``points`` spread over the search box in one batched call.

    One unknown: 9 log-spaced values over init x/÷ factor (spacing x2.3; the KdV basin of
    the example data spans x0.5 to x5.9 around the truth, so two points always fall inside).
    Several: 8 d scrambled Sobol points. The initial guess is always evaluated too.
    """
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


# ---- local phases: one iteration per call, state in a dict --------------------------------


def _lm_state(z, r, d):
    return {"z": z, "r": r, "loss": float(np.mean(r**2)), "lam": 1e-3, "J": np.zeros((r.size, d)),
            "known": np.zeros((d, 0)), "refresh": True, "explore": True}


def _lm_iteration(problem, s, estimator, rng, recorder, tol, max_step, broyden):
    """One Levenberg-Marquardt iteration on a Jacobian estimate that keeps what every solve
    taught it; updates ``s`` in place, returns ``(message, success)`` when finished.

    ``J`` (P, d) is refreshed along the estimator's directions (``J V`` from random-direction
    differences, or the exact Jacobian) and, with ``broyden``, corrected after every trial
    step by the secant (Broyden) update, so a refresh is needed only when a step fails or,
    for a sketch with fewer directions than unknowns, to explore directions not seen yet.
    """
    lo, hi = problem.z_bounds()
    d = problem.dim
    z, r, loss, J = s["z"], s["r"], s["loss"], s["J"]
    if s["refresh"] or not broyden:
        exploring = broyden and s["explore"] and 0 < s["known"].shape[1] < d
        if isinstance(estimator, ZOSketch):
            est = estimator(problem, z, r, rng, avoid=s["known"] if exploring else None)
        else:
            est = estimator(problem, z, r, rng)
        if est.jac is None or est.jac.shape[1] == 0 or not np.all(np.isfinite(est.jac)):
            return "stopped: every perturbed solve failed near the current point", False
        V = est.directions
        if exploring:
            # Directions the data barely see (a diffusive flow erases high modes of u0) are not
            # worth more solves: stop exploring when the new columns are negligible next to
            # those already measured.
            seen = np.linalg.norm(J @ s["known"]) / np.sqrt(s["known"].shape[1])
            new = np.linalg.norm(est.jac) / np.sqrt(max(V.shape[1], 1))
            if new < EXPLORE_TOL * seen:
                s["explore"] = False
        if V.shape[1] >= d:
            J = est.jac @ np.linalg.pinv(V)
        else:  # exact along span(V), keep the older estimate elsewhere
            J = J + (est.jac - J @ V) @ V.T
        known = np.linalg.qr(np.concatenate([s["known"], V], axis=1))[0]
        s["known"] = known[:, : min(d, s["known"].shape[1] + V.shape[1])]
    s["J"] = J
    g = J.T @ r
    H = J.T @ J
    if loss == 0.0 or not np.any(g):
        return "converged: zero residual or zero gradient", True
    accepted = False
    for attempt in range(12):
        scale = np.diag(H).copy()
        scale[scale <= 0] = max(float(np.max(scale)), 1.0)
        try:
            dz = np.linalg.solve(H + s["lam"] * np.diag(scale), -g)
        except np.linalg.LinAlgError:
            s["lam"] *= 10
            continue
        if not np.all(np.isfinite(dz)):
            s["lam"] *= 10
            continue
        biggest = np.max(np.abs(dz))
        if attempt == 0 and biggest < tol and (s["known"].shape[1] == d or not s["explore"]):
            return f"converged: Gauss-Newton step below tol={tol:g}", True
        if biggest > max_step:  # trust region in transformed units (max_step e-folds)
            dz *= max_step / biggest
        z_trial = np.clip(z + dz, lo, hi)
        step = z_trial - z
        if recorder.budget_left <= 0:
            return "stopped: solver-call budget (max_nfev) reached", False
        R, finite = problem.residuals(z_trial[None, :])
        trial_loss = float(problem.loss_of_residuals(R)[0]) if finite[0] else np.inf
        recorder.record("local", z_trial, trial_loss, R[0])
        if finite[0] and broyden and np.any(step):
            J = J + np.outer(R[0] - r - J @ step, step) / (step @ step)
            s["J"] = J
        if trial_loss < loss:
            decrease = loss - trial_loss
            s.update(z=z_trial, r=R[0], loss=trial_loss, lam=max(s["lam"] / 10, 1e-12))
            accepted = True
            if np.max(np.abs(step)) < tol:
                return f"converged: step below tol={tol:g}", True
            if decrease <= tol * loss * 1e-4:
                return "converged: loss no longer decreases", True
            break
        s["lam"] *= 10
        if broyden and not s["refresh"]:
            break  # a stale Jacobian may be to blame: measure it again before shrinking more
    if not accepted and (s["refresh"] or not broyden):
        return "converged: no step decreases the loss further (round-off level)", True
    s["refresh"] = (not accepted) or (s["known"].shape[1] < d and s["explore"])
    return None


def _gd_iteration(problem, s, estimator, optimizer, rng, recorder, tol):
    """One step of an optax optimizer driven by a (noisy) gradient estimate."""
    import optax

    lo, hi = problem.z_bounds()
    est = estimator(problem, s["z"], None, rng)
    loss = est.loss if np.isfinite(est.loss) else np.inf
    recorder.record("local", s["z"], loss, est.residual)
    if est.grad is None or not np.isfinite(loss) or not np.all(np.isfinite(est.grad)):
        # The current point (or all its perturbations) failed: go back and take smaller steps.
        s["z"] = s["previous"].copy()
        s["update_scale"] *= 0.5
        if s["update_scale"] < 1e-6:
            return "stopped: the solver fails around the current point", False
        return None
    if loss <= tol**2:
        return "converged: loss below tol^2", True
    updates, s["opt_state"] = optimizer.update(est.grad, s["opt_state"], s["z"])
    updates = np.asarray(updates)
    if not np.all(np.isfinite(updates)):
        s["update_scale"] *= 0.5  # the optimizer produced NaN: keep the point, shrink the steps
        s["opt_state"] = optimizer.init(s["z"])
        if s["update_scale"] < 1e-6:
            return "stopped: the optimizer keeps producing NaN updates", False
        return None
    s["previous"] = s["z"].copy()
    s["z"] = np.clip(np.asarray(optax.apply_updates(s["z"], s["update_scale"] * updates)), lo, hi)
    return None


def _least_squares(problem, z, recorder, max_nfev, tol, should_stop):
    from scipy.optimize import least_squares

    P = problem.n_residuals

    def fun(zz):
        if should_stop():
            raise _Interrupted
        R, finite = problem.residuals(np.asarray(zz)[None, :])
        loss = float(problem.loss_of_residuals(R)[0]) if finite[0] else np.inf
        recorder.record("local", np.asarray(zz), loss, R[0])
        # least_squares cannot take NaN: a failed solve looks like a very bad fit.
        return R[0] if finite[0] else np.full(P, 1e6)

    lo, hi = problem.z_bounds()
    try:
        sol = least_squares(fun, z, bounds=(lo, hi), max_nfev=max(1, max_nfev), xtol=tol, ftol=tol, gtol=tol)
    except _Interrupted:
        raise
    except Exception as err:  # scipy may refuse a degenerate problem; report, do not crash
        return z, 0, f"least_squares failed: {err}", False
    return sol.x, sol.nfev, f"least_squares: {sol.message}", bool(sol.success)


class _Interrupted(Exception):
    pass


def _jacobian(problem, z, r, eps=1e-6):
    """Forward-difference Jacobian (d solves, one batch) for the grid check."""
    V = np.eye(problem.dim)
    R, finite = problem.residuals(z[None, :] + eps * V)
    return ((R - r) / eps).T, finite.all()


# ---- options ----------------------------------------------------------------------------------


def _options(problem, init, **given) -> dict:
    """Validate and complete the fit options into a JSON-able dict (stored in checkpoints)."""
    o = dict(given)
    if o["preset"] is not None:
        if o["preset"] not in PRESETS:
            raise ValueError(f"unknown preset {o['preset']!r}; expected one of {sorted(PRESETS)}")
        p = PRESETS[o["preset"]]
        o.update(method=p["method"], directions=p["directions"], scheme=p["scheme"], search=p["search"],
                 auto_grid=p["auto_grid"], n=p["n"], dt=p["dt"])
        o["learning_rate"] = problem.equation_class.paper_learning_rate
        o["max_steps"] = p["max_steps"] if o["max_steps"] is None else o["max_steps"]
    method = o["method"]
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if not (np.isfinite(o["tol"]) and o["tol"] > 0):
        raise ValueError(f"tol must be a positive number, got {o['tol']!r}")
    if not o["search_factor"] > 1:
        raise ValueError(f"search_factor must be > 1, got {o['search_factor']!r}")
    init = problem.expand(init or {})
    extra = sorted(set(init) - set(problem.unknowns))
    if extra:
        raise ValueError(f"init names {extra}, which are not unknowns of this fit ({list(problem.unknowns)})")
    full_init = {**problem.default_init(), **init}
    problem.to_z(full_init)  # validates
    o["init"] = {k: float(v) for k, v in full_init.items()}
    if method == "exact":
        problem.jax_residual_fn()  # raises early for a custom forward map
    # A scan over a field's coefficients would be meaningless: fields start local.
    o["search"] = (method != "lsq" and problem.field is None) if o["search"] is None else bool(o["search"])
    if o["max_steps"] is None:
        o["max_steps"] = {"zo": 500, "lsq": 100}.get(method, 100)
    if o["max_nfev"] is None:
        o["max_nfev"] = max(10 * o["max_steps"], 1000) if method != "zo" else \
            4 * o["max_steps"] * (1 + 2 * (o["directions"] or 4)) + 1000
    for name in ("max_steps", "max_nfev", "checkpoint_every"):
        value = o[name]
        if isinstance(value, bool) or int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if o["distribution"] == "ordered" and method != "zo-gn":
        raise ValueError("distribution='ordered' is for zo-gn only (the zo gradient needs random directions)")
    if method == "zo":
        o["directions"] = o["directions"] or 4
        o["scheme"] = o["scheme"] or "central"
        o["learning_rate"] = 0.05 if o["learning_rate"] is None else o["learning_rate"]
    elif method == "zo-gn":
        o["scheme"] = o["scheme"] or "forward"
        if problem.field is not None and o["distribution"] is None:
            # Fields: coordinate axes, low wavenumbers first, 4 at a time: the fewest solver
            # calls for every size measured in benchmarks/fields.py (d = 8 ... 128).
            o["distribution"] = "ordered"
            o["directions"] = o["directions"] or min(problem.dim, 4)
    o["distribution"] = o["distribution"] or "gaussian"
    if o["broyden"] is None:
        # Secant updates pay with random or ordered sketches; a full finite-difference Jacobian
        # of a regularized field problem is better measured again at each step.
        o["broyden"] = problem.field is None or (o["directions"] or 8) < problem.dim
    o["unknowns"] = list(problem.unknowns)
    return o


def _make_estimator(o):
    if o["method"] == "zo":
        return ZOGradient(o["directions"], o["distribution"], o["scheme"], o["eps"])
    if o["method"] == "zo-gn":
        return ZOSketch(o["directions"], o["distribution"], o["scheme"], o["eps"])
    if o["method"] == "exact":
        return ExactAD()
    return None


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
    distribution: str | None = None,
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
    broyden: bool | None = None,
    preset: str | None = None,
    checkpoint: str | None = None,
    checkpoint_every: int = 10,
    resume: str | dict | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> FitResult:
    """Recover the unknowns of ``problem`` from its observations.

    Parameters
    ----------
    init : starting values of the unknowns (default: the equation's default values).
    method : ``zo-gn`` (default), ``zo``, ``exact``, ``lsq``, or ``pinn`` (the PINN path with
        forward-mode unrolling, see ``pdeinv.pinn.fit_pinn``; it takes ``seed``, ``max_steps``,
        ``learning_rate``, ``directions``, ``callback``, ``preset`` and ``should_stop``).
    seed : seeds the random directions and the search; same seed, same result.
    max_steps, max_nfev : local iterations and total solver calls allowed.
    tol : stop when a step changes every (log-)parameter by less than ``tol``.
    callback : called with a dict (phase, step, nfev, loss, params) after every evaluation;
        return True to stop.
    directions, distribution, scheme, eps : random directions per step (``zo-gn``: min(d, 8),
        for a field min(d, 4); ``zo``: 4), their law (gaussian | rademacher | sphere; for ``zo-gn`` also ``ordered``:
        coordinate axes, a field's low wavenumbers first, the default for fields), forward or
        central differences and the step in the transformed space.
    optimizer, learning_rate : for ``zo``: an optax optimizer (default Adam with
        ``learning_rate`` 0.05). A custom optimizer cannot be stored in a checkpoint: pass
        the same one again when resuming.
    search, search_points, search_factor : the global phase (default on, except for
        ``lsq``, the plain baseline) over ``init`` x/÷ ``search_factor`` (or the bounds).
    auto_grid, grid_tol, max_n : refine the solver grid until refining it again would move
        the estimate by less than ``grid_tol`` (relative), up to ``max_n`` points.
    max_step : largest change of a (log-)parameter in one LM step.
    broyden : ``zo-gn`` keeps its Jacobian estimate up to date with secant updates from the
        trial steps and measures it again only when a step fails (False: classic
        finite-difference LM, a fresh J V every iteration). Default: True, except for a
        field measured with a full Jacobian (``directions >= d``), where the ill-conditioned
        problem makes stale secant Jacobians cost more refreshes than they save (measured, see
        benchmarks/fields.py).
    preset : ``"paper"`` reproduces Table F.3 of Shen et al. (1 direction, Adam lr 1e-2,
        KdV 1e-3, 5000 steps, grid 256 x 512 steps, no global phase).
    checkpoint, checkpoint_every : save the whole state to this file (atomically) every
        ``checkpoint_every`` iterations, after the search, and when stopped by ``should_stop``.
    resume : a checkpoint file (or a state loaded with ``pdeinv.io.load_checkpoint``) to
        continue from; its settings replace the ones given here. The result is bitwise the
        one of an uninterrupted fit.
    should_stop : polled between iterations; when it returns True the state is checkpointed
        and the fit returns with ``message`` starting "interrupted".
    """
    started = time.perf_counter()
    if method == "pinn":
        from .pinn import fit_pinn

        if resume is not None or checkpoint is not None:
            raise ValueError("checkpoints are not supported for method 'pinn'")
        return fit_pinn(problem, init, seed=seed, max_steps=max_steps, learning_rate=learning_rate,
                        directions=directions or 1, callback=callback, preset=preset, should_stop=should_stop)
    if resume is not None:
        from .io import load_checkpoint

        state = load_checkpoint(resume) if not isinstance(resume, dict) else resume
        o = dict(state["options"])
        if list(o["unknowns"]) != list(problem.unknowns):
            raise ValueError(f"the checkpoint fits {o['unknowns']}, this problem {list(problem.unknowns)}")
        o.update(checkpoint=checkpoint if checkpoint is not None else o.get("checkpoint"),
                 checkpoint_every=checkpoint_every if checkpoint is not None else o["checkpoint_every"])
    else:
        state = None
        o = _options(
            problem, init, method=method, seed=int(seed), max_steps=max_steps, max_nfev=max_nfev, tol=float(tol),
            directions=directions, distribution=distribution, scheme=scheme, eps=eps, learning_rate=learning_rate,
            search=search, search_points=search_points, search_factor=float(search_factor), auto_grid=bool(auto_grid),
            grid_tol=float(grid_tol), max_n=int(max_n), max_step=float(max_step),
            broyden=None if broyden is None else bool(broyden),
            preset=preset, checkpoint=None if checkpoint is None else str(checkpoint),
            checkpoint_every=checkpoint_every, n=None, dt=None, custom_optimizer=optimizer is not None,
        )
    engine = _Engine(problem, o, callback, should_stop or (lambda: False), optimizer)
    if state is None:
        engine.start()
    else:
        engine.restore(state)
    return engine.run(started)


class _Engine:
    """The fit as a state machine: stage ``start`` -> ``local`` <-> ``grid`` -> ``done``."""

    def __init__(self, problem, options, callback, should_stop, optimizer):
        self.problem = problem
        self.o = options
        self.should_stop = should_stop
        self.estimator = _make_estimator(options)
        self.optimizer = optimizer
        if options["method"] == "zo" and optimizer is None:
            import optax

            self.optimizer = optax.adam(options["learning_rate"])
        self.recorder = _Recorder(problem, callback, int(options["max_nfev"]))
        self.message, self.success = "", False

    # -- state ---------------------------------------------------------------------------------
    def start(self):
        o, problem = self.o, self.problem
        if o["n"] is not None or o["dt"] is not None:
            problem.set_grid(o["n"], o["dt"])
        self.rng = np.random.default_rng(o["seed"])
        problem.nfev = 0
        problem.failures = {key: 0 for key in problem.failures}
        self.stage = "start"
        self.local: dict = {}
        self.nit = 0
        self.grid_shift = None
        self.z = problem.to_z(o["init"])
        self.z = problem.clip(self.z)

    def snapshot(self) -> dict:
        import jax

        local = dict(self.local)
        if "opt_state" in local:
            local["opt_state"] = [np.asarray(leaf) for leaf in jax.tree_util.tree_leaves(local["opt_state"])]
        rec = self.recorder
        return {
            "version": CHECKPOINT_VERSION,
            "options": self.o,
            "stage": self.stage,
            "z": np.asarray(self.z, dtype=float),
            "local": local,
            "nit": self.nit,
            "rng": self.rng.bit_generator.state,
            "grid": self.problem.grid,
            "grid_shift": self.grid_shift,
            "nfev": int(self.problem.nfev),
            "failures": dict(self.problem.failures),
            "history": rec.history,
            "best": {"z": rec.best_z, "loss": rec.best_loss, "residual": rec.best_residual},
            "message": self.message,
            "success": self.success,
        }

    def restore(self, state: dict):
        import jax

        problem = self.problem
        if state["grid"] != problem.grid:
            problem.set_grid(state["grid"]["n"], state["grid"]["dt"])
        self.rng = np.random.default_rng()
        self.rng.bit_generator.state = state["rng"]
        problem.nfev = int(state["nfev"])
        problem.failures = {k: int(v) for k, v in state.get("failures", problem.failures).items()}
        self.stage = state["stage"]
        self.z = np.asarray(state["z"], dtype=float)
        self.nit = int(state["nit"])
        self.grid_shift = state["grid_shift"]
        self.message, self.success = state.get("message", ""), bool(state.get("success", False))
        local = dict(state["local"])
        if "opt_state" in local:
            template = self.optimizer.init(np.asarray(local["z"]))
            treedef = jax.tree_util.tree_structure(template)
            leaves = [np.asarray(x) for x in local["opt_state"]]
            local["opt_state"] = jax.tree_util.tree_unflatten(treedef, leaves)
        self.local = local
        rec = self.recorder
        rec.history = state["history"]
        best = state["best"]
        rec.best_z = None if best["z"] is None else np.asarray(best["z"], dtype=float)
        rec.best_loss = float(best["loss"])
        rec.best_residual = None if best["residual"] is None else np.asarray(best["residual"], dtype=float)

    def save(self, snapshot: dict | None = None):
        if self.o.get("checkpoint"):
            from .io import save_checkpoint

            save_checkpoint(snapshot or self.snapshot(), self.problem.observations, self.o["checkpoint"])

    # -- stages --------------------------------------------------------------------------------
    def run(self, started) -> FitResult:
        o = self.o
        every = int(o["checkpoint_every"])
        while self.stage != "done":
            if self.should_stop():
                self.save()
                where = f"; checkpoint saved to {o['checkpoint']}" if o.get("checkpoint") else ""
                return self.result(started, False, f"interrupted after {self.problem.nfev} solver calls{where}")
            if self.stage == "start":
                if not self.begin():
                    break
                self.save()
            elif self.stage == "local":
                try:
                    outcome = self.iterate()
                except _Interrupted as stop:
                    self.save(stop.args[0])
                    where = f"; checkpoint saved to {o['checkpoint']}" if o.get("checkpoint") else ""
                    return self.result(started, False, f"interrupted during least_squares{where}")
                if outcome is None and self.nit % every == 0:
                    self.save()
                if outcome is not None:
                    self.message, self.success = outcome
                    self.stage = "grid" if self.wants_grid_check() else "done"
            elif self.stage == "grid":
                self.grid_check()
        return self.result(started, self.success, self.message)

    def begin(self) -> bool:
        """The global search (or the first evaluation); False when nothing could be solved."""
        problem, rec = self.problem, self.recorder
        z0 = self.z
        if self.o["search"]:
            z, r, loss = global_search(problem, z0, self.rng, rec, self.o["search_points"], self.o["search_factor"])
            if not np.isfinite(loss):
                self.message, self.success = "every point of the global search failed to solve", False
                return False
        else:
            R, finite = problem.residuals(z0[None, :])
            z, r = z0, R[0]
            rec.record("start", z, float(problem.loss_of_residuals(R)[0]) if finite[0] else np.inf, r)
            if not finite[0]:
                self.message = "the solver fails at the initial guess; try another init or enable the global search"
                self.success = False
                return False
        self.enter_local(z, r)
        return True

    def enter_local(self, z, r):
        self.z = z
        self.stage = "local"
        method = self.o["method"]
        if method in ("zo-gn", "exact"):
            self.local = _lm_state(z, r, self.problem.dim)
        elif method == "zo":
            self.local = {"z": z, "previous": z.copy(), "update_scale": 1.0, "it": 0,
                          "opt_state": self.optimizer.init(z)}
        else:
            self.local = {"z": z, "r": r}

    def iterate(self):
        """One local iteration; returns ``(message, success)`` when the local phase ends."""
        o, problem, rec = self.o, self.problem, self.recorder
        if rec.budget_left <= 0:
            self.z = self._current_best()
            return "stopped: solver-call budget (max_nfev) reached", False
        if rec.stop_requested:
            self.z = self._current_best()
            return "stopped by callback", False
        self.nit += 1
        local_it = self.local.setdefault("it", 0) + 1
        self.local["it"] = local_it
        method = o["method"]
        if method == "lsq":
            # least_squares cannot be resumed mid-way: an interruption saves the state it started from.
            before = copy.deepcopy(self.snapshot())
            before["nit"] -= 1
            before["local"]["it"] -= 1
            try:
                z, nit, message, success = _least_squares(problem, self.local["z"], rec, rec.budget_left, o["tol"],
                                                          self.should_stop)
            except _Interrupted:
                raise _Interrupted(before) from None
            self.nit += max(nit - 1, 0)
            R, _ = problem.residuals(z[None, :])
            problem.nfev -= 1  # re-evaluating the final point is bookkeeping, not search
            self.z, self.local["r"] = z, R[0]
            return message, success
        if method == "zo":
            outcome = _gd_iteration(problem, self.local, self.estimator, self.optimizer, self.rng, rec, o["tol"])
            self.z = self.local["z"]
            if outcome is None and local_it >= o["max_steps"]:
                outcome = "stopped: max_steps reached", True
            if outcome is not None:
                self.z = self._current_best()
                self.local["r"] = rec.best_residual
            return outcome
        outcome = _lm_iteration(problem, self.local, self.estimator, self.rng, rec, o["tol"], o["max_step"],
                                o["broyden"] and method == "zo-gn")
        self.z = self.local["z"]
        if outcome is None and local_it >= o["max_steps"]:
            outcome = "stopped: max_steps reached", False
        return outcome

    def _current_best(self):
        return self.local.get("z", self.z) if self.o["method"] != "zo" else (
            self.recorder.best_z if self.recorder.best_z is not None else self.z)

    def wants_grid_check(self) -> bool:
        o, problem = self.o, self.problem
        return (bool(o["auto_grid"]) and problem._custom_forward is None and self.success
                and self.recorder.budget_left > problem.dim + 1 and 2 * problem.equation.n <= o["max_n"])

    def grid_check(self):
        """How far would the estimate move on a grid twice as fine? Refine while it matters."""
        problem, z = self.problem, self.z
        r = self.local.get("r")
        if r is None:
            R, _ = problem.residuals(z[None, :])
            r = R[0]
        J = self.local.get("J")
        ok = True
        if J is None or self.o["method"] not in ("zo-gn", "exact"):
            J, ok = _jacobian(problem, z, r)
        n, dt = problem.equation.n, problem.equation.dt
        problem.set_grid(2 * n, dt / 2)
        R_fine, finite = problem.residuals(z[None, :])
        if not (ok and finite[0]):
            problem.set_grid(n, dt)
            self.stage = "done"
            return
        shift, *_ = np.linalg.lstsq(J, -(R_fine[0] - r), rcond=None)
        self.grid_shift = float(np.max(np.abs(shift)))
        if self.grid_shift < self.o["grid_tol"]:
            problem.set_grid(n, dt)
            self.stage = "done"
            return
        # The finer grid matters: continue the local phase there.
        self.recorder.forget_best()
        self.recorder.record("grid", z, float(np.mean(R_fine[0] ** 2)), R_fine[0])
        self.enter_local(z, R_fine[0])
        self.save()

    def result(self, started, success, message) -> FitResult:
        problem, z = self.problem, self.z
        loss = float("nan")
        if z is not None:
            R, _ = problem.residuals(np.asarray(z)[None, :])
            problem.nfev -= 1  # reporting the final loss is not part of the fit's cost
            loss = float(problem.loss_of_residuals(R)[0])
        obs = problem.observations
        settings = {k: v for k, v in self.o.items() if v is not None}
        failed = {k: v for k, v in problem.failures.items() if v}
        if failed:
            kinds = ", ".join(f"{v} {k}" for k, v in failed.items())
            message = f"{message}; {sum(failed.values())} trial solves failed and were rejected ({kinds})"
        return FitResult(
            params=problem.to_params(z),
            success=bool(success),
            message=message,
            nfev=int(problem.nfev),
            nit=int(self.nit),
            loss=loss,
            history=self.recorder.history,
            grid={**problem.grid, "grid_shift": self.grid_shift},
            wall_time=time.perf_counter() - started,
            seed=int(self.o["seed"]),
            settings=settings,
            equation=problem.equation_class.name,
            true_params=None if obs.true_params is None else {
                k: obs.true_params[k] for k in problem.unknowns if k in obs.true_params},
            known_params=dict(problem.known),
        )
