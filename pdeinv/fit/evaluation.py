"""A fit's view of its problem: the evaluations it pays for.

An ``InverseProblem`` is a definition; what a run spends (forward solves, failed trial points)
and the grid it currently uses belong to the run. ``Evaluator`` holds both: derivative sources
and step rules evaluate residuals only through it, so every solve is counted once, and refining
the grid swaps the problem it wraps for a finer copy.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Evaluator"]


class Evaluator:
    """Residuals of ``problem`` for a run, with the solver calls (``nfev``) and failed trial
    points (``failures`` by kind, and the first error's text) counted.

    Attributes the problem has (unknowns, transforms, bounds...) are reached through it.
    """

    def __init__(self, problem):
        self.problem = problem
        self.nfev = 0
        self.failures = {"non-finite": 0, "error": 0, "timeout": 0}
        self.first_error: str | None = None

    def __getattr__(self, name):
        # Only called for names the evaluator lacks: the problem's definition.
        if name == "problem":
            raise AttributeError(name)
        return getattr(self.problem, name)

    def residuals(self, Z, *, counted: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Weighted residuals for a batch ``Z (B, d)``; every member is one solver call.
        ``counted=False``: bookkeeping (re-evaluating a point already paid for, to report it),
        neither a solver call of the fit nor, when it fails, one of its failures."""
        Z = np.atleast_2d(np.asarray(Z, dtype=float))
        tally: dict = {}
        R, finite = self.problem.residuals(Z, tally=tally)
        if not counted:
            return R, finite
        self.count(Z.shape[0])
        for kind in self.failures:
            self.failures[kind] += int(tally.get(kind, 0))
        if self.first_error is None and tally.get("first_error"):
            self.first_error = tally["first_error"]
        return R, finite

    def count(self, solves: int = 1) -> None:
        """Count solves made outside ``residuals`` (a solve with its derivative by AD)."""
        self.nfev += int(solves)

    def use(self, problem) -> None:
        """Continue the run on another grid (a copy of the problem from ``with_grid``)."""
        self.problem = problem

    def state(self) -> dict:
        return {"nfev": int(self.nfev), "failures": dict(self.failures), "first_error": self.first_error}

    def restore(self, state: dict) -> None:
        self.nfev = int(state["nfev"])
        self.failures = {k: int(v) for k, v in state.get("failures", self.failures).items()}
        self.first_error = state.get("first_error")
