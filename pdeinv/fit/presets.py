"""The presets and the solver of a named method, read by the API and the command line alike
(the methods themselves: one file each in ``methods/``)."""

from __future__ import annotations

from ..methods import METHODS, get_method
from .solver import Solver

__all__ = ["METHODS", "PRESETS", "make_solver"]

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


def make_solver(o: dict, optimizer=None) -> Solver:
    """The solver of a named method from validated options."""
    return get_method(o["method"]).build(o, optimizer)
