"""lsq: scipy.optimize.least_squares, the classical baseline (no global phase by default)."""

from . import Method, register_method


def build(o: dict, optimizer=None):
    from ..fit.solver import Solver
    from ..fit.steps import LeastSquares

    return Solver(None, LeastSquares(), "lsq")


METHOD = register_method(Method("lsq", "scipy.optimize.least_squares (the classical baseline)", build, search=False))
