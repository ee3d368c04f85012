"""The Chebyshev basis on bounded domains: the basis against polynomials, the matrix ETDRK4
against the diagonal one and against exact solutions (Dirichlet with a source, inhomogeneous and
time-dependent ends, Neumann fluxes, Robin), time order 4, spectral order in space, recovery of a
diffusion constant and of a boundary flux, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from pdeinv import InverseProblem, fit, simulate
from pdeinv._jax import jnp
from pdeinv.cli import cli
from pdeinv.discretizations import ChebyshevBasis, ChebyshevField, dirichlet, neumann, robin
from pdeinv.equations import Equation, Rod
from pdeinv.solvers import etdrk4_coefficients
from pdeinv.solvers.etdrk4 import etdrk4_matrix_coefficients


def polynomial(x):
    return 3 * x**5 - 2 * x**3 + x - 0.5


def polynomial_x(x):
    return 15 * x**4 - 6 * x**2 + 1


@pytest.mark.parametrize("domain", [(-1.0, 1.0), (0.0, 3.0), (-2.0, -0.5)])
def test_chebyshev_basis_is_exact_on_polynomials(domain):
    basis = ChebyshevBasis(9, domain)
    x = basis.x
    assert x[0] == domain[0] and x[-1] == domain[1] and np.all(np.diff(x) > 0)
    u = polynomial(x)
    assert np.max(np.abs(basis.D1 @ u - polynomial_x(x))) <= 1e-10 * max(1.0, np.max(np.abs(polynomial_x(x))))
    points = np.concatenate([[domain[0], domain[1]], np.random.default_rng(0).uniform(*domain, 20)])
    A = basis.interpolation_matrix(points).real
    assert np.max(np.abs(A @ u - polynomial(points))) <= 1e-11 * max(1.0, np.max(np.abs(u)))
    # resampling moves the interpolant to another number of points exactly
    finer = ChebyshevBasis.nodes(domain, 17)
    assert np.max(np.abs(ChebyshevBasis.resample(u, 17) - polynomial(finer))) <= 1e-11 * max(1.0, np.max(np.abs(u)))
    assert np.max(np.abs(np.asarray(basis.interpolate(jnp.asarray(u + 0j), points)) - polynomial(points))) <= \
        1e-11 * max(1.0, np.max(np.abs(u)))


def test_chebyshev_field_samples_and_projects_back_its_coefficients():
    field = ChebyshevField(5, (0.0, 2.0))
    c = np.array([0.3, -1.0, 0.5, 0.25, -0.125])
    x = ChebyshevBasis.nodes((0.0, 2.0), 12)
    series = np.polynomial.chebyshev.chebval(x - 1.0, c)  # s = 2 (x - a) / (b - a) - 1 = x - 1
    assert np.max(np.abs(field.samples(c, 12) - series)) <= 1e-13
    assert np.max(np.abs(field.basis_at(x) @ c - series)) <= 1e-13
    assert np.max(np.abs(field.project(series) - c)) <= 1e-13
    assert np.max(np.abs(ChebyshevBasis.amplitudes(series)[:5] - np.abs(c))) <= 1e-13


def test_chebyshev_noise_amplitude_is_the_rms_of_white_noise_coefficients():
    rng = np.random.default_rng(3)
    m, sigma = 257, 0.2
    draws = np.stack([ChebyshevBasis.amplitudes(sigma * rng.standard_normal(m))[1:-1] for _ in range(200)])
    rms = np.sqrt(np.mean(draws**2))
    assert abs(rms / ChebyshevBasis.noise_amplitude(sigma, m) - 1) < 0.02


def test_matrix_etdrk4_coefficients_equal_the_diagonal_ones_on_a_diagonal_operator():
    z = np.array([-2000.0, -35.0, -1.0, -1e-6, 0.0, 0.5, -3.0 + 40.0j, 2.0j])
    h = 0.01
    diagonal = [np.asarray(c) for c in etdrk4_coefficients(jnp.asarray(z), h)]
    dense = [np.asarray(c) for c in etdrk4_matrix_coefficients(jnp.asarray(np.diag(z)), h)]
    for d, m in zip(diagonal, dense):
        assert np.max(np.abs(np.diag(m) - d)) <= 1e-12 * max(1.0, np.max(np.abs(d)))
        assert np.max(np.abs(m - np.diag(np.diag(m)))) <= 1e-15


def test_matrix_etdrk4_coefficients_follow_a_change_of_basis():
    # phi(V diag(z) V^-1) = V phi(diag(z)) V^-1 for a non-normal V: the scaling and squaring of the
    # phi functions is not confined to diagonal input.
    rng = np.random.default_rng(1)
    V = np.eye(6) + 0.3 * rng.standard_normal((6, 6))
    z = np.array([-400.0, -20.0, -1.0, -0.1, 0.0, 0.3])
    h = 0.05
    dense = etdrk4_matrix_coefficients(jnp.asarray(V @ np.diag(z) @ np.linalg.inv(V)), h)
    for d, m in zip(etdrk4_coefficients(jnp.asarray(z), h), dense):
        expected = V @ np.diag(np.asarray(d)) @ np.linalg.inv(V)
        assert np.max(np.abs(np.asarray(m) - expected)) <= 1e-11 * max(1.0, np.max(np.abs(expected)))


def rod_exact(t, x, ua=0.0, ub=0.0):
    return np.exp(-t) * np.sin(np.pi * x) + (ua * (1 - x) + ub * (1 + x)) / 2


@pytest.mark.parametrize("ends", [(0.0, 0.0), (0.5, 2.0)])
def test_rod_with_a_source_equals_its_exact_solution_on_the_grid_at_points_and_in_batches(ends):
    ua, ub = ends
    eq = Rod(24)
    u0 = lambda x: rod_exact(0.0, x, ua, ub)  # noqa: E731
    params = {"D": 1.0, "ua": ua, "ub": ub}
    t = np.array([0.0, 0.1, 0.55, 1.0])
    assert np.max(np.abs(eq.solve(params, t, u0=u0) - rod_exact(t[:, None], eq.x[None, :], ua, ub))) <= 1e-10
    rng = np.random.default_rng(4)
    tp, xp = rng.uniform(0, 1, 64), rng.uniform(-1, 1, 64)
    xp[:2] = (-1.0, 1.0)  # the ends are observation points like any other
    assert np.max(np.abs(eq.solve_at(params, tp, xp, u0=u0) - rod_exact(tp, xp, ua, ub))) <= 1e-10
    batch = eq.solve_batch({"D": np.array([1.0, 1.0]), "ua": np.array([ua, ua]), "ub": np.array([ub, ub])}, t, u0=u0)
    assert np.max(np.abs(batch - rod_exact(t[:, None], eq.x[None, :], ua, ub)[None])) <= 1e-10


def test_rod_converges_spectrally_in_space():
    t = np.array([0.5])
    errors = []
    for n in (8, 10, 12, 14):
        eq = Rod(n)
        errors.append(np.max(np.abs(eq.solve({"D": 1.0}, t) - rod_exact(0.5, eq.x))))
    # geometric: each two more points gain more than an order of magnitude
    assert all(b < a / 10 for a, b in zip(errors, errors[1:])), errors
    assert errors[-1] < 1e-7


class Diffusion(Equation):
    """u_t = D u_xx (+ a source) on the Chebyshev basis: what the test equations below share."""

    basis_type = ChebyshevBasis

    def linear_symbol(self, params):
        return params["D"] * jnp.asarray(self.basis.D2)

    def nonlinear(self, v, params):
        return 0.0 * v


class MovingEnd(Diffusion):
    """u_t = u_xx + f on [0, 1], u(0) = 0, u(1) = cos(t): the exact solution x^2 cos(t) needs a
    source and an end value that varies in time."""

    name = "test-moving-end"
    param_names = ("D",)
    defaults = {"D": 1.0}
    default_n = 8
    default_domain = (0.0, 1.0)
    default_t_span = (0.0, 2.0)

    def default_initial_condition(self, x):
        return x**2

    def source(self, t, x, params):
        return -x**2 * jnp.sin(t) - 2.0 * params["D"] * jnp.cos(t)

    def boundary_conditions(self, params):
        return dirichlet(0.0), dirichlet(jnp.cos)


def test_time_dependent_end_and_source_converge_at_fourth_order_in_time():
    t = np.array([2.0])
    errors = []
    for dt in (0.2, 0.1, 0.05):
        eq = MovingEnd(dt=dt)
        errors.append(np.max(np.abs(eq.solve({}, t) - eq.x**2 * np.cos(2.0))))
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all((orders > 3.7) & (orders < 4.4)), (errors, orders)
    assert abs(MovingEnd(dt=0.01).solve({}, t)[0, -1] - np.cos(2.0)) <= 1e-9  # the end follows g(t)


class FluxRod(Diffusion):
    """u_t = D u_xx on [0, 1] with the flux u_x = C at both ends: exact u = C x + exp(-D pi^2 t) cos(pi x)."""

    name = "test-flux-rod"
    param_names = ("D", "C")
    defaults = {"D": 0.1, "C": 0.5}
    positive = ("D",)
    default_unknowns = ("C",)
    default_n = 20
    default_domain = (0.0, 1.0)
    default_t_span = (0.0, 1.0)

    def default_initial_condition(self, x):
        return self.defaults["C"] * x + np.cos(np.pi * x)

    def default_dt(self):
        return 2e-3

    def boundary_conditions(self, params):
        return neumann(params["C"]), neumann(params["C"])


def test_neumann_flux_is_exact_and_a_flux_parameter_is_recovered():
    eq = FluxRod()
    t = np.array([0.0, 0.4, 1.0])
    exact = 0.5 * eq.x[None] + np.exp(-0.1 * np.pi**2 * t[:, None]) * np.cos(np.pi * eq.x[None])
    assert np.max(np.abs(eq.solve({}, t) - exact)) <= 1e-10
    obs = simulate(FluxRod, points=64, layout="random", seed=3)
    for start in (-2.0, 5.0):
        result = fit(InverseProblem(obs), {"C": start})
        assert result.status == "converged"
        assert abs(result.params["C"] - 0.5) <= 1e-8


K, H = 1.5, 1.0
GAMMA = (K * np.sin(K) - H * np.cos(K)) / (np.cos(K) + H / K * np.sin(K))


class CoolingRod(Diffusion):
    """u_t = u_xx on [0, 1], u_x = H u at 0 and u_x + GAMMA u = 0 at 1 (Robin): exact
    u = exp(-K^2 t) (cos(K x) + H / K sin(K x))."""

    name = "test-cooling-rod"
    param_names = ("D",)
    defaults = {"D": 1.0}
    default_n = 20
    default_domain = (0.0, 1.0)

    def default_initial_condition(self, x):
        return np.cos(K * x) + H / K * np.sin(K * x)

    def boundary_conditions(self, params):
        return robin(-H, 1.0), robin(GAMMA, 1.0)


def test_robin_ends_are_exact():
    eq = CoolingRod()
    t = np.array([0.3, 1.0])
    exact = np.exp(-K**2 * t[:, None]) * (np.cos(K * eq.x[None]) + H / K * np.sin(K * eq.x[None]))
    assert np.max(np.abs(eq.solve({}, t) - exact)) <= 1e-10


@pytest.mark.parametrize("start", [1.0 / 30, 30.0])
def test_rod_diffusion_is_recovered_from_64_points_starting_30x_off(start):
    obs = simulate("rod", {"D": 0.7}, points=64, layout="random", seed=2)
    result = fit(InverseProblem(obs), {"D": start * 0.7})
    assert result.status == "converged"
    assert abs(result.params["D"] / 0.7 - 1) <= 1e-8


def test_an_initial_condition_against_the_ends_is_refused_in_one_line(tmp_path):
    with pytest.raises(ValueError, match=r"contradicts the left boundary condition \(u = 0.5 at x = -1\)"):
        Rod(16).solve({"ua": 0.5}, [0.5])
    with pytest.raises(ValueError, match=r"points must lie in the domain \[-1, 1\]"):
        Rod(16).solve_at({}, [0.5], [1.5])
    done = CliRunner().invoke(cli, ["simulate", "rod", "--param", "ub=1", "-o", str(tmp_path / "rod.h5")])
    assert done.exit_code == 2 and "Traceback" not in done.output
    assert "contradicts the right boundary condition (u = 1 at x = 1)" in done.output
    assert not (tmp_path / "rod.h5").exists()


def test_the_readme_robin_rod_runs_and_recovers_its_diffusion_and_heat_loss():
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = next(b for b in re.findall(r"```python\n(.*?)```", readme, re.S) if "class CoolingRod" in b)
    namespace: dict = {}
    exec(block, namespace)  # noqa: S102 - the README's own example, as a user would paste it
    obs = simulate(namespace["CoolingRod"], points=64, layout="random", seed=1)
    result = fit(InverseProblem(obs), {"D": 0.01, "h": 10.0})
    assert result.status == "converged"
    assert abs(result.params["D"] / 0.1 - 1) <= 1e-8 and abs(result.params["h"] / 2.0 - 1) <= 1e-8
