"""Powell's dogleg trust region: a step rule added without touching the engine."""

from __future__ import annotations

import numpy as np

from .base import Context, Outcome

__all__ = ["Dogleg"]


class Dogleg:
    """Trust-region Gauss-Newton with Powell's dogleg path, on a fresh Jacobian each step.

    The step follows the steepest-descent (Cauchy) point, then bends towards the Gauss-Newton
    point, within a radius (in transformed units) that grows after good agreement between the
    predicted and actual decrease and shrinks after poor agreement.
    """

    name = "dogleg"
    needs = "jacobian"

    def __init__(self, radius: float = 1.0, max_radius: float = 4.0):
        if not (0 < radius <= max_radius):
            raise ValueError(f"need 0 < radius <= max_radius, got {radius!r}, {max_radius!r}")
        self.radius, self.max_radius = float(radius), float(max_radius)

    def init(self, ctx: Context, z, r) -> dict:
        return {"z": z, "r": r, "loss": float(np.mean(r**2)), "radius": self.radius}

    def estimate(self, state, best_z):
        return state["z"]

    def step(self, ctx: Context, s: dict) -> Outcome | None:
        ev, z, r = ctx.evaluator, s["z"], s["r"]
        est = ctx.derivative(ctx.evaluator, z, r, ctx.rng)
        if est.jac is None or not np.all(np.isfinite(est.jac)):
            return Outcome("failed", "stopped: every perturbed solve failed near the current point")
        J = est.jac @ np.linalg.pinv(est.directions)
        g = J.T @ r
        if not np.any(g):
            return Outcome("converged", "converged: zero gradient")
        gauss_newton = np.linalg.lstsq(J, -r, rcond=None)[0]
        if np.max(np.abs(gauss_newton)) < ctx.tol:
            return Outcome("converged", f"converged: Gauss-Newton step below tol={ctx.tol:g}")
        cauchy = -(g @ g) / np.sum((J @ g) ** 2) * g
        delta = s["radius"]
        if np.linalg.norm(gauss_newton) <= delta:
            dz = gauss_newton
        elif np.linalg.norm(cauchy) >= delta:
            dz = delta * cauchy / np.linalg.norm(cauchy)
        else:  # the point where the dogleg's second leg meets the trust radius
            leg = gauss_newton - cauchy
            a, b, c = leg @ leg, 2 * cauchy @ leg, cauchy @ cauchy - delta**2
            dz = cauchy + (-b + np.sqrt(b * b - 4 * a * c)) / (2 * a) * leg
        lo, hi = ev.z_bounds()
        z_trial = np.clip(z + dz, lo, hi)
        if ctx.budget_left() <= 0:
            return Outcome("max_nfev", "stopped: solver-call budget (max_nfev) reached")
        R, finite = ev.residuals(z_trial[None, :])
        trial = float(ev.loss_of_residuals(R)[0]) if finite[0] else np.inf
        ctx.record("local", z_trial, trial, R[0])
        predicted = s["loss"] - np.mean((r + J @ (z_trial - z)) ** 2)
        ratio = (s["loss"] - trial) / predicted if predicted > 0 else -1.0
        step_size = np.linalg.norm(z_trial - z)
        s["radius"] = min(2 * delta, self.max_radius) if ratio > 0.75 and step_size > 0.99 * delta else (
            0.25 * delta if ratio < 0.25 else delta)
        if trial < s["loss"]:
            s.update(z=z_trial, r=R[0], loss=trial)
            if np.max(np.abs(z_trial - z)) < ctx.tol:
                return Outcome("converged", f"converged: step below tol={ctx.tol:g}")
        elif s["radius"] < ctx.tol:
            return Outcome("converged", "converged: the trust region shrank below tol")
        return None
