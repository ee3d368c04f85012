"""The whole posterior: Markov chain Monte Carlo over a problem's unknowns, the forward map a
black box.

Where the misfit is far from quadratic (few points, much noise, a parameter the data barely
bound) an interval from one fit says little; the posterior itself says more. ``sample`` runs
emcee's affine-invariant ensemble sampler (Goodman & Weare) over the unknowns in the fit's own
coordinates (log p for a positive parameter), started around a fit. Its walkers are one batch:
each step solves them together, as a global scan does.

The likelihood is Gaussian in the problem's weighted residuals (the robust loss's, for a robust
problem; a fitted field's smoothness penalty acts as its Gaussian prior): with sigma in the file
the residuals are already in units of sigma; without it, sigma is the fit's estimate from its
residuals, held fixed (say so with ``sigma=``). The prior is flat in the fit's coordinates unless
given: log-uniform for a positive parameter, uniform otherwise (improper without bounds: the
likelihood must then bound the posterior), or per parameter ``("normal", mean, sd)``,
``("uniform", low, high)``, ``("log-uniform", low, high)``, in the parameter's own units.

Diagnostics: the integrated autocorrelation time of each unknown (emcee's estimate), the
effective sample size (kept draws over that time), the split R-hat over the walkers, and a
verdict: ``mixed`` when every R-hat is below ``RHAT_LIMIT``, every effective sample size at least
``MIN_ESS`` and the chain at least ``TAU_MULTIPLE`` autocorrelation times long; otherwise the
verdict says which failed, and the intervals are not to be trusted.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Mapping

import numpy as np

__all__ = ["MIN_ESS", "RHAT_LIMIT", "TAU_MULTIPLE", "SampleResult", "load_samples", "parse_prior", "sample",
           "save_samples"]

#: A chain has mixed when every unknown's split R-hat is below this ...
RHAT_LIMIT = 1.05
#: ... its effective sample size at least this ...
MIN_ESS = 200
#: ... and the chain (after burn-in) at least this many autocorrelation times long (emcee's advice: 50).
TAU_MULTIPLE = 50

PRIOR_KINDS = ("normal", "uniform", "log-uniform")


@dataclass
class SampleResult:
    """Draws from the posterior and how far to trust them.

    ``names``: the unknowns; ``samples`` (draws, d) in the parameters' own units, burn-in
    dropped, walkers interleaved; ``intervals`` {name: [low, high]} (central credible intervals at
    ``level``); ``mean``, ``std``, ``median``; ``tau`` (autocorrelation time, in steps), ``ess``,
    ``rhat`` per unknown; ``acceptance`` (mean over walkers); ``verdict`` ("mixed", or what
    failed) and ``mixed``; ``nfev`` solves, ``wall_time`` s; ``settings``: walkers, steps, burn,
    seed, level, sigma and the prior.
    """

    names: list
    samples: np.ndarray
    log_prob: np.ndarray
    intervals: dict
    mean: dict
    std: dict
    median: dict
    tau: dict
    ess: dict
    rhat: dict
    acceptance: float
    verdict: str
    mixed: bool
    nfev: int
    wall_time: float
    settings: dict = field(default_factory=dict)

    def summary(self) -> dict:
        out = asdict(self)
        out.pop("samples")
        out.pop("log_prob")
        out["draws"] = int(self.samples.shape[0])
        return out


def parse_prior(text: str) -> tuple[str, tuple]:
    """``"NAME=normal:MEAN:SD"``, ``"NAME=uniform:LOW:HIGH"`` or ``"NAME=log-uniform:LOW:HIGH"``
    (the CLI's --prior) -> ``(name, (kind, a, b))``; a clear ``ValueError`` otherwise."""
    name, sep, spec = text.partition("=")
    parts = spec.split(":")
    if not sep or not name.strip() or len(parts) != 3 or parts[0] not in PRIOR_KINDS:
        raise ValueError(f"a prior is NAME=KIND:A:B with KIND one of {', '.join(PRIOR_KINDS)}, got {text!r}")
    try:
        a, b = float(parts[1]), float(parts[2])
    except ValueError:
        raise ValueError(f"the prior {text!r} needs two numbers") from None
    return name.strip(), (parts[0], a, b)


def _check_prior(problem, prior: Mapping | None) -> dict:
    prior = dict(prior or {})
    for name, spec in prior.items():
        if name not in problem.unknowns:
            raise ValueError(f"a prior is given for {name!r}, which is not an unknown ({list(problem.unknowns)})")
        if not (isinstance(spec, (tuple, list)) and len(spec) == 3 and spec[0] in PRIOR_KINDS):
            raise ValueError(f"the prior of {name} must be (kind, a, b) with kind one of {PRIOR_KINDS}, got {spec!r}")
        kind, a, b = spec[0], float(spec[1]), float(spec[2])
        if not (np.isfinite(a) and np.isfinite(b)):
            raise ValueError(f"the prior of {name} needs finite numbers, got {spec!r}")
        if kind == "normal" and not b > 0:
            raise ValueError(f"the normal prior of {name} needs a positive standard deviation, got {b:g}")
        if kind != "normal" and not a < b:
            raise ValueError(f"the {kind} prior of {name} needs low < high, got ({a:g}, {b:g})")
        if kind == "log-uniform" and not a > 0:
            raise ValueError(f"the log-uniform prior of {name} needs a positive low end, got {a:g}")
        prior[name] = (kind, a, b)
    return prior


def _log_prior_fn(problem, prior: dict) -> Callable[[np.ndarray], np.ndarray]:
    """log prior density of a batch in the fit's coordinates z (the change of variables from
    the parameter's units included)."""
    index = {name: i for i, name in enumerate(problem.unknowns)}
    log_scaled = np.asarray(problem.log_scaled, dtype=bool)

    def log_prior(Z):
        out = np.zeros(Z.shape[0])
        for name, (kind, a, b) in prior.items():
            i = index[name]
            z = Z[:, i]
            p = np.exp(z) if log_scaled[i] else z
            jacobian = z if log_scaled[i] else 0.0  # dp/dz = p for p = e^z
            if kind == "normal":
                out += -0.5 * ((p - a) / b) ** 2 + jacobian
            elif kind == "uniform":
                out += np.where((p >= a) & (p <= b), jacobian, -np.inf)
            else:  # log-uniform: density 1/p, so flat in log p
                out += np.where((p >= a) & (p <= b), jacobian - np.log(np.abs(p) + 1e-300), -np.inf)
        lo, hi = problem.z_bounds()
        out[np.any((Z < lo) | (Z > hi), axis=1)] = -np.inf
        return out

    return log_prior


def _split_rhat(chain: np.ndarray) -> np.ndarray:
    """Split R-hat of each unknown, the walkers as chains: ``chain`` (steps, walkers, d)."""
    n = chain.shape[0] // 2
    if n < 2:
        return np.full(chain.shape[2], np.inf)
    halves = np.concatenate([chain[:n], chain[n: 2 * n]], axis=1)  # (n, 2 walkers, d)
    means = halves.mean(axis=0)
    within = halves.var(axis=0, ddof=1).mean(axis=0)
    between = n * means.var(axis=0, ddof=1)
    pooled = (n - 1) / n * within + between / n
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt(np.where(within > 0, pooled / within, np.inf))


def _start_ball(problem, z0: np.ndarray, result, walkers: int, rng) -> np.ndarray:
    """Walkers around the start: the Laplace standard deviations of the fit when it has them
    (a tenth of them: the ensemble expands), else 1e-3 in the fit's coordinates."""
    scale = np.full(z0.size, 1e-3)
    std = ((getattr(result, "uncertainty", None) or {}).get("std_z") or {})
    for i, name in enumerate(problem.unknowns):
        value = std.get(name)
        if value is not None and np.isfinite(value) and value > 0:
            scale[i] = 0.1 * value
    return z0 + scale * rng.standard_normal((walkers, z0.size))


def sample(problem, start, *, walkers: int | None = None, steps: int = 2000, burn: int | None = None,
           prior: Mapping | None = None, sigma: float | None = None, seed: int = 0, level: float = 0.95,
           progress: Callable[[int, int], None] | None = None) -> SampleResult:
    """Draw from the posterior of ``problem``'s unknowns.

    Parameters
    ----------
    problem : an ``InverseProblem`` (any forward map: the solver, or a black box).
    start : a ``FitResult`` (its estimate and, for the walkers' spread, its Laplace standard
        deviations; its sigma when the file has none) or a dict of starting values.
    walkers : ensemble size (default max(16, 4 d), even); ``steps`` per walker; ``burn``: steps
        dropped from the start (default a quarter).
    prior : ``{name: (kind, a, b)}``, kind "normal" (mean, sd), "uniform" or "log-uniform" (low,
        high), in the parameter's units; the others flat in the fit's coordinates.
    sigma : the noise level when the file has none (default: the fit's estimate from its
        residuals; required when ``start`` is not a fit).
    seed, level : the sampler's seed; the credible intervals' probability.
    progress : called as ``progress(step, steps)``.
    """
    import emcee

    t0 = time.perf_counter()
    names = list(problem.unknowns)
    d = len(names)
    if isinstance(steps, bool) or int(steps) != steps or steps < 20:
        raise ValueError(f"steps must be an integer >= 20, got {steps!r}")
    steps = int(steps)
    burn = steps // 4 if burn is None else int(burn)
    if not 0 <= burn < steps - 10:
        raise ValueError(f"burn must be in [0, steps - 10), got {burn}")
    walkers = max(16, 4 * d) if walkers is None else int(walkers)
    if walkers < 2 * d or walkers % 2:
        raise ValueError(f"walkers must be even and at least 2 x the unknowns ({2 * d}), got {walkers}")
    if not 0 < level < 1:
        raise ValueError(f"level must be a probability in (0, 1), e.g. 0.95, got {level!r}")
    prior = _check_prior(problem, prior)
    result = start if hasattr(start, "params") else None
    params = dict(result.params if result is not None else start)
    z0 = problem.to_z({**problem.default_init(), **problem.expand(params)})
    scale = 1.0
    if problem.observations.sigma is None:
        if sigma is None:
            fitted = ((getattr(result, "uncertainty", None) or {}).get("sigma") or {}).get("value")
            if fitted is None:
                raise ValueError("the data carry no sigma: give sigma=, or start from a fit whose intervals estimated it")
            sigma = float(fitted)
        if not (np.isfinite(sigma) and sigma > 0):
            raise ValueError(f"sigma must be a positive number, got {sigma!r}")
        scale = float(sigma)
    elif sigma is not None:
        raise ValueError("the file gives sigma: the residuals are already in its units (leave sigma= out)")
    log_prior = _log_prior_fn(problem, prior)
    calls = [0]

    def log_prob(Z):
        Z = np.atleast_2d(Z)
        out = log_prior(Z)
        inside = np.isfinite(out)
        if np.any(inside):
            R, finite = problem.residuals(Z[inside])
            calls[0] += int(inside.sum())
            loglike = -0.5 * np.sum(np.asarray(R, dtype=float) ** 2, axis=1) / scale**2
            loglike[~np.asarray(finite)] = -np.inf
            out[inside] += loglike
        return out

    rng = np.random.default_rng(seed)
    ball = _start_ball(problem, z0, result, walkers, rng)
    sampler = emcee.EnsembleSampler(walkers, d, log_prob, vectorize=True)
    sampler.random_state = np.random.RandomState(seed).get_state()  # the moves' draws: seeded
    if not np.all(np.isfinite(log_prob(ball))):
        raise ValueError("the posterior is zero (or the solver fails) at some starting walkers: start from a fit "
                         "inside the prior's support")
    for i, _ in enumerate(sampler.sample(ball, iterations=steps)):
        if progress is not None and (i + 1) % max(1, steps // 100) == 0:
            progress(i + 1, steps)
    chain = sampler.get_chain(discard=burn)  # (kept, walkers, d)
    kept = chain.shape[0]
    tau = np.asarray(sampler.get_autocorr_time(discard=burn, quiet=True, tol=0), dtype=float)
    ess = kept * walkers / np.maximum(tau, 1.0)
    rhat = _split_rhat(chain)
    z = chain.reshape(-1, d)
    log_scaled = np.asarray(problem.log_scaled, dtype=bool)
    p = np.where(log_scaled, np.exp(z), z)
    q = [(1 - level) / 2, (1 + level) / 2]
    problems = []
    if np.any(rhat >= RHAT_LIMIT):
        problems.append(f"R-hat up to {np.max(rhat):.3g} (limit {RHAT_LIMIT})")
    if np.any(ess < MIN_ESS):
        problems.append(f"effective sample size down to {np.min(ess):.0f} (at least {MIN_ESS})")
    if np.any(kept < TAU_MULTIPLE * tau):
        problems.append(f"the chain is {kept / np.max(tau):.0f} autocorrelation times long (at least "
                        f"{TAU_MULTIPLE}): run more steps")
    verdict = "mixed" if not problems else "NOT MIXED: " + "; ".join(problems)
    return SampleResult(
        names=names, samples=p, log_prob=sampler.get_log_prob(discard=burn).reshape(-1),
        intervals={n: [float(v) for v in np.quantile(p[:, i], q)] for i, n in enumerate(names)},
        mean={n: float(np.mean(p[:, i])) for i, n in enumerate(names)},
        std={n: float(np.std(p[:, i], ddof=1)) for i, n in enumerate(names)},
        median={n: float(np.median(p[:, i])) for i, n in enumerate(names)},
        tau={n: float(tau[i]) for i, n in enumerate(names)}, ess={n: float(ess[i]) for i, n in enumerate(names)},
        rhat={n: float(rhat[i]) for i, n in enumerate(names)},
        acceptance=float(np.mean(sampler.acceptance_fraction)), verdict=verdict, mixed=not problems,
        nfev=calls[0], wall_time=time.perf_counter() - t0,
        settings={"walkers": walkers, "steps": steps, "burn": burn, "seed": seed, "level": level,
                  "sigma": None if problem.observations.sigma is not None else scale,
                  "sigma_source": "file" if problem.observations.sigma is not None else
                  ("given" if result is None or sigma is not None and scale != sigma else "fit"),
                  "prior": {k: list(v) for k, v in prior.items()}, "equation": problem.equation_class.name,
                  "start": {n: float(v) for n, v in zip(names, np.where(log_scaled, np.exp(z0), z0))}})


FORMAT = "pdeinv-samples"


def save_samples(samples: SampleResult, path, *, overwrite: bool = False):
    """Write the draws and their diagnostics to an HDF5 file (atomically)."""
    import h5py

    from .io.h5 import atomic_path

    with atomic_path(path, overwrite=overwrite) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["format"] = FORMAT
        f.attrs["version"] = 1
        f.attrs["summary"] = json.dumps(samples.summary(), default=float)
        f.create_dataset("samples", data=samples.samples)
        f.create_dataset("log_prob", data=samples.log_prob)
    return path


def load_samples(path) -> SampleResult:
    """Read a file written by ``save_samples``."""
    import h5py

    with h5py.File(path, "r") as f:
        if f.attrs.get("format") != FORMAT:
            raise ValueError(f"{path}: not a pdeinv samples file")
        summary = json.loads(f.attrs["summary"])
        draws = np.asarray(f["samples"][()])
        log_prob = np.asarray(f["log_prob"][()])
    summary.pop("draws", None)
    return SampleResult(samples=draws, log_prob=log_prob, **summary)
