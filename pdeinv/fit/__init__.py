"""The outer loop: global search, local solver, grid refinement -> FitResult.

``fit(problem, init)`` runs three phases:

1. **search** (global, ``search.py``): one batched scan of the misfit picks the basin; with
   several unknowns, short fits on growing time windows of the data follow it.
2. **local**: a *solver* — a derivative source (``pdeinv.estimators``: random-direction
   sketch, finite differences, exact AD, ZO gradient) composed with a step rule
   (``pdeinv.fit.steps``: Levenberg-Marquardt with secant updates, any optax optimizer,
   scipy least_squares, dogleg). ``method`` names the usual compositions (``presets.py``);
   ``solver=Solver(derivative, step)`` takes any other.
3. **refine** (``refine.py``): at a good estimate, the residuals are recomputed on a grid twice
   as fine; if that would move the estimate by more than ``grid_tol`` (and, with known noise,
   by more than a tenth of its standard error), the grid is doubled and the local phase
   continues, unless doublings beyond the equation's default grid stop shrinking the shift.

Trial points where the solver fails are rejected; the fit never raises for a bad trial point.
It ends with one of the statuses converged, max_steps, max_nfev, max_time, diverged,
interrupted, failed (``FitResult.status``); ``success`` means converged, for every method.
"""

from __future__ import annotations

from typing import Callable, Mapping

from ..problems.inverse import LOSSES, InverseProblem
from ..result import FitResult, penalty_settings
from .engine import Engine
from .evaluation import Evaluator
from .options import fit_options, resumed_budgets
from .presets import METHODS, PRESETS, make_solver
from .solver import Solver
from .steps import STATUSES, Dogleg, LeastSquares, LevenbergMarquardt, OptaxStep

__all__ = [
    "METHODS",
    "checked_options",
    "resume_problem",
    "PRESETS",
    "STATUSES",
    "Dogleg",
    "Evaluator",
    "FitResult",
    "LeastSquares",
    "LevenbergMarquardt",
    "OptaxStep",
    "Solver",
    "fit",
]


def resume_problem(state, *, n: int | None = None, dt: float | None = None) -> InverseProblem:
    """The problem a checkpoint continues (a path or a state from ``pdeinv.io.load_checkpoint``):
    its observations, unknowns, field modes, regularization and bounds."""
    from ..io import load_checkpoint

    state = load_checkpoint(state) if not isinstance(state, dict) else state
    o = state["options"]
    spec = o.get("problem") or {"unknowns": o["unknowns"], "modes": None, "regularization": 0.0, "bounds": {}}
    penalty = penalty_settings(o) or {"penalty_order": None}  # no field: no penalty, no order
    return InverseProblem(state["observations"], spec["unknowns"], n=n, dt=dt, modes=spec["modes"],
                          u0="exact" if spec.get("u0") == "exact" else "auto",
                          regularization=spec["regularization"], penalty_order=penalty["penalty_order"],
                          bounds={k: tuple(v) for k, v in spec["bounds"].items()},
                          loss=spec.get("loss", "linear"), loss_scale=spec.get("loss_scale"))


def checked_options(problem: InverseProblem, init: Mapping[str, float] | None = None, **given) -> dict:
    """The validated options of ``fit(problem, init, **given)``: every check ``fit`` makes before
    its first solve (``ValueError`` naming the problem), without solving anything. ``given``
    takes ``fit``'s keyword arguments; the others take ``fit``'s defaults."""
    import inspect

    a = {name: p.default for name, p in inspect.signature(fit).parameters.items() if p.default is not p.empty}
    unknown = sorted(set(given) - set(a))
    if unknown:
        raise ValueError(f"fit takes no option {', '.join(unknown)}")
    a.update(given)
    return fit_options(
        problem, init, custom_solver=a["solver"] is not None, method=a["method"], seed=int(a["seed"]),
        max_steps=a["max_steps"], max_nfev=a["max_nfev"],
        max_time=None if a["max_time"] is None else float(a["max_time"]), tol=float(a["tol"]),
        directions=a["directions"], distribution=a["distribution"], scheme=a["scheme"], eps=a["eps"],
        learning_rate=a["learning_rate"], search=a["search"], search_points=a["search_points"],
        search_factor=float(a["search_factor"]), windows=a["windows"], auto_grid=bool(a["auto_grid"]),
        grid_tol=float(a["grid_tol"]), max_n=int(a["max_n"]), max_step=a["max_step"],
        broyden=None if a["broyden"] is None else bool(a["broyden"]), preset=a["preset"],
        intervals=a["intervals"], level=a["level"],
        checkpoint=None if a["checkpoint"] is None else str(a["checkpoint"]),
        checkpoint_every=a["checkpoint_every"], n=None, dt=None, custom_optimizer=a["optimizer"] is not None,
    )


def fit(
    problem: InverseProblem,
    init: Mapping[str, float] | None = None,
    *,
    method: str | None = None,
    solver: Solver | None = None,
    seed: int = 0,
    max_steps: int | None = None,
    max_nfev: int | None = None,
    max_time: float | None = None,
    tol: float = 1e-8,
    callback: Callable[[dict], bool | None] | None = None,
    directions: int | None = None,
    distribution: str | None = None,
    scheme: str | None = None,
    eps: float | None = None,
    optimizer=None,
    learning_rate: float | None = None,
    search: bool | None = None,
    search_points: int | None = None,
    search_factor: float = 30.0,
    windows: int | None = None,
    auto_grid: bool = True,
    grid_tol: float = 1e-5,
    max_n: int = 8192,
    max_step: float | None = None,
    broyden: bool | None = None,
    preset: str | None = None,
    intervals: str = "laplace",
    level: float = 0.95,
    regularization: float | str | None = None,
    checkpoint: str | None = None,
    checkpoint_every: int = 10,
    resume: str | dict | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> FitResult:
    """Recover the unknowns of ``problem`` from its observations.

    Parameters
    ----------
    init : starting values of the unknowns (default: the equation's default values).
    method : ``zo-gn`` (default), ``zo``, ``exact``, ``lsq`` (see ``pdeinv.fit.METHODS``), or
        ``pinn`` (the PINN path with forward-mode unrolling, ``pdeinv.pinn.fit_pinn``; it
        takes ``seed``, ``max_steps``, ``learning_rate``, ``directions``, ``callback``,
        ``preset`` and ``should_stop``).
    solver : instead of a method, any composition ``Solver(derivative source, step rule)``.
    seed : seeds the random directions and the search; same seed, same result.
    max_steps, max_nfev, max_time : local iterations, total solver calls and wall-time seconds
        allowed; reaching one ends the fit with that status (not "converged").
    tol : stop when a step changes every (log-)parameter by less than ``tol``.
    callback : called with a dict (phase, step, nfev, loss, params) after every evaluation;
        return True to stop.
    directions, distribution, scheme, eps : for ``zo-gn`` and ``zo``: random directions per step
        (``zo-gn``: min(d, 8), for a field min(d, 4); ``zo``: 4), their law (gaussian |
        rademacher | sphere; for ``zo-gn`` also ``ordered``: coordinate axes, a field's low
        wavenumbers first, the default for fields), forward or central differences and the
        step in the transformed space.
    optimizer, learning_rate : for ``zo``: an optax optimizer (default Adam with
        ``learning_rate`` 0.05). A custom optimizer cannot be stored in a checkpoint: pass
        the same one again when resuming.
    search, search_points, search_factor : the global phase (default on, except for
        ``lsq``, the plain baseline, and fields) over ``init`` x/÷ ``search_factor`` (or the
        bounds).
    windows : with several unknowns, the global phase scans and fits the observations of the
        first 1/2**windows of the time span, then twice that, ... before the full data (default
        3 for several scalar unknowns, 0 for one unknown or a field; see
        ``pdeinv.fit.search``).
    auto_grid, grid_tol, max_n : refine the solver grid until refining it again would move
        the estimate by less than ``grid_tol`` (relative) or, with known noise, by less than a
        tenth of its standard error, up to ``max_n`` points; asked only when the misfit is near
        the noise level, and given up beyond the default grid when a doubling leaves the shift
        above 0.9 of the previous one (see ``refine.py``).
    max_step : ``zo-gn``/``exact``: largest change of a (log-)parameter in one step (default 2).
    broyden : ``zo-gn`` keeps its Jacobian estimate up to date with secant updates from the
        trial steps and measures it again when a step fails, when a step falls well short of
        its model's promise, and at the point where it would declare convergence (False:
        classic finite-difference LM, a fresh J V every iteration). Default: True, except for a
        field measured with a full Jacobian (``directions >= d``).
    preset : ``"paper"`` reproduces Table F.3 of Shen et al. (1 direction, Adam at the
        equation's paper learning rate, 5000 steps, grid 256 x 512 steps, no global phase).
    intervals, level : after a converged fit of scalar unknowns, how sure the estimate is
        (``result.intervals``, ``result.uncertainty``; see ``pdeinv.fit.uncertainty``):
        ``"laplace"`` (default; d more solves), ``"profile"`` (profile likelihood, the others
        re-fitted along it; tens of solves per unknown) or ``"none"``; ``level`` 0.95.
    regularization : for a fitted field, the smoothness weight (a number, replacing the
        problem's) or a rule choosing it from the data (default: none, except for a u0 fitted
        from data that hold no snapshot at t0, whose weight ``"auto"`` chooses): ``"risk"`` (the least expected field
        error; ``"auto"`` is this one), ``"evidence"`` (the marginal likelihood),
        ``"discrepancy"`` (sigma known), ``"gcv"`` (see ``pdeinv.fit.regularization``); the choice
        is in ``result.settings["regularization"]``. The penalty's form (``w |k^q c|^2``, or the
        exponential ``w sum e^(a m) c_m^2``) is the problem's ``penalty_order``; with
        ``penalty_order="exponential"`` the evidence chooses the rate a, with ``"auto"`` the order q
        in 1...4 or a rate (then the rule, risk or evidence, the weight).
    checkpoint, checkpoint_every : save the whole state to this file (atomically) every
        ``checkpoint_every`` iterations, after the search, and when stopped.
    resume : a checkpoint file (or a state loaded with ``pdeinv.io.load_checkpoint``) to
        continue from; its settings replace the ones given here, except the budgets
        ``max_steps``, ``max_nfev`` and ``max_time`` when given (each counts the whole fit, the
        earlier runs included). The result is bitwise the one of an uninterrupted fit.
    should_stop : polled between iterations; when it returns True the state is checkpointed
        and the fit returns with status "interrupted".
    """
    options = {k: v for k, v in locals().items() if k not in ("problem", "init", "regularization")}
    initial = getattr(problem, "initial", None)
    if (regularization is None and initial is not None and initial.mode == "fit" and initial.source == "none"
            and problem.regularization == 0 and method != "pinn" and checkpoint is None and resume is None):
        regularization = "auto"  # u0 from the later data alone: the rules choose its smoothness
    if regularization is not None:
        if isinstance(regularization, str):
            if checkpoint is not None or resume is not None:
                raise ValueError("a regularization weight chosen from the data (auto, risk, evidence, discrepancy, gcv) runs several "
                                 "fits; checkpoints are not supported there: give a number")
            from .regularization import fit_with_chosen_weight

            return fit_with_chosen_weight(problem, init, regularization, lambda p, i: fit(p, i, **options))
        problem = problem.with_regularization(float(regularization))
    if getattr(problem, "loss", "linear") == "cauchy" and method != "pinn" and resume is None and search is not False:
        # The Cauchy loss flattens out for large residuals: far from the truth every point looks
        # like an outlier and the global phase cannot tell basins apart (KdV, 5 % outliers, from
        # 8x off: 38 % error). Its global and first local phase run on the Huber loss (the same
        # scale in sigma units), which stays convex in the residuals; Cauchy finishes from there.
        scale = problem.loss_scale * (LOSSES["huber"] / LOSSES["cauchy"]) if problem.observations.sigma is not None \
            else problem.loss_scale
        first = fit(problem.with_loss("huber", scale), init, **{**options, "intervals": "none", "checkpoint": None})
        final = fit(problem, first.params, **{**options, "search": False, "windows": None})
        final.nfev += first.nfev
        final.message += f"; started from a Huber fit ({first.nfev} solver calls)"
        return final
    if method == "pinn":
        from ..pinn import fit_pinn

        if resume is not None or checkpoint is not None:
            raise ValueError("checkpoints are not supported for method 'pinn'")
        if solver is not None:
            raise ValueError("method 'pinn' takes no solver")
        unused = {"intervals": None if intervals == "laplace" else intervals, "max_nfev": max_nfev,
                  "max_time": max_time, "distribution": distribution, "scheme": scheme, "eps": eps,
                  "optimizer": optimizer, "search": search, "search_points": search_points, "windows": windows,
                  "max_step": max_step, "broyden": broyden}
        given = sorted(k for k, v in unused.items() if v is not None)
        if given:
            raise ValueError(f"method 'pinn' does not use {', '.join(given)}")
        return fit_pinn(problem, init, seed=seed, max_steps=max_steps, learning_rate=learning_rate,
                        directions=directions or 1, callback=callback, preset=preset, should_stop=should_stop)
    from ..io import load_checkpoint, save_checkpoint

    if resume is not None:
        state = load_checkpoint(resume) if not isinstance(resume, dict) else resume
        o = dict(state["options"])
        if list(o["unknowns"]) != list(problem.unknowns):
            raise ValueError(f"the checkpoint fits {o['unknowns']}, this problem {list(problem.unknowns)}")
        if problem.field is not None:
            penalty = penalty_settings(o) or {"weight": 0.0, "penalty_order": None}
            saved = (penalty["weight"], penalty["penalty_order"])
            # without a weight the order plays no part: only a weighted penalty must be the same
            if saved[0] != problem.regularization or (saved[0] > 0 and saved[1] != problem.penalty_order):
                raise ValueError(f"the checkpoint's field was fitted with regularization={saved[0]:g}, "
                                 f"penalty_order={saved[1]}; this problem has regularization="
                                 f"{problem.regularization:g}, penalty_order={problem.penalty_order} "
                                 "(pdeinv.fit.resume_problem rebuilds the checkpoint's own problem)")
        if o["method"] == "custom" and solver is None:
            raise ValueError("the checkpoint was made with a custom solver: pass the same solver to resume")
        o = resumed_budgets(o, max_steps, max_nfev, max_time)
        o.update(checkpoint=checkpoint if checkpoint is not None else o.get("checkpoint"),
                 checkpoint_every=checkpoint_every if checkpoint is not None else o["checkpoint_every"])
    else:
        state = None
        o = checked_options(problem, init, **options)
    if solver is None:
        solver = make_solver(o, optimizer)
    engine = Engine(problem, solver, o, callback, should_stop or (lambda: False), save_checkpoint)
    if state is None:
        engine.start()
    else:
        engine.restore(state)
    return engine.run()
