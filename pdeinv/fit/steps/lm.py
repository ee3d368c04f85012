"""Levenberg-Marquardt on a Jacobian estimate that keeps what every solve taught it."""

from __future__ import annotations

import numpy as np

from ..linear import damped_step
from .base import Context, Outcome

__all__ = ["LevenbergMarquardt"]

#: A sketch stops drawing new directions when their Jacobian columns are this small relative to
#: the columns already measured (relative root-mean-square).
EXPLORE_TOL = 1e-3

#: The Levenberg-Marquardt damping at the start, and at most after a fresh measurement.
INITIAL_DAMPING = 1e-3

#: An accepted step on a Jacobian not measured at its start point that achieves less than this
#: fraction of the decrease its Gauss-Newton model predicted makes the next step measure the
#: Jacobian afresh (a stale Jacobian's steps crawl: small, accepted, each a fraction of the
#: model's promise).
STALE_RATIO = 0.25

#: An accepted step on such a Jacobian that lowers the loss by less than this fraction also makes
#: the next step measure it afresh. A column measured where it vanished (a scalar at a flat
#: start: KdV's lambda2 at u0 = 0) is never corrected by secant updates along steps that do not
#: move that scalar, and the model's own promise then agrees with the crawl it makes (measured:
#: 100 steps of ~1e-6 relative decrease, lambda2 never moving).
CRAWL_RATIO = 1e-3

#: With one unknown, a secant update over a step at most this long (in transformed units) is
#: as good as a fresh finite-difference measurement (truncation error ~ step x curvature, as
#: for the central-difference step of ``pdeinv.estimators.zo``): J counts as current.
SECANT_STEP = 1e-4


class LevenbergMarquardt:
    """Damped Gauss-Newton steps with step acceptance.

    ``J`` (P, d) is refreshed along the derivative source's directions (``J V`` from
    random-direction differences, or the exact Jacobian) and, with ``broyden``, corrected after
    every trial step by the secant (Broyden) update, so a refresh is needed only when a step
    fails or, for a sketch with fewer directions than unknowns, to explore directions not seen
    yet. ``max_step`` caps the change of a (log-)parameter in one step (a trust region).

    A secant-updated or partly measured ``J`` may be stale along directions the steps did not
    take, so its steps can shrink, or stop lowering the loss, far from the minimum. No such
    step ends the fit: before any convergence it measures ``J`` afresh at the current point
    along every direction measured so far (``verify``; for a full Jacobian, d solves), and
    converges only if the step from that Jacobian is below ``tol`` (or lowers the loss no
    further). An accepted step that achieves under a quarter of the decrease its model
    predicted (a sign of a stale ``J``) triggers the same fresh measurement.
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
        return {"z": z, "r": r, "loss": float(np.mean(r**2)), "lam": INITIAL_DAMPING, "J": np.zeros((r.size, d)),
                "known": np.zeros((d, 0)), "refresh": True, "explore": True, "verify": False, "fresh": False}

    def estimate(self, state, best_z):
        return state["z"]

    def _measure(self, ctx: Context, s: dict, verify: bool = False) -> Outcome | None:
        """Refresh J along new directions (all of them for a full Jacobian); with ``verify``,
        along every direction measured so far (``s["fresh"]`` then says J is current there)."""
        d = s["z"].size
        J = s["J"]
        known = s["known"]
        exploring = not verify and s["explore"] and 0 < known.shape[1] < d
        along = getattr(ctx.derivative, "along", None)
        if verify and along is not None:
            # Convergence is declared only on a Jacobian measured here along every unknown's
            # direction: one that was measured elsewhere (a scalar whose column vanished at a
            # flat start) or never (a sketch that stopped exploring) cannot vouch for it.
            est = along(ctx.evaluator, s["z"], s["r"], np.eye(d))
        elif getattr(ctx.derivative, "explores", False):
            est = ctx.derivative(ctx.evaluator, s["z"], s["r"], ctx.rng, avoid=known if exploring else None)
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
        # J is current here only when measured along all d directions at this point. A source
        # that cannot measure given directions (no ``along``) is trusted after one fresh call
        # at the point, as it cannot do better.
        s["fresh"] = bool(np.linalg.matrix_rank(V) >= d or (verify and along is None))
        if verify:
            # The convergence test is the step of the fresh model, not one shrunk by the damping
            # that rejected steps on the stale one (at lam ~ 1e9 every step is "below tol").
            s["lam"] = min(s["lam"], INITIAL_DAMPING)
        basis = np.linalg.qr(np.concatenate([known, V], axis=1))[0]
        s["known"] = basis[:, : min(d, known.shape[1] + V.shape[1])]
        s["J"] = J
        return None

    def step(self, ctx: Context, s: dict) -> Outcome | None:
        ev, tol = ctx.evaluator, ctx.tol
        lo, hi = ev.z_bounds()
        d = s["z"].size
        verify = bool(s.get("verify", False))
        measured = verify or s["refresh"] or not self.broyden
        if measured:
            failed = self._measure(ctx, s, verify=verify)
            if failed is not None:
                return failed
            s["verify"] = False
        complete = lambda: s["known"].shape[1] == d or not s["explore"]  # noqa: E731
        z, r, loss = s["z"], s["r"], s["loss"]
        J = s["J"]
        g, H = J.T @ r, J.T @ J
        # J is current at z along every direction that matters: a convergence test may trust it
        trusted = bool(s.get("fresh", False)) and complete()
        first = damped_step(H, g, s["lam"])
        if not trusted and complete() and first is not None and np.max(np.abs(first)) < tol:
            # The step says "converged" on a Jacobian not measured here: measure it, then look again
            failed = self._measure(ctx, s, verify=True)
            if failed is not None:
                return failed
            J = s["J"]
            g, H = J.T @ r, J.T @ J
            trusted, measured = bool(s["fresh"]) and complete(), True
        model = J
        if loss == 0.0 or not np.any(g):
            return Outcome("converged", "converged: zero residual or zero gradient")
        accepted = False
        for attempt in range(12):
            dz = damped_step(H, g, s["lam"])
            if dz is None:
                s["lam"] *= 10
                continue
            biggest = np.max(np.abs(dz))
            if attempt == 0 and biggest < tol and complete():
                if trusted:
                    return Outcome("converged", f"converged: Gauss-Newton step below tol={tol:g}")
                return self._verify_next(s)
            if biggest > self.max_step:  # trust region in transformed units (max_step e-folds)
                dz *= self.max_step / biggest
            z_trial = np.clip(z + dz, lo, hi)
            step = z_trial - z
            if ctx.budget_left() <= 0:
                return Outcome("max_nfev", "stopped: solver-call budget (max_nfev) reached")
            R, finite = ev.residuals(z_trial[None, :])
            trial_loss = float(ev.loss_of_residuals(R)[0]) if finite[0] else np.inf
            ctx.record("local", z_trial, trial_loss, R[0])
            secant = False
            if finite[0] and self.broyden and np.any(step):
                J = J + np.outer(R[0] - r - J @ step, step) / (step @ step)
                s["J"] = J
                # With one unknown the secant over a short step is a finite-difference derivative
                secant = d == 1 and abs(float(step[0])) <= SECANT_STEP
            if trial_loss < loss:
                decrease = loss - trial_loss
                predicted = loss - float(np.mean((r + model @ step) ** 2))
                s.update(z=z_trial, r=R[0], loss=trial_loss, lam=max(s["lam"] / 10, 1e-12), fresh=secant)
                accepted = True
                small = np.max(np.abs(step)) < tol
                if small or decrease <= tol * loss * 1e-4:
                    if trusted:  # the step of a current Jacobian: the minimum is reached
                        return Outcome("converged", f"converged: step below tol={tol:g}" if small
                                       else "converged: loss no longer decreases")
                    return self._verify_next(s)
                if not trusted and (decrease < STALE_RATIO * predicted or decrease < CRAWL_RATIO * loss):
                    return self._verify_next(s)
                break
            s["lam"] *= 10
            if self.broyden and not measured:
                break  # a stale Jacobian may be to blame: measure it again before shrinking more
        if not accepted and measured:
            if not trusted:
                return self._verify_next(s)
            from ..refine import misfit_allows_refinement

            if misfit_allows_refinement(ev.problem, s["r"]):
                return Outcome("converged", "converged: no step decreases the loss further (misfit at the noise or "
                                            "discretization level)")
            return Outcome("converged", "converged to a stationary point far from the data: no step decreases the "
                                        "loss, but the misfit is large (a local minimum, or directions the data do "
                                        "not determine)")
        s["refresh"] = (not accepted) or (s["known"].shape[1] < d and s["explore"])
        return None

    @staticmethod
    def _verify_next(s: dict) -> None:
        """Before any convergence is declared, the next step measures J afresh at the current
        point along every direction measured so far (or, while a sketch still explores, along
        new ones)."""
        if s["known"].shape[1] < s["z"].size and s["explore"]:
            s["refresh"] = True
        else:
            s["verify"] = True
        return None
