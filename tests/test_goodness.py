"""A fit that does not explain its data is not a success: goodness of fit and the poor_fit status."""

import json
from types import SimpleNamespace

import numpy as np
import pytest
from click.testing import CliRunner

from pdeinv import InverseProblem, Observations, fit, save_observations, simulate
from pdeinv.cli import cli
from pdeinv.fit.goodness import assess_goodness, raw_residuals
from pdeinv.problems.inverse import robust_residuals


def _stub(t, x, sigma=True, loss="linear", scale=None, data=None):
    """What assess_goodness reads of a problem, for residuals drawn by the test itself."""
    obs = SimpleNamespace(t=t, x=x, n_points=t.size, sigma=np.ones(t.size) if sigma else None)
    data = np.ones(t.size) if data is None else data
    return SimpleNamespace(observations=obs, parts=1, loss=loss, loss_scale=scale, data=data,
                           weights=np.ones(t.size))


@pytest.mark.parametrize("sigma", [True, False])
def test_pure_noise_is_rarely_called_poor(sigma):
    # The level is a family-wise ALPHA; over 2000 draws of iid Gaussian residuals at 64 random
    # points the rate must stay well under the 1 % the fits may afford.
    rng = np.random.default_rng(0)
    t, x = rng.random(64), 2 * rng.random(64) - 1
    problem = _stub(t, x, sigma=sigma, data=10 * np.ones(64))
    flagged = sum(assess_goodness(problem, rng.standard_normal(64), n_params=1)["verdict"] == "poor"
                  for _ in range(2000))
    assert flagged / 2000 <= 0.005


def test_structure_is_found_and_named():
    rng = np.random.default_rng(1)
    t, x = rng.random(200), 2 * rng.random(200) - 1
    noise = rng.standard_normal(200)
    growing = assess_goodness(_stub(t, x, sigma=False, data=50 * np.ones(200)), noise * (0.2 + 3 * t), n_params=1)
    assert growing["verdict"] == "poor" and "the residuals grow with t" in growing["reason"]
    smooth = assess_goodness(_stub(t, x, sigma=False, data=50 * np.ones(200)), noise + 4 * np.sin(3 * x), n_params=1)
    assert smooth["verdict"] == "poor" and "correlated along x" in smooth["reason"]
    offset = assess_goodness(_stub(t, x), noise + 0.5, n_params=1)
    assert offset["verdict"] == "poor" and "nonzero mean" in offset["reason"]
    assert assess_goodness(_stub(t, x), noise, n_params=1)["verdict"] == "good"


def test_robust_residuals_are_undone_and_outliers_do_not_fail_a_robust_fit():
    r = np.linspace(-30, 30, 101)
    for loss, c in (("huber", 1.345), ("cauchy", 2.385)):
        assert np.allclose(raw_residuals(robust_residuals(r, loss, c), loss, c), r)
    rng = np.random.default_rng(2)
    t, x = rng.random(64), rng.random(64)
    raw = rng.standard_normal(64)
    raw[:3] += 25.0  # three outliers
    poor = assess_goodness(_stub(t, x), raw, n_params=1)  # least squares: chi-square fails
    assert poor["verdict"] == "poor" and poor["outliers"] == 3
    assert "3 of 64 residuals lie beyond 5 robust sigmas" in poor["reason"] and "--loss cauchy" in poor["reason"]
    # a model error spread over every point is not called outliers
    spread = assess_goodness(_stub(t, x), rng.standard_normal(64) + 3 * np.sin(6 * t), n_params=1)
    assert spread["verdict"] == "poor" and "outliers" not in spread and "cauchy" not in spread["reason"]
    robust = robust_residuals(raw, "cauchy", 2.385)
    assert assess_goodness(_stub(t, x, loss="cauchy", scale=2.385), robust, n_params=1)["verdict"] == "good"


@pytest.fixture(scope="module")
def kdv_noisy_first_row():
    """KdV, 64 points with 1 % noise (sigma in the file), and the same noise on the measured
    initial snapshot."""
    obs = simulate("kdv", points=64, layout="random", noise=0.01, seed=0)
    assert obs.u0_measured and obs.u0_sigma == obs.sigma[0]
    return obs


def test_a_noisy_initial_condition_taken_as_exact_is_a_poor_fit(kdv_noisy_first_row, tmp_path):
    problem = InverseProblem(kdv_noisy_first_row, u0="exact")
    assert "taken as exact, as asked" in problem.initial.reason
    result = fit(problem, {"lambda2": 0.003})
    assert result.status == "poor_fit" and not result.success
    assert "the misfit is" in result.message and "noise level" in result.message
    assert result.goodness["misfit_ratio"] > 5
    assert result.uncertainty["calibrated"] is False
    assert "not calibrated" in result.uncertainty["undetermined"][0]
    path = tmp_path / "obs.h5"
    save_observations(kdv_noisy_first_row, path)
    run = CliRunner().invoke(cli, ["fit", "kdv", "--obs", str(path), "--init", "lambda2=0.003", "--u0", "exact",
                                   "-o", str(tmp_path / "fit.h5"), "--quiet"])
    assert run.exit_code == 1, run.output
    assert "initial condition: the measured first snapshot (noise" in run.output
    assert "POOR FIT" in run.output and "goodness of fit: poor" in run.output
    info = CliRunner().invoke(cli, ["info", str(tmp_path / "fit.h5"), "--json"])
    assert json.loads(info.output)["goodness"]["verdict"] == "poor"
    plot = CliRunner().invoke(cli, ["plot", str(tmp_path / "fit.h5"), "--kind", "residuals", "-o",
                                    str(tmp_path / "r.png")])
    assert plot.exit_code == 0 and (tmp_path / "r.png").stat().st_size > 0


@pytest.mark.parametrize("sigma", [True, False])
def test_data_of_one_equation_fitted_with_another_is_a_poor_fit(sigma):
    burgers = simulate("burgers", points=64, layout="random", noise=0.01, seed=0)
    as_kdv = Observations("kdv", burgers.t, burgers.x, burgers.u, u0=burgers.u0, domain=burgers.domain,
                          t_span=burgers.t_span, sigma=burgers.sigma if sigma else None)
    result = fit(InverseProblem(as_kdv), {"lambda2": 0.003})
    assert result.status == "poor_fit", result.message
    assert "grow with t" in result.goodness["reason"]


@pytest.mark.parametrize("seed", range(3))
def test_correct_noisy_fits_are_not_flagged(seed):
    obs = simulate("burgers", points=64, layout="random", noise=0.01, seed=seed)
    result = fit(InverseProblem(obs), {"nu": 0.01})
    assert result.status == "converged", result.message
    assert result.goodness["verdict"] == "good" and result.goodness["misfit_ratio"] < 1.5


def test_noise_free_fits_on_a_coarse_grid_are_not_flagged():
    # 16 x 16 points of Burgers fitted on n = 48 without refinement: the residuals are the
    # grid's own smooth error (structured), not a model error.
    obs = simulate("burgers", {"nu": 0.02}, grid=(16, 16), n=256)
    result = fit(InverseProblem(obs, n=48), {"nu": 0.05}, auto_grid=False)
    assert result.status == "converged", result.message
    assert result.goodness["verdict"] == "good"
    assert any(test["rejected"] for test in result.goodness["tests"].values())  # structure there is
    assert result.goodness["discretization"] > 0


def test_fit_many_table_has_the_goodness_p_value(tmp_path):
    obs = simulate("burgers", {"nu": 0.05}, points=16, n=128, noise=0.01)
    path = tmp_path / "a.h5"
    save_observations(obs, path)
    run = CliRunner().invoke(cli, ["fit-many", "burgers", str(path), "-o", str(tmp_path / "fits.csv"), "--quiet",
                                   "--n", "64", "--no-auto-grid"])
    assert run.exit_code == 0, run.output
    header, row = (tmp_path / "fits.csv").read_text().splitlines()[:2]
    column = header.split(",").index("fit_p_value")
    assert 0 < float(row.split(",")[column]) <= 1

