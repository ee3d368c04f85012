"""Experiment design: where to measure, before the experiment.

A fit's uncertainty is decided by the data long before any optimizer runs: which 64 ``(t, x)``
points, or which 8 sensor positions, pin the unknowns down best? ``design`` answers that for any
equation pdeinv can solve, its solver called as a black box (never differentiated):

1. Candidates: a grid of observation times in ``(t0, t1]`` by positions on the solver's own
   nodes (up to ``positions`` of them, evenly strided), in every observed component of a system;
   for sensors, a candidate is one position observed at every one of ``times``.
2. Prior draws: ``draws`` values of the unknowns, the guess first and the others uniform in the
   fit's coordinates over the prior box (``guess / spread ... guess * spread`` for a positive
   parameter, log-uniform; ``guess -+ (spread - 1) |guess|`` otherwise; or ``prior`` bounds).
3. Sensitivities: at each draw, one batched solve of ``1 + 2 d`` members gives the derivative of
   every candidate value along each unknown by central differences (log p for a positive
   parameter), divided by the noise: each candidate's Gauss-Newton information.
4. Greedy selection: one candidate at a time, the one whose information most improves the
   criterion averaged over the draws (so one wrong guess does not ruin the design): ``"D"``
   maximizes the mean log-determinant of the information (the volume of the joint confidence
   region), ``"A"`` minimizes the mean trace of its inverse (the sum of the variances in the fit's
   coordinates: relative variances for positive parameters). The greedy choice is within a
   factor 1 - 1/e of the best for the D criterion (the log-determinant is submodular).

The information starts from the prior box's (uniform: variance width^2 / 12) plus, with
``given`` observations, that of the data already taken: the design is then the next batch.

What the design assumes, it says (``Plan.notes``): the initial condition as given (the
equation's, ``u0``, or the given data's snapshot) taken as known, the noise level, and the
unknowns the chosen points barely determine.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np

from .equations import get_equation
from .problems.observations import ObservationError, Observations
from .problems.simulate import _observed_components

__all__ = ["CRITERIA", "PLAN_FORMAT", "Plan", "design", "load_plan", "save_plan"]

CRITERIA = ("D", "A")
#: What the experiment knows of the initial condition: a measured snapshot (estimated with the
#: unknowns, as a fit of such data does) or the exact u0.
INITIAL = ("measured", "exact")
PLAN_FORMAT = "pdeinv-plan"
PLAN_VERSION = 1
#: Candidate observation times (scattered points) and sensor observation times, by default.
CANDIDATE_TIMES = 32
SENSOR_TIMES = 16
#: At most this many candidate positions (the solver's nodes, strided).
CANDIDATE_POSITIONS = 256
#: Central-difference step in the fit's coordinates, as a fraction of the prior box's width.
FD_FRACTION = 1e-3
#: Random layouts the design is compared with (predicted standard deviations).
RANDOM_LAYOUTS = 32
#: An unknown whose predicted standard deviation stays above this fraction of its prior's is
#: reported as barely determined by the design.
WEAK = 0.5
#: Members solved per batch.
CHUNK = 16


@dataclass
class Plan:
    """Where to observe: points ``(t, x)`` (and ``component`` for a system) chosen by ``design``.

    ``unknowns`` and ``guess`` (every parameter's value at the design point), ``criterion``;
    ``predicted_std`` / ``random_std``: each unknown's standard deviation predicted from the
    Gauss-Newton information (median over the prior draws; relative for a positive parameter)
    with the designed points and with random points of the same number (median over
    ``RANDOM_LAYOUTS`` layouts of the candidates); ``prior_std`` the prior box's. ``sensors``
    (positions) and ``times`` for a sensor design. ``notes``: what the design assumed.
    ``candidates``: the candidate grid and its sensitivities at the guess, for plots (not saved).
    """

    equation: str
    t: np.ndarray
    x: np.ndarray
    component: np.ndarray | None
    unknowns: list
    guess: dict
    criterion: str
    predicted_std: dict
    random_std: dict
    prior_std: dict
    domain: tuple
    t_span: tuple
    sensors: np.ndarray | None = None
    times: np.ndarray | None = None
    notes: list = field(default_factory=list)
    settings: dict = field(default_factory=dict)
    candidates: dict | None = None

    @property
    def n_points(self) -> int:
        return int(self.t.size)

    def summary(self) -> dict:
        """Everything but the arrays of points, JSON-ready."""
        return {"equation": self.equation, "points": self.n_points, "unknowns": list(self.unknowns),
                "guess": dict(self.guess), "criterion": self.criterion,
                "predicted_std": dict(self.predicted_std), "random_std": dict(self.random_std),
                "prior_std": dict(self.prior_std), "domain": list(self.domain), "t_span": list(self.t_span),
                "sensors": None if self.sensors is None else [float(v) for v in self.sensors],
                "times": None if self.times is None else [float(v) for v in self.times],
                "notes": list(self.notes), "settings": dict(self.settings)}


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _times(times, t_span, default: int) -> np.ndarray:
    t0, t1 = t_span
    if times is None:
        times = default
    if isinstance(times, (int, np.integer)) and not isinstance(times, bool):
        count = _positive_int(times, "times")
        return t0 + (t1 - t0) * np.arange(1, count + 1) / count
    values = np.unique(np.asarray(times, dtype=float).ravel())
    if values.size == 0 or not np.all(np.isfinite(values)):
        raise ValueError("times must be a positive count or finite observation times")
    if values[0] <= t0 or values[-1] > t1:
        raise ValueError(f"observation times must lie in ({t0:g}, {t1:g}], got {values[0]:g} ... {values[-1]:g}")
    return values


def _prior_box(cls, unknowns, guess, spread, prior) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The prior box in the fit's coordinates: (log-scaled flags, low, high)."""
    prior = dict(prior or {})
    extra = sorted(set(prior) - set(unknowns))
    if extra:
        raise ValueError(f"a prior is given for {extra[0]!r}, which is not an unknown of the design {list(unknowns)}")
    logs, lo, hi = [], [], []
    for name in unknowns:
        is_log = name in cls.positive
        g = float(guess[name])
        if name in prior:
            try:
                low, high = (float(v) for v in prior[name])
            except (TypeError, ValueError):
                raise ValueError(f"the prior of {name} must be (low, high), got {prior[name]!r}") from None
            if not (np.isfinite(low) and np.isfinite(high) and high > low):
                raise ValueError(f"the prior of {name} must be a finite interval low < high, got ({low:g}, {high:g})")
            if is_log and low <= 0:
                raise ValueError(f"{name} is positive: its prior's low end must be > 0, got {low:g}")
        elif is_log:
            low, high = g / spread, g * spread
        else:
            if g == 0:
                raise ValueError(f"the guess of {name} is 0: give its prior range (CLI: --prior {name}=LOW:HIGH)")
            low, high = g - (spread - 1) * abs(g), g + (spread - 1) * abs(g)
        logs.append(is_log)
        lo.append(np.log(low) if is_log else low)
        hi.append(np.log(high) if is_log else high)
    return np.array(logs), np.array(lo), np.array(hi)


def _solve_members(eq, members: dict, times, chunk: int = CHUNK, progress=None, u0=None) -> tuple[np.ndarray, np.ndarray]:
    """Grid values ``(B, T, C, n)`` (C = 1 for one field) and finite flags for a batch of
    parameter sets, solved ``chunk`` members at a time (from ``u0``, default the equation's)."""
    count = len(next(iter(members.values())))
    out, finite = [], []
    for start in range(0, count, chunk):
        part = {k: v[start:start + chunk] for k, v in members.items()}
        u, ok = eq.solve_batch(part, times, on_blowup="mask", u0=u0)
        out.append(u if eq.components else u[:, :, None, :])
        finite.append(ok)
        if progress is not None:
            progress(min(start + chunk, count), count)
    return np.concatenate(out), np.concatenate(finite)


def _slopes(eq, fields, columns) -> np.ndarray:
    """|u_x| at the candidate columns of grid values ``(K, T, C, n)``, spectrally."""
    import jax.numpy as jnp

    flat = fields.reshape(-1, eq.n)
    v = eq._forward(jnp.asarray(flat))
    ux = np.asarray(eq._inverse(eq.derivative(v, 1)))
    return np.abs(ux.reshape(fields.shape))[..., columns]


def _spread(shape: tuple, count: int) -> list[int]:
    """``count`` candidates spread evenly over a grid of candidates ``shape`` ``(times, positions)``
    or ``(times, components, positions)``: a near-square sub-grid of times by positions, the
    components taken in turn. Indices into the flattened grid."""
    if count == 0:
        return []
    nt, nc, nx = shape[0], int(np.prod(shape[1:-1])), shape[-1]
    rows = max(1, min(nt, int(round(np.sqrt(count)))))
    cols = int(np.ceil(count / rows))
    ti = np.floor((np.arange(rows) + 0.5) * nt / rows).astype(int)
    xi = np.floor((np.arange(cols) + 0.5) * nx / cols).astype(int)
    cells = [(a, j % nc, b) for j, (a, b) in enumerate(itertools.product(ti, xi))]
    return sorted({int(np.ravel_multi_index(cell, (nt, nc, nx))) for cell in cells})[:count]


def _score(P: np.ndarray, d: int, criterion: str) -> np.ndarray:
    """The criterion of informations ``(..., D, D)`` for their first ``d`` unknowns (the others,
    nuisances, marginalized): ``"D"`` the log-determinant of that block's information, ``"A"``
    minus the trace of its covariance; larger is better."""
    if P.shape[-1] == d:
        return np.linalg.slogdet(P)[1] if criterion == "D" else -np.trace(np.linalg.inv(P), axis1=-2, axis2=-1)
    C = np.linalg.inv(P)[..., :d, :d]
    return -np.linalg.slogdet(C)[1] if criterion == "D" else -np.trace(C, axis1=-2, axis2=-1)


def _greedy(P0: np.ndarray, G: np.ndarray, count: int, criterion: str, start=(), d: int | None = None,
            chunk: int = 4096) -> tuple[list[int], np.ndarray]:
    """Choose ``count`` candidates one at a time, after those of ``start``. ``P0 (K, D, D)``: the
    information before, per draw; ``G (K, S, D, D)``: each candidate's, or ``(K, S, D)`` the row of
    a candidate of one observation (information r r^T, chosen by rank-one updates); the criterion is that of
    the first ``d`` unknowns (default all), averaged over the draws. Returns the chosen indices
    (``start`` first) and the information after ``(K, D, D)``."""
    d = P0.shape[-1] if d is None else d
    rows = G.ndim == 3  # one observation per candidate: G holds its row r, the information r r^T
    if rows:
        R, G = G, None
        outer = lambda idx: np.einsum("ksi,ksj->kij", R[:, idx], R[:, idx])  # noqa: E731
    else:
        outer = lambda idx: G[:, idx].sum(axis=1)  # noqa: E731
    P = P0 + outer(list(start))
    used = np.zeros((R if rows else G).shape[1], dtype=bool)
    used[list(start)] = True
    chosen = list(start)
    for _ in range(count - len(chosen)):
        if rows:  # rank-one updates of the covariance C = P^-1, per draw
            C = np.linalg.inv(P)
            CR = np.einsum("kij,ksj->ksi", C, R)
            q = np.einsum("ksi,ksi->ks", CR, R)
            a = CR[..., :d]
            if criterion == "D":  # log det of the block's information after: before - log(1 - a' Cb^-1 a / (1 + q))
                w = np.einsum("kij,ksj->ksi", np.linalg.inv(C[:, :d, :d]), a)
                score = np.mean(-np.log1p(-np.einsum("ksi,ksi->ks", w, a) / (1 + q)), axis=0)
            else:  # the block's covariance trace falls by |a|^2 / (1 + q)
                score = np.mean(np.einsum("ksi,ksi->ks", a, a) / (1 + q), axis=0)
        else:
            score = np.concatenate([np.mean(_score(P[:, None] + G[:, i:i + chunk], d, criterion), axis=0)
                                    for i in range(0, G.shape[1], chunk)])
        score[used] = -np.inf
        best = int(np.argmax(score))
        used[best] = True
        chosen.append(best)
        P = P + outer([best])
    return chosen, P


def _std(P: np.ndarray, d: int | None = None) -> np.ndarray:
    """Standard deviations ``(K, d)`` of the first ``d`` unknowns from informations ``(K, D, D)``."""
    d = P.shape[-1] if d is None else d
    return np.sqrt(np.diagonal(np.linalg.inv(P), axis1=-2, axis2=-1))[..., :d]


def design(
    equation,
    guess: Mapping[str, float] | None = None,
    *,
    budget: int = 64,
    unknowns=None,
    criterion: str = "D",
    sensors: int | None = None,
    times=None,
    positions: int = CANDIDATE_POSITIONS,
    spread: float = 2.0,
    prior: Mapping[str, tuple[float, float]] | None = None,
    draws: int = 8,
    noise: float = 0.01,
    sigma=None,
    position_noise: float = 0.0,
    explore: float = 0.25,
    initial: str = "measured",
    snapshot_points: int = 256,
    given: Observations | None = None,
    components=None,
    seed: int = 0,
    n: int | None = None,
    dt: float | None = None,
    domain: tuple[float, float] | None = None,
    t_span: tuple[float, float] | None = None,
    u0: Callable | np.ndarray | None = None,
    progress: Callable[[str], None] | None = None,
) -> Plan:
    """Choose observation points of ``equation`` that pin its unknowns down best.

    ``budget`` scattered ``(t, x)`` points from a grid of candidate times (``times``: a count,
    default 32 evenly spaced in ``(t0, t1]``, or the times themselves) by positions; or, with
    ``sensors=S``, S sensor positions each observed at every one of ``times`` (default 16).
    ``guess``: the parameters' values where the design is made (default: the equation's);
    ``spread`` / ``prior`` ``{name: (low, high)}``: how far off the guess may be, averaged over
    ``draws`` prior draws. ``criterion``: ``"D"`` (default) or ``"A"`` (see the module).
    ``noise``: the observations' noise relative to the field's standard deviation per component
    (as ``simulate``'s), or ``sigma`` absolute. ``given``: observations already taken (the
    design is then the next batch). ``components``: the components of a system that can be
    observed (default all). ``n``, ``dt``, ``domain``, ``t_span``, ``u0``: the solves (default:
    the equation's fit defaults). ``progress(text)`` hears about the solves.

    ``explore``: the fraction of the budget spread evenly over the candidates before the greedy
    choice (default a quarter). Points chosen for their sensitivity alone crowd where the field
    reacts most (a shock, a soliton's flank at late times); the misfit is then narrow and
    multimodal, and the spread points keep the estimate anchored. ``position_noise``: the
    uncertainty of a sensor's position (units of x, default 0: exact); it adds ``|u_x|`` times it
    to the noise, steering points away from the steepest places. Fit designed data within the
    prior box (``Plan.settings["prior_box"]``; CLI ``pdeinv fit --bounds``): the design assumes
    the unknowns lie there, and outside it its points may leave the misfit with other minima.

    Raises ``ValueError`` for bad arguments (one line, naming the problem).
    """
    try:
        cls = get_equation(equation)
    except ValueError as err:
        raise ObservationError(str(err)) from None
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {', '.join(CRITERIA)}, got {criterion!r}")
    unknowns = list(cls.default_unknowns if unknowns is None else unknowns)
    if not unknowns:
        raise ValueError("unknowns must name at least one parameter")
    for name in unknowns:
        if name not in cls.param_names:
            raise ValueError(f"{name!r} is not a parameter of {cls.name} ({', '.join(cls.param_names)}); "
                             "designs cover scalar parameters (not fields or u0) for now")
    if len(set(unknowns)) != len(unknowns):
        raise ValueError(f"unknowns repeat a name: {unknowns}")
    if not (isinstance(spread, (int, float)) and np.isfinite(spread) and spread > 1):
        raise ValueError(f"spread must be a number > 1 (how far off the guess may be, as a factor), got {spread!r}")
    draws = _positive_int(draws, "draws")
    positions = _positive_int(positions, "positions")
    if sensors is not None:
        sensors = _positive_int(sensors, "sensors")
    else:
        budget = _positive_int(budget, "budget")
    if initial not in INITIAL:
        raise ValueError(f"initial must be one of {', '.join(INITIAL)}, got {initial!r}")
    if initial == "measured" and (cls.components or cls.complex_state):
        initial = "exact"  # a system's or a complex field's snapshot is not fitted (said in the notes)
        forced = True
    else:
        forced = False
    snapshot_points = _positive_int(snapshot_points, "snapshot_points")
    if not (isinstance(explore, (int, float)) and 0 <= explore <= 1):
        raise ValueError(f"explore must be a fraction in [0, 1], got {explore!r}")
    if not (isinstance(position_noise, (int, float)) and np.isfinite(position_noise) and position_noise >= 0):
        raise ValueError(f"position_noise must be a non-negative number (in units of x), got {position_noise!r}")
    if sigma is None and not (np.isfinite(noise) and noise > 0):
        raise ValueError(f"noise must be a positive number (relative to the field's spread), got {noise!r}")
    eq = cls(n=n, domain=domain, t_span=t_span, u0=u0, dt=dt)
    values = {**cls.defaults, **eq.check_params({**cls.defaults, **dict(guess or {})})}
    observed = _observed_components(cls, components) or [0]
    T = _times(times, eq.t_span, SENSOR_TIMES if sensors is not None else CANDIDATE_TIMES)
    stride = max(1, int(np.ceil(eq.n / positions)))
    columns = np.arange(0, eq.n, stride)
    X = np.asarray(eq.x)[columns]
    if sensors is not None and sensors > X.size:
        raise ValueError(f"{sensors} sensors but only {X.size} candidate positions; raise positions")
    if sensors is None and budget > T.size * len(observed) * X.size:
        raise ValueError(f"a budget of {budget} points exceeds the {T.size * len(observed) * X.size} candidates")
    logs, lo, hi = _prior_box(cls, unknowns, values, spread, prior)
    d = len(unknowns)
    rng = np.random.default_rng(seed)
    z_guess = np.array([np.log(values[u]) if g else values[u] for u, g in zip(unknowns, logs)])
    Z = np.vstack([z_guess, lo + (hi - lo) * rng.random((draws - 1, d))])
    step = FD_FRACTION * (hi - lo)
    members = []
    for z in Z:
        members.append(z)
        for i in range(d):
            members += [z + step[i] * np.eye(d)[i], z - step[i] * np.eye(d)[i]]
    members = np.array(members)  # (K (1 + 2d), d)
    batch = {name: np.full(len(members), float(v)) for name, v in values.items() if not np.ndim(v)}
    for i, name in enumerate(unknowns):
        batch[name] = np.exp(members[:, i]) if logs[i] else members[:, i]
    say = progress or (lambda text: None)
    U, finite = _solve_members(eq, batch, T, progress=lambda done, total: say(f"solves {done}/{total}"))
    per = 1 + 2 * d
    slope = _slopes(eq, U[::per][:, :, observed], columns) if position_noise > 0 else 0.0  # (K, T, C, X)
    U = U[:, :, observed][..., columns]  # (B, T, C, X)
    U = U.reshape((draws, per) + U.shape[1:])
    good = finite.reshape(draws, per).all(axis=1)
    notes = []
    if not good[0]:
        raise ValueError(f"the solve at the guess {dict((u, values[u]) for u in unknowns)} is not finite: "
                         "give another guess or a finer grid (n) / smaller step (dt)")
    if not good.all():
        notes.append(f"{int((~good).sum())} of {draws} prior draws left out: their solves were not finite")
    U = U[good]
    K = U.shape[0]
    # noise per observed component: relative to the field's spread at the guess, or absolute
    if sigma is None:
        scale = noise * np.std(np.moveaxis(U[0, 0], 1, 0).reshape(len(observed), -1), axis=1)
        sigma_text = f"{noise:g} x the field's standard deviation"
    else:
        scale = np.broadcast_to(np.asarray(sigma, dtype=float), (len(observed),)).copy()
        sigma_text = f"sigma {', '.join(f'{v:g}' for v in scale)}"
    if not np.all(np.isfinite(scale) & (scale > 0)):
        raise ValueError(f"the noise level must be positive and finite, got {scale.tolist()} (a field constant at the guess?)")
    J = np.stack([(U[:, 1 + 2 * i] - U[:, 2 + 2 * i]) / (2 * step[i]) for i in range(d)], axis=-1)  # (K, T, C, X, d)
    # A sensor's position is uncertain too: the value it reads is off by u_x * dx, noise that is
    # largest where the field is steepest (a shock), where the sensitivities are largest as well.
    if position_noise > 0:
        slope = slope[good]
    effective = np.sqrt(scale[None, None, :, None] ** 2 + (position_noise * slope) ** 2)
    J = J / effective[..., None]
    prior_info = np.diag(12.0 / (hi - lo) ** 2)
    P0 = np.broadcast_to(prior_info, (K, d, d)).copy()
    if given is not None:
        P0 = P0 + _given_information(given, cls, unknowns, values, logs, Z[good], step, eq, noise, sigma,
                                     scale, observed)
        notes.append(f"the {given.n_points} points already taken count as information before the new ones"
                     + (" (on the unknowns; what they say about u0 is not counted)" if initial == "measured" else ""))
    modes = 0
    if initial == "measured":
        # u0 is a measured snapshot, estimated with the unknowns: its coefficients are nuisances
        # whose uncertainty the chosen points must overcome too (the criterion is the unknowns'
        # after marginalizing them)
        Ju, snapshot_info, modes = _initial_condition_information(
            eq, cls, {k: v[::per][good] for k, v in batch.items()}, T, observed, columns, scale[0],
            snapshot_points)
        J = np.concatenate([J, Ju / effective[..., None]], axis=-1)
        P0 = np.stack([np.block([[p, np.zeros((d, modes))], [np.zeros((modes, d)), snapshot_info]]) for p in P0])
    D = d + modes
    if sensors is None:
        rows = J.reshape(K, -1, D)  # candidates in (time, component, position) order
        chosen, P = _greedy(P0, rows, budget, criterion, _spread((T.size, len(observed), X.size),
                                                            int(round(explore * budget))), d=d)
        ti, ci, xi = np.unravel_index(chosen, (T.size, len(observed), X.size))
        order = np.lexsort((X[xi], ci, T[ti]))
        t_out, x_out, c_out = T[ti][order], X[xi][order], np.asarray(observed)[ci][order]
        size, sensor_x = budget, None
    else:
        blocks = np.moveaxis(J, 3, 1).reshape(K, X.size, -1, D)  # per position: its (time, component) rows
        G = np.einsum("ksri,ksrj->ksij", blocks, blocks)
        chosen, P = _greedy(P0, G, sensors, criterion, _spread((1, X.size), int(round(explore * sensors))), d=d)
        sensor_x = np.sort(X[chosen])
        tt, cc, xx = np.meshgrid(T, np.asarray(observed), sensor_x, indexing="ij")
        t_out, c_out, x_out = tt.ravel(), cc.ravel(), xx.ravel()
        size = sensors
    designed = _std(P, d)
    random = []
    for _ in range(RANDOM_LAYOUTS):
        if sensors is None:
            pick = rng.choice(rows.shape[1], size=size, replace=False)
            random.append(_std(P0 + np.einsum("ksi,ksj->kij", rows[:, pick], rows[:, pick]), d))
        else:
            pick = rng.choice(G.shape[1], size=size, replace=False)
            random.append(_std(P0 + G[:, pick].sum(axis=1), d))
    random = np.array(random)  # (layouts, K, d)
    prior_sd = (hi - lo) / np.sqrt(12.0)
    predicted = {u: float(np.median(designed[:, i])) for i, u in enumerate(unknowns)}
    baseline = {u: float(np.median(random[:, :, i])) for i, u in enumerate(unknowns)}
    for i, u in enumerate(unknowns):
        if predicted[u] > WEAK * prior_sd[i]:
            notes.append(f"{u} is barely determined by these points: predicted standard deviation {predicted[u]:.3g} "
                         f"against the prior's {prior_sd[i]:.3g}")
    u0_text = ("the equation's initial condition" if u0 is None else "the given initial condition")
    u0_text = f"{u0_text} measured at t0 (estimated with the unknowns);" if initial == "measured" else f"{u0_text} and"
    box = ", ".join(f"{u} in [{(np.exp(lo[i]) if logs[i] else lo[i]):.4g}, {(np.exp(hi[i]) if logs[i] else hi[i]):.4g}]"
                    for i, u in enumerate(unknowns))
    if forced:
        notes.append(f"{cls.name}'s initial condition is taken as exact: a fit does not estimate it")
    notes.insert(0, f"designed at {', '.join(f'{u}={values[u]:g}' for u in unknowns)} over {K} prior draws "
                    f"({box}); {u0_text} the known parameters taken as exact; noise {sigma_text}; sensor "
                    + (f"positions uncertain by {position_noise:g}" if position_noise else "positions taken as exact"))
    sens = np.sqrt(np.sum(J[0, ..., :d] ** 2, axis=-1)) if d > 1 else np.abs(J[0, ..., 0])
    if initial == "measured":
        notes.append(f"u0 is a measured snapshot ({snapshot_points} samples with the same noise), estimated with "
                     f"the unknowns in {modes} modes: the design accounts for its uncertainty")
    return Plan(
        equation=cls.name, t=np.asarray(t_out, dtype=float), x=np.asarray(x_out, dtype=float),
        component=np.asarray(c_out, dtype=np.int64) if cls.components else None,
        unknowns=unknowns, guess={k: float(v) for k, v in values.items() if not np.ndim(v)}, criterion=criterion,
        predicted_std=predicted, random_std=baseline,
        prior_std={u: float(prior_sd[i]) for i, u in enumerate(unknowns)},
        domain=tuple(float(v) for v in eq.domain), t_span=tuple(float(v) for v in eq.t_span),
        sensors=sensor_x, times=T if sensors is not None else None, notes=notes,
        settings={"budget": int(t_out.size), "sensors": sensors, "draws": draws, "draws_used": int(K),
                  "spread": float(spread), "prior": {k: list(v) for k, v in (prior or {}).items()},
                  "prior_box": {u: [float(np.exp(lo[i]) if logs[i] else lo[i]), float(np.exp(hi[i]) if logs[i] else hi[i])]
                                for i, u in enumerate(unknowns)},
                  "explore": float(explore), "position_noise": float(position_noise), "initial": initial,
                  "u0_modes": modes,
                  "noise": None if sigma is not None else float(noise),
                  "sigma": [float(v) for v in scale], "seed": seed, "n": eq.n, "dt": eq.dt,
                  "candidate_times": int(T.size), "candidate_positions": int(X.size),
                  "components": [cls.components[c] for c in observed] if cls.components else None,
                  "coordinates": {u: ("log" if g else "linear") for u, g in zip(unknowns, logs)},
                  "given": given.n_points if given is not None else 0},
        candidates={"t": T, "x": X, "components": observed, "sensitivity": sens},
    )


def _initial_condition_information(eq, cls, base: dict, T, observed, columns, sigma: float, snapshot_points: int):
    """Sensitivities ``(K, T, C, X, M)`` of the candidate values to u0's coefficients (the basis's
    field of the modes a fit would give a snapshot at this noise), the snapshot's information on
    them ``(M, M)``, and M."""
    from .problems.initial import snapshot_modes

    samples = cls.basis_type.resample(np.asarray(eq.u0), snapshot_points)
    modes = snapshot_modes(samples, sigma, min(128, eq.n - 2, snapshot_points // 2), cls.basis_type)
    field = cls.basis_type.field(modes, eq.domain)
    phi = np.asarray(field.basis_at(np.asarray(eq.x)))  # (n, M)
    h = 1e-3 * max(float(np.std(eq.u0)), 1e-12)
    columns_out = []
    for j in range(modes):
        plus = _solve_members(eq, base, T, u0=np.asarray(eq.u0) + h * phi[:, j])[0]
        minus = _solve_members(eq, base, T, u0=np.asarray(eq.u0) - h * phi[:, j])[0]
        columns_out.append(((plus - minus) / (2 * h))[:, :, observed][..., columns])
    nodes = cls.basis_type.nodes(eq.domain, snapshot_points)
    B = np.asarray(field.basis_at(np.asarray(nodes))) / sigma
    return np.stack(columns_out, axis=-1), B.T @ B, modes


def _given_information(given, cls, unknowns, values, logs, Z, step, eq, noise, sigma, scale, observed):
    """The Gauss-Newton information ``(K, d, d)`` of observations already taken, at each draw."""
    from .problems.inverse import InverseProblem

    if not isinstance(given, Observations):
        raise ValueError("given must be an Observations object (see pdeinv.load_observations)")
    if given.equation != cls.name:
        raise ValueError(f"the given observations are of {given.equation}, not {cls.name}")
    u0 = given.u0 if given.u0 is not None else eq.u0
    problem = InverseProblem(given, unknowns, n=eq.n, dt=eq.dt, u0=u0)
    d = len(unknowns)
    Zs = np.array([z + s * step[i] * np.eye(d)[i] for z in Z for i in range(d) for s in (1, -1)])
    pred, finite = problem.predict(Zs)
    if not finite.all():
        raise ValueError("solves at the given observations' points were not finite at some prior draws")
    if given.sigma is not None:
        weights = 1.0 / np.asarray(given.sigma)
    else:
        comp = given.component if given.component is not None else np.zeros(given.n_points, dtype=int)
        lookup = {c: s for c, s in zip(observed, scale)}
        fallback = float(np.max(scale))
        weights = 1.0 / np.array([lookup.get(int(c), fallback) for c in comp])
    pred = pred.reshape(len(Z), d, 2, -1)
    Jg = np.moveaxis((pred[:, :, 0] - pred[:, :, 1]) / (2 * step[None, :, None]), 1, 2) * weights[None, :, None]
    if np.iscomplexobj(Jg):
        Jg = np.concatenate([Jg.real, Jg.imag], axis=1)
    return np.einsum("kpi,kpj->kij", Jg, Jg)


def save_plan(plan: Plan, path, *, overwrite: bool = False):
    """Write a plan (its points and summary) to an HDF5 file, atomically."""
    import h5py

    from .io.h5 import LIBVER, atomic_path

    with atomic_path(path, overwrite=overwrite) as tmp, h5py.File(tmp, "w", libver=LIBVER) as f:
        f.attrs["format"] = PLAN_FORMAT
        f.attrs["version"] = PLAN_VERSION
        f.attrs["equation"] = plan.equation
        f.attrs["summary"] = json.dumps(plan.summary(), default=float)
        group = f.create_group("plan")
        group.create_dataset("t", data=plan.t)
        group.create_dataset("x", data=plan.x)
        if plan.component is not None:
            group.create_dataset("component", data=plan.component)
    return path


def load_plan(path) -> Plan:
    """Read a plan written by ``save_plan`` (one-line ``ObservationError`` for a bad file)."""
    from .io.h5 import _attr, _read_array, _reading

    with _reading(path, "observation plan", PLAN_FORMAT, PLAN_VERSION) as f:
        summary = json.loads(_attr(f, "summary", "/"))
        if "plan" not in f:
            raise ObservationError("missing group /plan")
        t = _read_array(f["plan"], "t", "/plan", 1)
        x = _read_array(f["plan"], "x", "/plan", 1)
        component = _read_array(f["plan"], "component", "/plan", 1).astype(np.int64) \
            if "component" in f["plan"] else None
    if x.shape != t.shape or (component is not None and component.shape != t.shape):
        raise ObservationError(f"{path}: /plan/t, x (and component) must have one value per point")
    return Plan(equation=summary["equation"], t=t, x=x, component=component, unknowns=summary["unknowns"],
                guess=summary["guess"], criterion=summary["criterion"], predicted_std=summary["predicted_std"],
                random_std=summary["random_std"], prior_std=summary["prior_std"], domain=tuple(summary["domain"]),
                t_span=tuple(summary["t_span"]),
                sensors=None if summary["sensors"] is None else np.asarray(summary["sensors"]),
                times=None if summary["times"] is None else np.asarray(summary["times"]),
                notes=summary["notes"], settings=summary["settings"])
