"""FitResult: what a fit returns and what a result file holds (no numerical dependencies)."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["FitResult"]


@dataclass
class FitResult:
    """Outcome of ``fit``, in scipy.optimize's vocabulary.

    ``params`` the estimate of the unknowns; ``success`` and ``message`` how it ended;
    ``nfev`` solver calls (a batched call of B solves counts B); ``nit`` local iterations;
    ``loss`` the mean squared weighted residual at ``params``; ``history`` per step:
    ``nfev``, ``loss``, ``phase`` and ``params`` (a dict of lists); ``grid`` the solver grid
    used; ``wall_time`` seconds; ``seed``; ``settings`` everything needed to rerun.
    """

    params: dict
    success: bool
    message: str
    nfev: int
    nit: int
    loss: float
    history: dict
    grid: dict
    wall_time: float
    seed: int
    settings: dict
    equation: str = ""
    true_params: dict | None = None
    known_params: dict = field(default_factory=dict)

    def relative_errors(self) -> dict:
        """|estimate - truth| / |truth| for each unknown whose truth is known."""
        if not self.true_params:
            return {}
        return {
            k: abs(v - self.true_params[k]) / abs(self.true_params[k])
            for k, v in self.params.items()
            if k in self.true_params and self.true_params[k] != 0
        }

    def summary(self) -> dict:
        return {
            "equation": self.equation,
            "params": dict(self.params),
            "true_params": self.true_params,
            "relative_errors": self.relative_errors(),
            "success": self.success,
            "message": self.message,
            "nfev": self.nfev,
            "nit": self.nit,
            "loss": self.loss,
            "grid": dict(self.grid),
            "wall_time": self.wall_time,
            "seed": self.seed,
            "method": self.settings.get("method"),
        }
