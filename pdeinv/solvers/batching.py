"""Batches of solves split across the host devices (one per CPU core when pdeinv asks for them)."""

from __future__ import annotations

from typing import Callable

import numpy as np

from .._jax import jax, jnp

__all__ = ["BatchedSolver"]


class BatchedSolver:
    """``jax.vmap(fn, in_axes)`` compiled once, with the batch split across host devices.

    When JAX exposes several devices (pdeinv asks for one per CPU core, see ``pdeinv._jax``)
    and the batch has at least one member per device, the batch is padded to a multiple of the
    device count (repeating its last member) and each device solves its share in parallel; the
    padding is dropped from the result. Otherwise the whole batch runs on the default device.
    The results are identical either way; only the wall time differs.
    """

    def __init__(self, fn: Callable, in_axes: tuple):
        self.in_axes = tuple(in_axes)
        vmapped = jax.vmap(fn, in_axes=self.in_axes)
        self._local = jax.jit(vmapped)
        devices = jax.devices()
        self.n_devices = len(devices)
        self._split = None
        if self.n_devices > 1:
            from jax.sharding import Mesh, PartitionSpec

            mesh = Mesh(np.array(devices), ("batch",))
            specs = tuple(PartitionSpec("batch") if a == 0 else PartitionSpec() for a in self.in_axes)
            self._split = jax.jit(
                jax.shard_map(vmapped, mesh=mesh, in_specs=specs, out_specs=PartitionSpec("batch"), check_vma=False)
            )

    def __call__(self, *args):
        batched = [arg for arg, axis in zip(args, self.in_axes) if axis == 0]
        size = jax.tree_util.tree_leaves(batched)[0].shape[0]
        if self._split is None or size < self.n_devices:
            return self._local(*args)
        pad = (-size) % self.n_devices

        def padded(leaf):
            leaf = jnp.asarray(leaf)
            if not pad:
                return leaf
            return jnp.concatenate([leaf, jnp.repeat(leaf[-1:], pad, axis=0)])

        args = [jax.tree_util.tree_map(padded, arg) if axis == 0 else arg for arg, axis in zip(args, self.in_axes)]
        out = self._split(*args)
        return jax.tree_util.tree_map(lambda leaf: leaf[:size], out) if pad else out
