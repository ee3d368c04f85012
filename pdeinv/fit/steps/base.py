"""What a step rule is: ``init`` a state at the start of the local phase, ``step`` it once
(returning an outcome when the local phase ends), and report the point to keep.

The state is a dict of numbers, strings and NumPy arrays, so a checkpoint is its generic
serialization; a rule whose state holds other objects (an optax state) converts them in
``to_saved`` / ``from_saved``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np

__all__ = ["Context", "Outcome", "StepRule"]

#: How a fit can end (``FitResult.status``); ``success`` means "converged". "poor_fit": a
#: stationary point whose residuals the data's noise does not explain (``pdeinv.fit.goodness``).
STATUSES = ("converged", "poor_fit", "max_steps", "max_nfev", "max_time", "diverged", "interrupted", "failed")


@dataclass
class Outcome:
    """The end of the local phase: one of ``STATUSES`` and a message for people."""

    status: str
    message: str

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")


@dataclass
class Context:
    """What a step may use: the run's evaluator, the derivative source, the run's random
    generator, ``record(phase, z, loss, residual)`` for the history, the tolerance, and the
    solver calls left."""

    evaluator: object
    derivative: object
    rng: np.random.Generator
    record: Callable
    tol: float
    budget_left: Callable[[], int]
    should_stop: Callable[[], bool]


class StepRule(Protocol):
    name: str
    #: what the derivative source must provide: "jacobian", "gradient" or "none"
    needs: str

    def init(self, ctx: Context, z: np.ndarray, r: np.ndarray) -> dict: ...

    def step(self, ctx: Context, state: dict) -> Outcome | None: ...

    def estimate(self, state: dict, best_z: np.ndarray | None) -> np.ndarray: ...
