"""zo: the (FG)^2U-ZO gradient of the loss from random directions, fed to optax Adam."""

from . import Method, register_method


def build(o: dict, optimizer=None):
    from ..estimators import ZOGradient
    from ..fit.solver import Solver
    from ..fit.steps import OptaxStep

    derivative = ZOGradient(o["directions"], o["distribution"], o["scheme"], o["eps"])
    return Solver(derivative, OptaxStep(optimizer, learning_rate=o["learning_rate"]), "zo")


def configure(o: dict, problem) -> None:
    if o["distribution"] == "ordered":
        raise ValueError("distribution='ordered' is for zo-gn only (the zo gradient needs random directions)")
    o["directions"] = o["directions"] or 4
    o["scheme"] = o["scheme"] or "central"
    o["learning_rate"] = 0.05 if o["learning_rate"] is None else o["learning_rate"]
    o["distribution"] = o["distribution"] or "gaussian"


def max_nfev(o: dict) -> int:
    return 4 * o["max_steps"] * (1 + 2 * (o["directions"] or 4)) + 1000


METHOD = register_method(Method(
    "zo", "(FG)^2U-ZO: random-direction loss differences feeding optax Adam", build,
    options=("directions", "distribution", "scheme", "eps", "learning_rate", "optimizer"), configure=configure,
    max_steps=500, max_nfev=max_nfev))
