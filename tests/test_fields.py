"""Fields as unknowns: the Fourier parameterization and recovery of an initial condition."""

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from pdeinv import InverseProblem, fit, load_result, save_observations, simulate
from pdeinv.cli import cli
from pdeinv.problems.fields import FourierField


@settings(max_examples=30, deadline=None)
@given(modes=st.sampled_from([2, 4, 8, 16]), seed=st.integers(0, 1000), extra=st.integers(1, 40))
def test_field_parameterization_round_trips(modes, seed, extra):
    field = FourierField(modes)
    c = np.random.default_rng(seed).normal(size=modes)
    samples = field.samples(c, modes + 2 * extra)
    assert np.allclose(field.project(samples), c, atol=1e-12)


def test_field_matches_its_formula():
    field = FourierField(6, domain=(0.0, 4.0))
    c = np.array([0.3, 1.0, -0.5, 0.25, 0.1, 0.7])
    x = np.linspace(0, 4, 40, endpoint=False)
    w = 2 * np.pi / 4
    expected = 0.3 + np.cos(w * x) - 0.5 * np.sin(w * x) + 0.25 * np.cos(2 * w * x) + 0.1 * np.sin(2 * w * x) \
        + 0.7 * np.cos(3 * w * x)
    assert np.allclose(field.samples(c, 40), expected, atol=1e-13)
    with pytest.raises(ValueError, match="modes must be an even integer"):
        FourierField(5)


@pytest.fixture(scope="module")
def u0_obs():
    x = np.linspace(-1, 1, 512, endpoint=False)
    u0 = 0.6 * np.sin(np.pi * x) + 0.3 * np.cos(2 * np.pi * x) - 0.2 * np.sin(3 * np.pi * x)
    return simulate("burgers", {"nu": 0.05}, points=144, n=128, dt=5e-4, u0=u0, fixed=("nu",))


@pytest.mark.parametrize("options", [{}, {"method": "exact"}, {"directions": 2, "broyden": True}])
def test_initial_condition_is_recovered(u0_obs, options):
    problem = InverseProblem(u0_obs, ("u0",), modes=8, n=64)
    result = fit(problem, auto_grid=False, **options)
    field = FourierField(8)
    recovered = field.samples(problem.field_coefficients(result.params), u0_obs.u0.size)
    truth = u0_obs.u0
    assert np.linalg.norm(recovered - truth) / np.linalg.norm(truth) < 1e-4, result.message
    assert result.success


def test_regularization_adds_penalty_rows(u0_obs):
    plain = InverseProblem(u0_obs, ("u0",), modes=8, n=64)
    penalized = InverseProblem(u0_obs, ("u0",), modes=8, n=64, regularization=4.0)
    z = np.ones(8)
    R0, _ = plain.residuals(z[None])
    R1, _ = penalized.residuals(z[None])
    assert R1.shape[1] == R0.shape[1] + 8
    assert np.allclose(R1[0, -8:], 2.0 * FourierField(8).wavenumber)
    with pytest.raises(ValueError, match="regularization must be"):
        InverseProblem(u0_obs, ("u0",), regularization=-1)


def test_cli_fits_and_plots_initial_condition(tmp_path, u0_obs):
    save_observations(u0_obs, tmp_path / "o.h5")
    out = tmp_path / "fit.h5"
    result = CliRunner().invoke(cli, ["fit", "burgers", "--obs", str(tmp_path / "o.h5"), "--fit", "u0", "--modes", "8",
                                      "--n", "64", "--no-auto-grid", "-o", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "8 Fourier modes; relative L2 distance from the file's u0" in result.output
    saved, _ = load_result(out)
    assert len([k for k in saved.params if k.startswith("u0[")]) == 8
    plotted = CliRunner().invoke(cli, ["plot", str(out), "--n", "64"])
    assert plotted.exit_code == 0 and (tmp_path / "fit.png").stat().st_size > 10_000
