"""InverseProblem: which parameters are unknown, how they are transformed, and the forward map.

The optimizer works on an unconstrained vector ``z``: ``log(p)`` for the parameters the
equation declares positive (``nu``, ``D``, ``lambda2``...), ``p`` itself otherwise. The forward map takes a batch of ``z``
and returns predictions at the observation points plus a mask of the members that produced
finite values. It counts every solve (``nfev``). Estimators only call it; they never
differentiate it, so any Python callable ``params -> predictions`` can stand in for the solver.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
from typing import Callable, Mapping, Sequence

import numpy as np

from .._jax import jnp
from ..result import exponential_rate
from ..equations import get_equation
from ..solvers.core import BatchedSolver
from .external import ForwardTimeout
from .fields import field_samples, field_unknowns
from .initial import (
    MAX_MODES, decide_initial_condition, early_projection, given_initial_condition, with_snapshot_rows,
)
from .observations import Observations

__all__ = ["InverseProblem", "call_forward"]


def _describe(err: Exception) -> str:
    """``Type: message`` of an exception and where it was raised (the innermost frame)."""
    import traceback

    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    frames = traceback.extract_tb(err.__traceback__)
    where = f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return f"{type(err).__name__}{': ' + text if text else ''}{where}"


def call_forward(forward: Callable[[dict], np.ndarray], params: dict, dtype=float) -> tuple:
    """One member of a batch through a black-box forward map, wherever it runs (here or on
    a worker): ``(predictions as dtype, None, None)``, or ``(None, kind, text)`` when it raised
    (kind "timeout" for ``ForwardTimeout``, else "error"). Never raises: a failing member is
    a rejected trial point, not a failed batch."""
    try:
        return np.asarray(forward(params), dtype=dtype).ravel(), None, None
    except Exception as err:  # a black box may fail anywhere
        return None, "timeout" if isinstance(err, ForwardTimeout) else "error", _describe(err)


#: robust losses and their default scale (in units of sigma): 95 % efficiency for Gaussian noise
LOSSES = {"linear": None, "huber": 1.345, "cauchy": 2.385}


def check_loss(loss: str, loss_scale: float | None, has_sigma: bool) -> tuple[str, float | None]:
    """``(loss, scale)`` after checking them; a robust loss's scale defaults (in units of sigma)
    when the observations carry sigma and must be given (in units of u) when they do not."""
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {list(LOSSES)}, got {loss!r}")
    if loss_scale is not None and not (np.isfinite(loss_scale) and loss_scale > 0):
        raise ValueError(f"loss_scale must be a positive number, got {loss_scale!r}")
    if loss == "linear":
        if loss_scale is not None:
            raise ValueError("loss_scale applies to a robust loss (huber or cauchy), not to least squares")
        return loss, None
    if loss_scale is None:
        if not has_sigma:
            raise ValueError(f"the {loss} loss needs to know what size of residual is an outlier: the "
                             "observations carry no sigma, so give loss_scale (in units of u)")
        loss_scale = LOSSES[loss]
    return loss, float(loss_scale)


def robust_residuals(R, loss: str, c: float, xp=np):
    """Residuals whose squares sum to the robust loss: r sqrt(rho(s) / s), s = (r / c)^2, the
    same as sign(r) c sqrt(rho(s)) but smooth at r = 0 (so that JAX differentiates it there);
    ``xp`` is the array module (NumPy, or ``jax.numpy`` for the exact derivatives)."""
    with np.errstate(invalid="ignore"):
        s = (R / c) ** 2
        small = ~(s > 1e-12)  # NaN stays NaN through r itself
        s = xp.where(small, 1.0, s)
        rho = xp.where(s <= 1, s, 2 * xp.sqrt(s) - 1) if loss == "huber" else xp.log1p(s)
        return R * xp.sqrt(xp.where(small, 1.0, rho / s))


class _Restricted:
    """A black-box forward map's predictions at the kept observations (picklable, so that an
    executor can send it to other processes)."""

    def __init__(self, forward, keep):
        self.forward, self.keep = forward, keep

    def __call__(self, params):
        return np.asarray(self.forward(params)).ravel()[self.keep]


#: Unknowns of the measurement rather than of the equation, fitted and assessed like parameters
#: (``--fit nu,bias``): ``bias`` is a constant offset of every sensor, the data being u + bias
#: (the first snapshot's samples included, when they are data). They start at 0 and are left
#: out of the global scan (the data are linear in them).
NUISANCES = {"bias": "a constant offset of every sensor (the data are u + bias)"}

#: Fourier modes of a fitted field when not given (nor chosen from a measured snapshot).
DEFAULT_MODES = 16

#: Orders of the smoothness penalty w |k^q c|^2 (``"auto"``: chosen by the evidence).
PENALTY_ORDERS = (1, 2, 3, 4)

#: Rates a of the exponential penalty w sum e^(a m) c_m^2 (m the mode number) among which the
#: evidence chooses (``penalty_order="exponential"``, or with the orders for ``"auto"``).
EXPONENTIAL_RATES = (0.25, 0.5, 1.0, 2.0, 4.0)

#: The largest exponent a m of the exponential penalty: its squared spectrum e^(a m) must stay
#: a float64 (below e^709), with room for sums over modes.
EXPONENT_LIMIT = 700.0

#: Penalty forms whose exact shape the evidence chooses with the weight.
CHOSEN_FORMS = ("auto", "exponential")

#: The order of a penalty whose form was not given (``penalty_order=None``) when its weight is
#: given as a number (a weight chosen from the data comes with a form chosen by the evidence).
DEFAULT_ORDER = 2


def require_concrete_penalty(order) -> None:
    """A clear error when ``order`` is a form the evidence still has to choose."""
    if order in CHOSEN_FORMS:
        raise ValueError(f"penalty_order={order!r} is chosen with the weight from the data by the evidence: fit "
                         "with regularization='auto' (the same as 'risk') or 'evidence', not with a given weight "
                         "(CLI: --regularization auto|risk|evidence)")


def check_penalty_order(order):
    """None (not given), 1 ... 4, "auto", "exponential" or "exponential:a" (a > 0); a clear
    error otherwise. A given exponential rate comes back as "exponential:<a>"."""
    if order is None or order in CHOSEN_FORMS:
        return order
    text = exponential_rate(order)
    if text is not None:
        try:
            rate = float(text)
        except ValueError:
            rate = float("nan")
        if not (np.isfinite(rate) and rate > 0):
            raise ValueError(f"the exponential penalty's rate must be a positive number, got {order!r} "
                             "(e.g. 'exponential:2', or 'exponential' to let the evidence choose it)")
        return f"exponential:{rate:g}"
    if isinstance(order, bool) or order not in PENALTY_ORDERS:
        raise ValueError(f"penalty_order must be one of {', '.join(map(str, PENALTY_ORDERS))} (the derivative the "
                         f"smoothness penalty weighs), 'exponential[:rate]' or 'auto', got {order!r}")
    return int(order)


def penalty_candidates(order, highest: float = 0.0) -> tuple:
    """The concrete penalty forms a (checked) ``penalty_order`` stands for: itself, or those the
    evidence chooses among (without the exponential rates a whose e^(a m) is beyond float64 at
    the ``highest`` mode number m; the first rate is always kept, its error says why)."""
    exponential = tuple(f"exponential:{a:g}" for a in EXPONENTIAL_RATES
                        if a == EXPONENTIAL_RATES[0] or a * highest <= EXPONENT_LIMIT)
    return {"auto": PENALTY_ORDERS + exponential, "exponential": exponential}.get(order, (order,))


def penalty_spectrum(order, k) -> np.ndarray:
    """D per coefficient of wavenumber index ``k``, the penalty being ``w sum (D_j c_j)^2``:
    k^q for order q, e^(a m / 2) for "exponential:a" (m = k, the mean not penalized)."""
    k = np.asarray(k, float)
    rate = exponential_rate(order)
    if rate is not None:
        rate = float(rate)
        highest = float(k.max(initial=0.0))
        if rate * highest > EXPONENT_LIMIT:
            raise ValueError(f"the exponential penalty e^({rate:g} m) is beyond float64 at mode {highest:g} "
                             f"(a m must stay below {EXPONENT_LIMIT:g}): use a smaller rate or fewer modes")
        return np.where(k > 0, np.exp(rate * k / 2), 0.0)
    return k**order


class InverseProblem:
    """Recover ``unknowns`` of the equation of ``observations`` from its data.

    The problem is a definition and never changes: a fit counts its own solver calls, and
    ``with_grid`` gives the same problem on another solver grid.

    Parameters
    ----------
    observations : Observations
    unknowns : names of the fitted parameters (default: the equation's ``default_unknowns``,
        e.g. ``nu`` / ``D`` / ``lambda2``)
    bounds : optional ``{name: (low, high)}`` in parameter units; also bounds the global search
    n, dt : solver grid and step (default: the equation's defaults for the data's domain)
    forward : optional black-box forward map ``params dict -> predictions (P,)`` replacing the
        spectral solver (NumPy, SciPy, a subprocess...). It may raise or return NaN at bad
        points; such trial points are rejected by the fit.
    modes : with a field among the unknowns, the number of its Fourier coefficients (see
        the basis's field, e.g. ``FourierField``; default: for u0 with a measured snapshot, as many as the snapshot
        resolves above its noise, else 16). ``"u0"``: the initial condition, unknowns
        ``u0[0]`` ... ``u0[M-1]``; an exact u0 in the file is then the truth it is compared
        with, never the starting point (a measured snapshot is data and the start).
        ``"P(x)"`` for a parameter P the equation lets vary in x (Allen-Cahn's ``D(x)``):
        through its logarithm when P is positive, unknowns ``logD[0]`` ... ``logD[M-1]``
        (``logD[0]`` is the mean of log D), else ``P[j]``; one field at a time.
    regularization : weight w of a smoothness penalty on the field: the residual vector gains
        ``sqrt(w) D_j c_j`` for each coefficient, D_j = k_j^q (k_j its wavenumber index, q the
        ``penalty_order``) or e^(a k_j / 2) for the exponential penalty.
    penalty_order : the form of the smoothness penalty. 2 penalizes the field's second
        derivative, ``w |k^2 c|^2``; 1 its first derivative, ``w |k c|^2``; 3 and 4 the higher
        ones. ``"exponential:a"``: ``w sum e^(a m) c_m^2`` over mode numbers m, a prior for
        fields whose spectrum falls faster than any power (smooth, nearly band-limited ones);
        ``"exponential"`` lets the evidence choose the rate a among ``EXPONENTIAL_RATES``.
        ``"auto"``: the evidence chooses among orders 1-4 and the exponential rates (with a weight
        chosen from the data, ``fit(..., regularization="auto")``; see
        ``pdeinv.fit.regularization``). None (default): ``"auto"`` when the weight is chosen from
        the data by the risk or evidence rule, 2 (``DEFAULT_ORDER``) when it is given as a number
        or chosen by the discrepancy principle or gcv, which cannot compare forms.
    loss, loss_scale : ``"linear"`` (least squares, default), ``"huber"`` or ``"cauchy"``: a
        robust loss for data with outliers. Each weighted residual r becomes
        sign(r) c sqrt(rho((r / c)^2)) (rho(s) = 2 sqrt(s) - 1 beyond 1 for Huber, log(1 + s)
        for Cauchy), so every method, estimator and interval works on it unchanged. ``c`` =
        ``loss_scale``, the residual size beyond which a point counts as an outlier, in units
        of the file's sigma (default 1.345 for Huber, 2.385 for Cauchy: 95 % efficiency for
        Gaussian noise); without sigma in the file it must be given, in units of u.
    u0 : what is known of the initial condition (``pdeinv.problems.initial``): ``"auto"``
        (default: a measured first snapshot whose noise matters is fitted with the parameters,
        its samples joining the data at t0; data without a snapshot have u0 fitted from the
        later points; an exact u0 is used as it is), ``"exact"`` (take the file's u0 as exact),
        ``"fit"`` (always fit it), or the initial condition itself (a function of x or samples
        of one period, exact). ``initial`` says what was decided and why; with u0 fitted,
        ``observations`` hold the snapshot's rows and ``source_observations`` the data as given.
    executor : with ``forward``, where the members of a batch are evaluated (a
        ``pdeinv.parallel`` executor: local processes or a dask cluster; default: one after
        the other in this process). The members of a global scan or of a sketch's K
        directions are independent calls; the results are those of the serial loop. The
        forward map must then be picklable. The executor is used, not owned: close it yourself.
    """

    def __init__(
        self,
        observations: Observations,
        unknowns: Sequence[str] | None = None,
        *,
        bounds: Mapping[str, tuple[float, float]] | None = None,
        n: int | None = None,
        dt: float | None = None,
        forward: Callable[[dict], np.ndarray] | None = None,
        modes: int | None = None,
        regularization: float = 0.0,
        penalty_order: int | str | None = None,
        executor=None,
        loss: str = "linear",
        loss_scale: float | None = None,
        u0="auto",
    ):
        if not isinstance(observations, Observations):
            raise ValueError("observations must be an Observations object (see pdeinv.load_observations)")
        #: the observations as given (what a checkpoint stores); ``observations`` are those fitted
        self.source_observations = observations
        cls = get_equation(observations.equation)
        obs = given_initial_condition(observations, u0)
        unknowns = tuple(cls.default_unknowns if unknowns is None else unknowns)
        if not unknowns:
            raise ValueError("unknowns must name at least one parameter")
        field_table = field_unknowns(cls)
        fields = [u for u in unknowns if u in field_table]
        if modes is not None and (isinstance(modes, bool) or int(modes) != modes):
            raise ValueError(f"modes must be an even integer >= 2, got {modes!r}")
        largest = min(MAX_MODES, (n or cls.default_n) - 2, obs.u0.size // 2 if obs.u0 is not None else MAX_MODES)
        if not isinstance(u0, str) and "u0" in fields:
            raise ValueError("u0 is given (a function or samples) and also to be fitted: one or the other")
        self.initial = decide_initial_condition(
            obs, "fit" if "u0" in fields else (u0 if isinstance(u0, str) else "given"),
            fits_other_field=next((f for f in fields if f != "u0"), None), complex_state=cls.complex_state,
            system=bool(cls.components),
            black_box=forward is not None, largest_modes=largest)
        if cls.boundary and self.initial.source in ("snapshot", "none"):
            # a measured or missing u0 on a bounded interval: its ends are what the conditions say
            self.initial = dataclasses.replace(
                self.initial, reason=f"{self.initial.reason}; its end values follow the boundary conditions "
                                     f"({cls.boundary}), taken as exact unless their values are fitted")
        if self.initial.mode == "fit" and "u0" not in unknowns:
            unknowns, fields = unknowns + ("u0",), fields + ["u0"]
        if modes is None:
            modes = self.initial.modes if "u0" in fields and self.initial.modes else DEFAULT_MODES
        if self.initial.rows:
            obs = with_snapshot_rows(obs, self.initial)
        self.observations = obs
        self.equation_class = cls
        for name in unknowns:
            if name not in cls.param_names and name not in field_table and name not in NUISANCES:
                raise ValueError(f"unknown parameter {name!r} to fit for {cls.name}; expected some of "
                                 f"{list(cls.param_names) + list(field_table) + list(NUISANCES)}")
        if "bias" in unknowns and obs.is_complex:
            raise ValueError("a sensor bias is fitted for real observations; these are complex")
        if len(set(unknowns)) != len(unknowns):
            raise ValueError(f"unknowns repeat a name: {list(unknowns)}")
        if len(fields) > 1:
            raise ValueError(f"one field unknown at a time, got {fields}")
        if fields and cls.components:
            raise ValueError(f"{cls.name} is a system ({', '.join(cls.components)}): field unknowns ({fields[0]}) are "
                             "not supported for systems yet")
        if "u0" in fields and cls.complex_state:
            raise ValueError(f"u0 of {cls.name} is complex; fitting it as a field is not supported")
        if not (np.isfinite(regularization) and regularization >= 0):
            raise ValueError(f"regularization must be a non-negative number, got {regularization!r}")
        self.penalty_order = check_penalty_order(penalty_order)
        if self.penalty_order is None and regularization > 0:
            self.penalty_order = DEFAULT_ORDER
        self.field = None
        self.field_name = fields[0] if fields else None
        self.field_prefix, self.field_param = field_table[self.field_name] if fields else (None, None)
        #: the field is exp of its Fourier series (a positive parameter), not the series itself
        self.field_log = self.field_param is not None and self.field_prefix != self.field_param
        if self.field_param is not None and self.field_param in unknowns:
            raise ValueError(f"{self.field_param} cannot be both a scalar and a field unknown")
        self.regularization = float(regularization)
        self._penalty = None  # sqrt(w) D_j: the smoothness rows per field coefficient
        scalar_unknowns = tuple(u for u in unknowns if u not in field_table)
        if fields:
            self.field = cls.basis_type.field(modes, obs.domain)
            field_names = self.field.names(self.field_prefix)
            self.field_index = np.arange(len(scalar_unknowns), len(scalar_unknowns) + len(field_names))
            unknowns = scalar_unknowns + field_names
            if self.penalty_order is not None and self.penalty_order not in CHOSEN_FORMS:
                penalty_spectrum(self.penalty_order, self.field.wavenumber)  # a form beyond float64 fails here
            self._penalty = self.penalty_rows(self.regularization)
        self.unknowns = unknowns
        self.scalar_unknowns = scalar_unknowns
        self.known = {k: v for k, v in obs.known_params().items() if k not in unknowns and k != self.field_param}
        #: parameters neither fitted nor known in the file: the equation's defaults are used (said in
        #: every result); refused when the file's true value says the default is wrong
        self.assumed = {k: v for k, v in self.known.items() if k not in obs.fixed_params}
        for name, value in self.assumed.items():
            truth = (obs.true_params or {}).get(name, obs.true_fields.get(name))
            if truth is not None and not np.allclose(truth, value, rtol=1e-12, atol=0):
                raise ValueError(
                    f"{name} is neither fitted nor known in the file, and its default {value:g} is not the value "
                    f"the data were made with; fit it too (e.g. --fit "
                    f"{','.join(list(self.scalar_unknowns) + [self.field_name or ''] + [name]).replace(',,', ',')}) or record it "
                    f"as known in the file (pdeinv simulate --known {name})")
        self.log_scaled = np.array([name in cls.positive for name in unknowns])
        self.bounds = self._check_bounds(bounds or {})
        self.loss, self.loss_scale = check_loss(loss, loss_scale, obs.sigma is not None)
        self.weights = 1.0 / obs.sigma if obs.sigma is not None else np.ones(obs.n_points)
        self.data = np.asarray(obs.u)
        #: residual entries per observation: real and imaginary parts of complex data
        self.parts = 2 if obs.is_complex else 1
        self._custom_forward = forward
        if executor is not None and forward is None:
            raise ValueError("an executor distributes the calls of a black-box forward map; the built-in solver "
                             "batches its solves itself (give forward= too, or no executor)")
        if executor is not None and not callable(getattr(executor, "map", None)):
            raise ValueError("executor must have a map(fn, items) method (see pdeinv.parallel)")
        self.executor = executor
        self._modes = modes
        self._build_solvers(n, dt)

    # ---- grid -------------------------------------------------------------------------------
    def _build_solvers(self, n: int | None, dt: float | None) -> None:
        obs = self.observations
        # Without a snapshot the solver's own u0 (its time step's scale) is the field's start.
        u0 = obs.u0 if obs.u0 is not None else self.field.samples(self.default_init_field(), 256)
        self.equation = self.equation_class(n=n, domain=obs.domain, t_span=obs.t_span, u0=u0, dt=dt)
        if self.field is not None and self.equation.n <= self.field.modes:
            raise ValueError(f"the solver grid n={self.equation.n} must exceed the field's modes ({self.field.modes})")
        if self._custom_forward is None:
            self._point_solver = self.equation.point_solver(obs.t, obs.x, components=obs.component)
            self._u0_hat = self.equation.initial_spectrum()
            self._batched = BatchedSolver(self.equation.point_solver(obs.t, obs.x, batched=True,
                                                                     components=obs.component),
                                          in_axes=(0, 0 if self.field_name == "u0" else None),
                                          sequential=self.equation.sequential_batches)

    def with_grid(self, n: int | None = None, dt: float | None = None) -> "InverseProblem":
        """The same problem on solver grid ``n`` with step ``dt`` (``None``: defaults); the
        problem itself is never changed."""
        other = copy.copy(self)
        other._build_solvers(n, dt)
        return other

    def with_regularization(self, weight: float, penalty_order: int | str | None = None) -> "InverseProblem":
        """The same problem with smoothness weight ``weight`` on its field (and penalty order
        ``penalty_order``, when given)."""
        if self.field is None:
            raise ValueError("a regularization weight applies to a fitted field, and none is fitted")
        if not (np.isfinite(weight) and weight >= 0):
            raise ValueError(f"regularization must be a non-negative number, got {weight!r}")
        other = copy.copy(self)
        if penalty_order is not None:
            other.penalty_order = check_penalty_order(penalty_order)
        elif other.penalty_order is None and weight > 0:
            other.penalty_order = DEFAULT_ORDER
        other.regularization = float(weight)
        other._penalty = other.penalty_rows(other.regularization)
        return other

    @property
    def penalty_scale(self) -> np.ndarray:
        """D_j per field coefficient (k_j^q, or e^(a k_j / 2)): the penalty is ``w * sum (D_j c_j)^2``
        (an order not given: ``DEFAULT_ORDER``)."""
        if self.field is None:
            raise ValueError("a smoothness penalty applies to a fitted field, and none is fitted")
        require_concrete_penalty(self.penalty_order)
        order = DEFAULT_ORDER if self.penalty_order is None else self.penalty_order
        return penalty_spectrum(order, self.field.wavenumber)

    def penalty_rows(self, weight: float):
        """``sqrt(weight) D_j``, the penalty's residual rows per coefficient (None for 0)."""
        return np.sqrt(weight) * self.penalty_scale if weight > 0 else None

    def with_loss(self, loss: str, loss_scale: float | None = None) -> "InverseProblem":
        """The same problem with another loss (see ``loss`` above; the scale defaults as there)."""
        checked = check_loss(loss, loss_scale, self.observations.sigma is not None)
        other = copy.copy(self)
        other.loss, other.loss_scale = checked
        return other

    def with_data(self, u) -> "InverseProblem":
        """The same problem (grid, compiled solvers, unknowns) for other values ``u`` at the same
        observation points: noise replicates, bootstrap resamples."""
        obs = self.observations
        u = np.asarray(u)
        if u.shape != obs.u.shape:
            raise ValueError(f"u must have the observations' shape {obs.u.shape}, got {u.shape}")
        other = copy.copy(self)
        other.observations = dataclasses.replace(obs, u=u)
        other.data = np.asarray(other.observations.u)
        return other

    def until(self, t_max: float) -> "InverseProblem":
        """The same problem restricted to the observations at times ``t <= t_max``, on the same
        solver grid (the spectral solver then integrates only up to ``t_max``; a black-box
        forward map is still called whole and its predictions restricted). The global phase of
        a fit with several unknowns solves these shorter-horizon problems first."""
        obs = self.observations
        keep = obs.t <= t_max
        if not keep.any():
            raise ValueError(f"no observation at t <= {t_max:g}")
        other = copy.copy(self)
        other.observations = dataclasses.replace(
            obs, t=obs.t[keep], x=obs.x[keep], u=obs.u[keep], grid_shape=None,
            sigma=None if obs.sigma is None else obs.sigma[keep],
            component=None if obs.component is None else obs.component[keep])
        other.data = self.data[keep]
        other.weights = self.weights[keep]
        if self._custom_forward is not None:
            other._custom_forward = _Restricted(self._custom_forward, keep)
        other._build_solvers(self.equation.n, self.equation.dt)
        return other

    @property
    def has_custom_forward(self) -> bool:
        """True when a black-box forward map replaces the spectral solver."""
        return self._custom_forward is not None

    @property
    def grid(self) -> dict:
        return {"n": self.equation.n, "dt": self.equation.dt}

    def _check_bounds(self, bounds):
        out = {}
        for name, pair in bounds.items():
            if name not in self.unknowns:
                raise ValueError(f"bounds given for {name!r}, which is not an unknown ({list(self.unknowns)})")
            lo, hi = (float(v) for v in pair)
            if not lo < hi:
                raise ValueError(f"bounds for {name} must satisfy low < high, got ({lo}, {hi})")
            if name in self.equation_class.positive and lo <= 0:
                raise ValueError(f"bounds for {name} must be positive, got ({lo}, {hi})")
            out[name] = (lo, hi)
        return out

    @property
    def n_residuals(self) -> int:
        """Length of the residual vector: one entry per observation (two for complex data),
        plus the smoothness rows of a regularized field."""
        extra = 0 if self._penalty is None else self._penalty.size
        return self.parts * self.observations.n_points + extra

    # ---- transforms ---------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        return len(self.unknowns)

    def default_init(self) -> dict[str, float]:
        """Starting values when none are given: equation defaults; a u0 field at the projection
        of a measured snapshot, at a fit of the earliest observations when there is no snapshot,
        else zero (an exact u0 in the file is the truth a recovery is compared with, never its
        start); a constant D(x) field at the equation's default D."""
        defaults = self.equation_class.defaults
        init = {name: float(defaults.get(name, 0.0)) for name in self.unknowns}
        if self.field_param is not None:
            value = float(defaults[self.field_param])
            init[f"{self.field_prefix}[0]"] = float(np.log(value)) if self.field_log else value
        if self.field_name == "u0":
            init.update(zip(self.field.names("u0"), self.default_init_field().tolist()))
        return init

    def default_init_field(self) -> np.ndarray:
        """The u0 field's starting coefficients (see ``default_init``)."""
        source = self.source_observations
        if self.initial.source == "snapshot":
            return self.field.project(source.u0)
        if self.initial.source == "none":
            return early_projection(source, self.field)
        return np.zeros(self.field.modes)

    def expand(self, params: Mapping[str, float]) -> dict[str, float]:
        """Accept the whole field at once (``{"u0": coefficients}``, ``{"D(x)": coefficients}``)
        as well as per-name values; for ``D(x)`` a scalar ``D`` starts a constant field."""
        params = dict(params)
        if self.field is None:
            return params
        if self.field_name in params:
            coefficients = np.asarray(params.pop(self.field_name), dtype=float).ravel()
            if coefficients.size != self.field.modes:
                raise ValueError(f"{self.field_name} needs {self.field.modes} coefficients, got {coefficients.size}")
            params.update(zip(self.field.names(self.field_prefix), coefficients.tolist()))
        if self.field_param is not None and self.field_param in params:
            value = float(params.pop(self.field_param))
            if self.field_log and not value > 0:
                raise ValueError(f"initial value of {self.field_param} must be positive, got {value}")
            params[f"{self.field_prefix}[0]"] = float(np.log(value)) if self.field_log else value
            for name in self.field.names(self.field_prefix)[1:]:
                params.setdefault(name, 0.0)
        return params

    def field_coefficients(self, params: Mapping[str, float]) -> np.ndarray:
        """The field's coefficients from a parameter dict (per-name entries)."""
        return np.array([params[name] for name in self.field.names(self.field_prefix)])

    def field_values(self, coefficients, n: int | None = None) -> np.ndarray:
        """The fitted field on ``n`` grid points (default: the solver grid): u0, or D = exp(log D)."""
        return field_samples(self.field_name, coefficients, self.observations.domain, self.equation.n if n is None else n,
                             self.equation_class)

    def direction_scales(self) -> np.ndarray:
        """Prior scale of each unknown for random directions: fields favour low wavenumbers."""
        scales = np.ones(self.dim)
        if self.field is not None:
            scales[self.field_index] = 1.0 / (1.0 + self.field.wavenumber)
        return scales

    def to_z(self, params: Mapping[str, float]) -> np.ndarray:
        """Parameters (dict) -> unconstrained vector."""
        params = self.expand(params)
        values = []
        for name, is_log in zip(self.unknowns, self.log_scaled):
            if name not in params:
                raise ValueError(f"missing initial value for {name}")
            v = float(params[name])
            if not np.isfinite(v):
                raise ValueError(f"initial value of {name} must be finite, got {v}")
            if is_log and v <= 0:
                raise ValueError(f"initial value of {name} must be positive, got {v}")
            values.append(np.log(v) if is_log else v)
        return np.array(values)

    def to_params(self, z) -> dict[str, float]:
        z = np.asarray(z, dtype=float)
        return {
            name: float(np.exp(v) if is_log else v) for name, v, is_log in zip(self.unknowns, z, self.log_scaled)
        }

    def z_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        lo = np.full(self.dim, -np.inf)
        hi = np.full(self.dim, np.inf)
        for i, name in enumerate(self.unknowns):
            if name in self.bounds:
                a, b = self.bounds[name]
                lo[i], hi[i] = (np.log(a), np.log(b)) if self.log_scaled[i] else (a, b)
        return lo, hi

    def clip(self, z) -> np.ndarray:
        lo, hi = self.z_bounds()
        return np.clip(z, lo, hi)

    def full_params(self, z) -> dict[str, float]:
        return {**self.known, **self.to_params(z)}

    # ---- the forward map --------------------------------------------------------------------
    def predict(self, Z, tally: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Predictions at the observation points for a batch ``Z (B, d)``.

        Returns ``(pred (B, P), finite (B,))``; non-finite members (blow-up, a raising black
        box, a parameter the solver refuses) have ``finite = False`` and NaN predictions.
        ``tally``, when given, receives the failures by kind ("non-finite", "error",
        "timeout") and the first error's text ("first_error"); a fit counts them.
        """
        Z = np.atleast_2d(np.asarray(Z, dtype=float))
        B = Z.shape[0]
        tally = {} if tally is None else tally
        for kind in ("non-finite", "error", "timeout"):
            tally.setdefault(kind, 0)
        members = [self.full_params(z) for z in Z]
        bias = np.array([full.pop("bias", 0.0) for full in members])  # of the sensors, not the equation
        if self._custom_forward is not None:
            pred = np.full((B, self.observations.n_points), np.nan, dtype=complex if self.equation_class.complex_state else float)
            raised = 0
            call = functools.partial(call_forward, self._custom_forward, dtype=pred.dtype)
            calls = self.executor.map(call, members) if self.executor is not None else [call(m) for m in members]
            for b, (out, kind, text) in enumerate(calls):
                if kind is not None:
                    tally[kind] += 1
                    raised += 1
                    tally.setdefault("first_error", text)
                    continue
                if out.shape == (self.observations.n_points,):
                    pred[b] = out
                else:
                    tally["error"] += 1
                    raised += 1
                    tally.setdefault("first_error", f"the forward map returned shape {out.shape}, expected "
                                                    f"({self.observations.n_points},)")
        else:
            arrays = {name: np.array([full[name] for full in members], dtype=float)
                      for name in self.equation.param_names if name != self.field_param}
            u0_hat = self._u0_hat
            if self.field_name == "u0":
                u0_hat = jnp.stack([self._field_spectrum(z[self.field_index]) for z in Z])
            elif self.field is not None:
                arrays[self.field_param] = jnp.stack([self._coefficient_field(z[self.field_index]) for z in Z])
            pred = np.array(self._batched(arrays, u0_hat))
            raised = 0
        if self.observations.observable == "abs":
            pred = np.abs(pred)
        elif not self.observations.is_complex and np.iscomplexobj(pred):
            pred = pred.real  # a complex state observed through its real values
        if "bias" in self.unknowns:
            pred = pred + bias[:, None]
        finite = np.all(np.isfinite(pred), axis=1)
        tally["non-finite"] += int(np.sum(~finite)) - raised
        # Parameters a solver must refuse (e.g. a viscosity that underflowed to 0) are rejected.
        for b, full in enumerate(members):
            if any(full[p] <= 0 for p in self.equation_class.positive if p in full):
                finite[b] = False
        pred[~finite] = np.nan
        return pred, finite

    def residuals(self, Z, tally: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Weighted residuals ``(pred - data) / sigma`` for a batch: ``(R (B, P), finite (B,))``,
        followed by the smoothness-penalty rows when a field is regularized (real and
        imaginary parts for complex data). ``tally``: see ``predict``."""
        Z = np.atleast_2d(np.asarray(Z, dtype=float))
        pred, finite = self.predict(Z, tally)
        R = (pred - self.data) * self.weights
        if self.parts == 2:
            R = np.concatenate([R.real, R.imag], axis=1)
        if self.loss != "linear":
            R = robust_residuals(R, self.loss, self.loss_scale)
        if self._penalty is not None:
            R = np.concatenate([R, self._penalty * Z[:, self.field_index]], axis=1)
        return R, finite

    def loss_of_residuals(self, R) -> np.ndarray:
        """Mean squared weighted residual (inf for non-finite members)."""
        R = np.atleast_2d(R)
        loss = np.mean(R**2, axis=1)
        return np.where(np.isfinite(loss), loss, np.inf)

    def _field_spectrum(self, coefficients):
        """The solver's initial spectrum for field coefficients (JAX-traceable)."""
        return self.field.spectrum(coefficients, self.equation.n) * jnp.asarray(self.equation.mask)

    def _coefficient_field(self, coefficients):
        """The parameter field on the solver grid: exp of the log-field for a positive
        parameter, the series itself otherwise (JAX-traceable)."""
        series = self.field.grid_values(coefficients, self.equation.n)
        return jnp.exp(series) if self.field_log else series

    # ---- differentiable version (for the exact-AD reference only) ---------------------------
    def jax_residual_fn(self) -> Callable:
        """``z -> weighted residuals`` as a JAX function (spectral solver only)."""
        if self._custom_forward is not None:
            raise ValueError("exact derivatives need the built-in JAX solver, not a custom forward map")
        names = self.scalar_unknowns
        log_scaled = tuple(bool(v) for v in self.log_scaled)
        known = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in self.known.items()
                 if k in self.equation_class.param_names}
        data = jnp.asarray(self.data)
        weights = jnp.asarray(self.weights)
        solver, u0_hat = self._point_solver, self._u0_hat
        field = self.field
        index = None if field is None else jnp.asarray(self.field_index)
        reg = None if self._penalty is None else jnp.asarray(self._penalty)
        abs_observed = self.observations.observable == "abs"
        complex_data = self.parts == 2
        loss, loss_scale = self.loss, self.loss_scale

        def residual(z):
            params = dict(known)
            for i, (name, is_log) in enumerate(zip(names, log_scaled)):
                params[name] = jnp.exp(z[i]) if is_log else z[i]
            bias = params.pop("bias", 0.0)
            start = u0_hat
            if self.field_name == "u0":
                start = self._field_spectrum(z[index])
            elif field is not None:
                params[self.field_param] = self._coefficient_field(z[index])
            pred = solver(params, start)
            if abs_observed:
                pred = jnp.abs(pred)
            r = (pred + bias - data) * weights
            if complex_data:
                r = jnp.concatenate([r.real, r.imag])
            elif jnp.iscomplexobj(r):
                r = r.real
            if loss != "linear":  # the same objective as the NumPy residuals
                r = robust_residuals(r, loss, loss_scale, xp=jnp)
            return r if reg is None else jnp.concatenate([r, reg * z[index]])

        return residual

