"""The shared estimator interface and random directions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

DISTRIBUTIONS = ("gaussian", "rademacher", "sphere")


@dataclass
class Estimate:
    """What an estimator learned at ``z``.

    ``loss`` and ``residual`` at ``z``; ``grad`` (d,) when the estimator gives a gradient;
    ``jac`` (P, k) = J V, a sketch of the residual Jacobian along the columns of
    ``directions`` (d, k) (``directions`` is the identity for a full Jacobian); ``nfev`` the
    solver calls spent (members whose solve failed are dropped from the estimate).
    """

    loss: float
    residual: np.ndarray
    grad: np.ndarray | None = None
    jac: np.ndarray | None = None
    directions: np.ndarray | None = None
    nfev: int = 0

    def gradient(self) -> np.ndarray | None:
        """The gradient of ``mean(r^2)``: ``grad`` when measured, else ``2/m V (J V)^T r`` from a
        Jacobian sketch (the gradient projected on span(V); exact for V = I)."""
        if self.grad is not None:
            return self.grad
        if self.jac is None or self.directions is None or self.jac.shape[1] == 0:
            return None
        return 2.0 / self.residual.size * self.directions @ (self.jac.T @ self.residual)


class Estimator(Protocol):
    name: str
    #: what its estimates hold: "jacobian" (jac along directions) and/or "gradient"
    provides: tuple[str, ...]

    def __call__(self, problem, z: np.ndarray, base: np.ndarray | None, rng: np.random.Generator) -> Estimate: ...


def random_directions(rng: np.random.Generator, d: int, k: int, distribution: str = "gaussian") -> np.ndarray:
    """``k`` random directions in R^d as columns of a (d, k) array, each with E[v v^T] = I.

    ``gaussian``: N(0, I); ``rademacher``: entries +-1; ``sphere``: uniform on the sphere of
    radius sqrt(d).
    """
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"distribution must be one of {DISTRIBUTIONS}, got {distribution!r}")
    if distribution == "rademacher":
        return rng.choice([-1.0, 1.0], size=(d, k))
    v = rng.standard_normal((d, k))
    if distribution == "sphere":
        v *= np.sqrt(d) / np.linalg.norm(v, axis=0, keepdims=True)
    return v


def check_scheme(scheme: str, eps: float) -> None:
    if scheme not in ("forward", "central"):
        raise ValueError(f"scheme must be 'forward' or 'central', got {scheme!r}")
    if not (np.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a positive number, got {eps!r}")


def check_directions(k) -> int:
    if isinstance(k, bool) or int(k) != k or k < 1:
        raise ValueError(f"directions must be a positive integer, got {k!r}")
    return int(k)
