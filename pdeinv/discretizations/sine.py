"""The sine basis on a bounded interval: u = 0 at both ends (homogeneous Dirichlet conditions).

``u(x) = sum_{m=1}^{n} v_m sin(k_m (x - a))`` with ``k_m = m pi / (b - a)``, sampled on the ``n``
interior points ``x_j = a + j (b - a) / (n + 1)``. The coefficients are the amplitudes
themselves, so values anywhere in ``[a, b]``, the ends included, are one matrix product. Even
derivatives stay in the basis (``d^2/dx^2 -> -k^2``): the heat operator is diagonal and ETDRK4
treats it exactly, as it treats the Fourier symbols. Transforms are the type-I discrete sine
transform, computed as a real FFT of the odd extension (length ``2 (n + 1)``).
"""

from __future__ import annotations

import numpy as np

from .._jax import jnp
from .base import Basis

__all__ = ["SineBasis", "SineField"]


def _odd_extension(u, xp):
    """``[0, u_1..u_n, 0, -u_n..-u_1]`` along the last axis (period ``2 (n + 1)``)."""
    zero = xp.zeros(u.shape[:-1] + (1,), dtype=u.dtype)
    return xp.concatenate([zero, u, zero, -u[..., ::-1]], axis=-1)


def _dst1(u, xp):
    """``sum_j u_j sin(pi m j / (n + 1))`` for m = 1..n (type-I DST without normalization)."""
    n = u.shape[-1]
    return -0.5 * xp.imag(xp.fft.rfft(_odd_extension(u, xp), axis=-1)[..., 1:n + 1])


class SineBasis(Basis):
    """Sine modes on ``[a, b]`` with ``u(a) = u(b) = 0`` (see the module notes)."""

    name = "sine"
    boundary = "u = 0 at both ends"
    periodic = False
    mode_word = "sine modes"

    def __init__(self, n, domain, *, complex_state=False, dealias=False):
        if complex_state:
            raise ValueError("the sine basis holds a real state only")
        super().__init__(n, domain, complex_state=False, dealias=dealias)
        index = np.arange(1, self.n + 1, dtype=float)
        self.k = np.pi / self.length * index
        self.modes = self.k.size
        self.mask = np.ones_like(self.k)
        if self.dealias:
            self.mask[index > 2 * (self.n + 1) / 3] = 0.0

    @classmethod
    def nodes(cls, domain, n):
        a, b = float(domain[0]), float(domain[1])
        return a + (b - a) * np.arange(1, int(n) + 1) / (int(n) + 1)

    @classmethod
    def resample(cls, values, n):
        values = np.asarray(values, dtype=float)
        coefficients = _dst1(values, np) * 2.0 / (values.size + 1)
        padded = np.zeros(int(n))
        keep = min(values.size, int(n))
        padded[:keep] = coefficients[:keep]
        return _dst1(padded, np)

    def place(self, x):
        x = np.asarray(x, dtype=float)
        a, b = self.domain
        tol = 1e-12 * max(1.0, abs(a), abs(b))
        if x.size and (np.min(x) < a - tol or np.max(x) > b + tol):
            raise ValueError(f"points must lie in the domain [{a:g}, {b:g}] ({self.boundary}), got x in "
                             f"[{np.min(x):g}, {np.max(x):g}]")
        return np.clip(x, a, b)

    def forward(self, u):
        return _dst1(jnp.real(u), jnp) * (2.0 / (self.n + 1))

    def inverse(self, v):
        return _dst1(jnp.real(v), jnp)

    def forward_numpy(self, u):
        return _dst1(np.real(np.asarray(u, dtype=float)), np) * (2.0 / (self.n + 1))

    def derivative(self, v, order: int = 2):
        if order % 2:
            raise ValueError("the sine basis holds even derivatives only (an odd one is a cosine series): "
                             "write the nonlinear term with even derivatives or on the grid")
        return (-jnp.asarray(self.k) ** 2) ** (order // 2) * v

    def interpolation_matrix(self, x_points):
        x = self.place(np.asarray(x_points, dtype=float).ravel())[:, None] - self.domain[0]
        return np.sin(self.k * x) + 0j

    def interpolate(self, v, x_query):
        s = jnp.asarray(self.place(np.asarray(x_query, dtype=float)))[..., None] - self.domain[0]
        return jnp.sum(jnp.real(v)[..., None, :] * jnp.sin(jnp.asarray(self.k) * s), axis=-1)

    @classmethod
    def amplitudes(cls, samples):
        """``|v_m|`` for m = 0 (always 0: no mean mode), 1, ..., m."""
        samples = np.asarray(samples, dtype=float)
        return np.concatenate([[0.0], np.abs(_dst1(samples, np)) * 2.0 / (samples.size + 1)])

    @classmethod
    def noise_amplitude(cls, sigma, m):
        return sigma * np.sqrt(2.0 / (m + 1))

    @classmethod
    def coefficients_for(cls, wavenumbers):
        return int(wavenumbers)

    @classmethod
    def field(cls, modes, domain):
        return SineField(modes, domain)


class SineField:
    """A field that vanishes at both ends of ``[a, b]``: ``f(x) = sum_{m=1}^{M} c_m sin(m pi s / L)``
    with ``s = x - a``, ``L = b - a``; the coefficients are the solver's own first M modes."""

    def __init__(self, modes: int, domain: tuple[float, float] = (0.0, 1.0)):
        if isinstance(modes, bool) or int(modes) != modes or modes < 1:
            raise ValueError(f"modes must be an integer >= 1, got {modes!r}")
        self.modes = int(modes)
        self.domain = (float(domain[0]), float(domain[1]))
        self.wavenumber = np.arange(1, self.modes + 1)

    def names(self, prefix: str) -> tuple[str, ...]:
        return tuple(f"{prefix}[{j}]" for j in range(self.modes))

    def spectrum(self, c, n: int):
        """The solver's spectrum (n sine amplitudes) of the field."""
        if n < self.modes:
            raise ValueError(f"the solver grid (n={n}) must have at least as many points as the field has modes "
                             f"({self.modes})")
        return jnp.zeros(n, dtype=jnp.complex128).at[: self.modes].set(jnp.asarray(c))

    def grid_values(self, c, n: int):
        return _dst1(jnp.real(self.spectrum(c, n)), jnp)

    def samples(self, c, n: int) -> np.ndarray:
        """The field on ``SineBasis.nodes(domain, n)``."""
        return np.asarray(self.grid_values(c, n))

    def basis_at(self, x) -> np.ndarray:
        s = np.pi / (self.domain[1] - self.domain[0]) * (np.asarray(x, dtype=float).ravel() - self.domain[0])
        return np.sin(np.outer(s, self.wavenumber))

    def project(self, samples) -> np.ndarray:
        """The first ``modes`` sine amplitudes of samples on the basis's nodes."""
        samples = np.asarray(samples, dtype=float)
        if samples.size < self.modes:
            raise ValueError(f"need at least {self.modes} samples to project on {self.modes} modes, got {samples.size}")
        return (_dst1(samples, np) * 2.0 / (samples.size + 1))[: self.modes]
