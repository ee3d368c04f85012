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

from ...result import STATUSES

__all__ = ["PUBLIC_STATE", "Context", "Interrupted", "Outcome", "StepRule"]


class Interrupted(Exception):
    """Raised by a step rule that cannot return between iterations (a library's own loop) when
    the run must stop; the engine turns it into the status "interrupted"."""


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


#: The state's public part, which the engine reads (everything else is the rule's own): ``z``
#: the current point; ``r`` its residual vector (when the rule has it); ``J`` the rule's
#: Jacobian model at ``z`` (when it keeps one: the grid check reuses it instead of measuring);
#: ``iterations`` the iterations the rule ran inside one ``step`` (when it runs a library's
#: loop: scipy). Rules write these under these names; the engine reads no other key.
PUBLIC_STATE = ("z", "r", "J", "iterations")


class StepRule(Protocol):
    """``init(ctx, z, r) -> state``; ``step(ctx, state) -> Outcome | None`` (None: go on);
    ``estimate(state, best_z) -> z`` the point to keep when the local phase ends. The state
    holds ``PUBLIC_STATE`` under those names."""

    name: str
    #: what the derivative source must provide: "jacobian", "gradient" or "none"
    needs: str

    def init(self, ctx: Context, z: np.ndarray, r: np.ndarray) -> dict: ...

    def step(self, ctx: Context, state: dict) -> Outcome | None: ...

    def estimate(self, state: dict, best_z: np.ndarray | None) -> np.ndarray: ...
