"""The named methods and presets, read by the API and the command line alike."""

from __future__ import annotations

from ..estimators import ExactAD, ZOGradient, ZOSketch
from .solver import Solver
from .steps import LeastSquares, LevenbergMarquardt, OptaxStep

__all__ = ["METHODS", "METHOD_OPTIONS", "PRESETS", "make_solver"]

#: method -> one line for help texts
METHODS = {
    "zo-gn": "Levenberg-Marquardt on random-direction differences of the residuals (a sketch J V), "
             "kept up to date by secant updates (default)",
    "zo": "(FG)^2U-ZO: random-direction loss differences feeding optax Adam",
    "exact": "Levenberg-Marquardt on the Jacobian by AD through the solver (the reference)",
    "lsq": "scipy.optimize.least_squares (the classical baseline)",
}

#: options that only some methods use: an explicit value for another method is refused
METHOD_OPTIONS = {
    "directions": ("zo-gn", "zo"),
    "distribution": ("zo-gn", "zo"),
    "scheme": ("zo-gn", "zo"),
    "eps": ("zo-gn", "zo"),
    "learning_rate": ("zo",),
    "optimizer": ("zo",),
    "broyden": ("zo-gn",),
    "max_step": ("zo-gn", "exact"),
}

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
    method = o["method"]
    if method == "zo-gn":
        derivative = ZOSketch(o["directions"], o["distribution"], o["scheme"], o["eps"])
        return Solver(derivative, LevenbergMarquardt(broyden=o["broyden"], max_step=o["max_step"]), "zo-gn")
    if method == "zo":
        derivative = ZOGradient(o["directions"], o["distribution"], o["scheme"], o["eps"])
        return Solver(derivative, OptaxStep(optimizer, learning_rate=o["learning_rate"]), "zo")
    if method == "exact":
        return Solver(ExactAD(), LevenbergMarquardt(broyden=False, max_step=o["max_step"]), "exact")
    return Solver(None, LeastSquares(), "lsq")
