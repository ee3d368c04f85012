"""Batches of solves in a few fixed sizes, split across the host devices (one per CPU core when
pdeinv asks for them)."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .._jax import jax

__all__ = ["BatchedSolver", "WithOperands", "batch_plan", "default_chunks"]


class WithOperands:
    """A function ``fn(*args, operands)`` whose large constant arrays (``operands``, a pytree)
    are arguments of the compiled program instead of constants folded into it, called as
    ``f(*args)``. A closure over a 200 MB interpolation matrix made XLA compile a program with
    200 MB of constants: 6.9 s against 0.02 s with the matrix as an argument (25,245
    observation points x 513 modes). :class:`BatchedSolver` passes the operands along, once per
    device; a direct call runs ``fn`` jit-compiled."""

    def __init__(self, fn: Callable, operands):
        self.fn = fn
        self.operands = operands
        self._jitted = jax.jit(fn)

    def __call__(self, *args):
        return self._jitted(*args, self.operands)


#: The large chunk: at least this many members, and 8 per device. Batches this large (the scan
#: of several unknowns, a field's sketch) run in chunks this size, where vmapping pays (Burgers
#: n = 1024, one device: 0.19 s per member alone, 0.10-0.14 s in a vmapped batch); smaller ones
#: (the 10-point scan of one unknown, trial points) in chunks of one member per device.
LARGE_CHUNK = 16


#: The scan of one unknown (the start and 9 points) in one chunk: in chunks of one member per
#: device it took twice as long (Burgers n = 1024, 2 devices: 2.1 s against 1.1 s).
SCAN_CHUNK = 10


def default_chunks(n_devices: int) -> tuple[int, int, int]:
    """``(one member per device, the one-unknown scan, the large chunk)``, the last two rounded
    up to multiples of the devices."""
    def up(size):
        return -(-size // n_devices) * n_devices

    return n_devices, up(SCAN_CHUNK), up(max(LARGE_CHUNK, 8 * n_devices))


def batch_plan(size: int, chunks: Sequence[int]) -> list[int]:
    """The chunk sizes, largest first, that run a batch of ``size`` members: as many full
    chunks of the largest size as the batch fills, then of the next size, down to the smallest,
    which takes whatever is left (its last chunk padded). Only the smallest chunk is ever
    padded, so a fit whose batches are all small (one unknown: a scan of 10, single trial
    points) runs every batch through one program.

    >>> batch_plan(10, (2, 16))
    [2, 2, 2, 2, 2]
    >>> batch_plan(17, (2, 16))
    [16, 2]
    >>> batch_plan(40, (2, 16))
    [16, 16, 2, 2, 2, 2]
    >>> batch_plan(1, (2, 16))
    [2]
    """
    if size < 1:
        raise ValueError(f"a batch needs at least one member, got {size}")
    chunks = sorted({int(c) for c in chunks}, reverse=True)
    plan: list[int] = []
    left = size
    for chunk in chunks[:-1]:
        count = left // chunk
        plan += [chunk] * count
        left -= count * chunk
    if left:
        plan += [chunks[-1]] * -(-left // chunks[-1])
    return plan


def _mapped(fn: Callable, in_axes: tuple) -> Callable:
    """``fn`` over the leading axis of its arguments with ``in_axes`` 0, one member at a time
    (``jax.lax.map``), the others passed whole: ``jax.vmap``'s signature and results."""

    def run(*args):
        batched = tuple(arg for arg, axis in zip(args, in_axes) if axis == 0)

        def one(members):
            it = iter(members)
            return fn(*(next(it) if axis == 0 else arg for arg, axis in zip(args, in_axes)))

        return jax.lax.map(one, batched)

    return run


class BatchedSolver:
    """``jax.vmap(fn, in_axes)`` run in chunks of a few fixed sizes, each split across devices.

    A new batch size would be a new XLA program (~0.6-2 s to compile for a solver), so every
    batch runs as a sequence of chunks whose sizes come from ``chunks`` (default: one member
    per device, and 16 members or 8 per device for large batches; see :func:`default_chunks`
    and :func:`batch_plan`); the last chunk is padded by repeating the batch's last member and
    the padding is dropped from the result. A fit (scan, sketches, single trial points,
    intervals) then compiles one program per grid. When JAX exposes several devices (pdeinv
    asks for one per CPU core, see ``pdeinv._jax``) each chunk is shared out among them and
    they solve in parallel. A member's values do not depend on the padding of its chunk
    (bitwise) nor, beyond rounding, on the chunk size; only the wall time differs. Results come
    back as NumPy arrays (outputs of ``fn`` with a leading batch axis).
    """

    def __init__(self, fn: Callable, in_axes: tuple, *, chunks: Sequence[int] | None = None,
                 sequential: bool = False):
        self.in_axes = tuple(in_axes)
        self._operands = None
        if isinstance(fn, WithOperands):  # the operands ride along as one more, unbatched argument
            fn, self._operands = fn.fn, fn.operands
        axes = self.in_axes + ((None,) if self._operands is not None else ())
        # sequential: the members of a chunk one after another inside one program (lax.map), for
        # solvers whose per-member operators are matrices: vmapped, every step streamed all the
        # members' matrices through memory (a batch of 16 two-species Chebyshev solves, 48
        # points each: 0.30 s vmapped, 0.20 s mapped, one device)
        vmapped = _mapped(fn, axes) if sequential else jax.vmap(fn, in_axes=axes)
        devices = jax.devices()
        self.n_devices = len(devices)
        if chunks is None:
            chunks = default_chunks(self.n_devices)
        chunks = tuple(sorted({int(c) for c in chunks}))
        if not chunks or chunks[0] < 1:
            raise ValueError(f"chunk sizes must be positive integers, got {chunks}")
        self.chunks = chunks
        self._local = jax.jit(vmapped)
        self._split = None
        if self.n_devices > 1:
            from jax.sharding import Mesh, PartitionSpec

            mesh = Mesh(np.array(devices), ("batch",))
            specs = tuple(PartitionSpec("batch") if a == 0 else PartitionSpec() for a in self.in_axes)
            if self._operands is not None:
                specs += (PartitionSpec(),)
                self._mesh = mesh
            self._split = jax.jit(
                jax.shard_map(vmapped, mesh=mesh, in_specs=specs, out_specs=PartitionSpec("batch"), check_vma=False)
            )
        self._placed: dict[bool, object] = {}

    def _operands_for(self, split: bool) -> tuple:
        """The operands as the program expects them: on every device (split) or on the default
        one, copied there once and then reused by every call."""
        if self._operands is None:
            return ()
        if split not in self._placed:
            if split:
                from jax.sharding import NamedSharding, PartitionSpec

                target = NamedSharding(self._mesh, PartitionSpec())
            else:
                target = jax.devices()[0]
            self._placed[split] = jax.device_put(self._operands, target)
        return (self._placed[split],)

    def _run(self, args):
        """One chunk: shared out across the devices when its size is a multiple of their count."""
        batched = [arg for arg, axis in zip(args, self.in_axes) if axis == 0]
        size = jax.tree_util.tree_leaves(batched)[0].shape[0]
        if self._split is not None and size % self.n_devices == 0:
            return self._split(*args, *self._operands_for(True))
        return self._local(*args, *self._operands_for(False))

    def __call__(self, *args):
        batched = [arg for arg, axis in zip(args, self.in_axes) if axis == 0]
        size = jax.tree_util.tree_leaves(batched)[0].shape[0]
        plan = batch_plan(size, self.chunks)
        total = sum(plan)

        def padded(leaf):
            # NumPy, not jnp: an eager JAX op is one more (small) compilation per shape
            leaf = np.asarray(leaf)
            if total == size:
                return leaf
            return np.concatenate([leaf, np.repeat(leaf[-1:], total - size, axis=0)])

        args = [jax.tree_util.tree_map(padded, arg) if axis == 0 else arg for arg, axis in zip(args, self.in_axes)]
        outputs, start = [], 0
        for chunk in plan:
            piece = [jax.tree_util.tree_map(lambda leaf: leaf[start:start + chunk], arg) if axis == 0 else arg
                     for arg, axis in zip(args, self.in_axes)]
            outputs.append(self._run(piece))  # dispatched now, computed while the next is sent
            start += chunk
        outputs = [jax.tree_util.tree_map(np.asarray, out) for out in outputs]
        return jax.tree_util.tree_map(lambda *leaves: np.concatenate(leaves)[:size], *outputs)
