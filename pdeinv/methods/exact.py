"""exact: Levenberg-Marquardt on the Jacobian by AD through the solver (the reference)."""

from . import Method, register_method


def build(o: dict, optimizer=None):
    from ..estimators import ExactAD
    from ..fit.solver import Solver
    from ..fit.steps import LevenbergMarquardt

    return Solver(ExactAD(), LevenbergMarquardt(broyden=False, max_step=o["max_step"]), "exact")


def configure(o: dict, problem) -> None:
    problem.jax_residual_fn()  # raises now for a forward map that JAX cannot differentiate
    o["max_step"] = 2.0 if o["max_step"] is None else float(o["max_step"])


METHOD = register_method(Method(
    "exact", "Levenberg-Marquardt on the Jacobian by AD through the solver (the reference)", build,
    options=("max_step",), configure=configure))
