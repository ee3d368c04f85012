"""The equation base class: grid, initial condition, parameter checks and the solve methods
around the shared ETDRK4 stepper. An equation definition subclasses it (see pdeinv.equations)."""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

from .._jax import jax, jnp
from .batching import BatchedSolver, WithOperands
from .etdrk4 import DenseSchedule, StepSchedule, dense_schedule, etdrk4_solve, step_schedule
from ..discretizations import Basis, FourierBasis
from ..discretizations.fft import library_fft
from .memory import check_memory, points_bytes, solve_bytes

__all__ = ["EXACT_TIMES_MAX_STEP_SIZES", "SolverDivergedError", "SpectralEquation"]

#: Output times that would need more distinct step sizes than this to be landed on exactly
#: (observations at many distinct times) are served by uniform steps and a cubic Hermite
#: interpolant in time instead (``etdrk4.DenseSchedule``): each distinct step size costs a set
#: of contour-integral coefficients, about 0.6 ms at n = 1024, so landing on 800 random times
#: cost 2.7-3.3x a uniform layout (the whole solve is 0.1-0.2 s).
EXACT_TIMES_MAX_STEP_SIZES = 8


class SolverDivergedError(FloatingPointError):
    """A forward solve produced NaN or inf (the time step or grid is too coarse, or the
    parameters drive the solution to blow up).

    ``SpectralEquation.solve`` raises it instead of returning a non-finite array; batched solves
    can instead return a mask of the finite members (``on_blowup="mask"``).
    """


class SpectralEquation:
    """A 1-D PDE ``u_t = L u + N(u)`` solved pseudo-spectrally by ETDRK4 in a basis: Fourier on
    a periodic interval by default, or any ``pdeinv.discretizations.Basis`` (``basis_type``).

    This class is also the *definition* of an equation: a subclass declares everything the
    rest of pdeinv needs (simulate, fit with every method, files, CLI, plots), and registering
    it (``pdeinv.register_equation``) makes it available everywhere. What a subclass sets:

    - ``name`` (the key used in files and on the command line), optional ``aliases``, ``pde``
      (one line, e.g. ``"u_t + u u_x = nu u_xx"``);
    - ``param_names``, ``defaults`` (a value for each), ``positive`` (must be > 0; fitted as
      log p), ``default_unknowns`` (fitted unless the user says otherwise), ``field_params``
      (may vary in x);
    - ``basis_type``: the discretization (default ``FourierBasis``, periodic; ``SineBasis`` for
      u = 0 at both ends of a bounded interval); it owns the grid, transforms and interpolation;
    - ``linear_symbol(params)``: the linear operator, treated exactly: the diagonal symbol L(k)
      on the basis's ``self.k`` (Fourier, sine), or a matrix on the state (Chebyshev: from
      ``self.basis.D1``, ``self.basis.D2``);
    - on the Chebyshev basis, ``boundary_conditions(params)`` (a condition at each end) and
      ``boundary`` (the conditions in words); on any basis, optionally ``source(t, x, params)``
      (an explicit forcing);
      ``nonlinear(v, params)``: the rest, spectrum -> spectrum, in JAX (helpers:
      :meth:`physical`, :meth:`spectral`, :meth:`derivative`);
    - for a system of several fields (species), ``components`` (their names, e.g. ``("A", "B")``):
      the state then has a leading component axis, ``(C, n)`` grid values and ``(C, modes)``
      spectra; ``linear_symbol`` gives one operator per component (``(C, modes)`` or ``(C, n,
      n)``; one operator for all is broadcast), ``nonlinear`` couples them, the initial condition
      and ``source`` are ``(C, n)``, and ``boundary_conditions`` gives one ``(left, right)`` pair per
      component. Observations say which component each point measures;
    - ``default_initial_condition(x)`` and ``u0_description``; ``default_domain``,
      ``default_t_span``, ``default_n``; ``complex_state`` for a complex field (e.g. NLS);
    - optionally ``pinn_residual(u, d, params)``: the PDE residual from u and its derivatives
      ``d["t"], d["x"], d["xx"], ...`` up to ``pinn_order`` in x (for ``method="pinn"``), and
      ``paper_learning_rate`` (the outer Adam rate of the paper preset).

    Parameters
    ----------
    n : int
        Grid points (Fourier: even, >= 8, ``x = linspace(a, b, n, endpoint=False)``; see the
        basis for others).
    domain : (a, b)
        The interval (periodic for the Fourier basis), default ``default_domain``.
    t_span : (t0, t1)
        Time interval the solver accepts output times in, default ``default_t_span``.
    u0 : callable of x, array, or None
        Initial condition. An array of another length than ``n`` is resampled spectrally
        (it must hold samples on the basis's nodes for its own size). ``None`` uses the
        equation's default.
    dt : float or None
        Largest time step. ``None`` chooses a step from the grid (see ``default_dt``).
    dealias : bool
        Apply the 2/3 rule to the nonlinear term.
    """

    name: str = ""
    basis_type: type[Basis] = FourierBasis
    aliases: tuple[str, ...] = ()
    pde: str = ""
    param_names: tuple[str, ...] = ()
    #: parameters that may vary in x (given as a callable or grid samples, see check_params)
    field_params: tuple[str, ...] = ()
    defaults: Mapping[str, float] = {}
    positive: tuple[str, ...] = ()
    default_unknowns: tuple[str, ...] = ()
    default_n: int = 512
    default_domain: tuple[float, float] = (-1.0, 1.0)
    default_t_span: tuple[float, float] = (0.0, 1.0)
    complex_state: bool = False
    #: names of the fields of a system (species), e.g. ("A", "B"); empty for one field
    components: tuple[str, ...] = ()
    u0_description: str = ""
    #: the boundary conditions in words, for equations that set their own (Chebyshev basis)
    boundary: str = ""
    #: highest x-derivative ``pinn_residual`` uses (0: the equation has no PINN residual)
    pinn_order: int = 0
    paper_learning_rate: float = 1e-2
    #: The default step is ``step_courant / (max|k| max|u0|)``, at most ``max_dt`` (see
    #: :meth:`default_dt`): an equation whose step accuracy was measured sets its own values.
    step_courant: float = 0.5
    max_dt: float = 1e-3

    def __init__(
        self,
        n: int | None = None,
        *,
        domain: tuple[float, float] | None = None,
        t_span: tuple[float, float] | None = None,
        u0: Callable | np.ndarray | None = None,
        dt: float | None = None,
        dealias: bool = False,
    ):
        n = self.default_n if n is None else n
        domain = self.default_domain if domain is None else domain
        t_span = self.default_t_span if t_span is None else t_span
        n = self.basis_type.check_n(n)
        check_memory(solve_bytes(n), f"a solve on n={n} grid points", "use a coarser grid (n)")
        self.basis = self.basis_type(n, domain, complex_state=self.complex_state, dealias=dealias)
        t0, t1 = (float(v) for v in t_span)
        if not (np.isfinite(t0) and np.isfinite(t1) and t1 > t0):
            raise ValueError(f"t_span must be a finite interval (t0, t1) with t1 > t0, got {t_span!r}")
        basis = self.basis
        self.n, self.domain, self.length, self.x = basis.n, basis.domain, basis.length, basis.x
        self.k, self.mask = basis.k, basis.mask
        self.t_span = (t0, t1)
        self.dealias = basis.dealias
        #: the state's shape on the grid: ``(n,)``, or ``(C, n)`` for a system
        self.state_shape = ((len(self.components),) if self.components else ()) + (self.n,)
        self.u0 = self._initial_samples(u0)
        if not np.all(np.isfinite(self.u0)):
            raise ValueError("u0 must be finite on the grid")
        if dt is None:
            dt = min(self.default_dt(), (t1 - t0) / 10)
        dt = float(dt)
        if not (np.isfinite(dt) and dt > 0):
            raise ValueError(f"dt must be a positive number, got {dt!r}")
        if dt > (t1 - t0) / 10:
            # A handful of steps over the whole span is no solution at all (measured: dt = 5 on
            # t in [0, 1], one step, gave a "converged" Burgers fit 249 % off).
            raise ValueError(f"dt={dt:g} is too large for the time span [{t0:g}, {t1:g}]: at most {(t1 - t0) / 10:g} "
                             f"(10 steps); the default here is {min(self.default_dt(), (t1 - t0) / 10):g}")
        self.dt = dt
        self._cache: dict = {}

    # ---- equation-specific pieces -------------------------------------------------------
    def linear_symbol(self, params):  # pragma: no cover - abstract
        raise NotImplementedError

    def nonlinear(self, v, params):  # pragma: no cover - abstract
        raise NotImplementedError

    def default_initial_condition(self, x):  # pragma: no cover - abstract
        raise NotImplementedError

    def source(self, t, x, params):
        """An explicit source ``f(t, x; params)`` added to the right-hand side, grid values on ``x``
        (JAX; ``t`` traced). Not defined by default: an equation without a source leaves it out."""
        raise NotImplementedError

    def boundary_conditions(self, params):
        """``(left, right)``: the condition at each end for a basis that takes them from the
        equation (Chebyshev: ``pdeinv.discretizations.dirichlet``, ``neumann``, ``robin``; values and
        coefficients may be parameters, values may be functions of t); ``None`` (the default) for
        a basis that holds its own (periodic; sine)."""
        return None

    def check_initial_condition(self, params, u0=None) -> None:
        """Refuse an initial condition whose end values contradict the boundary conditions at
        ``t0`` (one clear ``ValueError``); nothing to check on a basis without conditions of its own."""
        closure = self._closure(self.params_pytree(params))
        if closure is None:
            return
        u = np.asarray(self._start(u0))
        mismatch = np.real(closure.mismatch(u + 0j, self.t_span[0])).reshape(-1, 2)
        rows = u.reshape(-1, self.n)
        scale = max(float(np.max(np.abs(u))), 1.0)
        row, end = np.unravel_index(int(np.argmax(np.abs(mismatch))), mismatch.shape)
        if abs(mismatch[row, end]) > 1e-6 * scale:
            value = rows[row, 0 if end == 0 else -1]
            side, x_end = (("left", self.domain[0]), ("right", self.domain[1]))[end]
            bc = closure.condition(row, end)
            which = f" of {self.components[row]}" if self.components else ""
            raise ValueError(f"the initial condition{which} contradicts the {side} boundary condition ({bc.describe()} "
                             f"at x = {x_end:g}): u0 there is {np.real(value):.6g}, the condition needs "
                             f"{np.real(value) - mismatch[row, end]:.6g}")

    def pinn_residual(self, u, d, params):
        """The PDE residual at a point from ``u`` and its derivatives (``d["t"]``, ``d["x"]``,
        ``d["xx"]``, ... up to ``pinn_order``); needed only by ``method="pinn"``."""
        raise ValueError(f"equation {self.name!r} declares no PINN residual (pinn_residual), so method "
                         "'pinn' cannot fit it")

    def default_dt(self) -> float:
        """The step used when none is given: ``step_courant / (max|k| max|u0|)``, at most
        ``max_dt``. An explicit advective term is resolved when ``dt * max|k| * max|u|`` stays
        below ~1; the default 0.5 is a safe margin for equations nobody has measured. The
        built-in equations set their step for ~1e-8 relative time error at their default
        parameters (measured against dt/8), which is what the data of a fit can resolve; a fit's
        grid check halves dt with the grid, so a step too coarse for the estimate is caught."""
        umax = max(float(np.max(np.abs(self.u0))), 1e-3)
        kmax = float(np.max(np.abs(self.k)))
        return min(float(self.max_dt), float(self.step_courant) / (kmax * umax))

    # ---- helpers for nonlinear terms (JAX), from the basis ----------------------------------
    @property
    def ik(self):
        """``i k`` for odd derivatives (Fourier basis; the Nyquist mode's is zero)."""
        if not hasattr(self.basis, "ik"):
            raise AttributeError(f"the {self.basis.name} basis of {self.name} has no odd-derivative symbol i k")
        return self.basis.ik

    def physical(self, v):
        """Grid values of a spectrum (dealiasing mask applied)."""
        return self.basis.physical(v)

    def spectral(self, u):
        """Spectrum of grid values (dealiasing mask applied)."""
        return self.basis.spectral(u)

    def derivative(self, v, order: int = 1):
        """The spectrum of the ``order``-th x-derivative (Fourier: odd orders drop the Nyquist
        mode)."""
        return self.basis.derivative(v, order)

    # ---- helpers --------------------------------------------------------------------------
    def _initial_samples(self, u0) -> np.ndarray:
        dtype = complex if self.complex_state else float
        if u0 is None:
            u0 = self.default_initial_condition
        if callable(u0):
            values = np.asarray(u0(self.x))
            if np.iscomplexobj(values) and not self.complex_state:
                raise ValueError(f"u0 of {self.name} must be real (its state is real)")
            values = np.asarray(values, dtype=dtype)
            if values.shape != self.state_shape:
                try:
                    values = np.broadcast_to(values, self.state_shape).copy()
                except ValueError:
                    raise ValueError(f"u0 of {self.name} gives shape {values.shape} on the grid, expected "
                                     f"{self.state_shape}") from None
            return values
        values = np.asarray(u0)
        if np.iscomplexobj(values) and not self.complex_state:
            raise ValueError(f"u0 of {self.name} must be real (its state is real)")
        values = np.asarray(values, dtype=dtype)
        rows = len(self.components)
        if rows:
            if values.ndim != 2 or values.shape[0] != rows or values.shape[1] < 2:
                raise ValueError(f"u0 of the system {self.name} must be a callable of x or an array ({rows}, m): one row "
                                 f"per component {', '.join(self.components)}, got shape {values.shape}")
            if values.shape[1] == self.n:
                return values.copy()
            return np.stack([self.basis_type.resample(row, self.n) for row in values])
        if values.ndim != 1 or values.size < 2:
            raise ValueError(f"u0 must be a callable of x or a 1-D array, got shape {values.shape}")
        if values.size == self.n:
            return values.copy()
        return self.basis_type.resample(values, self.n)

    @classmethod
    def component_indices(cls, values) -> np.ndarray:
        """Indices (0 ... C-1) of components given by name or by index; a ``ValueError`` names what
        the equation does not have (the one rule for observations, point solvers and simulate)."""
        names = tuple(cls.components)
        values = np.asarray(values).ravel()
        if not names:
            raise ValueError(f"{cls.name} has one field; it has no components ({', '.join(map(str, sorted(set(values.tolist()))))})")
        if values.dtype.kind in "USO":
            lookup = {name: i for i, name in enumerate(names)}
            unknown = sorted({str(v) for v in values} - set(lookup))
            if unknown:
                raise ValueError(f"{cls.name} has no component {unknown[0]!r}; its components are {', '.join(names)}")
            values = np.array([lookup[str(v)] for v in values], dtype=np.int64)
        if values.dtype.kind not in "iu" or np.any(values < 0) or np.any(values >= len(names)):
            raise ValueError(f"component must hold indices 0..{len(names) - 1} ({', '.join(names)}) or those names")
        return values.astype(np.int64)

    def component_index(self, components) -> np.ndarray:
        """Component indices (0 ... C-1) of observation points from names or indices; ``None`` for
        an equation of one field (all points measure it). A clear ``ValueError`` names what the
        equation does not have."""
        if components is None:
            if self.components:
                raise ValueError(f"{self.name} is a system of {', '.join(self.components)}: say which component each "
                                 "observation measures")
            return None
        values = np.asarray(components).ravel()
        if not self.components and (not values.size or np.all((values == 0) | (values == "u"))):
            return None
        return self.component_indices(values)

    def check_params(self, params: Mapping[str, float], *, batch: bool = False) -> dict[str, float]:
        """Validate a parameter mapping, fill missing names from the defaults.

        Parameters in ``field_params`` may also be fields: a callable of x or an array of grid
        samples (any length; resampled spectrally to ``n``) give shape ``(n,)``; with
        ``batch=True`` a 2-D array ``(B, n)`` holds one field per batch member and 1-D arrays are
        per-member scalars.
        """
        if not isinstance(params, Mapping):
            raise ValueError(f"params must be a mapping of parameter names to values, got {type(params).__name__}")
        unknown = sorted(set(params) - set(self.param_names))
        if unknown:
            raise ValueError(
                f"unknown parameter name(s) {unknown} for {self.name}; expected {list(self.param_names)}"
            )
        full = dict(self.defaults)
        for key, value in params.items():
            is_field = key in self.field_params
            if callable(value):
                if not is_field:
                    varying = f"only {', '.join(self.field_params)} may vary in x" if self.field_params else \
                        f"no parameter of {self.name} varies in x"
                    raise ValueError(f"parameter {key} must be a number, not a function ({varying})")
                value = np.broadcast_to(np.asarray(value(self.x), dtype=float), (self.n,)).copy()
            try:
                arr = np.asarray(value, dtype=float)
            except (TypeError, ValueError):
                raise ValueError(f"parameter {key} must be a number, got {value!r}") from None
            shown = f"{float(arr):g}" if arr.ndim == 0 else \
                f"a field between {np.nanmin(arr):g} and {np.nanmax(arr):g}" if arr.size else "an empty field"
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"parameter {key} must be finite, got {shown if arr.ndim == 0 else 'a field with non-finite values'}")
            if key in self.positive and np.any(arr <= 0):
                raise ValueError(f"parameter {key} must be positive, got {shown}")
            if is_field and arr.ndim == 1 and (not batch or callable(params[key])) and arr.size != self.n:
                if arr.size < 2:
                    raise ValueError(f"field {key} needs at least 2 samples, got {arr.size}")
                arr = self.basis_type.resample(arr, self.n)
                if key in self.positive and np.any(arr <= 0):
                    raise ValueError(f"field {key} must stay positive after resampling to n={self.n}")
            if is_field and arr.ndim == 2 and (not batch or arr.shape[1] != self.n):
                raise ValueError(f"field {key} must have shape (batch, {self.n}) in a batch, got {arr.shape}")
            if arr.ndim > (2 if is_field else 1):
                raise ValueError(f"parameter {key} has too many dimensions: shape {arr.shape}")
            full[key] = arr if arr.ndim else float(arr)
        return full

    def check_times(self, t) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        if t.ndim != 1 or t.size == 0:
            raise ValueError(f"t must be a non-empty 1-D array of times, got shape {t.shape}")
        if not np.all(np.isfinite(t)):
            raise ValueError("t must be finite")
        if np.any(np.diff(t) <= 0):
            raise ValueError("t must be strictly increasing")
        t0, t1 = self.t_span
        tol = 1e-12 * max(1.0, abs(t1))
        if t[0] < t0 - tol or t[-1] > t1 + tol:
            raise ValueError(f"t must lie in t_span [{t0}, {t1}], got [{t[0]}, {t[-1]}]")
        return np.clip(t, t0, t1)

    # ---- the solver -----------------------------------------------------------------------
    def spectral_solver(self, t, *, batched: bool = False) -> Callable:
        """A pure JAX function ``(params, u0_hat) -> u_hat`` with ``u_hat`` of shape
        ``(len(t), modes)`` (``n//2 + 1`` modes, or ``n`` for a complex state): jit-compiled,
        differentiable and ``jax.vmap``-able over ``params`` (a dict of scalars; names left
        out take the equation's defaults). Cached per output-time set.

        ``batched=True`` gives the same function with the FFTs that are faster once it is
        vmapped over a batch (see :func:`library_fft`); results agree to rounding.
        """
        t = self.check_times(t)
        key = ("spectral", t.tobytes(), bool(batched))
        if key not in self._cache:
            self._cache[key] = jax.jit(self._build(t, bool(batched)))
        return self._cache[key]

    def schedule(self, t) -> StepSchedule | DenseSchedule:
        """The time stepping that serves output times ``t``: steps of at most ``dt`` landing on
        every time, or, when that needs more than ``EXACT_TIMES_MAX_STEP_SIZES`` distinct step
        sizes, uniform steps with a 4th-order Hermite interpolant in time (agrees with landing
        exactly to a few times the time-stepping error itself, on the default grids of Burgers and
        KdV: measured against dt/8, 2.5e-8 at Burgers' shock where landing gives 8.1e-9)."""
        t = self.check_times(t)
        exact = step_schedule(t, self.t_span[0], self.dt)
        if exact.step_sizes.size > EXACT_TIMES_MAX_STEP_SIZES:
            return dense_schedule(t, self.t_span[0], self.dt)
        return exact

    def _build(self, t: np.ndarray, batched: bool = False):
        schedule = self.schedule(t)

        defaults = {name: float(value) for name, value in self.defaults.items()}

        t0 = self.t_span[0]
        has_source = type(self).source is not SpectralEquation.source

        def solve(params, u0_hat):
            params = {**defaults, **params}  # parameters not given take the equation's defaults
            with library_fft(batched):  # tracing happens here: the choice is baked in
                L = self._per_component(self.linear_symbol(params))
                if has_source:
                    x = jnp.asarray(self.x)

                    def rate(v, t):
                        forcing = jnp.broadcast_to(self.source(t, x, params), self.state_shape)
                        return self.nonlinear(v, params) + self.spectral(forcing)
                else:
                    def rate(v, t):
                        return self.nonlinear(v, params)
                closure = self._closure(params)
                # a real field under a real matrix operator: real arithmetic (half the work)
                real = self.basis.dense and not self.complex_state and not jnp.iscomplexobj(L)
                if closure is None:
                    return etdrk4_solve(L, rate, u0_hat, schedule, t0, real=real)
                return etdrk4_solve(closure.linear(L), closure.rate(rate), closure.impose(u0_hat, t0), schedule, t0,
                                    project=closure.impose, real=real)

        return solve

    #: Bytes of step matrices per batch member above which batches run their members one after
    #: another (see ``BatchedSolver``): a rod's six 24 x 24 matrices (28 KB) ran a batch of 16 in
    #: 1.3 ms per member vmapped and 2.9 ms mapped; two species' 2 x 6 of 48 x 48 (220 KB) in 0.30 s
    #: vmapped and 0.17 s mapped.
    SEQUENTIAL_BYTES = 64 * 1024

    @property
    def sequential_batches(self) -> bool:
        """Whether batches of this equation's solves run member by member: dense operators whose
        step matrices would not stay in cache across a vmapped batch."""
        blocks = len(self.components) or 1
        return bool(self.basis.dense) and 6 * blocks * self.n * self.n * 8 > self.SEQUENTIAL_BYTES

    def _per_component(self, L):
        """A system's linear operator with one block per component (an operator shared by all
        components is repeated); a single field's as it is."""
        if not self.components:
            return L
        L = jnp.asarray(L)
        core = 2 if self.basis.dense else 1
        shape = (len(self.components),) + L.shape[L.ndim - core:]
        if L.ndim not in (core, core + 1) or (L.ndim == core + 1 and L.shape[0] != shape[0]):
            raise ValueError(f"linear_symbol of the system {self.name} must give one operator, or one per component "
                             f"({shape[0]}), got shape {L.shape}")
        return jnp.broadcast_to(L, shape)

    def _closure(self, params):
        """The basis's closure of the equation's boundary conditions (None on a basis that holds its
        own); for a system, one pair of conditions per component."""
        conditions = self.boundary_conditions(params)
        if self.components and conditions is not None:
            if len(conditions) != len(self.components):
                raise ValueError(f"boundary_conditions of the system {self.name} must give a (left, right) pair per "
                                 f"component ({', '.join(self.components)}), got {len(conditions)}")
            return self.basis.closure(conditions, components=len(self.components))
        return self.basis.closure(conditions)

    def point_solver(self, t_points, x_points, *, batched: bool = False, components=None) -> Callable:
        """A pure JAX function ``(params, u0_hat) -> values`` at scattered points ``(t_j, x_j)``
        (a :class:`WithOperands`: the interpolation matrix is an argument of the compiled program).

        The field is solved at the distinct times and Fourier-interpolated in x at each point,
        so the result is spectrally accurate wherever the grid resolves the field. Like
        ``spectral_solver`` it is jit-compiled, differentiable and vmap-able over ``params``
        (``batched=True``: the variant meant to be vmapped, see ``spectral_solver``). For a system,
        ``components`` names (or indexes) the component each point measures.
        """
        t_points = np.asarray(t_points, dtype=float).ravel()
        x_points = self.basis.place(np.asarray(x_points, dtype=float).ravel())
        if t_points.shape != x_points.shape:
            raise ValueError(f"t_points and x_points must have the same length, got {t_points.size} and {x_points.size}")
        picked = self.component_index(components)
        if picked is not None and picked.shape != t_points.shape:
            raise ValueError(f"components must give one per point ({t_points.size}), got {picked.size}")
        times, row_of_point = np.unique(t_points, return_inverse=True)
        key = ("points", t_points.tobytes(), x_points.tobytes(), bool(batched),
               None if picked is None else picked.tobytes())
        if key not in self._cache:
            spectral = self.spectral_solver(times, batched=batched)
            by_time = times.size * x_points.size <= x_points.size * self.k.size
            operands = self._point_operands(times, row_of_point, x_points, by_time)
            complex_state = self.complex_state
            if picked is not None:
                return self._cache.setdefault(key, self._system_points(spectral, operands, picked, by_time))

            def at_points(params, u0_hat, operands):
                u_hat = spectral(params, u0_hat)
                if by_time:  # few distinct times (a grid): all times at all positions, then pick.
                    # Real products only: XLA's complex matmul, vmapped and split across CPU
                    # devices, returned wrong values for the first member of each device's share
                    # (n = 1024, 99 x 255 points, batch of 10 on 2 devices; measured, jax 0.10.2).
                    rows, columns, A_re, A_im = operands
                    U_re, U_im = jnp.real(u_hat), jnp.imag(u_hat)
                    real = (U_re @ A_re - U_im @ A_im)[rows, columns]
                    if not complex_state:
                        return real
                    return real + 1j * (U_re @ A_im + U_im @ A_re)[rows, columns]
                rows, _, A = operands  # many distinct times: each point's spectrum
                values = jnp.sum(u_hat[rows] * A, axis=-1)
                return values if complex_state else jnp.real(values)

            self._cache[key] = WithOperands(at_points, operands)
        return self._cache[key]

    def _system_points(self, spectral, operands, picked, by_time: bool) -> WithOperands:
        """The point solver of a system: each point takes its own component (see ``point_solver``)."""
        complex_state = self.complex_state
        component = jax.device_put(picked)

        def at_points(params, u0_hat, operands):
            u_hat = spectral(params, u0_hat)  # (times, C, modes)
            if by_time:
                rows, columns, A_re, A_im = operands
                U_re, U_im = jnp.real(u_hat), jnp.imag(u_hat)
                real = (U_re @ A_re - U_im @ A_im)[rows, component, columns]
                if not complex_state:
                    return real
                return real + 1j * (U_re @ A_im + U_im @ A_re)[rows, component, columns]
            rows, _, A = operands
            values = jnp.sum(u_hat[rows, component] * A, axis=-1)
            return values if complex_state else jnp.real(values)

        return WithOperands(at_points, operands)

    def _point_operands(self, times, row_of_point, x_points, by_time: bool) -> tuple:
        """The point solver's operands, ``(time row, column)`` per point and the interpolation
        matrix (real and imaginary parts, transposed, when ``by_time``), built once per set of
        points and shared by the single and batched variants. They are operands of the program,
        not constants folded into it (see :class:`WithOperands`): compiling 25,245 points took
        7.5 s with them folded in. Placed with ``device_put``: ``jnp.asarray`` of a NumPy array
        compiles a small program of its own."""
        key = ("point operands", times.tobytes(), x_points.tobytes())
        if key not in self._cache:
            # Interpolation is linear in the spectrum: one (points x modes) matrix, shared by every
            # batch member. Gathering each point's spectrum instead made (batch x points x modes)
            # temporaries: 4.2 GB peak for a batch of 10 on the full published Burgers grid
            # (25,245 points, 513 modes; 0.2 GB before the batch), 1.8 GB this way (1.0 GB before).
            check_memory(points_bytes(x_points.size, self.k.size) + solve_bytes(self.k.size, times.size),
                         f"{x_points.size} observation points at {times.size} times on n={self.n}",
                         "use fewer points or a coarser grid")
            matrix = self.interpolation_matrix(x_points)
            picks = (row_of_point.ravel(), np.arange(x_points.size))
            if by_time:
                arrays = picks + (matrix.real.T.copy(), matrix.imag.T.copy())
            else:
                arrays = picks + (matrix,)
            del matrix
            self._cache[key] = tuple(jax.device_put(a) for a in arrays)
        return self._cache[key]

    def interpolation_matrix(self, x_points) -> np.ndarray:
        """``A (P, modes)`` with ``u(x_p) = sum_m A[p, m] u_hat[m]`` (the real part, for a real
        state), from the basis (Fourier: the trigonometric interpolant, Nyquist mode as a cosine)."""
        return self.basis.interpolation_matrix(x_points)

    def solve_at(self, params: Mapping[str, float], t_points, x_points, *, u0=None, components=None) -> np.ndarray:
        """Solution values at scattered points ``(t_j, x_j)`` (of a system: of the component each
        point names in ``components``); raises ``SolverDivergedError`` when the solve is not finite."""
        values = np.asarray(self.point_solver(t_points, x_points, components=components)(
            self.params_pytree(params), self.initial_spectrum(u0)))
        if not np.all(np.isfinite(values)):
            raise SolverDivergedError(f"{self.name} solve diverged (non-finite values) at params {dict(params)}")
        return values

    def params_pytree(self, params: Mapping[str, float]) -> dict:
        full = self.check_params(params)
        # device_put, not jnp.asarray: the latter compiles two small programs on first use
        return {name: jax.device_put(np.float64(full[name])) for name in self.param_names}

    def _start(self, u0=None) -> np.ndarray:
        """Initial samples on the grid: ``self.u0``, or ``u0`` checked and resampled."""
        return self.u0 if u0 is None else self._initial_samples(u0)

    def initial_spectrum(self, u0=None) -> np.ndarray:
        """The spectrum the solvers start from (``u0`` or ``self.u0``), dealiasing mask applied.
        Computed with NumPy: an eager JAX transform would compile three small programs per grid."""
        return self.basis.forward_numpy(np.asarray(self._start(u0))) * self.mask

    def _forward(self, u):
        """The basis's transform along the last axis of grid values, with the library's FFTs
        (a batch of fields is transformed here, see ``library_fft``); traced or eager."""
        with library_fft():
            return self.basis.forward(u)

    def _inverse(self, v):
        with library_fft():
            return self.basis.inverse(v)

    def _grid_solver(self, t):
        """``(params, u0 samples) -> u on the grid``, transforms included in one compiled call
        (separate dispatches of the two transforms cost ~0.3 ms per solve)."""
        t = self.check_times(t)
        key = ("grid", t.tobytes())
        if key not in self._cache:
            spectral, mask = self.spectral_solver(t), jnp.asarray(self.mask)
            self._cache[key] = jax.jit(lambda params, u0: self._inverse(spectral(params, self._forward(u0) * mask)))
        return self._cache[key]

    def solve(self, params: Mapping[str, float], t, *, u0=None, check_ends: bool = True) -> np.ndarray:
        """Solve and return ``u`` of shape ``(len(t), n)`` on ``self.x`` (a system: ``(len(t), C, n)``).

        Raises ``ValueError`` for bad arguments (with ``check_ends``, the default, also for an
        initial condition that contradicts the boundary conditions) and ``SolverDivergedError``
        if the solution is not finite. ``check_ends=False`` lets the conditions set the initial
        end values, as fits do with a measured (noisy) snapshot or an estimated u0.
        """
        pytree = self.params_pytree(params)
        for name, value in pytree.items():
            if value.ndim and not (name in self.field_params and value.shape == (self.n,)):
                raise ValueError(f"parameter {name} must be a scalar for solve(); use solve_batch for batches")
        if check_ends:
            self.check_initial_condition(params, u0)
        u = np.asarray(self._grid_solver(t)(pytree, jnp.asarray(self._start(u0))))
        if not np.all(np.isfinite(u)):
            raise SolverDivergedError(
                f"{self.name} solve diverged (non-finite values) at params {dict(self.check_params(params))}; "
                f"try a smaller dt (now {self.dt:g}) or a finer grid (n={self.n})"
            )
        return u

    def solve_batch(self, params: Mapping[str, np.ndarray], t, *, u0=None, on_blowup: str = "raise"):
        """Solve for a batch of parameter sets in one vmapped call.

        ``params`` maps names to 1-D arrays of equal length B (scalars broadcast); a field
        parameter takes a ``(B, n)`` array or a callable of x shared by all members. Returns
        ``u`` of shape ``(B, len(t), n)`` (a system: ``(B, len(t), C, n)``); with ``on_blowup="mask"`` returns ``(u, finite)``
        where ``finite[b]`` tells whether member ``b`` stayed finite.
        """
        if on_blowup not in ("raise", "mask"):
            raise ValueError(f"on_blowup must be 'raise' or 'mask', got {on_blowup!r}")
        full = self.check_params(params, batch=True)
        shared = {k for k, v in params.items() if callable(v)}
        sizes = {np.shape(v)[0] for k, v in full.items() if np.ndim(v) and k not in shared}
        if len(sizes) > 1:
            raise ValueError(f"batched parameters must have equal lengths, got sizes {sorted(sizes)}")
        batch = sizes.pop() if sizes else 1

        def member_axis(name):
            value = jnp.asarray(full[name], dtype=jnp.float64)
            if name in shared:
                return jnp.broadcast_to(value, (batch, self.n))
            return value if value.ndim == 2 else jnp.broadcast_to(value.reshape(-1), (batch,))

        pytree = {name: member_axis(name) for name in self.param_names}
        t = self.check_times(t)
        key = ("batch", t.tobytes())
        if key not in self._cache:
            self._cache[key] = BatchedSolver(self.spectral_solver(t, batched=True), in_axes=(0, None),
                                             sequential=self.sequential_batches)
        u_hat = self._cache[key](pytree, self.initial_spectrum(u0))
        u = np.asarray(self._inverse(u_hat))
        finite = np.all(np.isfinite(u), axis=tuple(range(1, u.ndim)))
        if on_blowup == "mask":
            return u, finite
        if not finite.all():
            bad = int(np.nonzero(~finite)[0][0])
            raise SolverDivergedError(f"{self.name} solve diverged for batch member {bad}")
        return u

    def interpolate(self, u, x_query) -> np.ndarray:
        """Fourier-interpolate fields ``u (..., n)`` on ``self.x`` at points ``x_query``.

        ``x_query`` is either 1-D (same points for every leading row) or has the leading
        shape of ``u`` plus a point axis. Points are placed by the basis (wrapped into a periodic
        domain; a bounded one refuses points outside it).
        """
        u_hat = self._forward(jnp.asarray(u))
        return np.asarray(self.basis.interpolate(u_hat, self.basis.place(np.asarray(x_query, dtype=float))))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(n={self.n}, basis={self.basis.name}, domain={self.domain}, t_span={self.t_span}, "
            f"dt={self.dt:g}, dealias={self.dealias})"
        )
