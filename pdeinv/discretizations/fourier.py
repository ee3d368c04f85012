"""The Fourier basis on a periodic interval: the discretization of every equation pdeinv had
first (Burgers, Allen-Cahn, KdV, KS, NLS)."""

from __future__ import annotations

import numpy as np

from .._jax import jnp
from .base import Basis
from .fft import fourier_interpolate, fourier_interpolate_complex, irfft, resample_periodic, rfft

__all__ = ["FourierBasis", "FourierField"]


class FourierBasis(Basis):
    """Fourier modes on the periodic interval ``[a, b)``, ``x = linspace(a, b, n, endpoint=False)``.

    A real state is held as its real-FFT half spectrum (``n // 2 + 1`` modes), a complex one as
    the full FFT in NumPy's order. ``k`` are the wavenumbers ``2 pi j / (b - a)``; ``ik`` is
    ``i k`` with the Nyquist mode zeroed (its odd derivatives are not real: standard practice).
    """

    name = "fourier"
    boundary = "periodic"
    periodic = True
    even_n = True
    mode_word = "Fourier modes"
    even_field_modes = True

    def __init__(self, n, domain, *, complex_state=False, dealias=False):
        super().__init__(n, domain, complex_state=complex_state, dealias=dealias)
        if self.complex_state:
            index = np.fft.fftfreq(self.n, d=1.0 / self.n)
            nyquist = self.n // 2
        else:
            index = np.arange(self.n // 2 + 1, dtype=float)
            nyquist = index.size - 1
        self.k = 2 * np.pi / self.length * index
        self.modes = self.k.size
        self.ik = 1j * self.k
        self.ik[nyquist] = 0.0
        self.mask = np.ones_like(self.k)
        if self.dealias:
            self.mask[np.abs(index) > self.n // 3] = 0.0

    @classmethod
    def nodes(cls, domain, n):
        return np.linspace(float(domain[0]), float(domain[1]), int(n), endpoint=False)

    @classmethod
    def resample(cls, values, n):
        return resample_periodic(np.asarray(values), int(n))

    def place(self, x):
        a = self.domain[0]
        return a + np.mod(np.asarray(x, dtype=float) - a, self.length)

    def forward(self, u):
        return jnp.fft.fft(u) if self.complex_state else rfft(u)

    def inverse(self, v):
        return jnp.fft.ifft(v) if self.complex_state else irfft(v, self.n)

    def forward_numpy(self, u):
        return np.fft.fft(u) if self.complex_state else np.fft.rfft(u)

    def derivative(self, v, order: int = 1):
        ik = jnp.asarray(self.ik) if order % 2 else jnp.asarray(1j * self.k)
        return ik**order * v

    def interpolation_matrix(self, x_points):
        """The trigonometric interpolant of :func:`fourier_interpolate`, its Nyquist mode as a
        cosine."""
        x = self.place(np.asarray(x_points, dtype=float).ravel())[:, None] - self.domain[0]
        A = np.exp(1j * self.k * x) / self.n
        nyquist = self.n // 2 if self.complex_state else self.k.size - 1
        A[:, nyquist] = np.cos(self.k[nyquist] * x[:, 0]) / self.n
        if not self.complex_state:  # interior modes stand for a conjugate pair
            A[:, 1:nyquist] *= 2.0
        return A

    def interpolate(self, v, x_query):
        interp = fourier_interpolate_complex if self.complex_state else fourier_interpolate
        return interp(v, x_query, jnp.asarray(self.k), self.domain[0], self.n)

    @classmethod
    def amplitudes(cls, samples):
        """Amplitude of each cosine/sine pair k = 0 ... m/2 (``2 |U_k| / m``)."""
        samples = np.asarray(samples, dtype=float)
        return 2 * np.abs(np.fft.rfft(samples)) / samples.size

    @classmethod
    def noise_amplitude(cls, sigma, m):
        return 2 * sigma / np.sqrt(m)

    @classmethod
    def coefficients_for(cls, wavenumbers):
        return 2 * int(wavenumbers) + 2  # cosine and sine per wavenumber, the mean, the last cosine

    @classmethod
    def field(cls, modes, domain):
        return FourierField(modes, domain)


class FourierField:
    """A real periodic field on ``[a, b)`` with ``modes`` (even) real coefficients.

    ``f(x) = a_0 + sum_{k=1}^{M/2-1} (a_k cos(k w s) + b_k sin(k w s)) + a_{M/2} cos(M/2 w s)``
    with ``s = x - a`` and ``w = 2 pi / (b - a)``; the coefficient vector is
    ``[a_0, a_1, b_1, ..., a_{M/2-1}, b_{M/2-1}, a_{M/2}]``. The map to solver spectra is
    linear and written in JAX, so the exact-AD reference can differentiate through it.
    """

    def __init__(self, modes: int, domain: tuple[float, float] = (-1.0, 1.0)):
        if isinstance(modes, bool) or int(modes) != modes or modes < 2 or modes % 2:
            raise ValueError(f"modes must be an even integer >= 2, got {modes!r}")
        self.modes = int(modes)
        self.domain = (float(domain[0]), float(domain[1]))
        half = self.modes // 2
        # wavenumber index of each coefficient: 0, 1, 1, 2, 2, ..., M/2-1, M/2-1, M/2
        self.wavenumber = np.concatenate([[0], np.repeat(np.arange(1, half), 2), [half]]).astype(int)

    def names(self, prefix: str) -> tuple[str, ...]:
        return tuple(f"{prefix}[{j}]" for j in range(self.modes))

    def spectrum(self, c, n: int):
        """Real-FFT coefficients (length n // 2 + 1) of the field sampled on n points."""
        if n <= self.modes:
            raise ValueError(f"the solver grid (n={n}) must have more points than the field has modes ({self.modes})")
        c = jnp.asarray(c)
        half = self.modes // 2
        a = jnp.concatenate([c[:1], c[1:-1:2], c[-1:]])  # a_0 .. a_{M/2}
        b = jnp.concatenate([jnp.zeros(1), c[2:-1:2], jnp.zeros(1)])  # b_0 = b_{M/2} = 0
        scale = jnp.full(half + 1, n / 2.0).at[0].set(float(n))
        low = scale * (a - 1j * b)
        return jnp.zeros(n // 2 + 1, dtype=jnp.complex128).at[: half + 1].set(low)

    def grid_values(self, c, n: int):
        """The field on the basis's ``n`` grid points, JAX-traceable."""
        return jnp.fft.irfft(self.spectrum(c, n), n=n)

    def samples(self, c, n: int) -> np.ndarray:
        """The field on ``linspace(a, b, n, endpoint=False)``."""
        return np.fft.irfft(np.asarray(self.spectrum(c, n)), n=n)

    def basis_at(self, x) -> np.ndarray:
        """The field's value at points ``x`` per coefficient: ``f(x) = basis_at(x) @ c``."""
        s = 2 * np.pi / (self.domain[1] - self.domain[0]) * (np.asarray(x, dtype=float).ravel() - self.domain[0])
        k = self.wavenumber[:, None] * s[None, :]
        B = np.cos(k).T
        B[:, 2:-1:2] = np.sin(k[2:-1:2]).T
        return B

    def project(self, samples) -> np.ndarray:
        """The coefficients of the first ``modes`` Fourier modes of periodic samples (m > modes)."""
        samples = np.asarray(samples, dtype=float)
        m = samples.size
        if m <= self.modes:
            raise ValueError(f"need more than {self.modes} samples to project on {self.modes} modes, got {m}")
        U = np.fft.rfft(samples) / m
        half = self.modes // 2
        c = np.empty(self.modes)
        c[0] = U[0].real
        c[1:-1:2] = 2 * U[1:half].real
        c[2:-1:2] = -2 * U[1:half].imag
        c[-1] = 2 * U[half].real
        return c
