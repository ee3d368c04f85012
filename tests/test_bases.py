"""Discretizations apart from equations: the sine basis (u = 0 at both ends) and the heat
equation written on it, checked against exact solutions; the fit engine never sees the basis."""

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from pdeinv import InverseProblem, fit, load_observations, simulate
from pdeinv.cli import cli
from pdeinv.discretizations import FourierBasis, SineBasis, SineField
from pdeinv.equations import Heat


def heat_exact(t, x, D=0.1, amplitudes=((1, 1.0), (3, 0.5)), length=1.0):
    """The exact solution of u_t = D u_xx on [0, L], u = 0 at the ends, from a sine series."""
    t, x = np.asarray(t, float), np.asarray(x, float)
    return sum(a * np.exp(-D * (m * np.pi / length) ** 2 * t) * np.sin(m * np.pi * x / length) for m, a in amplitudes)


@settings(max_examples=20, deadline=None)
@given(n=st.integers(8, 70), seed=st.integers(0, 2**31 - 1))
def test_sine_transforms_round_trip_and_interpolate_their_own_nodes(n, seed):
    basis = SineBasis(n, (-0.5, 2.0))
    u = np.random.default_rng(seed).standard_normal(n)
    v = basis.forward_numpy(u)
    assert np.allclose(np.asarray(basis.inverse(v)), u, atol=1e-12)
    assert np.allclose(np.asarray(basis.forward(u)), v, atol=1e-12)
    A = basis.interpolation_matrix(np.concatenate([basis.x, [-0.5, 2.0]]))
    assert np.allclose((A @ v).real[:n], u, atol=1e-12)
    assert np.allclose((A @ v).real[n:], 0.0, atol=1e-12)  # the ends hold u = 0


def test_sine_coefficients_are_the_amplitudes_and_even_derivatives_stay_in_the_basis():
    basis = SineBasis(31, (0.0, 2.0))
    u = 0.7 * np.sin(2 * np.pi * basis.x / 2) - 0.2 * np.sin(5 * np.pi * basis.x / 2)
    v = basis.forward_numpy(u)
    expected = np.zeros(31)
    expected[[1, 4]] = [0.7, -0.2]
    assert np.allclose(v, expected, atol=1e-14)
    uxx = np.asarray(basis.inverse(basis.derivative(v, 2)))
    exact = -0.7 * np.pi**2 * np.sin(np.pi * basis.x) + 0.2 * (2.5 * np.pi) ** 2 * np.sin(2.5 * np.pi * basis.x)
    assert np.allclose(uxx, exact, atol=1e-11)
    with pytest.raises(ValueError, match="even derivatives only"):
        basis.derivative(v, 1)


def test_sine_resampling_is_exact_for_a_band_limited_field_and_refuses_outside_points():
    fine = SineBasis.nodes((0.0, 1.0), 255)
    coarse = SineBasis.nodes((0.0, 1.0), 40)
    f = lambda x: np.sin(np.pi * x) + 0.3 * np.sin(7 * np.pi * x)  # noqa: E731
    assert np.allclose(SineBasis.resample(f(coarse), 255), f(fine), atol=1e-13)
    assert np.allclose(SineBasis.resample(f(fine), 40), f(coarse), atol=1e-13)
    with pytest.raises(ValueError, match=r"points must lie in the domain \[0, 1\] \(u = 0 at both ends\)"):
        SineBasis(16, (0.0, 1.0)).place([0.5, 1.2])
    assert FourierBasis(16, (0.0, 1.0)).place([1.25])[0] == pytest.approx(0.25)  # periodic: wrapped


def test_sine_field_matches_its_formula_and_projects_back():
    field = SineField(5, (1.0, 3.0))
    c = np.array([0.5, -1.0, 0.25, 0.0, 2.0])
    x = SineBasis.nodes((1.0, 3.0), 33)
    formula = sum(c[m - 1] * np.sin(m * np.pi * (x - 1.0) / 2.0) for m in range(1, 6))
    assert np.allclose(field.samples(c, 33), formula, atol=1e-13)
    assert np.allclose(field.basis_at(x) @ c, formula, atol=1e-13)
    assert np.allclose(field.project(formula), c, atol=1e-13)


@pytest.mark.parametrize("D", [0.1, 0.02])
def test_heat_equals_its_exact_solution_on_the_grid_at_points_and_in_batches(D):
    eq = Heat()
    t = np.linspace(0.0, 1.0, 11)
    u = eq.solve({"D": D}, t)
    assert np.max(np.abs(u - heat_exact(t[:, None], eq.x[None, :], D))) <= 1e-10
    rng = np.random.default_rng(4)
    tp, xp = rng.uniform(0, 1, 64), rng.uniform(0, 1, 64)
    assert np.max(np.abs(eq.solve_at({"D": D}, tp, xp) - heat_exact(tp, xp, D))) <= 1e-10
    batch = eq.solve_batch({"D": np.array([D, 2 * D])}, t)
    assert np.max(np.abs(batch[1] - heat_exact(t[:, None], eq.x[None, :], 2 * D))) <= 1e-10
    with pytest.raises(ValueError, match="must lie in the domain"):
        eq.solve_at({"D": D}, [0.5], [1.5])


def test_heat_on_another_rod_with_a_given_initial_condition():
    eq = Heat(40, domain=(0.0, 3.0), t_span=(0.0, 2.0), u0=lambda x: 2 * np.sin(2 * np.pi * x / 3) - np.sin(5 * np.pi * x / 3))
    t = np.array([0.0, 0.3, 2.0])
    exact = heat_exact(t[:, None], eq.x[None, :], 0.1, ((2, 2.0), (5, -1.0)), 3.0)
    assert np.max(np.abs(eq.solve({"D": 0.1}, t) - exact)) <= 1e-10


@pytest.mark.parametrize("start", [0.1 / 30, 0.1 * 30])
def test_heat_diffusion_is_recovered_from_64_points_starting_30x_off(start):
    obs = simulate("heat", points=64, seed=2)
    result = fit(InverseProblem(obs), {"D": start})
    assert result.status == "converged"
    assert abs(result.params["D"] / 0.1 - 1) <= 1e-8


def test_heat_with_a_noisy_first_snapshot_fits_u0_in_sine_modes_and_covers_the_truth(tmp_path):
    obs = simulate("heat", points=64, noise=0.01, seed=5, snapshot="measured")
    problem = InverseProblem(obs)
    assert problem.field_name == "u0" and isinstance(problem.field, SineField)
    result = fit(problem, {"D": 0.01})
    low, high = result.intervals["D"]
    assert result.status == "converged" and low <= 0.1 <= high
    assert abs(result.params["D"] / 0.1 - 1) < 0.01
    obs_file, out = tmp_path / "heat.h5", tmp_path / "fit.h5"
    runner = CliRunner()
    done = runner.invoke(cli, ["simulate", "heat", "--points", "64", "--noise", "0.01", "-o", str(obs_file)])
    assert done.exit_code == 0, done.output
    done = runner.invoke(cli, ["fit", "heat", "--obs", str(obs_file), "--init", "D=0.01", "-o", str(out)])
    assert done.exit_code == 0, done.output
    assert "sine modes" in done.output and "Fourier" not in done.output


def test_equations_list_says_the_bounded_domain():
    done = CliRunner().invoke(cli, ["equations"])
    assert "x in [0, 1] (u = 0 at both ends)" in done.output
    assert "x in [-1, 1), t in [0, 1]" in done.output  # the periodic ones keep their half-open interval


def test_a_bounded_grid_is_imported_only_with_its_initial_condition_given(tmp_path):
    x = np.linspace(0, 1, 33)
    np.savez(tmp_path / "rod.npz", t=np.linspace(0, 1, 5), x=x, u=np.outer(np.ones(5), np.sin(np.pi * x)))
    command = ["import", "arrays", str(tmp_path / "rod.npz"), "--equation", "heat", "-o", str(tmp_path / "rod.h5")]
    done = CliRunner().invoke(cli, command)
    assert done.exit_code == 2 and "Traceback" not in done.output
    assert "the first time row lies on 33 evenly spaced x, not on the sine points" in done.output
    assert not (tmp_path / "rod.h5").exists()
    done = CliRunner().invoke(cli, command + ["--u0", "sin(pi*x)"])
    assert done.exit_code == 0, done.output
    obs = load_observations(tmp_path / "rod.h5")
    assert obs.domain == (0.0, 1.0) and obs.component is None and obs.n_points == 4 * 33
    nodes = Heat.basis_type.nodes((0, 1), obs.u0.size)
    assert np.allclose(obs.u0, np.sin(np.pi * nodes))
