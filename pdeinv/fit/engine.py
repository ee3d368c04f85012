"""The fit as a state machine: ``start`` (global search) -> ``local`` (solver steps) <->
``grid`` (refinement check) -> ``done``.

The whole state (iterate, the step rule's state, random generator, history, grid, solver-call
count) is a dict of numbers, strings and arrays between iterations; a checkpoint is its
serialization, and resuming from one gives bitwise the result of not stopping.
"""

from __future__ import annotations

import copy
import time

import numpy as np

from ..result import FitResult
from .evaluation import Evaluator
from .goodness import assess_goodness, discretization_level
from .refine import (
    NOISE_SHIFT_FRACTION, STALLED_SHIFT_RATIO, grid_shift_estimate, misfit_allows_refinement, standard_errors,
)
from .search import global_search, searched_unknowns, time_windows
from .steps.base import Context, Outcome
from .uncertainty import assess, assess_field
from .steps import Interrupted

__all__ = ["Engine", "Recorder"]

#: Continuation in time (several unknowns): the largest growth of the misfit at the current
#: estimate accepted when the window grows (above the noise level), and the most windows.
WINDOW_JUMP = 100.0
MAX_WINDOWS = 10


class Recorder:
    """Collects the history and calls the user's callback; tracks the best point seen."""

    def __init__(self, evaluator: Evaluator, callback, max_nfev: int):
        self.evaluator = evaluator
        self.callback = callback
        self.max_nfev = max_nfev
        self.history = {"nfev": [], "loss": [], "phase": [], "params": {k: [] for k in evaluator.unknowns}}
        self.best_z: np.ndarray | None = None
        self.best_loss = np.inf
        self.best_residual: np.ndarray | None = None
        self.stop_requested = False

    def record(self, phase: str, z: np.ndarray, loss: float, residual: np.ndarray | None = None) -> None:
        params = self.evaluator.to_params(z)
        self.history["nfev"].append(int(self.evaluator.nfev))
        self.history["loss"].append(float(loss))
        self.history["phase"].append(phase)
        for k, v in params.items():
            self.history["params"][k].append(v)
        if np.isfinite(loss) and loss < self.best_loss:
            self.best_loss, self.best_z = float(loss), np.array(z, dtype=float)
            self.best_residual = None if residual is None else np.array(residual, dtype=float)
        if self.callback is not None:
            info = {"phase": phase, "nfev": self.evaluator.nfev, "loss": float(loss), "params": params,
                    "step": len(self.history["loss"])}
            if self.callback(info) is True:
                self.stop_requested = True

    def forget_best(self) -> None:
        self.best_loss, self.best_z, self.best_residual = np.inf, None, None

    def budget_left(self) -> int:
        return self.max_nfev - self.evaluator.nfev


class Engine:
    """Runs a fit of ``problem`` with ``solver`` (a derivative source and a step rule) under the
    validated options ``o`` (see ``pdeinv.fit.options``)."""

    def __init__(self, problem, solver, options: dict, callback, should_stop, save_checkpoint):
        self.evaluator = Evaluator(problem)
        self.solver = solver
        self.o = options
        self.should_stop = should_stop
        self.save_checkpoint = save_checkpoint
        self.recorder = Recorder(self.evaluator, callback, int(options["max_nfev"]))
        self.outcome: Outcome | None = None
        self.started = time.perf_counter()
        self.elapsed_before = 0.0  # wall time of the runs this one resumes

    # -- state ---------------------------------------------------------------------------------
    def start(self):
        o = self.o
        if o["n"] is not None or o["dt"] is not None:
            self.evaluator.use(self.evaluator.problem.with_grid(o["n"], o["dt"]))
        self.rng = np.random.default_rng(o["seed"])
        self.stage = "start"
        self.local: dict = {}
        self.nit = 0
        self.local_it = 0
        self.grid_shift = None
        self.z = self.evaluator.clip(self.evaluator.to_z(o["init"]))

    def context(self) -> Context:
        return Context(self.evaluator, self.solver.derivative, self.rng, self.recorder.record, float(self.o["tol"]),
                       self.recorder.budget_left, self.should_stop)

    def snapshot(self) -> dict:
        step = self.solver.step
        local = step.to_saved(self.local) if self.local and hasattr(step, "to_saved") else dict(self.local)
        rec = self.recorder
        return {
            "options": self.o,
            "stage": self.stage,
            "z": np.asarray(self.z, dtype=float),
            "local": local,
            "nit": self.nit,
            "local_it": self.local_it,
            "rng": self.rng.bit_generator.state,
            "grid": self.evaluator.problem.grid,
            "grid_shift": self.grid_shift,
            "evaluator": self.evaluator.state(),
            "history": rec.history,
            "best": {"z": rec.best_z, "loss": rec.best_loss, "residual": rec.best_residual},
            "outcome": None if self.outcome is None else [self.outcome.status, self.outcome.message],
            "wall_time": self.elapsed(),
        }

    def restore(self, state: dict):
        problem = self.evaluator.problem
        if state["grid"] != problem.grid:
            self.evaluator.use(problem.with_grid(state["grid"]["n"], state["grid"]["dt"]))
        self.rng = np.random.default_rng()
        self.rng.bit_generator.state = state["rng"]
        self.evaluator.restore(state["evaluator"])
        self.stage = state["stage"]
        self.z = np.asarray(state["z"], dtype=float)
        self.nit = int(state["nit"])
        self.local_it = int(state["local_it"])
        self.grid_shift = state["grid_shift"]
        self.outcome = None if state.get("outcome") is None else Outcome(*state["outcome"])
        self.elapsed_before = float(state.get("wall_time", 0.0))
        step = self.solver.step
        local = dict(state["local"])
        self.local = step.from_saved(local) if local and hasattr(step, "from_saved") else local
        rec = self.recorder
        rec.history = state["history"]
        best = state["best"]
        rec.best_z = None if best["z"] is None else np.asarray(best["z"], dtype=float)
        rec.best_loss = float(best["loss"])
        rec.best_residual = None if best["residual"] is None else np.asarray(best["residual"], dtype=float)

    def elapsed(self) -> float:
        return self.elapsed_before + time.perf_counter() - self.started

    def save(self, snapshot: dict | None = None):
        if self.o.get("checkpoint"):
            self.save_checkpoint(snapshot or self.snapshot(), self.evaluator.problem.source_observations,
                                 self.o["checkpoint"])

    # -- the loop ------------------------------------------------------------------------------
    def run(self) -> FitResult:
        o = self.o
        every = int(o["checkpoint_every"])
        where = f"; checkpoint saved to {o['checkpoint']}" if o.get("checkpoint") else ""
        while self.stage != "done":
            if self.should_stop():
                self.save()
                return self.result(Outcome("interrupted", f"interrupted after {self.evaluator.nfev} solver calls{where}"))
            if o["max_time"] is not None and self.elapsed() > o["max_time"]:
                self.save()
                return self.result(Outcome("max_time", f"stopped: wall-time limit (max_time={o['max_time']:g} s) "
                                                       f"reached{where}"))
            if self.stage == "start":
                if not self.begin():
                    break
                self.save()
            elif self.stage == "local":
                try:
                    outcome = self.iterate()
                except Interrupted as stop:
                    self.save(stop.args[0])
                    return self.result(Outcome("interrupted", f"interrupted during least_squares{where}"))
                if outcome is None and self.nit % every == 0:
                    self.save()
                if outcome is not None:
                    self.outcome = outcome
                    self.stage = "grid" if self.wants_grid_check() else "done"
            elif self.stage == "grid":
                self.grid_check()
        return self.result(self.outcome)

    def begin(self) -> bool:
        """The global search (or the first evaluation); False when nothing could be solved."""
        ev, rec = self.evaluator, self.recorder
        z0 = self.z
        if self.o["search"]:
            full = ev.problem
            windows = time_windows(full, self.o.get("windows") or 0)
            if windows:
                ev.use(full.until(windows[0]))
            z, r, loss = global_search(ev, z0, self.rng, rec.record, self.o["search_points"], self.o["search_factor"],
                                       active=searched_unknowns(full))
            if not np.isfinite(loss):
                ev.use(full)
                self.outcome = Outcome("failed", "every point of the global search failed to solve" + self._first_error())
                return False
            if windows:
                z, r = self.continue_in_time(full, windows, z, r)
        else:
            R, finite = ev.residuals(z0[None, :])
            z, r = z0, R[0]
            rec.record("start", z, float(ev.loss_of_residuals(R)[0]) if finite[0] else np.inf, r)
            if not finite[0]:
                self.outcome = Outcome("failed", "the solver fails at the initial guess; try another init or enable "
                                                 "the global search" + self._first_error())
                return False
        self.enter_local(z, r)
        return True

    def continue_in_time(self, full, windows, z, r):
        """Short local fits on the observations up to each window's end in turn (the first
        window's scan gave ``z``), then the residual of the full data at the estimate: the
        global phase for several unknowns (see ``search.py``).

        The planned ends double the window; where the misfit at the current estimate jumps by
        more than ``WINDOW_JUMP`` on the next window (a chaotic flow amplifies what the shorter
        window left undetermined), the step in time is halved first, up to ``MAX_WINDOWS``
        windows in all. One solve per probe."""
        ev, rec, step = self.evaluator, self.recorder, self.solver.step
        per_window = max(10, self.o["max_steps"] // 4)
        ctx = Context(ev, self.solver.derivative, self.rng, lambda _, *args: rec.record("window", *args),
                      max(float(self.o["tol"]), 1e-6), rec.budget_left, lambda: False)
        last = float(np.max(full.observations.t))
        floor = 1.0 if full.observations.sigma is not None else 1e-8 * float(np.mean(np.abs(full.data) ** 2))
        end, loss, fitted = windows[0], None, 0
        while True:
            rec.forget_best()
            state = step.init(ctx, z, r)
            for _ in range(per_window):
                if rec.budget_left() <= 0 or step.step(ctx, state) is not None:
                    break
            z = step.estimate(state, rec.best_z)
            loss = rec.best_loss if np.isfinite(rec.best_loss) else float(np.mean(r**2))
            fitted += 1
            planned = [e for e in windows if e > end * (1 + 1e-12)] + [last]
            target = planned[0]
            while True:  # the next end: the planned one, or nearer while the misfit jumps
                problem = full if target >= last else full.until(target)
                ev.use(problem)
                R, finite = ev.residuals(z[None, :])
                jump = float(ev.loss_of_residuals(R)[0]) if finite[0] else np.inf
                if jump <= WINDOW_JUMP * max(loss, floor) or fitted + 1 >= MAX_WINDOWS or target - end < 0.05 * last:
                    break
                target = end + (target - end) / 2
            r = R[0]
            if target >= last or not finite[0] or fitted >= MAX_WINDOWS or rec.budget_left() <= 0:
                break
            end = target
        ev.use(full)
        rec.forget_best()
        if target < last or not finite[0]:
            R, finite = ev.residuals(z[None, :])
            r = R[0]
        rec.record("window", z, float(ev.loss_of_residuals(R)[0]) if finite[0] else np.inf, r)
        return z, r

    def _first_error(self) -> str:
        return f" (first error: {self.evaluator.first_error})" if self.evaluator.first_error else ""

    def enter_local(self, z, r):
        self.z = z
        self.stage = "local"
        self.local_it = 0
        self.local = self.solver.step.init(self.context(), z, r)

    def iterate(self) -> Outcome | None:
        """One local iteration; an Outcome when the local phase ends."""
        rec = self.recorder
        step = self.solver.step
        if rec.budget_left() <= 0:
            self.z = step.estimate(self.local, rec.best_z)
            return Outcome("max_nfev", "stopped: solver-call budget (max_nfev) reached")
        if rec.stop_requested:
            self.z = step.estimate(self.local, rec.best_z)
            return Outcome("interrupted", "stopped by callback")
        before = None
        if getattr(step, "needs", "") == "none":  # runs to its end in one call: keep where it started
            before = copy.deepcopy(self.snapshot())
        self.nit += 1
        self.local_it += 1
        try:
            outcome = step.step(self.context(), self.local)
        except Interrupted:
            raise Interrupted(before) from None
        if "iterations" in self.local:  # a rule that counts its own iterations (scipy)
            self.nit += max(int(self.local["iterations"]) - 1, 0)
        if outcome is None and self.local_it >= self.o["max_steps"]:
            outcome = Outcome("max_steps", "stopped: max_steps reached")
        self.z = step.estimate(self.local, rec.best_z) if outcome is not None else self.local["z"]
        if outcome is not None and "r" not in self.local and rec.best_residual is not None:
            self.local["r"] = rec.best_residual
        return outcome

    def wants_grid_check(self) -> bool:
        o, ev = self.o, self.evaluator
        return (bool(o["auto_grid"]) and not ev.problem.has_custom_forward and self.outcome.status == "converged"
                and self.recorder.budget_left() > ev.dim + 1 and 2 * ev.problem.equation.n <= o["max_n"]
                and misfit_allows_refinement(ev.problem, self.local.get("r")))

    def grid_check(self):
        """How far would the estimate move on a grid twice as fine? Refine while it matters."""
        ev, z = self.evaluator, self.z
        r = self.local.get("r")
        if r is None:
            R, _ = ev.residuals(z[None, :])
            r = R[0]
        shift, fine_residual, fine, J = grid_shift_estimate(ev, z, r, self.local.get("J"))
        if shift is None:
            self.stage = "done"
            return
        previous, self.grid_shift = self.grid_shift, float(np.max(np.abs(shift)))
        if self.grid_shift < self.o["grid_tol"]:
            self.stage = "done"
            return
        se = standard_errors(ev.problem, J)
        reason = None
        if se is not None and np.all(np.abs(shift) <= NOISE_SHIFT_FRACTION * se):
            reason = (f"a finer grid would move the estimate by {self.grid_shift:.2g}, under a tenth of its "
                      "standard error: not refined")
        elif (previous is not None and self.grid_shift > STALLED_SHIFT_RATIO * previous
              and ev.problem.equation.n > ev.problem.equation_class.default_n):  # coarser: pre-asymptotic
            reason = (f"refining the grid does not settle the estimate (it moved {previous:.2g}, then "
                      f"{self.grid_shift:.2g}): kept n = {ev.problem.equation.n}; the estimate may lie where no "
                      "grid resolves the field, or the data may not determine it")
        if reason is not None:
            self.outcome = Outcome(self.outcome.status, f"{self.outcome.message}; {reason}")
            self.stage = "done"
            return
        # The finer grid matters: continue the local phase there.
        ev.use(fine)
        self.recorder.forget_best()
        self.recorder.record("grid", z, float(np.mean(fine_residual**2)), fine_residual)
        self.enter_local(z, fine_residual)
        self.save()

    def result(self, outcome: Outcome) -> FitResult:
        ev, z = self.evaluator, self.z
        loss = float("nan")
        uncertainty = goodness = None
        if z is not None:
            R, finite = ev.residuals(np.asarray(z)[None, :], counted=False)  # reporting, not searching
            loss = float(ev.loss_of_residuals(R)[0])
            if outcome.status == "converged" and finite[0]:
                goodness = assess_goodness(ev.problem, R[0], n_params=ev.dim,
                                           discretization=lambda: discretization_level(ev.problem, z, R[0]))
                if goodness["verdict"] == "poor":
                    outcome = Outcome("poor_fit", f"{outcome.message}; but the fit does not explain its data: "
                                                  f"{goodness['reason']}")
            method = self.o.get("intervals", "none")
            if method != "none" and outcome.status in ("converged", "poor_fit") and finite[0]:
                spent = ev.nfev
                level = float(self.o.get("level", 0.95))
                if ev.problem.field is None:
                    uncertainty = assess(ev, np.asarray(z, dtype=float), R[0], method=method, level=level)
                else:  # a field: its pointwise band, and the scalars' intervals (no profile of each coefficient)
                    uncertainty = assess_field(ev, np.asarray(z, dtype=float), R[0], method=method, level=level)
                ev.nfev = spent  # reported as uncertainty["nfev"], not as the fit's cost
                if outcome.status == "poor_fit":
                    uncertainty["calibrated"] = False
                    uncertainty["undetermined"].insert(0, "not calibrated: these intervals assume a model that "
                                                          "explains the data, and this fit does not")
        obs = ev.observations
        settings = {k: v for k, v in self.o.items() if v is not None}
        message = outcome.message
        failed = {k: v for k, v in ev.failures.items() if v}
        if failed:
            kinds = ", ".join(f"{v} {k}" for k, v in failed.items())
            message = f"{message}; {sum(failed.values())} trial solves failed and were rejected ({kinds})"
            if ev.first_error and "first error" not in message:
                message += f"; first error: {ev.first_error}"
        return FitResult(
            params=ev.to_params(z),
            success=outcome.status == "converged",
            message=message,
            nfev=int(ev.nfev),
            nit=int(self.nit),
            loss=loss,
            history=self.recorder.history,
            grid={**ev.problem.grid, "grid_shift": self.grid_shift},
            wall_time=self.elapsed(),
            seed=int(self.o["seed"]),
            settings=settings,
            equation=ev.equation_class.name,
            true_params=None if obs.true_params is None else {
                k: obs.true_params[k] for k in ev.unknowns if k in obs.true_params},
            known_params=dict(ev.known),
            status=outcome.status,
            uncertainty=uncertainty,
            goodness=goodness,
        )
