"""Experiment design (pdeinv.design): information against exact sensitivities, plans, files, CLI."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

import pdeinv
from pdeinv.cli import cli
from pdeinv.designs import _greedy, load_plan, save_plan
from pdeinv.problems.observations import ObservationError

D = 0.1
SIGMA = 0.01


def sine(x):
    return np.sin(np.pi * x)


def exact_sensitivity(t, x):
    """d u / d log D of u = exp(-D pi^2 t) sin(pi x), the heat equation's solution from sin(pi x)."""
    return -D * np.pi**2 * t * np.exp(-D * np.pi**2 * t) * np.sin(np.pi * x)


def heat_plan(**options):
    settings = dict(budget=12, draws=1, explore=0.0, sigma=SIGMA, u0=sine, n=32, times=10, initial="exact")
    settings.update(options)
    return pdeinv.design("heat", {"D": D}, **settings)


def test_predicted_sd_equals_the_exact_information():
    plan = heat_plan()
    # the information of the chosen points from the exact solution, plus the prior box's
    info = np.sum(exact_sensitivity(plan.t, plan.x) ** 2) / SIGMA**2 + 12 / (2 * np.log(2.0)) ** 2
    assert plan.predicted_std["D"] == pytest.approx(1 / np.sqrt(info), rel=1e-6)
    assert plan.prior_std["D"] == pytest.approx(2 * np.log(2.0) / np.sqrt(12))


def test_a_measured_u0_is_a_nuisance_the_design_marginalizes():
    # u0 = sum_m c_m sin(m pi x) estimated from a 256-sample snapshot with the same noise: the
    # information of (log D, c_1..c_M) from the exact solution, its log D variance marginal
    plan = heat_plan(initial="measured")
    modes = plan.settings["u0_modes"]
    assert modes >= 1 and any("measured snapshot" in note for note in plan.notes)
    m = np.arange(1, modes + 1)
    rows = np.column_stack([exact_sensitivity(plan.t, plan.x)]
                           + [np.exp(-D * (k * np.pi) ** 2 * plan.t) * np.sin(k * np.pi * plan.x) for k in m]) / SIGMA
    nodes = pdeinv.get_equation("heat").basis_type.nodes((0.0, 1.0), 256)
    snapshot = np.sin(np.outer(nodes, m) * np.pi) / SIGMA
    info = rows.T @ rows
    info[0, 0] += 12 / (2 * np.log(2.0)) ** 2
    info[1:, 1:] += snapshot.T @ snapshot
    assert plan.predicted_std["D"] == pytest.approx(np.sqrt(np.linalg.inv(info)[0, 0]), rel=1e-5)
    # not knowing u0 costs: the same points with the exact u0 are surer
    assert plan.predicted_std["D"] > 1 / np.sqrt(info[0, 0])


def test_points_go_where_the_exact_sensitivity_peaks():
    # t e^(-D pi^2 t) grows up to t = 1 / (D pi^2) = 1.01 > 1: the last time; sin(pi x) peaks at 0.5
    # (for one unknown the D criterion takes the candidates of largest |sensitivity| in turn)
    plan = heat_plan(budget=4)  # the fifth is a tie of two mirror images
    eq = pdeinv.get_equation("heat")(32)
    tt, xx = np.meshgrid(np.arange(1, 11) / 10, eq.x, indexing="ij")
    best = np.argsort(-np.abs(exact_sensitivity(tt, xx)).ravel())[:4]
    assert sorted(zip(plan.t, plan.x)) == sorted(zip(tt.ravel()[best], xx.ravel()[best]))
    assert sorted(plan.t) == [0.9, 0.9, 1.0, 1.0]  # the nodes beside x = 0.5, at the last two times
    # and far fewer than random points of the same number would give
    assert plan.predicted_std["D"] < plan.random_std["D"] / 1.5


def test_explore_spreads_part_of_the_budget():
    plan = heat_plan(budget=16, explore=0.25)
    assert plan.n_points == 16
    assert len(np.unique(plan.t)) >= 3  # the evenly spread quarter covers several times
    assert plan.settings["explore"] == 0.25


def test_greedy_takes_the_single_best_first_and_never_repeats():
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(2, 30, 2))
    G = rows[..., :, None] * rows[..., None, :]
    P0 = np.broadcast_to(np.eye(2), (2, 2, 2)).copy()
    chosen, P = _greedy(P0, G, 30, "D")
    assert sorted(chosen) == list(range(30))
    first = np.argmax(np.mean(np.linalg.slogdet(P0[:, None] + G)[1], axis=0))
    assert chosen[0] == first
    assert np.allclose(P, P0 + G.sum(axis=1))
    chosen_a, _ = _greedy(P0, G, 1, "A")
    assert chosen_a[0] == np.argmin(np.mean(np.trace(np.linalg.inv(P0[:, None] + G), axis1=-2, axis2=-1), axis=0))


def test_sensors_are_observed_at_every_time():
    plan = heat_plan(sensors=2, times=5)
    assert plan.sensors.size == 2 and plan.n_points == 10
    assert np.allclose(np.sort(np.unique(plan.t)), np.arange(1, 6) / 5)
    assert abs(plan.sensors[np.argmin(np.abs(plan.sensors - 0.5))] - 0.5) < 0.05  # the first sensor at the peak


def test_data_already_taken_count():
    given = pdeinv.simulate("heat", {"D": D}, points=36, layout="random", seed=1, noise=0.01, snapshot="exact",
                            u0=sine)
    alone = heat_plan(budget=4)
    after = heat_plan(budget=4, given=given)
    assert after.predicted_std["D"] < alone.predicted_std["D"]
    assert any("already taken" in note for note in after.notes)


def test_simulate_observes_exactly_at_the_plan():
    plan = heat_plan(budget=6)
    obs = pdeinv.simulate("heat", {"D": D}, at=plan, u0=sine)
    assert np.array_equal(obs.t, plan.t) and np.array_equal(obs.x, plan.x)
    assert np.max(np.abs(obs.u - np.exp(-D * np.pi**2 * obs.t) * np.sin(np.pi * obs.x))) < 1e-8
    assert obs.metadata["layout"] == "plan"


def test_a_system_plan_names_each_points_component():
    plan = pdeinv.design("gray-scott", budget=6, draws=1, explore=0.0, n=64, dt=0.5, times=4, positions=32,
                         components=["v"])
    assert np.all(plan.component == 1)
    obs = pdeinv.simulate("gray-scott", at=plan, n=64, dt=0.5)
    assert np.array_equal(obs.component, plan.component) and obs.n_points == 6
    with pytest.raises(ObservationError, match="names each point's component"):
        pdeinv.simulate("gray-scott", at=plan, components=["u"], n=64, dt=0.5)


def test_plan_file_round_trip_and_bad_files(tmp_path):
    plan = heat_plan(budget=5)
    path = save_plan(plan, tmp_path / "plan.h5")
    back = load_plan(path)
    assert np.array_equal(back.t, plan.t) and np.array_equal(back.x, plan.x)
    assert back.predicted_std == plan.predicted_std and back.settings["prior_box"] == plan.settings["prior_box"]
    with pytest.raises(FileExistsError):
        save_plan(plan, path)
    obs = pdeinv.simulate("heat", points=4)
    pdeinv.save_observations(obs, tmp_path / "obs.h5")
    with pytest.raises(ObservationError, match="not a pdeinv observation plan"):
        load_plan(tmp_path / "obs.h5")


@pytest.mark.parametrize("options, message", [
    ({"criterion": "E"}, "criterion must be one of"),
    ({"unknowns": ["K"]}, "is not a parameter of heat"),
    ({"spread": 1.0}, "spread must be a number > 1"),
    ({"budget": 0}, "budget must be a positive integer"),
    ({"explore": 2.0}, "explore must be a fraction"),
    ({"prior": {"D": (0.0, 1.0)}}, "prior's low end must be > 0"),
    ({"times": [0.0, 0.5]}, "observation times must lie in"),
])
def test_bad_arguments_name_the_problem(options, message):
    with pytest.raises(ValueError, match=message):
        heat_plan(**options)


def test_cli_design_simulate_fit(tmp_path):
    runner = CliRunner()
    plan, data, png = tmp_path / "plan.h5", tmp_path / "data.h5", tmp_path / "plan.png"
    out = runner.invoke(cli, ["design", "heat", "--guess", "D=0.15", "--budget", "16", "--n", "32", "--times", "8",
                              "--quiet", "-o", str(plan), "--plot", str(png)])
    assert out.exit_code == 0, out.output
    assert "predicted sd" in out.output and "--bounds D=0.075:0.3" in out.output
    assert png.stat().st_size > 0
    out = runner.invoke(cli, ["info", str(plan)])
    assert out.exit_code == 0 and "observation plan" in out.output and "prior_box" in out.output
    out = runner.invoke(cli, ["plot", str(plan), "-o", str(tmp_path / "again.png")])
    assert out.exit_code == 0 and (tmp_path / "again.png").stat().st_size > 0
    out = runner.invoke(cli, ["simulate", "heat", "--plan", str(plan), "--noise", "0.01", "--snapshot", "exact",
                              "-o", str(data)])
    assert out.exit_code == 0, out.output
    out = runner.invoke(cli, ["fit", "heat", "--obs", str(data), "--bounds", "D=0.075:0.3", "--n", "32", "--quiet",
                              "--json"])
    assert out.exit_code == 0, out.output
    import json

    result = json.loads(out.output)
    assert abs(result["params"]["D"] / 0.1 - 1) < 0.05
    # bad input: one line, exit 2, nothing written
    for args, message in [
        (["design", "heat", "--budget", "8", "--sensors", "2", "-o", str(tmp_path / "a.h5")], "give one"),
        (["design", "heat", "--guess", "K=1", "-o", str(tmp_path / "b.h5")], "unknown parameter"),
        (["design", "heat", "-o", str(plan)], "exists"),
        (["simulate", "heat", "--plan", str(plan), "--points", "9", "-o", str(tmp_path / "c.h5")], "--plan sets"),
        (["simulate", "kdv", "--plan", str(plan), "-o", str(tmp_path / "d.h5")], "the plan is for heat"),
        (["fit", "heat", "--obs", str(data), "--bounds", "D=0.3:0.1"], "LOW < HIGH"),
    ]:
        out = runner.invoke(cli, args)
        assert out.exit_code == 2 and message in out.output, (args, out.output)
        assert "Traceback" not in out.output
    assert not any((tmp_path / f"{c}.h5").exists() for c in "abcd")


def test_simulate_at_given_arrays_and_bad_points():
    t, x = np.array([0.25, 0.5, 1.0]), np.array([0.1, 0.5, 0.9])
    obs = pdeinv.simulate("heat", {"D": D}, at=(t, x), u0=sine)
    assert np.max(np.abs(obs.u - np.exp(-D * np.pi**2 * t) * np.sin(np.pi * x))) < 1e-8
    with pytest.raises(ObservationError, match="positions must lie in"):
        pdeinv.simulate("heat", at=(t, x + 1))
    with pytest.raises(ObservationError, match="one t per x"):
        pdeinv.simulate("heat", at=(t, x[:2]))
    with pytest.raises(ObservationError, match="times must lie in"):
        pdeinv.simulate("heat", at=(t + 1, x))
