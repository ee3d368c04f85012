"""Step rules: how a local iteration moves, given what a derivative source measured.

Each has ``init`` / ``step`` / ``estimate`` and a state of plain data (see ``base``); a new rule
is one file (``dogleg`` is an example).
"""

from .base import STATUSES, Context, Interrupted, Outcome
from .dogleg import Dogleg
from .least_squares import LeastSquares
from .lm import LevenbergMarquardt
from .optax_step import OptaxStep

__all__ = ["STATUSES", "Context", "Dogleg", "Interrupted", "LeastSquares", "LevenbergMarquardt", "OptaxStep", "Outcome"]
