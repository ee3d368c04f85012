"""Exact derivatives by automatic differentiation through the JAX solver (the reference)."""

from __future__ import annotations

import numpy as np

from .._jax import jax, jnp
from .base import Estimate


class ExactAD:
    """The full residual Jacobian by forward-mode AD (``jax.jacfwd``: d columns, cheaper than
    P reverse passes) through the spectral solver, and the gradient of ``mean(r^2)`` from it.

    Counts one solver call per estimate (a solve with its derivative); it exists to validate
    the black-box estimators, not to be compared with them on calls.
    """

    name = "exact"
    provides = ("jacobian", "gradient")

    def __init__(self):
        self._cache = {}

    def _functions(self, problem):
        problem = getattr(problem, "problem", problem)  # the definition behind a run's evaluator
        key = (id(problem), problem.equation.n, problem.equation.dt)
        if key not in self._cache:
            residual = problem.jax_residual_fn()
            loss = lambda z: jnp.mean(residual(z) ** 2)
            self._cache = {key: (jax.jit(residual), jax.jit(jax.grad(loss)), jax.jit(jax.jacfwd(residual)))}
        return self._cache[key]

    def gradient(self, problem, z) -> np.ndarray:
        return np.asarray(self._functions(problem)[1](jnp.asarray(z, dtype=jnp.float64)))

    def __call__(self, problem, z, base, rng) -> Estimate:
        residual, grad, jac = self._functions(problem)
        zj = jnp.asarray(z, dtype=jnp.float64)
        if hasattr(problem, "count"):  # a run's evaluator: a solve with its derivative is one call
            problem.count(1)
        r = np.asarray(residual(zj))
        J = np.asarray(jac(zj))
        if not (np.all(np.isfinite(r)) and np.all(np.isfinite(J))):
            return Estimate(np.inf, r, nfev=1)
        return Estimate(float(np.mean(r**2)), r, grad=2.0 * J.T @ r / r.size, jac=J, directions=np.eye(z.size), nfev=1)
