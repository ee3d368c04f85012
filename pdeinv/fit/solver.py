"""A local method = a derivative source composed with a step rule.

Derivative sources (``pdeinv.estimators``) say what they provide (``provides``: "jacobian"
and/or "gradient"); step rules (``pdeinv.fit.steps``) what they need. Any compatible pair is a
solver: ``Solver(ExactAD(), OptaxStep(optax.adam(1e-2)))`` runs Adam on exact gradients,
``Solver(ZOSketch(4), Dogleg())`` a dogleg trust region on a sketched Jacobian.
"""

from __future__ import annotations

__all__ = ["Solver"]


class Solver:
    """``derivative`` (None for a rule that needs none, e.g. scipy's least_squares) and
    ``step``; ``name`` labels it in results."""

    def __init__(self, derivative, step, name: str | None = None):
        needs = getattr(step, "needs", None)
        if needs not in ("jacobian", "gradient", "none"):
            raise ValueError(f"step rule {step!r} must declare needs = 'jacobian', 'gradient' or 'none'")
        provides = tuple(getattr(derivative, "provides", ())) if derivative is not None else ()
        if needs != "none" and needs not in provides:
            what = type(derivative).__name__ if derivative is not None else "no derivative source"
            raise ValueError(f"step rule {step.name} needs a {needs}, which {what} does not provide "
                             f"(it provides: {', '.join(provides) or 'nothing'})")
        self.derivative = derivative
        self.step = step
        self.name = name or f"{getattr(derivative, 'name', 'none')}+{step.name}"

    def __repr__(self) -> str:
        return f"Solver({self.name})"
