"""Exact solutions used as references by the tests (independent of the solvers)."""

import numpy as np


def burgers_cole_hopf(t, x, nu, n_quad=6001, z_max=10.0):
    """Viscous Burgers with u0 = -sin(pi x) on the periodic [-1, 1), by the Cole-Hopf formula.

    u(t, x) = -int sin(pi y) f(y) G dz / int f(y) G dz with y = x - sqrt(4 nu t) z,
    f(y) = exp(-cos(pi y) / (2 pi nu)), G = exp(-z^2). Trapezoidal rule in z (spectrally accurate
    for this smooth, rapidly decaying integrand), weights normalised in log space because
    f spans e^(+-1/(2 pi nu)).
    """
    x = np.asarray(x, dtype=float)
    if t == 0:
        return -np.sin(np.pi * x)
    z = np.linspace(-z_max, z_max, n_quad)
    y = x[:, None] - np.sqrt(4 * nu * t) * z[None, :]
    log_w = -np.cos(np.pi * y) / (2 * np.pi * nu) - z[None, :] ** 2
    w = np.exp(log_w - log_w.max(axis=1, keepdims=True))
    return -np.sum(np.sin(np.pi * y) * w, axis=1) / np.sum(w, axis=1)


def kdv_soliton(t, x, lambda1, lambda2, speed, x0):
    """Travelling soliton of u_t + lambda1 u u_x + lambda2 u_xxx = 0 on the real line."""
    xi = 0.5 * np.sqrt(speed / lambda2) * (np.asarray(x) - x0 - speed * t)
    return 3 * speed / lambda1 / np.cosh(xi) ** 2
