"""FitResult: what a fit returns and what a result file holds (no numerical dependencies)."""

from __future__ import annotations

from dataclasses import dataclass, field

#: How a fit can end (``FitResult.status``), for every path (the numerical methods, the PINN,
#: a resumed checkpoint); ``success`` means "converged". "poor_fit": a stationary point whose
#: residuals the data's noise does not explain (``pdeinv.fit.goodness``).
STATUSES = ("converged", "poor_fit", "max_steps", "max_nfev", "max_time", "diverged", "interrupted", "failed")

__all__ = ["STATUSES", "FitResult", "describe_penalty", "exponential_rate", "penalty_settings"]


def exponential_rate(form) -> str | None:
    """The rate a of the exponential penalty form "exponential:a" as written (e.g. "2"); None
    for any other form (an order, or a form still to be chosen)."""
    if isinstance(form, str) and form.startswith("exponential:"):
        return form.split(":", 1)[1]
    return None


def penalty_settings(settings: dict) -> dict | None:
    """The smoothness penalty a field was fitted with, from a fit's (or a checkpoint's)
    settings: ``{"weight", "penalty_order", "rule", "order_rule"}`` (penalty_order None when not
    given and no weight was applied; rule None for a weight
    given as a number, order_rule None for an order given); None when no field was fitted.
    Files written before the order was recorded had the first-derivative penalty."""
    spec = settings.get("problem") or {}
    if not spec.get("modes"):
        return None
    chosen = settings.get("regularization")
    rule = chosen.get("rule") if isinstance(chosen, dict) else None
    order_rule = chosen.get("penalty_order", {}).get("rule") if isinstance(chosen, dict) else None
    order = spec.get("penalty_order", 1)
    return {"weight": float(spec.get("regularization", 0.0)),
            "penalty_order": order if order is None or isinstance(order, str) else int(order), "rule": rule,
            "order_rule": order_rule}


#: How a rule choosing the smoothness weight reads in a result line.
RULE_WORDS = {"risk": "least expected field error"}


def describe_penalty(penalty: dict | None) -> str:
    """One phrase for people, e.g. "smoothness penalty 3.2 |k^2 c|^2 (weight chosen by evidence)"
    or "smoothness penalty 0.5 sum e^(2 m) c_m^2" (the exponential penalty, m the mode number)."""
    if penalty is None:
        return ""
    if penalty["weight"] == 0:
        return "no smoothness penalty"
    order = penalty["penalty_order"]
    rate = exponential_rate(order)
    if rate is not None:
        form = f"sum e^({rate} m) c_m^2"
    else:
        form = "|k c|^2" if order == 1 else f"|k^{order} c|^2"
    text = f"smoothness penalty {penalty['weight']:.3g} {form}"
    rule = RULE_WORDS.get(penalty["rule"], penalty["rule"])
    if penalty.get("order_rule"):
        what = "rate" if isinstance(order, str) else "order"
        if penalty["order_rule"] == penalty["rule"]:
            return text + f" (weight and {what} chosen by {rule})"
        return text + f" ({what} chosen by {penalty['order_rule']}, weight by {rule})"
    return text + (f" (weight chosen by {rule})" if rule else "")


@dataclass
class FitResult:
    """Outcome of ``fit``, in scipy.optimize's vocabulary.

    ``params`` the estimate of the unknowns; ``status`` how it ended (one of converged,
    poor_fit, max_steps, max_nfev, max_time, diverged, interrupted, failed), ``success`` whether
    that is "converged", ``message`` in words; ``goodness`` whether the fit explains its data
    (a stationary point that does not is "poor_fit", see ``pdeinv.fit.goodness``); ``nfev`` forward solves (a batched call of B solves
    counts B; 0 on the PINN path, which reports its outer evaluations as ``evaluations``);
    ``nit`` local iterations;
    ``loss`` the mean squared weighted residual at ``params``; ``history`` per step:
    ``nfev``, ``loss``, ``phase`` and ``params`` (a dict of lists); ``grid`` the solver grid
    used; ``wall_time`` seconds; ``seed``; ``settings`` everything needed to rerun;
    ``intervals`` / ``uncertainty`` how sure the estimate is (see ``pdeinv.fit.uncertainty``).
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
    status: str = ""
    evaluations: int | None = None
    #: intervals, correlations and identifiability at the estimate (``pdeinv.fit.uncertainty``);
    #: None when not assessed (not converged, a field, ``intervals="none"``, the PINN path)
    uncertainty: dict | None = None
    #: does the fit explain its data (``pdeinv.fit.goodness``): verdict, reason, tests; None
    #: when not assessed (a fit that did not reach a stationary point, the PINN path)
    goodness: dict | None = None

    def __post_init__(self):
        if not self.status:  # results written before statuses existed
            self.status = "converged" if self.success else "failed"
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")
        if bool(self.success) != (self.status == "converged"):
            raise ValueError(f"success must mean converged: status {self.status!r} with success={self.success!r}")

    @property
    def intervals(self) -> dict:
        """``{name: [low, high]}`` at the fit's confidence level ({} when not assessed)."""
        return dict(self.uncertainty["intervals"]) if self.uncertainty else {}

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
            "status": self.status,
            "success": self.success,
            "message": self.message,
            "nfev": self.nfev,
            "evaluations": self.evaluations,
            "nit": self.nit,
            "loss": self.loss,
            "grid": dict(self.grid),
            "wall_time": self.wall_time,
            "seed": self.seed,
            "method": self.settings.get("method"),
            "regularization": penalty_settings(self.settings),
            "intervals": self.intervals,
            "uncertainty": self.uncertainty,
            "goodness": self.goodness,
        }
