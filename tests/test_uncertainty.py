"""How sure the answer is: calibrated intervals, identifiability in words, the outputs.

The calibration runs use a black-box forward map with a closed form (a decaying travelling
wave, u = exp(-nu pi^2 t) sin(pi (x - lambda1 t))), so that 40 noisy replicates cost seconds;
the intervals are computed by the same code as for the spectral solvers. The 200-replicate
calibration on the built-in equations is benchmarks/uncertainty.py.
"""

import dataclasses
import json

import jax.numpy as jnp
import numpy as np
import pytest
from click.testing import CliRunner

from pdeinv import InverseProblem, fit, load_result, save_observations, simulate
from pdeinv.cli import cli
from pdeinv.examples import flat_half_allen_cahn, flat_half_log_d
from pdeinv.problems import Observations

TRUTH = {"nu": 0.05, "lambda1": 0.7}


def wave(t, x):
    def forward(params):
        return np.exp(-params["nu"] * np.pi**2 * t) * np.sin(np.pi * (x - params["lambda1"] * t))
    return forward


def replicate(seed, noise=0.05, points=64, sigma_in_file=True):
    rng = np.random.default_rng(seed)
    t, x = rng.uniform(0, 1, points), rng.uniform(-1, 1, points)
    u = wave(t, x)(TRUTH) + noise * rng.standard_normal(points)
    obs = Observations("burgers", t, x, u, u0=-np.sin(np.pi * np.linspace(-1, 1, 64, endpoint=False)),
                       sigma=np.full(points, noise) if sigma_in_file else None, true_params=TRUTH,
                       fixed_params={"lambda1": TRUTH["lambda1"]})
    return obs, wave(t, x)


def covered(result):
    return {k: lo is not None and hi is not None and lo <= TRUTH[k] <= hi
            for k, (lo, hi) in result.intervals.items()}


@pytest.mark.parametrize("sigma_in_file", [True, False])
def test_intervals_cover_the_truth_at_their_level(sigma_in_file):
    hits = {"laplace": [], "profile": []}
    for seed in range(40):
        obs, forward = replicate(seed, sigma_in_file=sigma_in_file)
        problem = InverseProblem(obs, ["nu", "lambda1"], forward=forward)
        for method in hits:
            result = fit(problem, TRUTH, search=False, intervals=method)
            assert result.status == "converged"
            assert result.uncertainty["sigma"]["source"] == ("file" if sigma_in_file else "residuals")
            hits[method] += covered(result).values()
    for method, h in hits.items():
        coverage = np.mean(h)
        assert coverage >= 0.85, f"{method}: {coverage:.0%} of 95 % intervals cover the truth"
        assert coverage < 1.0, f"{method}: every interval covers the truth: too wide to be calibrated"


def test_the_sigma_used_is_reported_with_its_value():
    from pdeinv.fit.uncertainty import sigma_used

    obs, _ = replicate(0, noise=0.02)
    assert sigma_used(obs, 1.0, 62) == {"source": "file", "value": 0.02, "dof": 62}
    varied = Observations("burgers", obs.t, obs.x, obs.u, u0=obs.u0, sigma=np.linspace(0.01, 0.03, obs.u.size))
    said = sigma_used(varied, 1.0, 62)
    assert said["value"] is None and said["per_point"] == pytest.approx({"min": 0.01, "median": 0.02, "max": 0.03})
    bare, _ = replicate(0, noise=0.02, sigma_in_file=False)
    assert sigma_used(bare, 0.25, 62) == {"source": "residuals", "value": 0.5, "dof": 62}


def test_interval_width_follows_the_noise():
    widths = []
    for noise in (0.01, 0.04):
        obs, forward = replicate(0, noise=noise)
        result = fit(InverseProblem(obs, ["nu"], forward=forward), {"nu": 0.05}, search=False)
        lo, hi = result.intervals["nu"]
        assert lo < result.params["nu"] < hi
        widths.append(hi - lo)
    assert widths[1] / widths[0] == pytest.approx(4.0, rel=0.15)  # linear regime: width ~ sigma


def test_positive_parameters_get_intervals_in_log_space():
    obs, forward = replicate(1, noise=0.3, points=16)
    result = fit(InverseProblem(obs, ["nu"], forward=forward), {"nu": 0.05}, search=False)
    lo, hi = result.intervals["nu"]
    est = result.params["nu"]
    assert 0 < lo < est < hi
    assert np.log(hi / est) == pytest.approx(np.log(est / lo), rel=1e-9)  # symmetric in log nu


def test_a_product_the_data_determine_is_named():
    # Observations that depend on a and b only through a*b: their ratio is undetermined.
    obs = simulate("nls", points=32, layout="random", seed=0)
    t, x = obs.t, obs.x

    def forward(params):
        s = params["a"] * params["b"]
        return np.exp(1j * s * t) * (1 + 0.1 * x)

    data = Observations("nls", t, x, forward({"a": 0.5, "b": 1.0}), u0=obs.u0, domain=obs.domain, t_span=obs.t_span,
                        true_params={"a": 0.5, "b": 1.0})
    result = fit(InverseProblem(data, ["a", "b"], forward=forward), {"a": 0.4, "b": 1.1}, search=False)
    notes = result.uncertainty["undetermined"]
    assert any("only a*b is determined" in n for n in notes), notes
    assert result.intervals["a"] == [None, None]
    assert result.uncertainty["singular_values"][-1] < 1e-6


def test_noise_free_fit_says_its_intervals_measure_the_discretization():
    obs = simulate("burgers", points=64, layout="random", seed=2)
    result = fit(InverseProblem(obs, ["nu"]), {"nu": 0.0035}, search=False, auto_grid=False)
    assert any("discretization level" in n for n in result.uncertainty["undetermined"])


def test_intervals_in_files_json_table_and_plot(tmp_path):
    obs, _ = replicate(3)
    data = simulate("burgers", points=48, layout="random", seed=4, noise=0.02)
    save_observations(data, tmp_path / "d.h5")
    run = CliRunner().invoke(cli, ["fit", "burgers", "--obs", str(tmp_path / "d.h5"), "--quiet", "--intervals",
                                   "profile", "-o", str(tmp_path / "r.h5")])
    assert run.exit_code == 0, run.output
    nu_row = next(line for line in run.output.splitlines() if line.lstrip().startswith("nu "))
    assert "95% interval (profile)" in run.output and "[" in nu_row
    result, _ = load_result(tmp_path / "r.h5")
    lo, hi = result.intervals["nu"]
    assert lo < result.params["nu"] < hi and result.uncertainty["method"] == "profile"
    info = CliRunner().invoke(cli, ["info", str(tmp_path / "r.h5"), "--json"])
    assert json.loads(info.output)["intervals"]["nu"] == [lo, hi]
    fig = CliRunner().invoke(cli, ["plot", str(tmp_path / "r.h5"), "--kind", "uncertainty", "-o",
                                   str(tmp_path / "u.png")])
    assert fig.exit_code == 0, fig.output
    assert (tmp_path / "u.png").stat().st_size > 10_000
    bad = CliRunner().invoke(cli, ["fit", "burgers", "--obs", str(tmp_path / "d.h5"), "--level", "95"])
    assert bad.exit_code == 2 and "level must be a probability" in bad.output


def test_a_robust_loss_shrugs_off_gross_outliers():
    errors = {"clean": [], "linear": [], "huber": [], "cauchy": []}
    for seed in range(6):
        obs, forward = replicate(100 + seed, noise=0.02)
        rng = np.random.default_rng(seed)
        bad = rng.choice(obs.n_points, size=4, replace=False)  # 6 % of the points
        u = np.array(obs.u)
        u[bad] += rng.choice([-1.0, 1.0], size=bad.size) * rng.uniform(0.5, 1.5, bad.size)  # 25-75 sigma
        dirty = Observations("burgers", obs.t, obs.x, u, u0=obs.u0, sigma=obs.sigma, true_params=TRUTH,
                             fixed_params={"lambda1": TRUTH["lambda1"]})
        for name, data, loss in [("clean", obs, "linear"), ("linear", dirty, "linear"), ("huber", dirty, "huber"),
                                 ("cauchy", dirty, "cauchy")]:
            result = fit(InverseProblem(data, ["nu"], forward=forward, loss=loss), {"nu": 0.05}, search=False)
            errors[name].append(abs(result.params["nu"] / TRUTH["nu"] - 1))
    mean = {k: np.mean(v) for k, v in errors.items()}
    assert mean["linear"] > 3 * mean["clean"], mean  # the outliers do matter
    assert mean["huber"] <= 2 * mean["clean"], mean
    assert mean["cauchy"] <= 2 * mean["clean"], mean


def test_robust_loss_arguments_are_checked():
    obs, forward = replicate(0, sigma_in_file=False)
    with pytest.raises(ValueError, match="observations carry no sigma, so give loss_scale"):
        InverseProblem(obs, ["nu"], forward=forward, loss="huber")
    with pytest.raises(ValueError, match="loss_scale applies to a robust loss"):
        InverseProblem(obs, ["nu"], forward=forward, loss_scale=0.1)
    with pytest.raises(ValueError, match="loss must be one of"):
        InverseProblem(obs, ["nu"], forward=forward, loss="l1")
    # Switching the loss of an existing problem is checked the same way.
    problem = InverseProblem(obs, ["nu"], forward=forward)
    with pytest.raises(ValueError, match="observations carry no sigma, so give loss_scale"):
        problem.with_loss("cauchy")
    with pytest.raises(ValueError, match="loss_scale must be a positive number"):
        problem.with_loss("huber", -1.0)
    assert (problem.with_loss("huber", 0.2).loss_scale, problem.loss) == (0.2, "linear")


@pytest.mark.parametrize("v", [(0.7071, -0.7072), (0.7072, -0.7071), (-0.7072, 0.7071), (0.7071, 0.7072)])
def test_a_pair_is_named_in_the_unknowns_order_whichever_component_is_larger(v):
    # Which of two near-equal components comes out larger is rounding: the words must not follow it.
    from pdeinv.fit.uncertainty import _describe_direction

    text = _describe_direction(["a", "b"], [True, True], np.array(v))
    kept = "a*b" if v[0] * v[1] < 0 else "a/b"
    assert text == f"only {kept} is determined: a and b are not determined separately"


def test_with_data_keeps_the_problem_and_changes_the_values():
    obs, forward = replicate(5)
    problem = InverseProblem(obs, ["nu"], forward=forward)
    other = problem.with_data(obs.u + 1.0)
    z = problem.to_z({"nu": 0.05})[None, :]
    np.testing.assert_allclose(other.residuals(z)[0], problem.residuals(z)[0] - 1.0 / obs.sigma, rtol=1e-12)
    np.testing.assert_array_equal(problem.observations.u, obs.u)
    with pytest.raises(ValueError, match="observations' shape"):
        problem.with_data(obs.u[:3])


def test_a_diffusion_field_is_undetermined_where_u_is_flat(tmp_path):
    # u0 = 1 on x > 0 (a stable state of the reaction): u stays flat there and (D u_x)_x = 0,
    # so the data say nothing about D on that half; the band must say so, and only there.
    obs = flat_half_allen_cahn()
    log_d = flat_half_log_d
    # The weight was set for the first-derivative penalty. With the curvature penalty at the same
    # weight the band at x = -1, next (periodically) to the flat half, is 0.501 wide in log D.
    result = fit(InverseProblem(obs, ("D(x)",), modes=8, n=64, regularization=1e-2, penalty_order=1),
                 auto_grid=False)
    assert result.status == "converged", result.message
    unc = result.uncertainty
    notes = [n for n in unc["undetermined"] if n.startswith("D(x) is not determined on x in [")]
    assert len(notes) == 1, unc["undetermined"]
    a, b = (float(v) for v in notes[0].split("[")[1].split("]")[0].split(","))
    assert -0.1 < a < 0.15 and b > 0.85  # the flat half, not the varied one
    x, (low, high) = np.array(unc["x"]), np.array(unc["band"])
    left = x < -0.2
    assert np.all(np.log(high[left] / low[left]) < 0.5)  # determined where u varies
    truth = np.exp(log_d(x))
    assert np.mean((low[left] <= truth[left]) & (truth[left] <= high[left])) > 0.8
    from pdeinv import save_result
    from pdeinv.plotting import figure_for_file

    save_result(result, obs, tmp_path / "r.h5")
    figure_for_file(tmp_path / "r.h5", "uncertainty").savefig(tmp_path / "band.png")
    assert (tmp_path / "band.png").stat().st_size > 10_000


def test_quantiles_match_scipy_stats():
    """The interval quantiles come from scipy.special (scipy.stats takes seconds to import)."""
    from scipy import stats

    from pdeinv.fit.uncertainty import _quantiles

    for level in (0.68, 0.95, 0.99):
        assert np.allclose(_quantiles(level, 0, True), (stats.norm.ppf(0.5 + level / 2), stats.chi2.ppf(level, 1)),
                           rtol=1e-12, atol=0)
        for dof in (1, 7, 63):
            assert np.allclose(_quantiles(level, dof, False),
                               (stats.t.ppf(0.5 + level / 2, dof), stats.f.ppf(level, 1, dof)), rtol=1e-12, atol=0)


def test_cauchy_starts_from_a_huber_fit_when_it_searches():
    obs, forward = replicate(7, noise=0.02)
    rng = np.random.default_rng(7)
    u = np.array(obs.u)
    bad = rng.choice(obs.n_points, size=4, replace=False)
    u[bad] += 1.0
    problem = InverseProblem(obs, ["nu"], forward=forward, loss="cauchy")
    result = fit(problem.with_data(u), {"nu": 0.5})  # 10x off: the global phase runs on Huber
    assert result.status == "converged" and "started from a Huber fit" in result.message
    clean = fit(InverseProblem(obs, ["nu"], forward=forward), {"nu": 0.5})
    assert abs(result.params["nu"] / 0.05 - 1) <= 2 * max(abs(clean.params["nu"] / 0.05 - 1), 1e-3)


@pytest.mark.parametrize("loss", ["huber", "cauchy"])
def test_exact_derivatives_minimize_the_same_robust_objective(loss):
    """Burgers, 64 points, 1 % noise, 4 points moved by 30 sigma: the finite-difference and the
    exact-derivative fits must stop at the same minimum (the JAX residual once left the robust
    loss out: nu 0.0026817 against 0.0026941, both "converged")."""
    obs = simulate("burgers", points=64, layout="random", seed=3, noise=0.01, snapshot="exact")
    u = np.array(obs.u)
    u[[3, 17, 31, 50]] += 30 * obs.sigma[[3, 17, 31, 50]]
    problem = InverseProblem(dataclasses.replace(obs, u=u), ["nu"], loss=loss)
    z = problem.to_z({"nu": 0.004})
    numpy_r, _ = problem.residuals(z)
    np.testing.assert_allclose(np.asarray(problem.jax_residual_fn()(jnp.asarray(z))), numpy_r[0], rtol=1e-9,
                               atol=1e-12)
    estimates = [fit(problem, {"nu": 0.004}, method=m, search=False, auto_grid=False, intervals="none").params["nu"]
                 for m in ("zo-gn", "exact")]
    assert abs(estimates[0] / estimates[1] - 1) < 1e-5, estimates
