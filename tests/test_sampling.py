"""The posterior by MCMC: checked against a posterior known in closed form, then on a PDE."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from pdeinv import InverseProblem, Observations, fit, save_observations, simulate
from pdeinv.cli import cli
from pdeinv.sampling import load_samples, parse_prior, sample, save_samples

pytest.importorskip("emcee")


def _linear_problem(seed=0, points=40, sigma=0.05):
    """pred_j = lambda1 a_j + bias, through a black-box forward map: linear in the unknowns."""
    rng = np.random.default_rng(seed)
    t, x = rng.uniform(0.1, 1, points), rng.uniform(-1, 1, points)
    a = np.sin(np.pi * x) * t
    u = 0.8 * a + 0.1 + sigma * rng.standard_normal(points)
    obs = Observations("burgers", t, x, u, u0=-np.sin(np.pi * np.linspace(-1, 1, 64, endpoint=False)),
                       sigma=np.full(points, sigma), fixed_params={"nu": 0.01})
    return InverseProblem(obs, ["lambda1", "bias"], forward=lambda p: p["lambda1"] * a), a, u, sigma


def test_a_gaussian_posterior_is_reproduced_within_monte_carlo_error(tmp_path):
    problem, a, u, sigma = _linear_problem()
    prior_mean, prior_sd = np.array([0.5, 0.0]), np.array([1.0, 0.1])
    prior = {"lambda1": ("normal", 0.5, 1.0), "bias": ("normal", 0.0, 0.1)}
    result = sample(problem, {"lambda1": 0.7, "bias": 0.0}, prior=prior, steps=3000, seed=1)
    assert result.mixed, result.verdict
    A = np.column_stack([a, np.ones(a.size)])
    cov = np.linalg.inv(A.T @ A / sigma**2 + np.diag(1 / prior_sd**2))
    mean = cov @ (A.T @ u / sigma**2 + prior_mean / prior_sd**2)
    draws = result.samples
    ess = np.array([result.ess[n] for n in result.names])
    sd = np.sqrt(np.diag(cov))
    assert np.all(np.abs(draws.mean(axis=0) - mean) < 4 * sd / np.sqrt(ess)), (draws.mean(axis=0), mean)
    assert np.all(np.abs(draws.std(axis=0) / sd - 1) < 4 / np.sqrt(2 * ess)), (draws.std(axis=0), sd)
    rho = cov[0, 1] / (sd[0] * sd[1])
    assert abs(np.corrcoef(draws.T)[0, 1] - rho) < 4 / np.sqrt(ess.min())
    z = 1.959964  # the 95 % credible interval of a Gaussian: mean +- 1.96 sd
    for i, name in enumerate(result.names):
        low, high = result.intervals[name]
        # Monte Carlo error of a 2.5 % quantile: sqrt(q (1 - q) / ess) / density there (0.0584 / sd)
        tolerance = 4 * np.sqrt(0.025 * 0.975 / ess[i]) / 0.0584 * sd[i]
        assert abs(low - (mean[i] - z * sd[i])) < tolerance and abs(high - (mean[i] + z * sd[i])) < tolerance
    import matplotlib

    matplotlib.use("Agg")
    from pdeinv.plotting import plot_posterior

    fig = plot_posterior(result)  # a corner plot: 2 histograms, 1 pair, 1 empty panel
    hists = [ax for ax in fig.axes if ax.patches and ax.axison]
    assert len(fig.axes) == 4 and len(hists) == 2 and sum(not ax.axison for ax in fig.axes) == 1
    assert hists[0].get_title().startswith(f"lambda1 = {result.median['lambda1']:.4g}")


def test_a_short_chain_is_not_called_mixed_and_bad_input_is_refused():
    problem, *_ = _linear_problem()
    short = sample(problem, {"lambda1": 0.7, "bias": 0.0}, steps=40, seed=0)
    assert not short.mixed and short.verdict.startswith("NOT MIXED") and "run more steps" in short.verdict
    with pytest.raises(ValueError, match="which is not an unknown"):
        sample(problem, {"lambda1": 0.7, "bias": 0.0}, prior={"nu": ("normal", 0, 1)})
    with pytest.raises(ValueError, match="positive standard deviation"):
        sample(problem, {"lambda1": 0.7, "bias": 0.0}, prior={"bias": ("normal", 0, 0)})
    with pytest.raises(ValueError, match="walkers must be even"):
        sample(problem, {"lambda1": 0.7, "bias": 0.0}, walkers=3)
    with pytest.raises(ValueError, match="inside the prior's support"):
        sample(problem, {"lambda1": 0.7, "bias": 0.0}, prior={"lambda1": ("uniform", 2, 3)})
    assert parse_prior("nu=log-uniform:1e-4:1e-1") == ("nu", ("log-uniform", 1e-4, 0.1))
    with pytest.raises(ValueError, match="NAME=KIND:A:B"):
        parse_prior("nu=gamma:1:2")


@pytest.mark.slow
def test_burgers_posterior_from_a_fit_agrees_with_its_interval_and_round_trips(tmp_path):
    obs = simulate("burgers", {"nu": 0.05}, points=16, n=128, dt=5e-4, noise=0.02, seed=3, snapshot="exact")
    problem = InverseProblem(obs, ["nu"], n=64, dt=2e-3)
    result = fit(problem, {"nu": 0.1}, auto_grid=False)
    draws = sample(problem, result, steps=1600, seed=0)
    assert draws.mixed, draws.verdict
    low, high = draws.intervals["nu"]
    laplace_low, laplace_high = result.intervals["nu"]
    assert low < 0.05 < high  # covers the truth (this data set; calibration is a benchmark's job)
    # nearly Gaussian here: the credible interval is the Laplace interval to within its MC error
    width = laplace_high - laplace_low
    assert abs(low - laplace_low) < 0.15 * width and abs(high - laplace_high) < 0.15 * width
    path = save_samples(draws, tmp_path / "s.h5")
    back = load_samples(path)
    assert np.array_equal(back.samples, draws.samples) and back.intervals == draws.intervals


def test_cli_sample(tmp_path):
    """A short chain: the draws and their summary are written, the verdict says the chains have
    not mixed, and the exit code is 1."""
    obs = simulate("burgers", {"nu": 0.05}, points=16, n=128, dt=5e-4, noise=0.02, seed=3, snapshot="exact")
    save_observations(obs, tmp_path / "d.h5")
    args = ["sample", "burgers", "--obs", str(tmp_path / "d.h5"), "--init", "nu=0.1", "--n", "64", "--dt", "2e-3",
            "--steps", "60", "--prior", "nu=log-uniform:1e-3:1", "-o", str(tmp_path / "s.h5"), "--quiet"]
    run = CliRunner().invoke(cli, args + ["--json"])
    assert run.exit_code == 1, run.output
    summary = json.loads(run.stdout)
    assert summary["verdict"].startswith("NOT MIXED") and summary["fit_status"] == "converged"
    assert summary["settings"]["prior"] == {"nu": ["log-uniform", 0.001, 1.0]}
    low, high = summary["intervals"]["nu"]
    assert 1e-3 <= low < high <= 1 and summary["nfev"] >= 60 * 16
    assert load_samples(tmp_path / "s.h5").samples.shape == (summary["draws"], 1)
    info = CliRunner().invoke(cli, ["info", str(tmp_path / "s.h5")])
    assert info.exit_code == 0 and "posterior samples" in info.output and "NOT MIXED" in info.output
    drawn = CliRunner().invoke(cli, ["plot", str(tmp_path / "s.h5"), "-o", str(tmp_path / "corner.png")])
    assert drawn.exit_code == 0 and (tmp_path / "corner.png").stat().st_size > 10_000
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 2 and "exists" in again.output
    bad = CliRunner().invoke(cli, args[:-5] + ["--prior", "nu=gamma:1:2", "-o", str(tmp_path / "t.h5")])
    assert bad.exit_code == 2 and "NAME=KIND:A:B" in bad.output
