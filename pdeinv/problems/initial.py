"""The initial condition: known, measured or missing, and what a fit does with it.

A first snapshot is a measurement like every other, with the same noise. Taken as the exact
initial condition, its noise drives the solution and the fit bends the parameters to absorb it,
with intervals that assume it was exact (KdV from 64 points and a 1 % noisy snapshot: lambda2
off by 20 %, the misfit 34x the noise). So, by default (``u0="auto"``):

- a **measured snapshot** (``Observations.u0_measured``) whose noise is above the solver's
  discretization level becomes data: its samples join the observations at t0 (with their
  sigma), and u0 is estimated jointly with the parameters as a Fourier field, started from the
  snapshot's projection, with as many modes as the snapshot resolves above its noise;
- **no snapshot** (``Observations.u0`` None): u0 is estimated from the later data, its
  smoothness chosen by the regularization rules;
- an **exact** u0 (an expression, a simulation's truth) or a snapshot without visible noise is
  used as it is.

``u0="exact"`` or ``"fit"`` says what is known instead; a callable or samples give the initial
condition itself. The decision and its reason are in ``InitialCondition`` (a fit's settings).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..discretizations import FourierBasis

__all__ = ["U0_CHOICES", "InitialCondition", "decide_initial_condition", "early_projection", "given_initial_condition",
           "snapshot_modes", "snapshot_noise", "with_snapshot_rows"]

#: What a user can say about the initial condition (besides giving it as a function or samples).
U0_CHOICES = ("auto", "exact", "fit")

#: A snapshot whose noise is below this fraction of its RMS is as good as exact: the solver's own
#: discretization error on the default grids is ~1e-8 ... 1e-6 of the field.
NOISE_FLOOR = 1e-6

#: Fewest and most Fourier modes of an initial condition estimated with a snapshot.
MIN_MODES, MAX_MODES = 8, 128


def snapshot_noise(samples) -> float | None:
    """The noise standard deviation of periodic samples, from their median absolute fourth and
    sixth differences: white noise of standard deviation sigma makes them 0.6745 sqrt(70) sigma
    and 0.6745 sqrt(924) sigma, a field the samples resolve leaves them small (the smaller of the
    two estimates is kept: a smooth field's share falls with the order, noise's does not), and a
    kink or a front touches a few differences only, which the median ignores. None for complex
    or too few samples."""
    u = np.asarray(samples)
    if u.ndim == 2:  # a system's components: the noisiest row
        rows = [snapshot_noise(row) for row in u]
        return None if any(r is None for r in rows) else max(rows)
    if np.iscomplexobj(u) or u.size < 16:
        return None
    estimates = []
    for order, variance in ((4, 70.0), (6, 924.0)):
        difference = np.diff(np.concatenate([u, u[:order]]), n=order)  # periodic: wraps around
        estimates.append(float(np.median(np.abs(difference)) / (0.6745 * np.sqrt(variance))))
    return min(estimates)


def snapshot_modes(samples, sigma: float, largest: int, basis=FourierBasis) -> int:
    """Modes of ``basis`` to estimate a noisy snapshot's field with: wavenumbers up to twice the
    last one whose amplitude stands clear of the noise (three times the noise's RMS amplitude,
    Fourier: 2 sigma / sqrt(m) per pair, which noise alone passes once in ~8000), the doubling
    for the tail that the noise hides; between ``MIN_MODES`` and ``largest``."""
    u = np.asarray(samples, dtype=float)
    amplitudes = basis.amplitudes(u)[1: u.size // 4 + 1]  # k = 1 ... m/4
    above = np.nonzero(amplitudes > 3 * basis.noise_amplitude(sigma, u.size))[0]
    last = int(above[-1]) + 1 if above.size else 1
    modes = basis.coefficients_for(2 * last)
    largest -= largest % 2 if basis.even_field_modes else 0
    return int(min(max(modes, MIN_MODES), largest))


@dataclass(frozen=True)
class InitialCondition:
    """How a problem treats its initial condition: ``mode`` "exact" or "fit"; ``reason`` in
    words; ``source`` "given" (an expression or samples), "file" (an exact u0 in the file),
    "snapshot" (a measured first snapshot) or "none" (no snapshot); ``modes`` of the fitted
    field; ``noise`` of the snapshot and where it comes from (``noise_source`` "file",
    "estimated" or "later points"); ``rows``: snapshot samples added to the data."""

    mode: str
    reason: str
    source: str
    modes: int | None = None
    noise: float | None = None
    noise_source: str | None = None
    rows: int = 0

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def _snapshot_sigma(obs) -> tuple[float | None, str | None]:
    """The snapshot's noise and where it comes from."""
    if obs.u0_sigma is not None:
        return obs.u0_sigma, "file"
    estimate = snapshot_noise(obs.u0)
    if estimate is not None:
        return estimate, "estimated"
    return None, None


def decide_initial_condition(obs, choice: str, *, fits_other_field: str | None, complex_state: bool,
                             black_box: bool, largest_modes: int, system: bool = False) -> InitialCondition:
    """What to do with ``obs``'s initial condition for ``choice`` ("auto", "exact", "fit", or
    "given": the user's own, exact); a clear ``ValueError`` when the choice cannot be honoured."""
    if choice == "given":
        return InitialCondition("exact", f"given: {obs.u0_description} (exact)", "given")
    if choice not in U0_CHOICES:
        raise ValueError(f"u0 must be one of {U0_CHOICES}, a function of x or samples, got {choice!r}")
    source = "none" if obs.u0 is None else ("snapshot" if obs.u0_measured else "file")
    sigma, sigma_source = _snapshot_sigma(obs) if source == "snapshot" else (None, None)
    blocked = None
    if black_box:
        blocked = "a black-box forward map computes from its own initial condition"
    elif complex_state:
        blocked = "a complex initial condition cannot be fitted yet"
    elif system:
        blocked = "the initial condition of a system of several components cannot be fitted yet"
    elif fits_other_field is not None:
        blocked = f"one field unknown at a time ({fits_other_field} is fitted)"
    if choice == "fit":
        if blocked:
            raise ValueError(f"the initial condition cannot be fitted here: {blocked}")
        return _fitted(obs, source, sigma, sigma_source, largest_modes, "asked for (u0=fit)")
    if choice == "exact" or (choice == "auto" and source == "file"):
        if obs.u0 is None:
            raise ValueError("the data hold no initial condition (no snapshot at t0): fit it (u0='fit', CLI --u0 fit) "
                             "or give it (a function of x, CLI --u0 EXPR)")
        if source == "snapshot":
            said = f" (noise {sigma:.3g}, {sigma_source})" if sigma is not None else ""
            return InitialCondition("exact", f"the measured first snapshot{said} is taken as exact, as asked: its "
                                    "uncertainty is left out of the intervals", source, noise=sigma,
                                    noise_source=sigma_source)
        return InitialCondition("exact", "the file's initial condition is exact", source)
    # auto, with a snapshot or without one
    if source == "none":
        if blocked:
            raise ValueError(f"the data hold no initial condition and it cannot be fitted here ({blocked}): give it "
                             "(a function of x, CLI --u0 EXPR)")
        return _fitted(obs, source, None, None, largest_modes, "the data hold no snapshot at t0")
    scale = float(np.sqrt(np.mean(np.abs(obs.u0) ** 2))) or 1.0
    if sigma is None or sigma <= NOISE_FLOOR * scale:
        if sigma is None:
            level = ("the noise of a complex snapshot is not estimated yet" if complex_state
                     else "its noise cannot be estimated from so few samples")
        else:
            level = f"its noise {sigma:.2g} is negligible"
        return InitialCondition("exact", f"the measured first snapshot is taken as exact: {level}", source,
                                noise=sigma, noise_source=sigma_source)
    if blocked:
        return InitialCondition("exact", f"ASSUMED EXACT although the first snapshot is measured with noise "
                                f"{sigma:.3g} ({sigma_source}): {blocked}; the intervals leave its uncertainty out and "
                                "may miss the truth", source, noise=sigma, noise_source=sigma_source)
    return _fitted(obs, source, sigma, sigma_source, largest_modes,
                   f"the first snapshot is a measurement with noise {sigma:.3g} ({sigma_source})")


def _fitted(obs, source, sigma, sigma_source, largest_modes, why) -> InitialCondition:
    if source == "snapshot":
        if sigma is None:  # asked for: the noise is what the later points say, or unknown
            sigma_source = "later points" if obs.sigma is not None else None
            sigma = float(np.median(obs.sigma)) if obs.sigma is not None else None
        modes = snapshot_modes(obs.u0, sigma if sigma else 1e-3 * float(np.std(obs.u0)), largest_modes,
                               obs.equation_class.basis_type)
        return InitialCondition("fit", f"u0 fitted with the parameters: {why}; its {obs.u0.size} samples are data at "
                                f"t0", source, modes=modes, noise=sigma, noise_source=sigma_source, rows=int(obs.u0.size))
    return InitialCondition("fit", f"u0 fitted with the parameters: {why}", source)


def with_snapshot_rows(obs, initial: InitialCondition):
    """``obs`` with the snapshot's samples as observations at t0 (sigma: the snapshot's noise
    when the later points carry sigma; none when they do not, one level then fits all)."""
    a, b = obs.domain
    m = obs.u0.size
    x0 = obs.equation_class.basis_type.nodes((a, b), m)
    sigma = None
    if obs.sigma is not None:
        sigma = np.concatenate([np.full(m, initial.noise if initial.noise else float(np.median(obs.sigma))), obs.sigma])
    return dataclasses.replace(
        obs, t=np.concatenate([np.full(m, obs.t_span[0]), obs.t]), x=np.concatenate([x0, obs.x]),
        u=np.concatenate([obs.u0, obs.u]), sigma=sigma, grid_shape=None)


#: Samples of an initial condition given as a function of x.
GIVEN_SAMPLES = 1024


def given_initial_condition(obs, u0):
    """``obs`` with an initial condition the user gives (a function of x, or samples of one
    period), exact; unchanged for one of ``U0_CHOICES``."""
    if isinstance(u0, str):
        if u0 not in U0_CHOICES:
            raise ValueError(f"u0 must be one of {U0_CHOICES}, a function of x or samples, got {u0!r}")
        return obs
    a, b = obs.domain
    rows = obs.equation_class.components
    if callable(u0):
        x = obs.equation_class.basis_type.nodes((a, b), GIVEN_SAMPLES)
        try:
            samples = np.broadcast_to(np.asarray(u0(x)), (len(rows),) * bool(rows) + x.shape)
        except Exception as err:  # a user's function may fail anywhere
            raise ValueError(f"the given u0 could not be evaluated on x in [{a:g}, {b:g}): {err}") from None
        description = str(getattr(u0, "expression", "given function"))
    else:
        samples, description = np.asarray(u0), "given samples"
    if rows and (samples.ndim != 2 or samples.shape[0] != len(rows)):
        raise ValueError(f"the given u0 of the system {obs.equation} must give a row per component ({', '.join(rows)}), "
                         f"got shape {samples.shape}")
    if samples.shape[-1] < 4 or samples.ndim != 1 + bool(rows) or not np.all(np.isfinite(samples)):
        raise ValueError(f"the given u0 must give finite samples of one period (at least 4), got shape {samples.shape}")
    return dataclasses.replace(obs, u0=np.array(samples), u0_measured=False, u0_sigma=None, u0_description=description)


def early_projection(obs, field, ridge: float = 1e-3) -> np.ndarray:
    """Coefficients of a u0 field fitted to the earliest observations as if they were taken at
    t0 (the start of a fit whose data hold no snapshot): the earliest quarter of the points (at
    least two per coefficient), least squares with a small curvature penalty."""
    t = np.asarray(obs.t, dtype=float)
    count = min(t.size, max(2 * field.modes, t.size // 4))
    early = np.argsort(t, kind="stable")[:count]
    B = field.basis_at(obs.x[early])
    values = np.real(obs.u[early])
    scale = ridge * float(np.sum(B**2)) / field.modes
    penalty = np.sqrt(scale) * field.wavenumber.astype(float) ** 2
    A = np.concatenate([B, np.diag(penalty)])
    return np.linalg.lstsq(A, np.concatenate([values, np.zeros(field.modes)]), rcond=None)[0]
