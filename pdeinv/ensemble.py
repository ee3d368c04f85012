"""Many independent fits: observation files x seeds x starting points, on any executor.

``fit_many(files, ...)`` runs one task per ``(file, seed, start)``: the same ``fit`` as a
single run, in this process or on workers (``pdeinv.parallel``), so a task's estimate is
bitwise the one of ``fit`` with that seed and start. With ``output="results.csv"`` each
finished task is written at once to its own result file in ``results-fits/`` (the pdeinv
result format), and the table to ``results.csv`` when every task is done; running again
with the same output skips the tasks whose result file is there and made with the same
settings, so an interrupted run (Ctrl-C, a lost cluster) continues where it stopped.

Starting points: start 0 is ``init`` itself; start k >= 1 multiplies each unknown of
``init`` by ``spread ** u`` with ``u`` uniform in [-1, 1] drawn from
``numpy.random.default_rng(k)`` (log-uniform over init x/÷ spread; a zero stays zero). The
starts do not depend on the seed, so seeds replicate the same starts.
"""

from __future__ import annotations

import collections
import contextlib
import csv
import functools
import hashlib
import inspect
import io
import os
import sys
import uuid
from pathlib import Path
from typing import Callable, Mapping, Sequence

import cloudpickle
import numpy as np

from .equations import get_equation, register_equation
from .equations.registry import is_builtin
from .fit import fit

__all__ = ["fit_many", "start_points", "task_folder"]

#: options of ``fit`` a task passes through unchanged (the rest belong to fit_many)
_FIT_OPTIONS = {name for name in inspect.signature(fit).parameters
                if name not in ("problem", "init", "seed", "callback", "checkpoint", "checkpoint_every", "resume",
                                "should_stop", "solver", "optimizer")}


def start_points(init: Mapping[str, float], starts: int, spread: float = 30.0) -> list[dict[str, float]]:
    """``starts`` starting points around ``init``: ``init`` itself, then log-uniform over
    init x/÷ ``spread`` (see the module's text); the same on every machine."""
    if isinstance(starts, bool) or not isinstance(starts, (int, np.integer)) or starts < 1:
        raise ValueError(f"starts must be a positive integer, got {starts!r}")
    if not spread > 1:
        raise ValueError(f"spread must be > 1, got {spread!r}")
    names = list(init)
    values = np.array([float(init[k]) for k in names])
    points = [dict(zip(names, values.tolist()))]
    for k in range(1, int(starts)):
        u = np.random.default_rng(k).uniform(-1.0, 1.0, size=len(names))
        points.append(dict(zip(names, (values * float(spread) ** u).tolist())))
    return points


def task_folder(output) -> Path:
    """The folder of the per-task result files of table ``output``: ``results.csv`` ->
    ``results-fits/`` beside it."""
    output = Path(output)
    return output.with_name(output.stem + "-fits")


#: problems a worker built for earlier tasks on the same data and grid: a problem is immutable,
#: and building it again would compile its solver again (seconds, for a fit of seconds)
_PROBLEMS: "collections.OrderedDict[tuple, object]" = collections.OrderedDict()
_KEPT_PROBLEMS = 8


def run_fit_task(options: dict, item: tuple) -> "FitResult":  # noqa: F821
    """One task, wherever it runs: ``item = (label, observations, init, seed)``; ``options``
    hold the run's token, the problem's definition and the fit options."""
    from .problems.inverse import InverseProblem

    label, observations, init, seed = item
    for cls in options.get("equations", ()):  # a user's equation: known here from now on
        register_equation(cls, replace=True)
    # The same data and definition, the same problem (a black box may hold state: only within a run).
    u0 = options.get("u0", "auto")
    definition = cloudpickle.dumps((observations, options["unknowns"], options["n"], options["dt"], u0))
    key = (options["token"] if options["forward"] is not None else "", hashlib.sha256(definition).hexdigest())
    problem = _PROBLEMS.pop(key, None)
    if problem is None:
        problem = InverseProblem(observations, options["unknowns"], n=options["n"], dt=options["dt"],
                                 forward=options["forward"], u0=u0)
    _PROBLEMS[key] = problem
    while len(_PROBLEMS) > _KEPT_PROBLEMS:
        _PROBLEMS.popitem(last=False)
    return fit(problem, init, seed=seed, **options["fit"])


def _check_fit_options(problem, init: dict, options: dict) -> None:
    """Refuse bad fit options here, before any task runs, with the checks ``fit`` makes."""
    from .fit import checked_options

    checked_options(problem, init, **options)


def _seeds(seeds) -> list[int]:
    seeds = [seeds] if isinstance(seeds, (int, np.integer)) else list(seeds)
    if not seeds:
        raise ValueError("seeds must name at least one seed")
    out = []
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0:
            raise ValueError(f"seeds must be non-negative integers, got {s!r}")
        out.append(int(s))
    if len(set(out)) != len(out):
        raise ValueError(f"seeds repeat a value: {out}")
    return out


def _inputs(files) -> dict:
    """``{label: (Observations, source path or None)}`` from paths, Observations, or a mapping."""
    from .io import load_observations
    from .problems import Observations

    items = list(files.items()) if isinstance(files, Mapping) else [(None, f) for f in files]
    if not items:
        raise ValueError("give at least one observation file")
    out: dict = {}
    for i, (label, source) in enumerate(items):
        if isinstance(source, Observations):
            obs, path, label = source, None, label or f"obs{i}"
        else:
            path = Path(source)
            obs, label = load_observations(path), label or path.stem
        if label in out:
            raise ValueError(f"two inputs are named {label!r}; their result files would collide (rename one, or pass "
                             f"a mapping name -> file)")
        out[str(label)] = (obs, path)
    return out


def _finished(path: Path, observations, init: dict, seed: int, method: str, intervals: str = "laplace"):
    """The result a previous run left in ``path`` for this task, or None; ValueError when the
    file was made for another task (other data, start, seed, method or intervals)."""
    from .io import load_result

    if not path.exists():
        return None
    result, stored = load_result(path)
    settings = result.settings
    same = (result.seed == seed and settings.get("method") == method
            and {k: float(v) for k, v in dict(settings.get("init", {})).items()} == init
            and np.array_equal(stored.u, observations.u) and np.array_equal(stored.t, observations.t)
            and np.array_equal(stored.x, observations.x)
            and ((result.uncertainty or {}).get("method") or "none") == intervals)
    if not same:
        raise ValueError(f"{path} holds a fit of other data or settings (start, seed, method or intervals); write to "
                         "another "
                         f"output, or pass force=True (CLI: --force) to redo every task")
    return result


def fit_many(
    files: Sequence | Mapping,
    *,
    unknowns: Sequence[str] | None = None,
    init: Mapping[str, float] | None = None,
    starts: int = 1,
    seeds: int | Sequence[int] = (0,),
    spread: float = 30.0,
    executor=None,
    output: str | os.PathLike | None = None,
    force: bool = False,
    forward: Callable[[dict], np.ndarray] | None = None,
    n: int | None = None,
    dt: float | None = None,
    progress: Callable[[int, int, dict], None] | None = None,
    u0: str = "auto",
    **fit_options,
) -> list[dict]:
    """Fit every ``(file, seed, start)`` and return one row per task, in that order.

    Parameters
    ----------
    files : observation files (paths), ``Observations`` objects, or a mapping name -> either;
        a file's name (its stem) labels its tasks and result files.
    unknowns, init : as for ``InverseProblem`` and ``fit`` (default: the equation's unknowns and
        default values); the same for every file. Scalar unknowns, and the initial condition
        where ``u0`` (``"auto"``, ``"exact"`` or ``"fit"``, see ``InverseProblem``) fits it: its
        coefficients start at the data's snapshot (only the scalars are spread over starts)
        and are in the result files, not in the table.
    starts, spread : starting points per file and seed (``start_points``).
    seeds : the fit seeds (directions, search); each is a task of its own.
    executor : a ``pdeinv.parallel`` executor (default ``InProcess()``), used and not closed;
        or a function of no arguments that makes one (e.g. ``lambda: DaskCluster(8)``),
        called after every input check and only when a task is left to run, and closed at
        the end.
    output : a ``.csv`` table to write (atomically, when all tasks are done), with one
        result file per task in ``task_folder(output)``; tasks whose result file exists are
        not run again (``force=True``: run everything again).
    forward : a black-box forward map for every task (see ``InverseProblem``); picklable
        when the executor runs elsewhere.
    n, dt : the solver grid of every task.
    progress : called ``progress(done, total, row)`` after every task.
    **fit_options : passed to ``fit`` (``method``, ``max_steps``, ``max_nfev``, ``tol``,
        ``search``, ``auto_grid``...).

    Each row: ``file``, ``seed``, ``start``, ``init`` and ``params`` (dicts), ``status``,
    ``loss``, ``nfev``, ``wall_time``, ``result_file`` (or None), ``skipped`` (True when read
    from a previous run) and ``result`` (the ``FitResult``).
    """
    from .io import save_result
    from .parallel import InProcess
    from .problems.inverse import InverseProblem

    unknown = sorted(set(fit_options) - _FIT_OPTIONS)
    if unknown:
        raise ValueError(f"fit_many got unexpected options {unknown}; fit options are {sorted(_FIT_OPTIONS)}")
    if fit_options.get("method") == "pinn":
        raise ValueError("fit_many runs the solver-based methods (zo-gn, zo, exact, lsq), not pinn")
    seeds = _seeds(seeds)
    inputs = _inputs(files)
    folder = None
    if output is not None:
        output = Path(output)
        if output.suffix.lower() != ".csv":
            raise ValueError(f"{output}: the table is CSV; name it .csv")
        if not output.parent.exists():
            raise ValueError(f"folder {output.parent} does not exist")
        folder = task_folder(output)
        for obs, path in inputs.values():
            if path is not None and path.resolve() in (output.resolve(), folder.resolve()):
                raise ValueError(f"{path} is an input; write the output elsewhere")
    # Every check before any work: the problem of each file, its starting points.
    tasks = []
    method = fit_options.get("method") or "zo-gn"
    for label, (obs, _) in inputs.items():
        problem = InverseProblem(obs, unknowns, n=n, dt=dt, forward=forward, u0=u0)
        if problem.field is not None and (problem.field_name != "u0" or "u0" in (unknowns or ())):
            raise ValueError("fit_many fits scalar unknowns (and the initial condition as a nuisance, u0='fit'); fit "
                             "a field with fit")
        defaults = problem.default_init()
        first = {**defaults, **({} if init is None else {k: float(v) for k, v in problem.expand(init).items()})}
        extra = sorted(set(first) - set(problem.unknowns))
        if extra:
            raise ValueError(f"init names {extra}, which are not unknowns ({list(problem.unknowns)})")
        problem.to_z(first)  # names every missing or invalid initial value
        scalars = {k: first[k] for k in problem.scalar_unknowns}
        field = {k: first[k] for k in problem.unknowns if k not in scalars}
        _check_fit_options(problem, {**scalars, **field}, fit_options)
        for seed in seeds:
            for start, point in enumerate(start_points(scalars, starts, spread)):
                tasks.append({"file": label, "seed": seed, "start": start, "init": {**point, **field},
                              "observations": obs})
    rows: list[dict | None] = [None] * len(tasks)
    todo = []
    for i, task in enumerate(tasks):
        path = None if folder is None else folder / f"{task['file']}-seed{task['seed']}-start{task['start']}.h5"
        task["result_file"] = path
        done = None
        if path is not None and not force:
            done = _finished(path, task["observations"], task["init"], task["seed"], method,
                             fit_options.get("intervals") or "laplace")
        if done is not None:
            rows[i] = _row(task, done, skipped=True)
        else:
            todo.append(i)
    if folder is not None:
        folder.mkdir(exist_ok=True)
    equations = _user_equations(obs for obs, _ in inputs.values())
    options = {"token": uuid.uuid4().hex, "unknowns": unknowns, "n": n, "dt": dt, "forward": forward,
               "fit": fit_options, "equations": equations, "u0": u0}
    run = functools.partial(run_fit_task, options)
    total, finished = len(tasks), len(tasks) - len(todo)
    if progress is not None:
        for i, row in enumerate(rows):
            if row is not None:
                progress(sum(r is not None for r in rows[: i + 1]), total, row)
    items = [(tasks[i]["file"], tasks[i]["observations"], tasks[i]["init"], tasks[i]["seed"]) for i in todo]
    with contextlib.ExitStack() as stack:
        if executor is None:
            executor = InProcess()
        elif not hasattr(executor, "as_completed"):  # a factory: start it now that the input is known good
            executor = stack.enter_context(executor()) if items else InProcess()
        stack.enter_context(_shipped_by_value(equations))
        for k, result in executor.as_completed(run, items):
            task = tasks[todo[k]]
            if task["result_file"] is not None:
                save_result(result, task["observations"], task["result_file"], overwrite=True)
            rows[todo[k]] = row = _row(task, result, skipped=False)
            finished += 1
            if progress is not None:
                progress(finished, total, row)
    if output is not None:
        write_table(rows, output)
    return rows


def _user_equations(observations) -> list[type]:
    """The equation classes of these observations that are not pdeinv's own: a task carries
    them and registers them where it runs (a worker may never have heard of them)."""
    classes = {}
    for obs in observations:
        cls = get_equation(obs.equation)
        if not is_builtin(cls):
            classes[cls.name] = cls
    return list(classes.values())


@contextlib.contextmanager
def _shipped_by_value(classes):
    """While tasks are sent, the modules defining ``classes`` are pickled by value (cloudpickle,
    which dask uses): workers on other machines need no copy of a user's equation module."""
    modules = {cls.__module__ for cls in classes} - {"__main__"} - set(cloudpickle.list_registry_pickle_by_value())
    registered = []
    try:
        for name in sorted(modules):
            module = sys.modules.get(name)
            if module is not None:
                cloudpickle.register_pickle_by_value(module)
                registered.append(module)
        yield
    finally:
        for module in registered:
            cloudpickle.unregister_pickle_by_value(module)


def _row(task: dict, result, skipped: bool) -> dict:
    return {"file": task["file"], "seed": task["seed"], "start": task["start"], "init": dict(task["init"]),
            "params": dict(result.params), "status": result.status, "loss": result.loss, "nfev": result.nfev,
            "wall_time": result.wall_time, "result_file": None if task["result_file"] is None else str(task["result_file"]),
            "skipped": skipped, "result": result}


def _p_value(result) -> str:
    """The goodness-of-fit family p-value of a result (small: the fit does not explain its data),
    or "" when it was not tested."""
    goodness = getattr(result, "goodness", None) or {}
    return "" if goodness.get("p_value") is None else f"{goodness['p_value']:.3g}"


def _bound(result, name: str, side: int) -> str:
    """One end of a result's interval for ``name`` ("" when not assessed or unbounded)."""
    ends = result.intervals.get(name)
    return "" if ends is None or ends[side] is None else repr(float(ends[side]))


def write_table(rows: list[dict], output) -> Path:
    """The CSV table of ``fit_many`` rows, written atomically: file, seed, start, the starting
    value and the estimate of each unknown, the ends of its interval (``NAME_low``, ``NAME_high``:
    empty when not assessed or unbounded), status, the goodness of fit's p-value (see
    ``pdeinv.fit.goodness``; a poor fit has status poor_fit), loss, solver calls, wall time (s),
    the task's result file. Numbers are written with every digit (they read back bitwise)."""
    from .io import atomic_path

    names = [k for k in rows[0]["params"] if "[" not in k] if rows else []  # a fitted u0's coefficients: in the files
    bounds = [f"{k}_{side}" for k in names for side in ("low", "high")]
    header = (["file", "seed", "start"] + [f"init_{k}" for k in names] + names + bounds
              + ["status", "fit_p_value", "loss", "solver_calls", "wall_time", "result_file"])
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    for r in rows:
        result_file = "" if r["result_file"] is None else os.path.relpath(r["result_file"], Path(output).parent)
        writer.writerow([r["file"], r["seed"], r["start"]] + [repr(r["init"][k]) for k in names]
                        + [repr(r["params"][k]) for k in names]
                        + [_bound(r["result"], k, side) for k in names for side in (0, 1)]
                        + [r["status"], _p_value(r["result"]), repr(float(r["loss"])), r["nfev"],
                           f"{r['wall_time']:.3f}", result_file])
    output = Path(output)
    with atomic_path(output, overwrite=True) as tmp:
        tmp.write_text(text.getvalue())
    return output


def summary_line(rows: list[dict]) -> str:
    """``32 tasks: 30 converged, 2 max_nfev (3 read from a previous run)``."""
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    skipped = sum(r["skipped"] for r in rows)
    text = f"{len(rows)} tasks: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
    return text + (f" ({skipped} read from a previous run)" if skipped else "")

