"""Levenberg-Marquardt on a Jacobian estimate that keeps what every solve taught it."""

from __future__ import annotations

import numpy as np

from .base import Context, Outcome

__all__ = ["LevenbergMarquardt"]

#: A sketch stops drawing new directions when their Jacobian columns are this small relative to
#: the columns already measured (relative root-mean-square).
EXPLORE_TOL = 1e-3


class LevenbergMarquardt:
    """Damped Gauss-Newton steps with step acceptance.

    ``J`` (P, d) is refreshed along the derivative source's directions (``J V`` from
    random-direction differences, or the exact Jacobian) and, with ``broyden``, corrected after
    every trial step by the secant (Broyden) update, so a refresh is needed only when a step
    fails or, for a sketch with fewer directions than unknowns, to explore directions not seen
    yet. ``max_step`` caps the change of a (log-)parameter in one step (a trust region).
    """

    name = "levenberg-marquardt"
    needs = "jacobian"

    def __init__(self, broyden: bool = True, max_step: float = 2.0):
        if not (np.isfinite(max_step) and max_step > 0):
            raise ValueError(f"max_step must be a positive number, got {max_step!r}")
        self.broyden = bool(broyden)
        self.max_step = float(max_step)

    def init(self, ctx: Context, z, r) -> dict:
        d = z.size
        return {"z": z, "r": r, "loss": float(np.mean(r**2)), "lam": 1e-3, "J": np.zeros((r.size, d)),
                "known": np.zeros((d, 0)), "refresh": True, "explore": True}

    def estimate(self, state, best_z):
        return state["z"]

    def _measure(self, ctx: Context, s: dict) -> Outcome | None:
        """Refresh J along new directions (all of them for a full Jacobian)."""
        d = s["z"].size
        J = s["J"]
        exploring = self.broyden and s["explore"] and 0 < s["known"].shape[1] < d
        if getattr(ctx.derivative, "explores", False):
            est = ctx.derivative(ctx.evaluator, s["z"], s["r"], ctx.rng, avoid=s["known"] if exploring else None)
        else:
            est = ctx.derivative(ctx.evaluator, s["z"], s["r"], ctx.rng)
        if est.jac is None or est.jac.shape[1] == 0 or not np.all(np.isfinite(est.jac)):
            return Outcome("failed", "stopped: every perturbed solve failed near the current point")
        V = est.directions
        if exploring:
            # Directions the data barely see (a diffusive flow erases high modes of u0) are not
            # worth more solves: stop exploring when the new columns are negligible next to
            # those already measured.
            seen = np.linalg.norm(J @ s["known"]) / np.sqrt(s["known"].shape[1])
            new = np.linalg.norm(est.jac) / np.sqrt(max(V.shape[1], 1))
            if new < EXPLORE_TOL * seen:
                s["explore"] = False
        if V.shape[1] >= d:
            J = est.jac @ np.linalg.pinv(V)
        else:  # exact along span(V), keep the older estimate elsewhere
            J = J + (est.jac - J @ V) @ V.T
        known = np.linalg.qr(np.concatenate([s["known"], V], axis=1))[0]
        s["known"] = known[:, : min(d, s["known"].shape[1] + V.shape[1])]
        s["J"] = J
        return None

    def step(self, ctx: Context, s: dict) -> Outcome | None:
        ev, tol = ctx.evaluator, ctx.tol
        lo, hi = ev.z_bounds()
        d = s["z"].size
        if s["refresh"] or not self.broyden:
            failed = self._measure(ctx, s)
            if failed is not None:
                return failed
        z, r, loss, J = s["z"], s["r"], s["loss"], s["J"]
        g = J.T @ r
        H = J.T @ J
        if loss == 0.0 or not np.any(g):
            return Outcome("converged", "converged: zero residual or zero gradient")
        accepted = False
        for attempt in range(12):
            scale = np.diag(H).copy()
            scale[scale <= 0] = max(float(np.max(scale)), 1.0)
            try:
                dz = np.linalg.solve(H + s["lam"] * np.diag(scale), -g)
            except np.linalg.LinAlgError:
                s["lam"] *= 10
                continue
            if not np.all(np.isfinite(dz)):
                s["lam"] *= 10
                continue
            biggest = np.max(np.abs(dz))
            if attempt == 0 and biggest < tol and (s["known"].shape[1] == d or not s["explore"]):
                return Outcome("converged", f"converged: Gauss-Newton step below tol={tol:g}")
            if biggest > self.max_step:  # trust region in transformed units (max_step e-folds)
                dz *= self.max_step / biggest
            z_trial = np.clip(z + dz, lo, hi)
            step = z_trial - z
            if ctx.budget_left() <= 0:
                return Outcome("max_nfev", "stopped: solver-call budget (max_nfev) reached")
            R, finite = ev.residuals(z_trial[None, :])
            trial_loss = float(ev.loss_of_residuals(R)[0]) if finite[0] else np.inf
            ctx.record("local", z_trial, trial_loss, R[0])
            if finite[0] and self.broyden and np.any(step):
                J = J + np.outer(R[0] - r - J @ step, step) / (step @ step)
                s["J"] = J
            if trial_loss < loss:
                decrease = loss - trial_loss
                s.update(z=z_trial, r=R[0], loss=trial_loss, lam=max(s["lam"] / 10, 1e-12))
                accepted = True
                if np.max(np.abs(step)) < tol:
                    return Outcome("converged", f"converged: step below tol={tol:g}")
                if decrease <= tol * loss * 1e-4:
                    return Outcome("converged", "converged: loss no longer decreases")
                break
            s["lam"] *= 10
            if self.broyden and not s["refresh"]:
                break  # a stale Jacobian may be to blame: measure it again before shrinking more
        if not accepted and (s["refresh"] or not self.broyden):
            from ..refine import misfit_allows_refinement

            if misfit_allows_refinement(ev.problem, s["r"]):
                return Outcome("converged", "converged: no step decreases the loss further (misfit at the noise or "
                                            "discretization level)")
            return Outcome("converged", "converged to a stationary point far from the data: no step decreases the "
                                        "loss, but the misfit is large (a local minimum, or directions the data do "
                                        "not determine)")
        s["refresh"] = (not accepted) or (s["known"].shape[1] < d and s["explore"])
        return None
