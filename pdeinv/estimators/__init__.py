"""Derivative estimators for the outer problem, sharing one small interface.

A derivative source is called as ``estimator(evaluator, z, base, rng) -> Estimate`` where
``base`` is the residual vector already known at ``z`` (or ``None``). It evaluates the forward
map only through ``evaluator.residuals`` (which counts solver calls), except ``ExactAD``, the
reference that differentiates the JAX solver (forward mode for the Jacobian). ``provides``
says what its estimates hold, which decides the step rules it composes with
(``pdeinv.fit.Solver``).
"""

from .base import Estimate, Estimator, random_directions
from .exact import ExactAD
from .zo import ZOGradient, ZOSketch

ESTIMATORS = {"zo": ZOGradient, "zo-gn": ZOSketch, "exact": ExactAD}

__all__ = ["ESTIMATORS", "Estimate", "Estimator", "ExactAD", "ZOGradient", "ZOSketch", "random_directions"]
