"""Validate and complete the options of a fit into a JSON-able dict (stored in checkpoints).

Every check runs before any solve, and none depends on which method happens to run: an option
that the chosen method does not use is refused when given explicitly, never silently ignored.
"""

from __future__ import annotations

import numpy as np

from ..problems.inverse import require_concrete_penalty
from ..methods import get_method, method_options
from .presets import PRESETS
from .search import scan_points, searched_unknowns

__all__ = ["fit_options"]


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer, float)) or int(value) != value or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def resumed_budgets(o: dict, max_steps=None, max_nfev=None, max_time=None) -> dict:
    """A checkpoint's options ``o`` with the budgets given to the resuming call (None: the
    checkpoint's). Each counts the whole fit, the runs it resumes included."""
    o = dict(o)
    if max_steps is not None:
        o["max_steps"] = _positive_int("max_steps", max_steps)
    if max_nfev is not None:
        o["max_nfev"] = _positive_int("max_nfev", max_nfev)
    if max_time is not None:
        if not (isinstance(max_time, (int, float, np.floating)) and np.isfinite(max_time) and max_time > 0):
            raise ValueError(f"max_time must be a positive number of seconds, got {max_time!r}")
        o["max_time"] = float(max_time)
    return o


def fit_options(problem, init, *, custom_solver: bool = False, **given) -> dict:
    o = dict(given)
    preset = o.pop("preset")
    if preset is not None:
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; expected one of {sorted(PRESETS)}")
        p = PRESETS[preset]
        if o["method"] is not None and o["method"] != p["method"]:
            raise ValueError(f"preset {preset!r} runs method {p['method']!r}; it cannot be combined with "
                             f"method {o['method']!r}")
        for key in ("directions", "scheme", "n", "dt"):
            if o[key] is not None and o[key] != p[key]:
                raise ValueError(f"preset {preset!r} sets {key}={p[key]!r}; it cannot be combined with {key}={o[key]!r}")
        o.update(method=p["method"], directions=p["directions"], scheme=p["scheme"], n=p["n"], dt=p["dt"],
                 auto_grid=p["auto_grid"])
        o["search"] = p["search"] if o["search"] is None else o["search"]
        if o["learning_rate"] is None:
            o["learning_rate"] = problem.equation_class.paper_learning_rate
        o["max_steps"] = p["max_steps"] if o["max_steps"] is None else o["max_steps"]
    o["preset"] = preset
    method = o["method"] = "zo-gn" if o["method"] is None else o["method"]
    if custom_solver:
        o["method"] = method = "custom"
    named = None if custom_solver else get_method(method)  # refuses an unknown name
    for name, methods in method_options().items():
        if name == "optimizer":
            continue
        if o.get(name) is not None and method not in methods and not custom_solver:
            raise ValueError(f"option {name} applies to method{'s' if len(methods) > 1 else ''} "
                             f"{' and '.join(methods)}, not {method}")
    if o["custom_optimizer"] and not custom_solver and "optimizer" not in named.options:
        users = " and ".join(method_options()["optimizer"])
        raise ValueError(f"option optimizer applies to method{'s' if ' and ' in users else ''} {users}, not {method}")
    if o["directions"] is not None:
        o["directions"] = _positive_int("directions", o["directions"])
    if not (np.isfinite(o["tol"]) and o["tol"] > 0):
        raise ValueError(f"tol must be a positive number, got {o['tol']!r}")
    if not o["search_factor"] > 1:
        raise ValueError(f"search_factor must be > 1, got {o['search_factor']!r}")
    if o["max_time"] is not None and not (np.isfinite(o["max_time"]) and o["max_time"] > 0):
        raise ValueError(f"max_time must be a positive number of seconds, got {o['max_time']!r}")
    if problem.field is not None:
        require_concrete_penalty(problem.penalty_order)
    init = problem.expand(init or {})
    extra = sorted(set(init) - set(problem.unknowns))
    if extra:
        shown = ", ".join(dict.fromkeys(problem.field_name if problem.field is not None and n in problem.unknowns
                                        else n for n in problem.unknowns))
        cls = problem.equation_class
        foreign = [n for n in extra if n not in cls.param_names and not n.startswith(f"{problem.field_prefix}[")]
        if foreign:
            raise ValueError(f"init names {foreign}, which {'is not a parameter' if len(foreign) == 1 else 'are not parameters'}"
                             f" of {cls.name} (its parameters: {', '.join(cls.param_names)}; fitted: {shown})")
        raise ValueError(f"init names {extra}, which are not fitted (unknowns: {shown}; fit them with --fit / unknowns=)")
    full_init = {**problem.default_init(), **init}
    problem.to_z(full_init)  # validates
    o["init"] = {k: float(v) for k, v in full_init.items()}
    # A scan over a field's coefficients would be meaningless: fields start local, scalars fitted
    # with a field (parameters with u0) are scanned with the field at its start.
    searched = len(searched_unknowns(problem))
    o["search"] = ((named is None or named.search) and searched > 0) if o["search"] is None else bool(o["search"])
    if o["search"] and searched == 0:
        raise ValueError("the global search scans the equation's scalar unknowns, and none is fitted (a field's "
                         "coefficients and a sensor bias start where they are): give search=False (--no-search)")
    if o["windows"] is None:
        o["windows"] = 3 if o["search"] and searched > 1 else 0
    elif isinstance(o["windows"], bool) or not isinstance(o["windows"], (int, np.integer)) or o["windows"] < 0:
        raise ValueError(f"windows must be a non-negative integer, got {o['windows']!r}")
    elif o["windows"] and not o["search"]:
        raise ValueError("windows belong to the global phase; they cannot be combined with search=False (--no-search)")
    o["windows"] = int(o["windows"])
    if o["max_steps"] is None:
        o["max_steps"] = 100 if named is None else named.max_steps
    o["max_steps"] = _positive_int("max_steps", o["max_steps"])
    if o["max_nfev"] is None:
        o["max_nfev"] = named.max_nfev(o) if named is not None and named.max_nfev else max(10 * o["max_steps"], 1000)
    o["max_nfev"] = _positive_int("max_nfev", o["max_nfev"])
    if o["search"]:
        scan = 1 + (o["search_points"] or scan_points(searched))
        if o["max_nfev"] <= scan:
            raise ValueError(f"max_nfev={o['max_nfev']} leaves nothing after the global search's {scan} solves; "
                             "raise it or turn the search off (search=False, --no-search)")
    from .uncertainty import INTERVAL_METHODS

    if o["intervals"] not in INTERVAL_METHODS:
        raise ValueError(f"intervals must be one of {list(INTERVAL_METHODS)}, got {o['intervals']!r}")
    if not (isinstance(o["level"], (int, float)) and 0 < o["level"] < 1):
        raise ValueError(f"level must be a probability in (0, 1), e.g. 0.95, got {o['level']!r}")
    o["level"] = float(o["level"])
    o["checkpoint_every"] = _positive_int("checkpoint_every", o["checkpoint_every"])
    if named is not None:
        named.configure(o, problem)  # the method's own defaults and checks
    o["unknowns"] = list(problem.unknowns)
    o["assumed_params"] = dict(problem.assumed)
    # What rebuilds the problem from a checkpoint (see resume_problem).
    o["problem"] = {"unknowns": list(problem.scalar_unknowns) + ([problem.field_name] if problem.field is not None else []),
                    "modes": None if problem.field is None else problem.field.modes,
                    "regularization": problem.regularization, "penalty_order": problem.penalty_order, "bounds": {k: list(v) for k, v in problem.bounds.items()},
                    "loss": problem.loss, "loss_scale": problem.loss_scale, "u0": problem.initial.mode}
    o["initial_condition"] = problem.initial.as_dict()
    return o
