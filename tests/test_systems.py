"""Systems of several components (species): the stepper with a component axis against exact
solutions (Fourier, per-component symbols and coupling through the nonlinear term), the
two-species diffusion-reaction system against an independent implicit reference, recovery of D
and k from both species and from one, observation files with a component per point, and bad
input."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from numpy.polynomial import chebyshev as npcheb
from scipy.integrate import solve_ivp

from pdeinv import InverseProblem, Observations, fit, load_observations, save_observations, simulate
from pdeinv._jax import jnp
from pdeinv.cli import cli
from pdeinv.discretizations import dirichlet
from pdeinv.equations import Equation, Reaction
from pdeinv.problems.observations import ObservationError


class Exchange(Equation):
    """Two periodic fields that diffuse (each with its own D) and exchange at rate c:
    ``A_t = Da A_xx - c (A - B)``, ``B_t = Db B_xx - c (B - A)``."""

    name = "test-exchange"
    components = ("A", "B")
    param_names = ("Da", "Db", "c")
    defaults = {"Da": 0.1, "Db": 0.1, "c": 0.5}
    default_n = 32
    default_domain = (0.0, 2 * np.pi)
    default_t_span = (0.0, 1.0)
    max_dt = 0.01

    def default_initial_condition(self, x):
        return np.stack([np.sin(x) + np.cos(x), np.sin(x) - np.cos(x)])

    def linear_symbol(self, params):
        k2 = jnp.asarray(self.k) ** 2
        return jnp.stack([-params["Da"] * k2, -params["Db"] * k2])

    def nonlinear(self, v, params):
        return params["c"] * jnp.stack([v[1] - v[0], v[0] - v[1]])


def test_a_coupled_periodic_system_equals_its_exact_solution():
    # With Da = Db = D the sum decays as exp(-D t) sin x, the difference as exp(-(D + 2c) t) cos x.
    D, c = 0.1, 0.5
    eq = Exchange()
    t = np.linspace(0, 1, 6)
    u = eq.solve({"Da": D, "Db": D, "c": c}, t)
    assert u.shape == (6, 2, 32)
    x = eq.x
    s = np.exp(-D * t)[:, None] * np.sin(x)
    d = np.exp(-(D + 2 * c) * t)[:, None] * np.cos(x)
    assert np.max(np.abs(u[:, 0] - (s + d))) < 1e-10
    assert np.max(np.abs(u[:, 1] - (s - d))) < 1e-10
    # each component keeps its own symbol: uncoupled, exp(-Da t) and exp(-Db t)
    u = eq.solve({"Da": 0.3, "Db": 0.05, "c": 0.0}, t)
    u0 = eq.u0
    assert np.max(np.abs(u[:, 0] - np.exp(-0.3 * t)[:, None] * u0[0])) < 1e-10
    assert np.max(np.abs(u[:, 1] - np.exp(-0.05 * t)[:, None] * u0[1])) < 1e-10
    # at scattered points, each point its own component, single and batched
    rng = np.random.default_rng(0)
    tp, xp = rng.uniform(0, 1, 40), rng.uniform(0, 2 * np.pi, 40)
    comp = rng.integers(0, 2, 40)
    values = eq.solve_at({"Da": D, "Db": D, "c": c}, tp, xp, components=comp)
    exact = np.exp(-D * tp) * np.sin(xp) + np.where(comp == 0, 1, -1) * np.exp(-(D + 2 * c) * tp) * np.cos(xp)
    assert np.max(np.abs(values - exact)) < 1e-10
    batch = eq.solve_batch({"Da": [0.3, D], "Db": [0.05, D], "c": [0.0, c]}, t)
    assert batch.shape == (2, 6, 2, 32)
    assert np.max(np.abs(batch[1, :, 0] - (s + d))) < 1e-10


def reference_reaction(t, nr=64, D=2e-3, k=0.1):
    """The diffusion-reaction system by scipy's Radau (rtol 1e-12) on a Chebyshev collocation
    whose second-derivative matrix comes from numpy.polynomial (not from pdeinv)."""
    s = -np.cos(np.pi * np.arange(nr) / (nr - 1))
    x = (s + 1) / 2
    to_coefficients = np.linalg.inv(npcheb.chebvander(s, nr - 1))
    second = np.stack([npcheb.chebval(s, npcheb.chebder(np.eye(nr)[j], 2)) for j in range(nr)], axis=1)
    D2 = 4.0 * second @ to_coefficients  # d/dx = 2 d/ds on [0, 1]

    def rate(_, y):
        A, B = y[:nr].copy(), y[nr:].copy()
        A[0] = B[0] = 1.0
        A[-1] = B[-1] = 0.0
        r = k * A * B * B
        dA, dB = D * D2 @ A - r, D * D2 @ B - 2 * r
        dA[[0, -1]] = dB[[0, -1]] = 0.0
        return np.concatenate([dA, dB])

    u0 = np.exp(-20 * x)
    u0[0], u0[-1] = 1.0, 0.0
    sol = solve_ivp(rate, (t[0], t[-1]), np.concatenate([u0, u0]), method="Radau", t_eval=t, rtol=1e-12, atol=1e-14)
    assert sol.success
    return x, sol.y.T.reshape(len(t), 2, nr)


def test_the_diffusion_reaction_system_agrees_with_an_independent_implicit_reference():
    t = np.linspace(0, 10, 6)
    x, reference = reference_reaction(t)
    # the reference itself: 64 and 80 collocation points agree to well inside the tolerance
    x80, finer = reference_reaction(t, nr=80)
    assert np.max(np.abs(Reaction(n=80).interpolate(finer, x) - reference)) < 1e-9
    eq = Reaction()
    u = eq.solve({}, t)
    assert u.shape == (6, 2, eq.n)
    assert np.max(np.abs(eq.interpolate(u, x) - reference)) < 1e-8
    # its batches run member by member (large step matrices): the same values as single solves
    assert eq.sequential_batches and not Reaction(16).sequential_batches
    batch = eq.solve_batch({"D": [2e-3, 3e-3, 2e-3]}, t)
    assert np.max(np.abs(batch[0] - u)) < 1e-12 and np.max(np.abs(batch[2] - u)) < 1e-12
    assert np.max(np.abs(batch[1] - u)) > 1e-3
    # a coarser grid is visibly worse: the agreement is spectral accuracy, not luck
    coarse = Reaction(n=24).solve({}, t)
    assert np.max(np.abs(Reaction(n=24).interpolate(coarse, x) - reference)) > 1e-7


@pytest.mark.parametrize("observed", [("A", "B"), ("B",)])
def test_d_and_k_are_recovered_from_both_species_and_from_one(observed, tmp_path):
    obs = simulate("reaction", points=64, layout="random", seed=3, components=list(observed))
    assert obs.n_points == 64 * len(observed)
    assert set(obs.component_names) == set(observed)
    path = save_observations(obs, tmp_path / "r.h5")
    again = load_observations(path)
    assert np.array_equal(again.component, obs.component)
    result = fit(InverseProblem(again), {"D": 2e-3 * 10, "k": 0.1 / 5})
    assert result.status == "converged"
    assert abs(result.params["D"] / 2e-3 - 1) < 1e-7
    assert abs(result.params["k"] / 0.1 - 1) < 1e-7


def test_a_system_without_components_or_with_a_wrong_one_is_refused_in_one_line(tmp_path):
    t, x, u = np.array([1.0, 2.0]), np.array([0.2, 0.4]), np.array([0.5, 0.3])
    u0 = np.ones((2, 8))
    with pytest.raises(ObservationError, match="say which component"):
        Observations("reaction", t, x, u, u0)
    with pytest.raises(ObservationError, match="no component 'C'; its components are A, B"):
        Observations("reaction", t, x, u, u0, component=["A", "C"])
    with pytest.raises(ObservationError, match="indices 0..1"):
        Observations("reaction", t, x, u, u0, component=[0, 2])
    with pytest.raises(ObservationError, match="one field"):
        Observations("burgers", t, x, u, np.ones(8), component=[0, 0])
    with pytest.raises(ObservationError, match="a row of at least 4 samples per component"):
        Observations("reaction", t, x, u, np.ones(8), component=["A", "B"])
    runner = CliRunner()
    out = tmp_path / "c.h5"
    result = runner.invoke(cli, ["simulate", "reaction", "--components", "A,C", "-o", str(out)])
    assert result.exit_code == 2 and "no component 'C'" in result.output and not out.exists()
    assert "Traceback" not in result.output


class TwoRods(Equation):
    """Two species on a rod, each with its own Dirichlet ends (for the bad-input test)."""

    name = "test-two-rods"
    basis_type = Reaction.basis_type
    components = ("u", "v")
    param_names = ("D",)
    defaults = {"D": 1.0}
    default_n = 16
    max_dt = 0.01

    def default_initial_condition(self, x):
        return np.stack([np.zeros_like(x), 2.0 + 0 * x])

    def linear_symbol(self, params):
        return params["D"] * jnp.asarray(self.basis.D2)

    def nonlinear(self, v, params):
        return 0.0 * v

    def boundary_conditions(self, params):
        return (dirichlet(0.0), dirichlet(0.0)), (dirichlet(2.0), dirichlet(2.0))


def test_each_component_keeps_its_own_boundary_conditions_and_a_contradiction_names_it():
    eq = TwoRods()
    u = eq.solve({}, np.linspace(0, 0.5, 3))
    assert np.max(np.abs(u[:, 0])) < 1e-12 and np.max(np.abs(u[:, 1] - 2.0)) < 1e-10
    with pytest.raises(ValueError, match="initial condition of v contradicts the left boundary condition"):
        eq.solve({}, [0.5], u0=lambda x: np.stack([0 * x, 1.0 + x - x]))


def test_a_measured_snapshot_of_a_system_is_said_to_be_assumed_exact():
    obs = simulate("reaction", points=16, layout="random", noise=0.01, seed=0)
    assert obs.u0.shape[0] == 2 and obs.u0_measured
    problem = InverseProblem(obs)
    assert problem.initial.mode == "exact" and problem.initial.reason.startswith("ASSUMED EXACT")
    assert "end values follow the boundary conditions (A = B = 1 at x = 0, A = B = 0 at x = 1)" in problem.initial.reason


def test_grids_of_both_species_are_imported_with_the_domain_from_the_data_and_u0_never_guessed(tmp_path):
    from pdeinv.io import import_arrays

    eq = Reaction(64)
    t = np.linspace(0, 10, 11)
    u = eq.solve({}, t)
    uniform = np.linspace(0, 1, 41)
    path = tmp_path / "reaction.npz"
    np.savez(path, t=t[:, None], x=uniform[:, None], Ca=eq.interpolate(u[:, 0], uniform),
             Cb=eq.interpolate(u[:, 1], uniform))
    # evenly spaced x are not where the state lives: the first row is not taken as u0 silently
    runner = CliRunner()
    out = tmp_path / "o.h5"
    result = runner.invoke(cli, ["import", "arrays", str(path), "--equation", "reaction", "--u", "Ca,Cb", "-o", str(out)])
    assert result.exit_code == 2 and "give the initial condition" in result.output and not out.exists()
    result = runner.invoke(cli, ["import", "arrays", str(path), "--equation", "reaction", "--u", "Ca", "-o", str(out)])
    assert result.exit_code == 2 and "one variable per component" in result.output
    result = runner.invoke(cli, ["import", "arrays", str(path), "--equation", "reaction", "--u", "Ca,Cb",
                                 "--u0", "exp(-20*x);exp(-20*x)", "-o", str(out)])
    assert result.exit_code == 0, result.output
    obs = load_observations(out)
    assert obs.domain == (0.0, 1.0) and "first and last x" in obs.metadata["domain_source"]
    assert obs.n_points == 2 * 10 * 41 and np.array_equal(np.bincount(obs.component), [410, 410])
    b = obs.component == 1
    assert np.max(np.abs(obs.u[b] - eq.solve_at({}, obs.t[b], obs.x[b], components=obs.component[b]))) < 1e-12
    assert np.allclose(obs.u0, np.exp(-20 * Reaction.basis_type.nodes((0, 1), obs.u0.shape[1])))
    # on the Chebyshev points the first row is the (measured) initial condition, and points subsample
    np.savez(path, t=t, x=eq.x, Ca=u[:, 0], Cb=u[:, 1])
    obs = import_arrays(path, "reaction", u="Ca,Cb", points=30, seed=1)
    assert obs.u0_measured and obs.u0.shape == (2, 64) and obs.n_points == 60
    assert np.array_equal(obs.t[:30], obs.t[30:]) and np.array_equal(obs.x[:30], obs.x[30:])


def k_true(x):
    return 0.1 + np.exp(-0.5 * ((np.asarray(x) - 0.5) / 0.15) ** 2)


def test_a_space_dependent_rate_settles_on_the_steady_state_of_an_independent_collocation():
    from pdeinv.equations import ReactionRate

    # lambda u'' - k(x) u = sin(2 pi x), u(0) = u(1) = 0 by collocation at 80 Chebyshev points with
    # numpy.polynomial's derivatives (not pdeinv's), solved directly
    nr = 80
    s = -np.cos(np.pi * np.arange(nr) / (nr - 1))
    xr = (s + 1) / 2
    second = np.stack([npcheb.chebval(s, npcheb.chebder(np.eye(nr)[j], 2)) for j in range(nr)], axis=1)
    A = 0.01 * 4.0 * second @ np.linalg.inv(npcheb.chebvander(s, nr - 1)) - np.diag(k_true(xr))
    rhs = np.sin(2 * np.pi * xr)
    A[[0, -1]] = 0.0
    A[0, 0] = A[-1, -1] = 1.0
    rhs[[0, -1]] = 0.0
    steady = np.linalg.solve(A, rhs)
    eq = ReactionRate(40, t_span=(0.0, 200.0))  # the transient decays at least as exp(-0.2 t)
    u = eq.solve({"k": k_true}, [200.0])
    assert np.max(np.abs(eq.interpolate(u[-1], xr) - steady)) < 1e-8


def test_a_space_dependent_rate_is_recovered_as_a_field_with_a_band_that_says_where_it_is_undetermined():
    obs = simulate("reaction-rate", {"k": k_true}, points=64, layout="random", seed=2, noise=0.01, snapshot="exact")
    problem = InverseProblem(obs, unknowns=("k(x)",))
    result = fit(problem, problem.default_init(), regularization="auto")
    assert result.status == "converged"
    x = np.linspace(0.15, 0.85, 71)
    estimate = np.exp(problem.field.basis_at(x) @ problem.field_coefficients(result.params))
    assert np.max(np.abs(estimate / k_true(x) - 1)) < 0.15  # where u is large, k is determined
    unc = result.uncertainty
    low, high = (np.asarray(b) for b in unc["band"])
    inside = (low <= k_true(np.asarray(unc["x"]))) & (k_true(np.asarray(unc["x"])) <= high)
    assert inside.mean() >= 0.8
    # u = 0 at the ends hides k there: the band says so
    assert any("not determined on x in [0," in line for line in unc["undetermined"])


def gray_scott_reference(t, n=256, Du=2e-5, Dv=1e-5, F=0.04, k=0.06, L=2.5):
    """Gray-Scott by scipy's DOP853 (rtol 1e-12) on a Fourier semi-discretization in NumPy."""
    x = np.arange(n) * L / n
    wavenumbers = 2 * np.pi * np.fft.rfftfreq(n, L / n)
    bump = np.exp(-(((x - 1.25) / 0.1) ** 2))

    def laplacian(u, D):
        return np.fft.irfft(-D * wavenumbers**2 * np.fft.rfft(u), n)

    def rate(_, y):
        u, v = y[:n], y[n:]
        r = u * v * v
        return np.concatenate([laplacian(u, Du) - r + F * (1 - u), laplacian(v, Dv) + r - (F + k) * v])

    sol = solve_ivp(rate, (0, t[-1]), np.concatenate([1 - 0.5 * bump, 0.25 * bump]), method="DOP853", t_eval=t,
                    rtol=1e-12, atol=1e-13)
    return sol.y.T.reshape(len(t), 2, n)


def test_gray_scott_agrees_with_an_independent_integrator_at_fourth_order():
    from pdeinv.equations import GrayScott

    t = np.linspace(0, 200, 5)
    reference = gray_scott_reference(t, n=512)
    errors = [np.max(np.abs(GrayScott(dt=dt).solve({}, t) - reference)) for dt in (1.0, 0.5)]
    assert 3.5 < np.log2(errors[0] / errors[1]) < 4.5
    default = GrayScott()
    u = default.solve({}, t)
    assert np.max(np.abs(u - reference)) < 1e-8
    # and the default grid resolves the field: a grid twice as fine moves it by less than 1e-8
    finer = GrayScott(n=1024)
    assert np.max(np.abs(default.interpolate(u, finer.x) - finer.solve({}, t))) < 1e-8


def test_gray_scott_feed_and_kill_rates_are_recovered_from_the_second_species_alone():
    obs = simulate("gray-scott", points=64, layout="random", seed=4, components=["v"])
    result = fit(InverseProblem(obs), {"F": 0.04 * 3, "k": 0.06 / 3})
    assert result.status == "converged"
    assert abs(result.params["F"] / 0.04 - 1) < 1e-6 and abs(result.params["k"] / 0.06 - 1) < 1e-6


def test_fisher_kpp_without_flux_keeps_a_uniform_population_logistic_and_gives_back_d_and_r():
    from pdeinv.equations import FisherKPP

    t = np.linspace(0, 5, 6)
    u = FisherKPP().solve({"r": 1.0}, t, u0=lambda x: 0.2 + 0 * x)  # no flux: stays uniform, logistic
    assert np.max(np.abs(u - (1 / (1 + 4 * np.exp(-t)))[:, None])) < 1e-9
    with pytest.raises(ValueError, match="contradicts the left boundary condition"):
        FisherKPP().solve({}, t, u0=lambda x: np.exp(-((x - 1) ** 2)))  # u_x(0) = 2 / e, not 0
    obs = simulate("fisher-kpp", points=64, layout="random", seed=5)
    result = fit(InverseProblem(obs), {"D": 10.0, "r": 0.2})
    assert result.status == "converged"
    assert abs(result.params["D"] - 1) < 1e-7 and abs(result.params["r"] - 1) < 1e-7
