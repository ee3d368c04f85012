"""ETDRK4 time stepping, a pure function of (linear operator, nonlinear term, initial state,
step schedule).

ETDRK4 follows Cox & Matthews (2002). A diagonal operator (one symbol per mode: Fourier and sine
bases) has its phi-function coefficients evaluated by a contour integral around each ``h L``
(Kassam & Trefethen 2005), which avoids the cancellation of the explicit formulas for small
``|h L|`` and stays stable for stiff modes. A dense operator (a matrix: Chebyshev collocation with
boundary conditions) has them by scaling and squaring of the phi functions themselves (a Taylor
polynomial at norm <= 1, then doublings; Skaflestad & Wright 2009), which the tests check against
the diagonal formulas and a non-normal change of basis.

The nonlinear term may depend on time explicitly (``N(v, t)``: sources, boundary data that vary
in time); the stages evaluate it at ``t``, ``t + h/2``, ``t + h/2`` and ``t + h``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .._jax import jax, jnp, real_matvec

__all__ = ["DenseSchedule", "StepSchedule", "dense_schedule", "etdrk4_coefficients", "etdrk4_matrix_coefficients",
           "etdrk4_solve", "step_schedule"]

# Points on the contour used for the phi functions. The integrands are entire, so the
# trapezoidal rule converges faster than geometrically: 16 points on the unit circle already
# agree with the series / closed forms to ~1e-12 relative for hL from -1e4 to 1e4 i (the
# residue is the reference's own rounding; 32 points are no closer), see the tests.
_CONTOUR_POINTS = 16


def etdrk4_coefficients(L, h, n_contour: int = _CONTOUR_POINTS):
    """ETDRK4 coefficients ``(E, E2, Q, f1, f2, f3)`` for linear symbol ``L`` and step ``h``.

    Each phi-type function is averaged over a circle of radius 1 centred at ``h L``
    (Kassam & Trefethen 2005). ``L`` may be complex (dispersive equations), so the full circle
    is used rather than the real-axis half circle. ``exp(hL + r)`` is formed as
    ``exp(hL) exp(r)`` with the ``exp(r)`` of the contour points computed once: one complex
    exponential per mode instead of one per contour point, which is what dominates when a
    schedule has many distinct step sizes (observations at hundreds of distinct times).
    """
    hL = h * L
    roots = jnp.exp(2j * jnp.pi * (jnp.arange(n_contour) + 0.5) / n_contour)
    z = hL[..., None] + roots
    E, E2 = jnp.exp(hL), jnp.exp(hL / 2)
    ez = E[..., None] * jnp.exp(roots)
    ez2 = E2[..., None] * jnp.exp(roots / 2)
    iz = 1.0 / z
    iz3 = iz * iz * iz
    Q = h * jnp.mean((ez2 - 1.0) * iz, axis=-1)
    f1 = h * jnp.mean((-4.0 - z + ez * (4.0 - 3.0 * z + z**2)) * iz3, axis=-1)
    f2 = h * jnp.mean((2.0 + z + ez * (-2.0 + z)) * iz3, axis=-1)
    f3 = h * jnp.mean((-4.0 - 3.0 * z - z**2 + ez * (4.0 - z)) * iz3, axis=-1)
    return E, E2, Q, f1, f2, f3


#: Taylor degree of phi_3 at the scaled matrix (norm <= 1): the first term left out is below
#: ``1 / 22! = 9e-22``, far under rounding relative to phi_3 ~ 1/6.
_TAYLOR_DEGREE = 18


def _phi_functions(A):
    """``(phi_0..phi_3 at A / 2, phi_0..phi_3 at A)`` for a square matrix ``A`` (``phi_0 = exp``),
    by scaling and squaring in plain matrix products (Skaflestad & Wright 2009): a Taylor
    polynomial of ``phi_3`` at ``B = A / 2^s`` with ``||B|| <= 1`` (s >= 1), the others from
    ``phi_k(B) = I / k! + B phi_{k+1}(B)``, then ``s`` doublings
    ``phi_k(2B) = 2^-k (phi_0(B) phi_k(B) + sum_{j=1..k} phi_j(B) / (k - j)!)``, the last one
    from ``A / 2`` to ``A``. Four m x m products per doubling: the exponential of the augmented
    block matrix ``[[A, I, 0, 0], ...]`` of size 4m cost 64 times as much per product and made a
    batch of two-species solves 5x slower than this. No LAPACK call: fits whose batched Chebyshev
    solves contained one (``jax.scipy.linalg.expm``'s Pade solve) hung in XLA with two host
    devices, every thread idle (jax 0.10.2)."""
    norm = jnp.max(jnp.sum(jnp.abs(A), axis=0))
    squarings = 1 + jnp.maximum(0, jnp.ceil(jnp.log2(jnp.maximum(norm, 1e-300)))).astype(jnp.int32)
    B = A / (2.0 ** squarings).astype(A.dtype)
    eye = jnp.eye(A.shape[-1], dtype=A.dtype)

    def horner(i, X):  # I + B/4 (I + B/5 (I + ...)), from the innermost term out
        return eye + (B @ X) / (_TAYLOR_DEGREE + 3 - i).astype(A.dtype)

    p3 = jax.lax.fori_loop(0, _TAYLOR_DEGREE, horner, eye) / 6.0
    p2 = 0.5 * eye + B @ p3
    p1 = eye + B @ p2
    p0 = eye + B @ p1

    def double(phis):
        p0, p1, p2, p3 = phis
        return (p0 @ p0, 0.5 * (p0 @ p1 + p1), 0.25 * (p0 @ p2 + p1 + p2),
                0.125 * (p0 @ p3 + 0.5 * p1 + p2 + p3))

    half = jax.lax.fori_loop(0, squarings - 1, lambda _, phis: double(phis), (p0, p1, p2, p3))
    return half, double(half)


def etdrk4_matrix_coefficients(L, h):
    """ETDRK4 coefficients ``(E, E2, Q, f1, f2, f3)`` (matrices) for a dense linear operator
    ``L`` (m x m) and step ``h``: ``f1 = h (phi_1 - 3 phi_2 + 4 phi_3)``, ``f2 = h (phi_2 - 2
    phi_3)``, ``f3 = h (-phi_2 + 4 phi_3)`` at ``h L``, ``Q = h/2 phi_1(h L / 2)`` (Cox & Matthews'
    coefficients written with phi functions). A stack of operators ``(..., m, m)`` (one per
    component of a system) gives stacks of coefficients."""
    L = jnp.asarray(L)
    if L.ndim > 2:
        return jax.vmap(lambda M: etdrk4_matrix_coefficients(M, h))(L)
    (E2, q1, _, _), (E, p1, p2, p3) = _phi_functions(h * L)
    return E, E2, 0.5 * h * q1, h * (p1 - 3.0 * p2 + 4.0 * p3), h * (p2 - 2.0 * p3), h * (4.0 * p3 - p2)


def _dense(L, state_ndim: int) -> bool:
    """A matrix operator (one more axis than the state: ``(m, m)`` for a state ``(m,)``, ``(C, m,
    m)`` for a system's ``(C, m)``) rather than one symbol per mode; static under tracing."""
    return jnp.ndim(L) == state_ndim + 1


def _apply(M, v):
    """``M v`` for a diagonal operator (a symbol per mode, shaped like the state ``v`` or
    broadcasting to it) or a dense one (one more axis); the dense product from real products
    (see ``real_matvec``)."""
    if not _dense(M, jnp.ndim(v)):
        return M * v
    return real_matvec(M, v)


def _coefficients(L, h, dense: bool):
    if dense:
        return etdrk4_matrix_coefficients(L, h)
    return etdrk4_coefficients(L, h)


@dataclass(frozen=True)
class StepSchedule:
    """A static plan of ETDRK4 steps that lands exactly on every requested time.

    The gap before each requested time is split into ``ceil(gap / dt)`` equal steps. Step sizes
    that agree to 1e-13 relative share one set of coefficients (uniform output times then need
    a single set). ``output_slot[s]`` is the output row written after step ``s`` (or ``n_out``,
    a scratch row, when the step ends between outputs).
    """

    step_sizes: np.ndarray  # (n_unique,)
    step_kind: np.ndarray  # (n_steps,) index into step_sizes
    output_slot: np.ndarray  # (n_steps,)
    initial_outputs: np.ndarray  # output rows equal to the initial state (t == t0)
    n_out: int


def step_schedule(t: np.ndarray, t0: float, dt: float) -> StepSchedule:
    """Plan the steps from ``t0`` through the increasing times ``t`` with steps ``<= dt``."""
    edges = np.concatenate([[t0], t])
    gaps = np.diff(edges)
    n_steps = np.where(gaps > 0, np.maximum(1, np.ceil(gaps / dt - 1e-9)), 0).astype(int)
    sizes = np.where(n_steps > 0, gaps / np.maximum(n_steps, 1), 0.0)

    unique: list[float] = []
    kind_of_gap = np.full(len(t), -1)
    for i, h in enumerate(sizes):
        if n_steps[i] == 0:
            continue
        for j, u in enumerate(unique):
            if abs(h - u) <= 1e-13 * u:
                kind_of_gap[i] = j
                break
        else:
            unique.append(float(h))
            kind_of_gap[i] = len(unique) - 1

    step_kind = np.repeat(kind_of_gap, n_steps)
    output_slot = np.full(step_kind.shape, len(t))
    ends = np.cumsum(n_steps) - 1
    has_steps = n_steps > 0
    output_slot[ends[has_steps]] = np.nonzero(has_steps)[0]
    return StepSchedule(
        step_sizes=np.asarray(unique, dtype=float),
        step_kind=step_kind.astype(np.int32),
        output_slot=output_slot.astype(np.int32),
        initial_outputs=np.nonzero(~has_steps)[0],
        n_out=len(t),
    )


@dataclass(frozen=True)
class DenseSchedule:
    """Uniform ETDRK4 steps from ``t0`` through the last requested time, each requested time
    served by the cubic Hermite interpolant between the two step points around it.

    The interpolant uses ``v`` and ``v_t = L v + N(v)`` at both ends (``N(v)`` is the first
    stage of the next step, so the slopes cost nothing) and is 4th-order accurate in the step,
    like ETDRK4 itself: one set of coefficients serves any number of distinct output times.
    ``node_slot[s]`` is the row of step point ``s`` in the node buffer (``n_nodes``: not
    needed); output ``j`` is ``weights[j] . (v, h v_t)`` at rows ``left[j]`` and ``right[j]``.
    """

    step_size: float
    node_slot: np.ndarray  # (n_steps + 1,)
    n_nodes: int
    left: np.ndarray  # (n_out,)
    right: np.ndarray  # (n_out,)
    weights: np.ndarray  # (n_out, 4): h00, h h10, h01, h h11
    n_out: int


def dense_schedule(t: np.ndarray, t0: float, dt: float) -> DenseSchedule:
    """Plan uniform steps ``h <= dt`` from ``t0`` to ``t[-1]`` and the Hermite weights of each
    increasing time ``t`` (a time on a step point takes that point's value exactly)."""
    t = np.asarray(t, dtype=float)
    span = float(t[-1]) - t0
    if not span > 0:
        raise ValueError("dense output needs a time after t0")
    n_steps = max(1, int(np.ceil(span / dt - 1e-9)))
    h = span / n_steps
    position = (t - t0) / h
    k = np.clip(np.floor(position).astype(int), 0, n_steps - 1)
    theta = np.clip(position - k, 0.0, 1.0)
    snap = np.abs(theta - np.round(theta)) <= 1e-12  # on a step point: that point, exactly
    theta = np.where(snap, np.round(theta), theta)
    weights = np.stack([2 * theta**3 - 3 * theta**2 + 1, h * (theta**3 - 2 * theta**2 + theta),
                        -2 * theta**3 + 3 * theta**2, h * (theta**3 - theta**2)], axis=1)
    needed = np.unique(np.concatenate([k, k + 1]))
    node_slot = np.full(n_steps + 1, needed.size)
    node_slot[needed] = np.arange(needed.size)
    return DenseSchedule(step_size=h, node_slot=node_slot.astype(np.int32), n_nodes=int(needed.size),
                         left=node_slot[k].astype(np.int32), right=node_slot[k + 1].astype(np.int32),
                         weights=weights, n_out=t.size)


def _etdrk4_step(coefs, N: Callable, v, Nv, t, h):
    """One ETDRK4 step of size ``h`` from ``v`` at time ``t`` (with ``Nv = N(v, t)`` formed)."""
    E, E2, Q, f1, f2, f3 = coefs
    if _dense(E, jnp.ndim(v)):
        E2v = _apply(E2, v)  # a matrix product: formed once for both stages
        a = E2v + _apply(Q, Nv)
        Na = N(a, t + 0.5 * h)
        b = E2v + _apply(Q, Na)
        Nb = N(b, t + 0.5 * h)
        c = _apply(E2, a) + _apply(Q, 2.0 * Nb - Nv)
        Nc = N(c, t + h)
        return _apply(E, v) + _apply(f1, Nv) + _apply(f2, 2.0 * (Na + Nb)) + _apply(f3, Nc)
    a = E2 * v + Q * Nv
    Na = N(a, t + 0.5 * h)
    b = E2 * v + Q * Na
    Nb = N(b, t + 0.5 * h)
    c = E2 * a + Q * (2.0 * Nb - Nv)
    Nc = N(c, t + h)
    return E * v + f1 * Nv + 2.0 * f2 * (Na + Nb) + f3 * Nc


def _etdrk4_dense(L, N: Callable, v0, schedule: DenseSchedule, t0: float, project: Callable):
    h = schedule.step_size
    coefs = _coefficients(L, h, _dense(L, v0.ndim))
    rows = (schedule.n_nodes + 1,) + v0.shape  # the last row takes the points not needed
    nodes, slopes = jnp.zeros(rows, dtype=v0.dtype), jnp.zeros(rows, dtype=v0.dtype)

    def step(carry, x):
        v, nodes, slopes = carry
        index, slot = x
        t = t0 + h * index
        Nv = N(v, t)
        nodes, slopes = nodes.at[slot].set(v), slopes.at[slot].set(_apply(L, v) + Nv)
        return (project(_etdrk4_step(coefs, N, v, Nv, t, h), t + h), nodes, slopes), None

    slots = schedule.node_slot[:-1]
    xs = (jnp.arange(slots.size, dtype=jnp.float64), jnp.asarray(slots))
    (v, nodes, slopes), _ = jax.lax.scan(step, (v0, nodes, slopes), xs)
    last = int(schedule.node_slot[-1])
    t_end = t0 + h * slots.size
    nodes, slopes = nodes.at[last].set(v), slopes.at[last].set(_apply(L, v) + N(v, t_end))
    w = jnp.asarray(schedule.weights).reshape((schedule.n_out, 4) + (1,) * v0.ndim)
    left, right = jnp.asarray(schedule.left), jnp.asarray(schedule.right)
    return (w[:, 0] * nodes[left] + w[:, 1] * slopes[left]
            + w[:, 2] * nodes[right] + w[:, 3] * slopes[right])


def _real_valued(f: Callable) -> Callable:
    """``f(v, t)`` with its value's real part (a real equation's terms may come back as complex)."""
    def real_part(v, t):
        return jnp.real(f(v, t))

    return real_part


def etdrk4_solve(L, N: Callable, v0, schedule: StepSchedule | DenseSchedule, t0: float = 0.0,
                 project: Callable | None = None, real: bool = False):
    """ETDRK4 for ``v_t = L v + N(v, t)``: the pure stepping every equation reuses.

    ``v0`` is the initial state at time ``t0``: ``(modes,)``, or ``(C, modes)`` for a system of C
    components. ``L`` is the linear operator: a symbol per mode (diagonal: the state's shape, or
    broadcasting to it) or a matrix (dense: one more axis than the state, ``(m, m)`` or one
    ``(C, m, m)`` block per component); ``N(v, t)`` the nonlinear term (state -> state, JAX, where
    the components couple; ``t`` the time, for sources and boundary data that vary in time) and
    ``schedule`` a :class:`StepSchedule` (steps landing on every output time) or a
    :class:`DenseSchedule` (uniform steps, Hermite interpolation between them). Returns the states
    at the schedule's output times, shape ``(n_out,) + v0.shape``. ``project(v, t)``, if given, maps each new state onto
    the constraints it must satisfy (boundary conditions: the end values from the interior ones),
    removing the rounding that the exponential of a stiff operator lets drift. ``real=True`` (a
    real dense operator acting on real values: a real field on the Chebyshev basis) steps in real
    arithmetic, half the work of a complex state whose imaginary part stays zero; the states
    returned are then real. Traceable,
    differentiable and vmap-able: the schedule is static, everything else may be traced.
    """
    if project is None:
        def project(v, t):
            return v
    if real:
        v0 = jnp.real(jnp.asarray(v0)).astype(jnp.float64)
        N = _real_valued(N)
        project = _real_valued(project)
    else:
        v0 = jnp.asarray(v0).astype(jnp.complex128)
    if isinstance(schedule, DenseSchedule):
        return _etdrk4_dense(L, N, v0, schedule, t0, project)
    step_sizes = jnp.asarray(schedule.step_sizes)
    dense = _dense(L, v0.ndim)
    # One step size at a time: the (modes x contour) temporaries stay in cache (a vmap over
    # hundreds of step sizes materializes them and runs ~3x slower).
    coefs = jax.lax.map(lambda h: jnp.stack(_coefficients(L, h, dense)), step_sizes)

    def step(carry, x):
        v, out, t = carry
        kind, slot = x
        h = step_sizes[kind]
        v = project(_etdrk4_step(coefs[kind], N, v, N(v, t), t, h), t + h)
        return (v, out.at[slot].set(v), t + h), None

    out = jnp.zeros((schedule.n_out + 1,) + v0.shape, dtype=v0.dtype)
    out = out.at[jnp.asarray(schedule.initial_outputs, dtype=jnp.int32)].set(v0)
    if schedule.step_kind.size:
        xs = (jnp.asarray(schedule.step_kind), jnp.asarray(schedule.output_slot))
        (_, out, _), _ = jax.lax.scan(step, (v0, out, jnp.float64(t0)), xs)
    return out[: schedule.n_out]
