"""zo-gn, the default: Levenberg-Marquardt on a sketched Jacobian from residual differences."""

from . import Method, register_method


def build(o: dict, optimizer=None):
    from ..estimators import ZOSketch
    from ..fit.solver import Solver
    from ..fit.steps import LevenbergMarquardt

    derivative = ZOSketch(o["directions"], o["distribution"], o["scheme"], o["eps"])
    return Solver(derivative, LevenbergMarquardt(broyden=o["broyden"], max_step=o["max_step"]), "zo-gn")


def configure(o: dict, problem) -> None:
    o["scheme"] = o["scheme"] or "forward"
    if problem.field is not None and o["distribution"] is None:
        # Fields: coordinate axes, low wavenumbers first, 4 at a time: the fewest solver calls
        # for every size measured by benchmarks/fields.py (d = 8 ... 128).
        o["distribution"] = "ordered"
        o["directions"] = o["directions"] or min(problem.dim, 4)
    o["distribution"] = o["distribution"] or "gaussian"
    if o["broyden"] is None:
        # Secant updates pay with random or ordered sketches; a full finite-difference Jacobian
        # of a regularized field problem is better measured again at each step.
        o["broyden"] = problem.field is None or (o["directions"] or 8) < problem.dim
    o["max_step"] = 2.0 if o["max_step"] is None else float(o["max_step"])


METHOD = register_method(Method(
    "zo-gn",
    "Levenberg-Marquardt on random-direction differences of the residuals (a sketch J V), kept up to date by "
    "secant updates (default)",
    build, options=("directions", "distribution", "scheme", "eps", "broyden", "max_step"), configure=configure))
