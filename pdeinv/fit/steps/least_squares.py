"""scipy.optimize.least_squares on the same residuals: the classical baseline."""

from __future__ import annotations

import numpy as np

from .base import Context, Interrupted, Outcome

__all__ = ["LeastSquares"]


class LeastSquares:
    """One call of ``scipy.optimize.least_squares`` (trust-region reflective, its own
    finite-difference Jacobian) from the current point, within the remaining solver calls.
    It cannot be resumed mid-way: a checkpoint keeps the point it started from."""

    name = "least-squares"
    needs = "none"

    def init(self, ctx: Context, z, r) -> dict:
        return {"z": z, "r": r, "iterations": 0}

    def estimate(self, state, best_z):
        return state["z"]

    def step(self, ctx: Context, s: dict) -> Outcome | None:
        from scipy.optimize import least_squares

        ev = ctx.evaluator
        size = ev.n_residuals

        def fun(zz):
            if ctx.should_stop():
                raise Interrupted
            R, finite = ev.residuals(np.asarray(zz)[None, :])
            loss = float(ev.loss_of_residuals(R)[0]) if finite[0] else np.inf
            ctx.record("local", np.asarray(zz), loss, R[0])
            # least_squares cannot take NaN: a failed solve looks like a very bad fit.
            return R[0] if finite[0] else np.full(size, 1e6)

        lo, hi = ev.z_bounds()
        budget = max(1, ctx.budget_left())
        try:
            sol = least_squares(fun, s["z"], bounds=(lo, hi), max_nfev=budget, xtol=ctx.tol, ftol=ctx.tol,
                                gtol=ctx.tol)
        except Interrupted:
            raise
        except Exception as err:  # scipy may refuse a degenerate problem; report, do not crash
            return Outcome("failed", f"least_squares failed: {err}")
        R, _ = ev.residuals(sol.x[None, :], counted=False)  # the final point again: bookkeeping, not search
        s.update(z=sol.x, r=R[0], iterations=int(sol.njev or 0))
        status = {0: "max_nfev", -1: "failed"}.get(int(sol.status), "converged")
        return Outcome(status, f"least_squares: {sol.message}")
