"""Does the fit explain its data? Goodness of fit at the estimate, from its residuals.

A stationary point of the misfit is not an answer when the model cannot describe the data (a
wrong initial condition, a missing term, a clock offset, the wrong equation): the parameters
bend to absorb what the model lacks, and intervals computed there miss the truth. The tests:

- **misfit** (sigma known): chi-square of the weighted residuals against its degrees of
  freedom (observations minus unknowns); for a robust loss, the residuals' robust scale
  (1.4826 x their median absolute value) against 1, so outliers do not count.
- **level** (sigma not known): the residuals' RMS against the data's own; more than half of it
  means the model explains little of the data.
- **structure** (always): iid noise leaves no pattern, a model error does. Neighbouring residuals
  correlated along t and along x (lag-1, points ordered by t then x, and by x then t); a trend of
  their size with t (Spearman); a drift of their sign with t; a nonzero mean (an offset).

Each test's p-value is compared with ``ALPHA / k`` (k the number of tests run: Bonferroni), so a
correctly specified fit is flagged in about ``ALPHA`` of the cases (measured on the calibration
sets of benchmarks/uncertainty.py). Without sigma, residuals at the solver's discretization level
(noise-free data) are smooth, and structure there is the grid's, not the model's: it is not held
against the fit; nor is it for a field fitted with a smoothness penalty (its pull on the field
leaves smooth residuals too).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

__all__ = ["ALPHA", "assess_goodness", "discretization_level", "raw_residuals"]

#: Family-wise level of the tests: the fraction of correctly specified fits called poor.
ALPHA = 1e-3

#: Without sigma: residuals above this fraction of the data's RMS mean the model explains little.
LEVEL_LIMIT = 0.5

#: Without sigma: residuals within this factor of the discretization error (the change of the
#: predictions on a grid twice as fine) are the grid's, not a model error.
DISCRETIZATION_FACTOR = 3.0

#: Without sigma and without a grid to refine (a black-box forward map): residuals below this
#: fraction of the data's RMS are at the forward map's precision.
PRECISION_LEVEL = 1e-6

#: Asymptotic variance of the MAD scale estimate of unit Gaussian noise, times the sample size.
MAD_VARIANCE = 1.3605

#: What each rejected test says, for people.
WORDS = {
    "serial_t": "neighbouring residuals are correlated along t",
    "serial_x": "neighbouring residuals are correlated along x",
    "trend": "the residuals {direction} with t",
    "drift": "the residuals drift with t",
    "mean": "the residuals have a nonzero mean (an offset: a sensor bias?)",
}


def raw_residuals(r, loss: str, scale: float | None) -> np.ndarray:
    """The weighted residuals (pred - data) / sigma behind residuals of a robust loss
    (``sign(r) c sqrt(rho((r / c)^2))``, see ``pdeinv.problems.inverse.robust_residuals``)."""
    r = np.asarray(r, dtype=float)
    if loss == "linear":
        return r
    rho = (r / scale) ** 2
    s = np.where(rho <= 1, rho, ((rho + 1) / 2) ** 2) if loss == "huber" else np.expm1(rho)
    return np.sign(r) * scale * np.sqrt(s)


def _normal_two_sided(z: float) -> float:
    from scipy import special

    return float(2 * special.ndtr(-abs(z)))


def _lag_correlation(r: np.ndarray, order: np.ndarray) -> float:
    """Lag-1 correlation of the residuals taken in ``order`` (about N(0, 1/n) for iid noise)."""
    s = r[order] - np.mean(r)
    denominator = float(s @ s)
    return float(s[1:] @ s[:-1] / denominator) if denominator > 0 else 0.0


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import rankdata

    ra, rb = rankdata(a), rankdata(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denominator = float(np.sqrt((ra @ ra) * (rb @ rb)))
    return float(ra @ rb / denominator) if denominator > 0 else 0.0


def _structure_tests(r: np.ndarray, t: np.ndarray, x: np.ndarray) -> dict:
    """The structure tests (name -> statistic, p-value, and the trend's direction)."""
    from scipy import special

    n = r.size
    tests = {}
    varies_t, varies_x = np.ptp(t) > 0, np.ptp(x) > 0
    if varies_t:
        rho = _lag_correlation(r, np.lexsort((x, t)))
        tests["serial_t"] = {"statistic": rho, "p_value": float(special.ndtr(-rho * np.sqrt(n)))}
    if varies_x:
        rho = _lag_correlation(r, np.lexsort((t, x)))
        tests["serial_x"] = {"statistic": rho, "p_value": float(special.ndtr(-rho * np.sqrt(n)))}
    if varies_t:
        rho = _spearman(np.abs(r), t)
        tests["trend"] = {"statistic": rho, "p_value": _normal_two_sided(rho * np.sqrt(n - 1)),
                          "direction": "grow" if rho > 0 else "shrink"}
        rho = _spearman(r, t)
        tests["drift"] = {"statistic": rho, "p_value": _normal_two_sided(rho * np.sqrt(n - 1))}
    sd = float(np.std(r, ddof=1))
    z = float(np.mean(r) / (sd / np.sqrt(n))) if sd > 0 else 0.0
    tests["mean"] = {"statistic": z, "p_value": _normal_two_sided(z)}
    return tests


def assess_goodness(problem, r, *, n_params: int, discretization: Callable[[], float | None] | None = None,
                    alpha: float = ALPHA) -> dict:
    """Goodness of fit of ``problem`` at residuals ``r`` (the fit's residual vector: data rows,
    then any penalty rows), ``n_params`` unknowns fitted.

    ``discretization``: called only when needed (sigma unknown and structure found), returns the
    RMS change of the weighted predictions on a grid twice as fine (None when it cannot tell).

    Returns a JSON-able dict: ``verdict`` "good", "poor" or "untested"; ``reason`` (one line, for
    a poor fit); ``alpha``; ``sigma`` ("file" or "residuals"); ``misfit_ratio`` (RMS weighted
    residual over the noise level, sigma known; else None); ``level`` (residual RMS over the
    data's, sigma unknown); ``dof``; ``p_value`` (the smallest p-value times the number of
    tests, capped at 1: the family's); ``tests`` {name: {statistic, p_value, rejected}}.
    """
    obs = problem.observations
    P = obs.n_points
    parts = problem.parts
    data_rows = raw_residuals(np.asarray(r, dtype=float)[: parts * P], problem.loss, problem.loss_scale)
    t, x = np.tile(obs.t, parts), np.tile(obs.x, parts)
    n = data_rows.size
    known_sigma = obs.sigma is not None
    dof = n - int(n_params)
    out = {"verdict": "untested", "reason": "", "alpha": alpha, "sigma": "file" if known_sigma else "residuals",
           "misfit_ratio": None, "level": None, "dof": int(dof), "p_value": None, "tests": {}}
    if dof < 3 or not np.all(np.isfinite(data_rows)):
        out["reason"] = ("as many unknowns as observations: nothing is left to test the fit with" if dof < 3
                         else "the residuals are not finite")
        return out
    from scipy import special

    tests = {}
    rms = float(np.sqrt(np.mean(data_rows**2)))
    data_scale = float(np.sqrt(np.mean(np.abs(problem.data * problem.weights) ** 2)))
    if known_sigma:
        if problem.loss == "linear":
            chi2 = float(data_rows @ data_rows)
            out["misfit_ratio"] = float(np.sqrt(chi2 / dof))
            tests["misfit"] = {"statistic": chi2, "p_value": float(special.chdtrc(dof, chi2))}
        else:  # outliers are expected: the robust scale of the residuals against sigma = 1
            scale = 1.4826 * float(np.median(np.abs(data_rows)))
            out["misfit_ratio"] = scale
            z = (scale - 1.0) / np.sqrt(MAD_VARIANCE / n)
            tests["misfit"] = {"statistic": scale, "p_value": float(special.ndtr(-z))}
    else:
        out["level"] = rms / data_scale if data_scale > 0 else 0.0
    at_precision = not known_sigma and rms <= PRECISION_LEVEL * data_scale
    # Without sigma, a smoothness penalty's pull on a field leaves smooth residuals of its own
    # (noise-free data fitted with a penalty): structure cannot tell a model error from it.
    penalized = not known_sigma and getattr(problem, "field", None) is not None and problem.regularization > 0
    if penalized:
        out["note"] = "structure not tested: without sigma, a penalized field's residuals carry the penalty's pull"
    structure = {} if at_precision or penalized else _structure_tests(data_rows, t, x)
    tests.update(structure)
    k = max(len(tests), 1)
    for test in tests.values():
        test["rejected"] = bool(test["p_value"] < alpha / k)
    out["tests"] = tests
    out["p_value"] = min(1.0, k * min((test["p_value"] for test in tests.values()), default=1.0))
    reasons = []
    if "misfit" in tests and tests["misfit"]["rejected"]:
        reasons.append(f"the misfit is {out['misfit_ratio']:.2g}x the noise level")
    if out["level"] is not None and out["level"] > LEVEL_LIMIT:
        reasons.append(f"the residuals are {100 * out['level']:.0f} % of the data's own scale")
    found = [name for name in structure if tests[name]["rejected"]]
    if found and not known_sigma and not reasons and discretization is not None:
        level = discretization()
        if level is not None and rms <= DISCRETIZATION_FACTOR * level:
            out["discretization"] = float(level)
            found = []  # the grid's own error is smooth: structure at its level is not the model's
    for name in found:
        reasons.append(WORDS[name].format(direction=tests[name].get("direction", "")))
    if reasons:
        out["verdict"] = "poor"
        outliers = _outliers(data_rows) if problem.loss == "linear" else 0
        if outliers:  # a few residuals far out, the rest at the noise: heavy tails, not a model error
            out["outliers"] = outliers
            hint = (f"{outliers} of {n} residuals lie beyond {OUTLIER_SIGMAS:g} robust sigmas and dominate the misfit: "
                    "outliers? try --loss cauchy (or huber)")
        elif "trend" in found or "drift" in found:
            hint = "a wrong initial condition, a missing term or a clock offset?"
        else:
            hint = "a wrong initial condition, a missing term, a clock offset or the wrong equation?"
        out["reason"] = "; ".join(reasons) + ": " + hint
    else:
        out["verdict"] = "good"
    return out


#: A residual beyond this many robust standard deviations (1.4826 x the median absolute
#: deviation) counts as an outlier for the hint of a poor fit.
OUTLIER_SIGMAS = 5.0


def _outliers(e: np.ndarray) -> int:
    """How many residuals are outliers when a few of them carry most of the misfit (at most a
    tenth of them beyond ``OUTLIER_SIGMAS`` robust sigmas, and without them the RMS falls at
    least 3-fold); else 0. Gaussian residuals give 0 (5 sigmas: 6e-7 per point)."""
    centre = float(np.median(e))
    scale = 1.4826 * float(np.median(np.abs(e - centre)))
    if not scale > 0:
        return 0
    far = np.abs(e - centre) > OUTLIER_SIGMAS * scale
    count = int(far.sum())
    if count == 0 or count > e.size // 10:
        return 0
    return count if np.sqrt(np.mean(e**2)) >= 3 * np.sqrt(np.mean(e[~far] ** 2)) else 0


def discretization_level(problem, z, r) -> float | None:
    """RMS change of the weighted residuals (data rows) at ``z`` on a grid twice as fine as
    ``problem``'s: the discretization error the residuals ``r`` carry. One solve, not counted as
    the fit's; None for a black-box forward map (no grid) or when the solve fails."""
    if problem.has_custom_forward:
        return None
    fine = problem.with_grid(2 * problem.equation.n, problem.equation.dt / 2)
    R, finite = fine.residuals(np.asarray(z, dtype=float)[None, :])
    if not finite[0]:
        return None
    rows = problem.parts * problem.observations.n_points
    return float(np.sqrt(np.mean((R[0][:rows] - np.asarray(r)[:rows]) ** 2)))
