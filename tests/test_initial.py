"""The initial condition as data: measured snapshots, no snapshot, and what the user says (--u0)."""

import dataclasses
import json

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from pdeinv import cli as cli_module
from pdeinv.cli import cli
from pdeinv import InverseProblem, Observations, fit, load_observations, save_observations, simulate
from pdeinv.io.importers import import_arrays
from pdeinv.problems.initial import (
    MIN_MODES, NOISE_FLOOR, U0_CHOICES, decide_initial_condition, snapshot_modes, snapshot_noise,
)

KDV_LAMBDA2 = 0.0025


def test_cli_offers_the_same_u0_choices_as_the_library():
    assert cli_module.U0_CHOICES == U0_CHOICES


@pytest.mark.parametrize("sigma", [1e-3, 1e-2, 0.1])
def test_snapshot_noise_recovers_white_noise_on_a_smooth_field(sigma):
    x = np.linspace(-1, 1, 512, endpoint=False)
    field = np.cos(np.pi * x) + 0.3 * np.sin(3 * np.pi * x)
    estimates = [snapshot_noise(field + sigma * np.random.default_rng(s).standard_normal(x.size)) for s in range(20)]
    # the median absolute difference of 512 samples scatters by ~7 %; the mean of 20 by ~2 %
    assert abs(np.mean(estimates) / sigma - 1) < 0.08, estimates


def test_snapshot_noise_of_a_resolved_field_or_a_front_is_below_the_floor():
    x = np.linspace(-1, 1, 512, endpoint=False)
    assert snapshot_noise(np.cos(np.pi * x)) < NOISE_FLOOR * 1e-3
    # a steep front touches a few differences only: the median ignores them
    front = np.tanh((x - 0.1) / 0.01) - np.tanh((x + 0.9) / 0.01)
    assert snapshot_noise(front) < NOISE_FLOOR
    assert snapshot_noise(np.ones(8)) is None and snapshot_noise(np.exp(1j * np.pi * x)) is None


def test_snapshot_modes_cover_the_resolved_wavenumbers_twice():
    x = np.linspace(-1, 1, 256, endpoint=False)
    field = np.cos(np.pi * x) + 0.5 * np.sin(3 * np.pi * x)  # wavenumbers 1 and 3
    noisy = field + 0.01 * np.random.default_rng(0).standard_normal(x.size)
    assert snapshot_modes(noisy, 0.01, 128) == 4 * 3 + 2  # up to k = 6: cos and sin each, plus the mean
    assert snapshot_modes(0.01 * np.random.default_rng(1).standard_normal(x.size), 0.01, 128) == MIN_MODES
    assert snapshot_modes(noisy, 0.01, 10) == 10


def _decide(obs, choice="auto"):
    return decide_initial_condition(obs, choice, fits_other_field=None, complex_state=False, black_box=False,
                                    largest_modes=128)


def test_decision_follows_what_the_data_say():
    noisy = simulate("kdv", points=32, layout="random", seed=1, noise=0.01)
    assert noisy.u0_measured and noisy.u0_sigma > 0 and noisy.u0.size == 256
    decided = _decide(noisy)
    assert (decided.mode, decided.source, decided.noise_source, decided.rows) == ("fit", "snapshot", "file", 256)
    assert decided.noise == noisy.u0_sigma and "measurement with noise" in decided.reason
    asked = _decide(noisy, "exact")
    assert asked.mode == "exact" and "taken as exact, as asked" in asked.reason
    exact = simulate("kdv", points=32, layout="random", seed=1)
    assert not exact.u0_measured and _decide(exact).mode == "exact"
    assert _decide(exact, "fit").mode == "fit"
    clean = simulate("kdv", points=32, layout="random", seed=1, noise=0.01, snapshot="exact")
    assert _decide(clean).source == "file"
    none = simulate("kdv", points=32, layout="random", seed=1, noise=0.01, snapshot="none")
    assert none.u0 is None and _decide(none).source == "none" and _decide(none).mode == "fit"
    with pytest.raises(ValueError, match="no initial condition"):
        _decide(none, "exact")
    blocked = decide_initial_condition(noisy, "auto", fits_other_field="D(x)", complex_state=False, black_box=False,
                                       largest_modes=128)
    assert blocked.mode == "exact" and blocked.reason.startswith("ASSUMED EXACT")
    with pytest.raises(ValueError, match="cannot be fitted here"):
        decide_initial_condition(noisy, "fit", fits_other_field=None, complex_state=False, black_box=True,
                                 largest_modes=128)


def test_measured_snapshot_without_visible_noise_is_used_as_it_is():
    obs = simulate("kdv", points=32, layout="random", seed=1)
    measured = Observations("kdv", obs.t, obs.x, obs.u, u0=obs.u0, u0_measured=True)
    decided = _decide(measured)
    assert decided.mode == "exact" and "negligible" in decided.reason


def test_observations_check_the_snapshot_fields():
    obs = simulate("kdv", points=32, layout="random", seed=1)
    with pytest.raises(Exception, match="u0_sigma is the noise of a measured snapshot"):
        Observations("kdv", obs.t, obs.x, obs.u, u0=obs.u0, u0_sigma=0.01)
    with pytest.raises(Exception, match="non-negative"):
        Observations("kdv", obs.t, obs.x, obs.u, u0=obs.u0, u0_measured=True, u0_sigma=-1)


def test_simulate_rejects_what_it_cannot_make():
    with pytest.raises(Exception, match="snapshot must be one of"):
        simulate("kdv", points=8, snapshot="noisy")
    with pytest.raises(Exception, match="snapshot_points must be an integer"):
        simulate("kdv", points=8, noise=0.01, snapshot_points=4)
    with pytest.raises(Exception, match="complex state cannot be fitted yet"):
        simulate("nls", points=8, noise=0.01, snapshot="measured")


@pytest.mark.parametrize("snapshot", ["measured", "none", "exact"])
def test_file_round_trip_keeps_what_is_known_of_u0(tmp_path, snapshot):
    obs = simulate("burgers", points=16, layout="random", seed=3, noise=0.01, snapshot=snapshot)
    back = load_observations(save_observations(obs, tmp_path / "d.h5"))
    assert back.u0_measured == obs.u0_measured and back.u0_sigma == obs.u0_sigma
    if obs.u0 is None:
        assert back.u0 is None
    else:
        np.testing.assert_array_equal(back.u0, obs.u0)
    np.testing.assert_array_equal(back.true_fields["u0"] if snapshot != "exact" else back.u0,
                                  obs.true_fields["u0"] if snapshot != "exact" else obs.u0)
    with h5py.File(tmp_path / "d.h5", "a") as f:
        f["initial_condition"].attrs["kind"] = "guessed"
    with pytest.raises(Exception, match="kind must be"):
        load_observations(tmp_path / "d.h5")


def test_importers_record_the_first_row_as_measured(tmp_path):
    x = np.linspace(-1, 1, 128, endpoint=False)
    t = np.linspace(0, 0.5, 6)
    field = np.cos(np.pi * (x[None, :] - t[:, None]))
    noisy = field + 0.01 * np.random.default_rng(0).standard_normal(field.shape)
    np.savez(tmp_path / "f.npz", x=x, t=t, u=noisy)
    obs = import_arrays(tmp_path / "f.npz", "burgers", domain=(-1, 1))
    assert obs.u0_measured and obs.u0_sigma is None and "measured" in obs.metadata["initial_condition"]
    decided = _decide(obs)
    assert decided.mode == "fit" and decided.noise_source == "estimated"
    assert abs(decided.noise / 0.01 - 1) < 0.25
    np.savez(tmp_path / "g.npz", x=x, t=t, u=field)
    assert _decide(import_arrays(tmp_path / "g.npz", "burgers", domain=(-1, 1))).mode == "exact"


def _error(result, name="lambda2", truth=KDV_LAMBDA2):
    return abs(result.params[name] / truth - 1)


def test_measured_snapshot_is_fitted_with_the_parameter_and_the_interval_covers_the_truth():
    """KdV, 64 random points and a 256-sample first snapshot, 1 % noise on all of them. Taken as
    exact, the noisy snapshot bends lambda2 and the misfit flags a poor fit; fitted as data, u0
    and lambda2 come out together and lambda2's interval covers the truth."""
    obs = simulate("kdv", points=64, layout="random", seed=5, noise=0.01)
    joint = fit(InverseProblem(obs, ["lambda2"]), {"lambda2": 0.003}, seed=0)
    assert joint.settings["initial_condition"]["mode"] == "fit"
    assert joint.status == "converged", joint.message
    lo, hi = joint.intervals["lambda2"]
    assert lo < KDV_LAMBDA2 < hi, (lo, hi)
    assert _error(joint) < 0.02
    naive = fit(InverseProblem(obs, ["lambda2"], u0="exact"), {"lambda2": 0.003}, seed=0)
    assert naive.status == "poor_fit", naive.message
    assert _error(naive) > 3 * _error(joint)


def test_no_snapshot_estimates_u0_from_the_later_points():
    obs = simulate("burgers", points=64, layout="random", seed=2, noise=0.01, snapshot="none")
    problem = InverseProblem(obs, ["nu"])
    assert problem.initial.source == "none" and problem.field_name == "u0"
    result = fit(problem, {"nu": 0.005}, seed=0)
    assert result.status == "converged", result.message
    assert result.settings["regularization"]["rule"] == "risk"  # the rules chose u0's smoothness
    lo, hi = result.intervals["nu"]
    truth = 0.01 / np.pi
    # measured: nu 5.7 % off, interval [2.62e-3, 3.43e-3] (+-13 %): without u0 the data say less
    assert lo < truth < hi and hi / lo < 1.6, (lo, hi)
    assert _error(result, "nu", truth) < (hi - lo) / truth


def test_cli_u0_choices(tmp_path):
    runner = CliRunner()
    data = tmp_path / "d.h5"
    made = runner.invoke(cli, ["simulate", "burgers", "--points", "36", "--noise", "0.01", "--snapshot", "none",
                               "-o", str(data)])
    assert made.exit_code == 0, made.output
    info = json.loads(runner.invoke(cli, ["info", str(data), "--json"]).output)
    assert info["u0"]["samples"] == 0
    exact = runner.invoke(cli, ["fit", "burgers", "--obs", str(data), "--u0", "exact", "--quiet"])
    assert exact.exit_code == 2 and "no initial condition" in exact.output and "Traceback" not in exact.output
    bad = runner.invoke(cli, ["fit", "burgers", "--obs", str(data), "--u0", "sin(pi*", "--quiet"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output
    given = runner.invoke(cli, ["fit", "burgers", "--obs", str(data), "--u0", "-sin(pi*x)", "--quiet", "--no-search",
                                "--no-auto-grid", "--init", "nu=0.004", "--intervals", "none"])
    assert given.exit_code == 0, given.output
    assert "initial condition: given: -sin(pi*x) (exact)" in given.output
    help_text = runner.invoke(cli, ["fit", "--help"]).output
    assert "--u0" in help_text and "auto|exact|fit|EXPR" in help_text


def test_a_sensor_bias_is_a_nuisance_fitted_with_the_parameters(tmp_path):
    """Burgers, 64 points and a snapshot, 1 % noise, every sensor reading 0.05 high (8 sigma).
    Unmodelled, the bias bends nu 24 %, 9 of its interval's half-widths, and the misfit flags it;
    fitted (--fit nu,bias), the bias comes out within its interval and nu within 3 standard
    errors (measured: 13 % off, 0.96 half-widths)."""
    obs = simulate("burgers", points=64, layout="random", seed=3, noise=0.01)
    biased = dataclasses.replace(obs, u=obs.u + 0.05, u0=obs.u0 + 0.05)
    truth = obs.true_params["nu"]

    def miss(params, intervals, name, value):  # distance from the truth in interval half-widths
        lo, hi = intervals[name]
        return abs(params[name] - value) / ((hi - lo) / 2)

    ignored = fit(InverseProblem(biased, ["nu"]), {"nu": 0.004}, seed=0)
    assert ignored.status == "poor_fit" and miss(ignored.params, ignored.intervals, "nu", truth) > 3
    save_observations(biased, tmp_path / "b.h5")
    run = CliRunner().invoke(cli, ["fit", "burgers", "--obs", str(tmp_path / "b.h5"), "--fit", "nu,bias", "--init",
                                   "nu=0.004", "--quiet", "--json"])
    assert run.exit_code == 0, run.output
    summary = json.loads(run.stdout)
    assert miss(summary["params"], summary["intervals"], "bias", 0.05) < 1
    assert miss(summary["params"], summary["intervals"], "nu", truth) < 1.5
    with pytest.raises(ValueError, match="sensor bias is fitted for real observations"):
        InverseProblem(simulate("nls", points=16, layout="random"), ["a", "bias"])
    with pytest.raises(ValueError, match="expected some of .*'bias'"):
        InverseProblem(obs, ["nu", "offset"])
