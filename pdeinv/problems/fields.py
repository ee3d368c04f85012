"""Fields as unknowns: a periodic function parameterized by its first Fourier modes."""

from __future__ import annotations

import numpy as np

from .._jax import jnp

__all__ = ["FourierField"]


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


def field_unknowns(equation_class) -> dict[str, tuple[str, str | None]]:
    """The field unknowns of an equation: name -> (prefix of its coefficient names, the
    equation parameter it replaces or None).

    ``u0`` is the initial condition (coefficients ``u0[j]``). Each parameter ``P`` the
    equation lets vary in x gives ``P(x)``: through log P (coefficients ``logP[j]``) when the
    equation declares P positive, so it stays positive, else P itself (``P[j]``).
    """
    table: dict[str, tuple[str, str | None]] = {"u0": ("u0", None)}
    for param in equation_class.field_params:
        table[f"{param}(x)"] = (f"log{param}" if param in equation_class.positive else param, param)
    return table


def _is_log(name: str, equation_class) -> bool:
    table = field_unknowns(equation_class)
    if name not in table:
        raise ValueError(f"{name!r} is not a field unknown of {equation_class.name}; fields: {sorted(table)}")
    prefix, param = table[name]
    return param is not None and prefix != param


def split_field(params: dict, equation_class=None) -> tuple[str | None, np.ndarray | None, dict]:
    """Separate field coefficients (``u0[j]``, ``logD[j]``, ...) from scalar parameters.

    Returns ``(field name or None, coefficients in index order or None, scalar parameters)``.
    With ``equation_class`` the field names are that equation's; without, a prefix ``logP``
    is read as the field ``P(x)`` through its logarithm.
    """
    prefixes = {k[: k.index("[")] for k in params if k.endswith("]") and "[" in k}
    if not prefixes:
        return None, None, dict(params)
    if len(prefixes) > 1:
        raise ValueError(f"parameters hold coefficients of several fields: {sorted(prefixes)}")
    prefix = prefixes.pop()
    if equation_class is not None:
        names = [n for n, (p, _) in field_unknowns(equation_class).items() if p == prefix]
        if not names:
            raise ValueError(f"{prefix}[j] is not a field of {equation_class.name}")
        name = names[0]
    else:
        name = "u0" if prefix == "u0" else f"{prefix[3:] if prefix.startswith('log') else prefix}(x)"
    head = prefix + "["
    entries = sorted((int(k[len(head):-1]), v) for k, v in params.items() if k.startswith(head))
    scalars = {k: v for k, v in params.items() if not k.startswith(head)}
    return name, np.array([v for _, v in entries], dtype=float), scalars


def field_samples(name: str, coefficients, domain: tuple[float, float], n: int, equation_class=None) -> np.ndarray:
    """The field ``name`` with these coefficients on ``n`` points (a positive parameter's field
    is exp of its log-field; without ``equation_class`` every ``P(x)`` is taken as such)."""
    values = FourierField(len(coefficients), domain).samples(np.asarray(coefficients, dtype=float), n)
    log = name != "u0" if equation_class is None else _is_log(name, equation_class)
    return np.exp(values) if log else values


def true_field(observations, name: str, n: int) -> np.ndarray | None:
    """The field ``name`` that generated ``observations`` on ``n`` points, when known: the true u0
    stored with a noisy snapshot, or the file's exact u0; a true coefficient field stored with the
    data, or a constant one from a true scalar."""
    from ..solvers import resample_periodic

    parameter = field_unknowns(observations.equation_class).get(name, (None, None))[1]
    if parameter is None:  # u0: the stored truth behind a noisy snapshot, or an exact u0
        samples = observations.true_fields.get("u0")
        if samples is None and not observations.u0_measured:
            samples = observations.u0
    else:
        samples = observations.true_fields.get(parameter)
    if samples is None:
        scalar = (observations.true_params or {}).get(parameter)
        return None if scalar is None else np.full(n, float(scalar))
    return samples.copy() if samples.size == n else resample_periodic(np.asarray(samples), n)
