"""Derivative estimators for the outer problem, sharing one small interface.

An estimator is called as ``estimator(problem, z, base, rng) -> Estimate`` where ``base`` is
the residual vector already known at ``z`` (or ``None``). It evaluates the forward map only
through ``problem.residuals`` (which counts solver calls), except ``ExactAD``, the reverse-mode
reference that differentiates the JAX solver.
"""

from .base import Estimate, Estimator, random_directions
from .exact import ExactAD
from .zo import ZOGradient, ZOSketch

ESTIMATORS = {"zo": ZOGradient, "zo-gn": ZOSketch, "exact": ExactAD}

__all__ = ["ESTIMATORS", "Estimate", "Estimator", "ExactAD", "ZOGradient", "ZOSketch", "random_directions"]
