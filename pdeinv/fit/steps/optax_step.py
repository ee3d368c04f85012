"""Any optax optimizer, driven by a (noisy) gradient estimate: the (FG)^2U-ZO outer loop."""

from __future__ import annotations

import numpy as np

from .base import Context, Outcome

__all__ = ["OptaxStep"]


class OptaxStep:
    """One optax update per iteration from the derivative source's gradient (a ZO estimate,
    or ``2 J^T r / m`` from a Jacobian source). A point where the solver fails sends the
    iterate back and halves the updates; the estimate reported is the best point seen.

    ``optimizer``: an optax ``GradientTransformation`` (default Adam at ``learning_rate``).
    A custom optimizer is not stored in a checkpoint: pass the same one again to resume.
    """

    name = "optax"
    needs = "gradient"

    def __init__(self, optimizer=None, learning_rate: float = 0.05):
        import optax

        if optimizer is None:
            if not (np.isfinite(learning_rate) and learning_rate > 0):
                raise ValueError(f"learning_rate must be a positive number, got {learning_rate!r}")
            optimizer = optax.adam(learning_rate)
        self.optimizer = optimizer

    def init(self, ctx: Context, z, r) -> dict:
        return {"z": z, "previous": z.copy(), "update_scale": 1.0, "opt_state": self.optimizer.init(z)}

    def estimate(self, state, best_z):
        return best_z if best_z is not None else state["z"]

    def step(self, ctx: Context, s: dict) -> Outcome | None:
        import optax

        lo, hi = ctx.evaluator.z_bounds()
        est = ctx.derivative(ctx.evaluator, s["z"], None, ctx.rng)
        loss = est.loss if np.isfinite(est.loss) else np.inf
        ctx.record("local", s["z"], loss, est.residual)
        grad = est.gradient()
        if grad is None or not np.isfinite(loss) or not np.all(np.isfinite(grad)):
            # The current point (or all its perturbations) failed: go back and take smaller steps.
            s["z"] = s["previous"].copy()
            s["update_scale"] *= 0.5
            if s["update_scale"] < 1e-6:
                return Outcome("failed", "stopped: the solver fails around the current point")
            return None
        if loss <= ctx.tol**2:
            return Outcome("converged", "converged: loss below tol^2")
        updates, s["opt_state"] = self.optimizer.update(grad, s["opt_state"], s["z"])
        updates = np.asarray(updates)
        if not np.all(np.isfinite(updates)):
            s["update_scale"] *= 0.5  # the optimizer produced NaN: keep the point, shrink the steps
            s["opt_state"] = self.optimizer.init(s["z"])
            if s["update_scale"] < 1e-6:
                return Outcome("diverged", "stopped: the optimizer keeps producing NaN updates")
            return None
        s["previous"] = s["z"].copy()
        s["z"] = np.clip(np.asarray(optax.apply_updates(s["z"], s["update_scale"] * updates)), lo, hi)
        return None

    # The optax state is a pytree: saved as its leaves, rebuilt on the structure of a fresh one.
    def to_saved(self, state: dict) -> dict:
        import jax

        return {**state, "opt_state": [np.asarray(leaf) for leaf in jax.tree_util.tree_leaves(state["opt_state"])]}

    def from_saved(self, state: dict) -> dict:
        import jax

        template = self.optimizer.init(np.asarray(state["z"]))
        leaves = [np.asarray(x) for x in state["opt_state"]]
        return {**state, "opt_state": jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(template), leaves)}
