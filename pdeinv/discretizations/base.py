"""What a spectral discretization (a basis on a 1-D domain) provides to equations and fits.

An equation is written against a basis: its linear part is a diagonal symbol on the basis's
wavenumbers ``k`` (the eigenvalues of its derivative operators), its nonlinear term goes to the
grid and back with :meth:`Basis.physical` / :meth:`Basis.spectral`. The basis alone knows the
grid, the transforms, how values at arbitrary points follow from a spectrum, how samples move
to another resolution, where points may lie, and how a field unknown is parameterized. The
stepper (ETDRK4) and the fit never look inside it.

A new basis is one file: a subclass that fills in the methods below, and an equation that
names it in ``basis_type``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Basis"]


class Basis:
    """A 1-D spectral basis on ``domain`` with ``n`` grid points (see the module notes).

    Attributes set by a subclass: ``x`` (the grid), ``k`` (one wavenumber per mode: the linear
    symbols of equations are functions of it), ``mask`` (1 for kept modes, 0 for those the 2/3
    dealiasing rule drops), ``modes`` (``k.size``).
    """

    #: key used in messages and files
    name: str = ""
    #: the boundary conditions in words, e.g. "periodic" or "u = 0 at both ends"
    boundary: str = ""
    periodic: bool = False
    #: the smallest grid and whether it must be even
    min_n: int = 8
    even_n: bool = False
    #: what a field's coefficients are called in messages ("Fourier modes")
    mode_word: str = "modes"
    #: whether a field unknown must have an even number of coefficients
    even_field_modes: bool = False
    #: linear operators are matrices (collocation) rather than one symbol per mode
    dense: bool = False

    def __init__(self, n: int, domain: tuple[float, float], *, complex_state: bool = False,
                 dealias: bool = False):
        self.n = self.check_n(n)
        a, b = (float(v) for v in domain)
        if not (np.isfinite(a) and np.isfinite(b) and b > a):
            raise ValueError(f"domain must be a finite interval (a, b) with b > a, got {domain!r}")
        self.domain = (a, b)
        self.length = b - a
        self.complex_state = bool(complex_state)
        self.dealias = bool(dealias)
        self.x = self.nodes(self.domain, self.n)

    @classmethod
    def check_n(cls, n) -> int:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < cls.min_n or (cls.even_n and n % 2):
            parity = "an even integer" if cls.even_n else "an integer"
            raise ValueError(f"n must be {parity} >= {cls.min_n}, got {n!r}")
        return int(n)

    # ---- grid and samples (NumPy) ---------------------------------------------------------------
    @classmethod
    def nodes(cls, domain: tuple[float, float], n: int) -> np.ndarray:
        """The ``n`` grid points on ``domain`` that samples of a field (u0 in files, fields of
        a fit) are given on."""
        raise NotImplementedError

    @classmethod
    def resample(cls, values: np.ndarray, n: int) -> np.ndarray:
        """Samples on ``nodes(domain, values.size)`` moved spectrally to ``nodes(domain, n)``."""
        raise NotImplementedError

    def place(self, x) -> np.ndarray:
        """Observation positions as the basis evaluates them: wrapped into a periodic domain,
        checked to lie in a bounded one (a clear ``ValueError`` otherwise)."""
        raise NotImplementedError

    # ---- transforms (JAX, along the last axis) ---------------------------------------------------
    def forward(self, u):
        """Spectrum of grid values."""
        raise NotImplementedError

    def inverse(self, v):
        """Grid values of a spectrum."""
        raise NotImplementedError

    def forward_numpy(self, u) -> np.ndarray:
        """:meth:`forward` in NumPy (no compilation: for initial conditions and files)."""
        raise NotImplementedError

    def physical(self, v):
        """Grid values of a spectrum, dealiasing mask applied."""
        return self.inverse(v * self.mask)

    def spectral(self, u):
        """Spectrum of grid values, dealiasing mask applied."""
        return self.forward(u) * self.mask

    def derivative(self, v, order: int = 1):
        """The spectrum of the ``order``-th x-derivative."""
        raise NotImplementedError

    # ---- values at points ----------------------------------------------------------------------
    def interpolation_matrix(self, x_points) -> np.ndarray:
        """``A (P, modes)`` with ``u(x_p) = Re sum_m A[p, m] v[m]`` for a real state (the sum
        itself for a complex one)."""
        raise NotImplementedError

    def interpolate(self, v, x_query):
        """Values of spectra ``v (..., modes)`` at ``x_query`` (1-D, or the leading shape of
        ``v`` plus a point axis), JAX."""
        raise NotImplementedError

    # ---- amplitudes of samples (how many modes a noisy snapshot resolves) ----------------------
    @classmethod
    def amplitudes(cls, samples) -> np.ndarray:
        """The amplitude per wavenumber index 0, 1, ... of samples on ``nodes(domain, m)``."""
        raise NotImplementedError

    @classmethod
    def noise_amplitude(cls, sigma: float, m: int) -> float:
        """The RMS of :meth:`amplitudes` for white noise of standard deviation ``sigma`` on m samples."""
        raise NotImplementedError

    @classmethod
    def coefficients_for(cls, wavenumbers: int) -> int:
        """The field coefficients that hold every wavenumber index up to ``wavenumbers``."""
        raise NotImplementedError

    # ---- boundary conditions -------------------------------------------------------------------
    def closure(self, conditions, components: int | None = None):
        """The equation's boundary conditions applied to its operator, nonlinear term and initial
        state (see ``chebyshev.Closure``), or ``None`` for a basis that holds its conditions
        itself (periodic; sine: u = 0 at both ends). A system of ``components`` fields gives one
        ``(left, right)`` pair per component."""
        if conditions is not None:
            raise ValueError(f"the {self.name} basis holds its own boundary conditions ({self.boundary}); an "
                             "equation on it gives none")
        return None

    # ---- fields as unknowns --------------------------------------------------------------------
    @classmethod
    def field(cls, modes: int, domain: tuple[float, float]):
        """A field unknown with ``modes`` coefficients in this basis (see ``FourierField``)."""
        raise NotImplementedError
