"""Import JAX with 64-bit floats enabled.

Every numerical module of pdeinv imports ``jax`` and ``jnp`` from here, so float64 is switched on
before any array is created, whatever the user imported first.

Batches of forward solves can be split across the CPU cores (see
``pdeinv.solvers.batching.BatchedSolver``). That needs XLA to expose one host device per core,
an XLA flag that applies to the whole process, so pdeinv sets it only when asked:

- ``PDEINV_CPU_DEVICES=N`` in the environment (``auto``: one per core, at most 8) before pdeinv
  is imported, or
- ``pdeinv.use_cpu_cores()`` before the first computation (the ``pdeinv`` command does this).

An ``XLA_FLAGS`` that already sets ``--xla_force_host_platform_device_count`` is left alone.
Without either, batches run on one device: the same numbers, about half the speed on 2 cores.

Compiled solvers are cached on disk between runs (``compilation_cache_dir``; opt out with
``PDEINV_COMPILATION_CACHE=off``).
"""

import contextlib
import os
import warnings

__all__ = ["CompilationLog", "compilations", "jax", "jnp", "real_matvec", "use_cpu_cores"]

from ._devices import apply_environment, device_count as _device_count, set_device_flag as _set_device_flag

apply_environment()  # pdeinv/__init__ did it already, unless a submodule was imported on its own

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402  (must follow the config update)


def real_matvec(M, v):
    """``M @ v`` for a matrix ``M`` and a vector ``v``, either of them complex, formed from real
    products only: XLA's complex matmul, vmapped and split across CPU devices, has returned wrong
    values (see ``SpectralEquation.point_solver``). A stack of matrices ``(..., m, m)`` applies
    each to its own vector ``(..., m)``."""
    if jnp.ndim(M) > 2:
        def mul(A, b):
            return (A @ b[..., None])[..., 0]
    else:
        def mul(A, b):
            return A @ b
    if jnp.iscomplexobj(M):
        Mr, Mi = jnp.real(M), jnp.imag(M)
        vr, vi = jnp.real(v), jnp.imag(v)
        return (mul(Mr, vr) - mul(Mi, vi)) + 1j * (mul(Mr, vi) + mul(Mi, vr))
    if jnp.iscomplexobj(v):
        return mul(M, jnp.real(v)) + 1j * mul(M, jnp.imag(v))
    return mul(M, v)


def compilation_cache_dir() -> str | None:
    """Where compiled solvers are kept between runs, so that a second fit of the same shapes
    compiles nothing: ``PDEINV_COMPILATION_CACHE`` (a folder, or ``off``), else
    ``$XDG_CACHE_HOME/pdeinv/jax`` (``~/.cache/pdeinv/jax``). A cache folder the user gave
    JAX itself (``JAX_COMPILATION_CACHE_DIR``) is left as it is."""
    value = os.environ.get("PDEINV_COMPILATION_CACHE", "").strip()
    if value.lower() in ("0", "off", "no", "false", "none"):
        return None
    if value:
        return value
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "pdeinv", "jax")


if jax.config.jax_compilation_cache_dir is None and compilation_cache_dir() is not None:
    jax.config.update("jax_compilation_cache_dir", compilation_cache_dir())
    # pdeinv's solvers compile in ~0.5 s each, under JAX's default threshold of 1 s
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.1)


def _backend_started() -> bool:
    try:
        from jax._src import xla_bridge

        return bool(xla_bridge.backends_are_initialized())
    except Exception:  # a private API: if it moves, assume the worst
        return True


def use_cpu_cores(count: int | str | None = None) -> int:
    """Split batches of solves across ``count`` CPU devices (default: one per core, at most 8).

    Must be called before JAX's first computation in this process; later, it warns and
    changes nothing. Sets ``XLA_FLAGS`` (for this process and its children) unless it already
    names a device count. Returns the number of devices batches will use.
    """
    count = _device_count(count)
    if _backend_started():
        devices = len(jax.devices())
        if devices != count and "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
            warnings.warn("pdeinv.use_cpu_cores() came after JAX's first computation; batches stay on "
                          f"{devices} device(s)", RuntimeWarning, stacklevel=2)
        return devices
    _set_device_flag(count)
    return len(jax.devices())


class CompilationLog:
    """The XLA programs built inside a :func:`compilations` block: ``programs`` lists
    ``(name, seconds)`` per program (compiled, or loaded from the persistent cache: ``cache_hits``
    of them)."""

    def __init__(self):
        self.programs: list[tuple[str, float]] = []
        self.cache_hits = 0

    def __len__(self) -> int:
        return len(self.programs)

    def count(self, name: str | None = None, *, min_seconds: float = 0.0) -> int:
        """Programs named ``name`` (the jitted function's name, e.g. ``"at_points"``; all when
        None) that took at least ``min_seconds`` to build."""
        return sum(1 for n, s in self.programs if (name is None or n == name) and s >= min_seconds)


@contextlib.contextmanager
def compilations():
    """Count the XLA programs JAX builds inside the block, through JAX's monitoring events::

        with compilations() as log:
            pdeinv.fit(problem, init)
        log.count("at_points")   # solver programs of the fit

    Every new shape of a jitted function is one program (~0.5-2 s for a solver on CPU).
    """
    from jax import monitoring

    log = CompilationLog()

    def on_duration(event, seconds, **metadata):
        if event == "/jax/core/compile/backend_compile_duration":
            name = str(metadata.get("fun_name", ""))
            log.programs.append((name[4:-1] if name.startswith("jit(") else name, float(seconds)))

    def on_event(event, **metadata):
        if event == "/jax/compilation_cache/cache_hits":
            log.cache_hits += 1

    monitoring.register_event_duration_secs_listener(on_duration)
    monitoring.register_event_listener(on_event)
    try:
        yield log
    finally:
        monitoring.unregister_event_duration_listener(on_duration)
        monitoring.unregister_event_listener(on_event)
