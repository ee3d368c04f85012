"""Estimators and the fit loop: against exact AD, on linear toys, on black boxes and on data."""

import numpy as np
import pytest
from click.testing import CliRunner

from pdeinv import InverseProblem, fit, load_result, save_observations, simulate
from pdeinv.cli import cli
from pdeinv.estimators import ExactAD, ZOGradient, ZOSketch
from pdeinv.problems import Observations


@pytest.fixture(scope="module")
def burgers_obs():
    # Smooth viscosity so a 64-point fit grid resolves it; data simulated on a finer grid.
    return simulate("burgers", {"nu": 0.05}, points=16, n=128, dt=5e-4)


@pytest.fixture(scope="module")
def two_param_problem(burgers_obs):
    obs = simulate("kdv", {"lambda1": 1.0, "lambda2": 0.01}, points=16, n=128)
    return InverseProblem(obs, ("lambda1", "lambda2"), n=64, dt=4e-3)  # derivatives of the discrete map: any stable step


def test_zo_gradient_averages_to_exact_gradient(two_param_problem):
    problem = two_param_problem
    z = problem.to_z({"lambda1": 1.1, "lambda2": 0.012})
    exact = ExactAD().gradient(problem, z)
    K = 2000
    mean = ZOGradient(directions=K, scheme="central")(problem, z, None, np.random.default_rng(0)).grad
    # For gaussian v, the one-direction estimate (v.g) v has covariance g g^T + |g|^2 I, so the
    # mean of K has standard error sqrt((g_i^2 + |g|^2) / K); central differences add only
    # O(eps^2) bias. The mean must lie within 4 standard errors of the exact gradient...
    stderr = np.sqrt((exact**2 + exact @ exact) / K)
    assert np.all(np.abs(mean - exact) < 4 * stderr), (mean, exact, stderr)
    # ...a tolerance tight enough to reject a gradient 20 % off.
    assert np.any(np.abs(mean - 1.2 * exact) >= 4 * stderr)


def test_central_differences_have_second_order_bias(two_param_problem):
    problem = two_param_problem
    z = problem.to_z({"lambda1": 1.1, "lambda2": 0.012})
    exact_J = np.asarray(ExactAD()(problem, z, None, None).jac)
    errors = []
    for eps in (1e-2, 5e-3, 2.5e-3):
        est = ZOSketch(directions=2, scheme="central", eps=eps)(problem, z, None, np.random.default_rng(0))
        errors.append(np.linalg.norm(est.jac - exact_J) / np.linalg.norm(exact_J))
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all((orders > 1.8) & (orders < 2.2)), (errors, orders)


def linear_toy(A, b, noise_free=True):
    """Observations u = A [lambda1, log lambda2] + b, fitted through a NumPy forward map."""
    P = A.shape[0]
    z_true = np.array([0.7, np.log(0.02)])
    data = A @ z_true + b
    obs = Observations(
        "kdv", t=np.linspace(0.1, 1, P), x=np.zeros(P), u=data, u0=np.zeros(8),
        true_params={"lambda1": 0.7, "lambda2": 0.02},
    )
    forward = lambda p: A @ np.array([p["lambda1"], np.log(p["lambda2"])]) + b
    return InverseProblem(obs, ("lambda1", "lambda2"), forward=forward), z_true


def test_zo_gn_converges_on_linear_least_squares_in_two_steps():
    rng = np.random.default_rng(1)
    problem, z_true = linear_toy(rng.normal(size=(20, 2)), rng.normal(size=20))
    # Start within the trust region (max_step = 2 e-folds), so the first GN step is not cut.
    start = {"lambda1": 2.0, "lambda2": 0.1}
    two = fit(problem, start, method="zo-gn", search=False, auto_grid=False, max_steps=2)
    # Two damped Gauss-Newton steps (LM damping 1e-3, then 1e-4) leave ~1e-7 of the error.
    assert abs(two.params["lambda1"] - 0.7) < 1e-5 and abs(two.params["lambda2"] / 0.02 - 1) < 1e-5
    full = fit(problem, start, method="zo-gn", search=False, auto_grid=False)
    assert full.success and full.nit <= 4, full.message
    assert abs(full.params["lambda1"] - 0.7) < 1e-8


def test_zo_gn_with_k_equal_d_reproduces_finite_difference_lm_step():
    rng = np.random.default_rng(2)
    A, b = rng.normal(size=(12, 2)), rng.normal(size=12)
    problem, _ = linear_toy(A, b)
    z = problem.to_z({"lambda1": 2.0, "lambda2": 0.1})
    r = problem.residuals(z[None])[0][0]
    est = ZOSketch(directions=2)(problem, z, r, np.random.default_rng(0))
    # forward differences of a linear map are exact: the sketch is the Jacobian itself
    assert np.allclose(est.jac @ np.linalg.pinv(est.directions), A, atol=1e-7)
    # the classic finite-difference LM (fresh Jacobian every step) lands where GN lands
    result = fit(problem, {"lambda1": 2.0, "lambda2": 0.1}, search=False, auto_grid=False, broyden=False)
    gn = z - np.linalg.lstsq(A, r, rcond=None)[0]
    assert np.allclose(problem.to_z(result.params), gn, atol=1e-8)


def test_sketch_with_fewer_directions_reduces_loss_on_linear_problem():
    rng = np.random.default_rng(3)
    d, P = 2, 30
    problem, _ = linear_toy(rng.normal(size=(P, d)), rng.normal(size=P))
    start = {"lambda1": 3.0, "lambda2": 0.5}
    z = problem.to_z(start)
    r = problem.residuals(z[None])[0][0]
    result = fit(problem, start, directions=1, search=False, auto_grid=False, max_steps=3)
    assert result.loss < 0.5 * np.mean(r**2)


def test_numpy_black_box_is_fitted_by_every_black_box_method():
    # A forward map that is not JAX: a plain NumPy formula with a SciPy special function.
    from scipy.special import erf

    x = np.linspace(-1, 1, 25)
    t = np.full(25, 0.5)

    def forward(p):
        return erf(x / np.sqrt(4 * p["nu"] * 0.5))

    truth = 0.02
    obs = Observations("burgers", t=t, x=x, u=forward({"nu": truth}), u0=np.zeros(8), true_params={"nu": truth})
    for method in ("zo-gn", "zo", "lsq"):
        problem = InverseProblem(obs, forward=forward)
        options = {"learning_rate": 0.1, "max_steps": 400} if method == "zo" else {}
        result = fit(problem, {"nu": 0.05}, method=method, auto_grid=False, **options)
        assert abs(result.params["nu"] / truth - 1) < (1e-3 if method == "zo" else 1e-6), (method, result.message)
    with pytest.raises(ValueError, match="exact derivatives need the built-in JAX solver"):
        fit(InverseProblem(obs, forward=forward), {"nu": 0.05}, method="exact")


@pytest.mark.parametrize("method, tolerance", [("zo-gn", 1e-4), ("exact", 1e-4), ("lsq", 1e-4), ("zo", 5e-3)])
def test_each_method_recovers_burgers_viscosity(burgers_obs, method, tolerance):
    problem = InverseProblem(burgers_obs, n=64, dt=4e-3)  # a smooth field: 250 steps are ample
    options = {"max_steps": 150, "learning_rate": 0.05} if method == "zo" else {}
    result = fit(problem, {"nu": 0.15}, method=method, seed=0, **options)
    assert abs(result.params["nu"] / 0.05 - 1) < tolerance, (method, result.params, result.message)
    # the run counts its solves (the problem keeps no counter): every recorded point was paid for
    assert 0 < result.history["nfev"][-1] <= result.nfev and not hasattr(problem, "nfev")
    assert len(result.history["loss"]) == len(result.history["nfev"]) == len(result.history["params"]["nu"])


def test_search_finds_the_right_basin_from_far_away(burgers_obs):
    problem = InverseProblem(burgers_obs, n=64)
    result = fit(problem, {"nu": 0.05 * 25})
    assert result.success and abs(result.params["nu"] / 0.05 - 1) < 1e-4


def test_blow_up_at_trial_points_is_survived():
    truth = 0.02
    x = np.linspace(-1, 1, 10)
    obs = Observations("burgers", t=np.full(10, 0.5), x=x, u=np.tanh(x / truth), u0=np.zeros(8))
    calls = []

    def fragile(p):
        calls.append(p["nu"])
        if p["nu"] < 0.015:  # the "solver" blows up for small viscosity
            return np.full(10, np.nan)
        if p["nu"] > 0.2:
            raise RuntimeError("black box crashed")
        return np.tanh(x / p["nu"])

    result = fit(InverseProblem(obs, forward=fragile), {"nu": 0.05}, auto_grid=False)
    assert result.success and abs(result.params["nu"] / truth - 1) < 1e-6
    assert min(calls) < 0.015 and max(calls) > 0.2  # bad points were visited and rejected


def test_fit_reports_failure_instead_of_raising():
    obs = Observations("burgers", t=np.full(4, 0.5), x=np.zeros(4), u=np.ones(4), u0=np.zeros(8))
    result = fit(InverseProblem(obs, forward=lambda p: np.full(4, np.nan)), {"nu": 0.05}, auto_grid=False)
    assert not result.success and "failed" in result.message


def test_a_fit_compiles_one_solver_program_per_grid(burgers_obs):
    """Single trial points, the sketch, the intervals and the grid check share one compiled
    solver per grid, and the scan (10 members) one more on the first grid: batches run in
    chunks of a few fixed sizes."""
    from pdeinv._jax import compilations

    with compilations() as log:
        result = fit(InverseProblem(burgers_obs, n=32), {"nu": 0.1})
    assert result.success and result.nfev > 5 and result.grid["n"] > 32  # refined once at least
    grids = [n for n in (32, 64, 128, 256, 512) if n <= 2 * result.grid["n"]]  # each checked at 2 n
    assert log.count("at_points") == len(grids) + 1, log.programs


def test_same_seed_gives_identical_result(burgers_obs):
    runs = [fit(InverseProblem(burgers_obs, n=64), {"nu": 0.1}, method="zo", seed=7, max_steps=8, auto_grid=False) for _ in range(2)]
    assert runs[0].params == runs[1].params
    assert runs[0].history["loss"] == runs[1].history["loss"]
    other = fit(InverseProblem(burgers_obs, n=64), {"nu": 0.1}, method="zo", seed=8, max_steps=8, auto_grid=False)
    assert other.history["loss"] != runs[0].history["loss"]


def test_grid_check_refines_an_unresolved_grid_while_the_shift_is_above_the_noise():
    obs = simulate("burgers", {"nu": 0.01}, points=16, n=512, dt=2e-4, seed=2)
    problem = InverseProblem(obs, n=32)
    result = fit(problem, {"nu": 0.02})
    assert result.grid["n"] > 32 and result.grid["grid_shift"] < 1e-5
    assert abs(result.params["nu"] / 0.01 - 1) < 1e-3
    coarse = fit(InverseProblem(obs, n=32), {"nu": 0.02}, auto_grid=False)
    assert abs(coarse.params["nu"] / 0.01 - 1) > 1e-3  # the bias the check removes
    # The same design at 5 % noise: refined while the shift matters, and no further once a finer
    # grid would move nu by under a tenth of its standard error.
    noisy = simulate("burgers", {"nu": 0.01}, points=16, n=512, dt=2e-4, noise=0.05, seed=2)
    assert np.array_equal(noisy.t, obs.t) and np.array_equal(noisy.x, obs.x)
    stopped = fit(InverseProblem(noisy, n=32), {"nu": 0.02}, intervals="laplace")
    assert stopped.status == "converged" and "under a tenth of its standard error" in stopped.message
    lo, hi = stopped.intervals["nu"]
    standard_error = (np.log(hi) - np.log(lo)) / (2 * 1.96)  # the Laplace interval is in log nu
    assert 1e-5 < stopped.grid["grid_shift"] < 0.15 * standard_error
    assert stopped.grid["n"] < result.grid["n"]


def test_bad_fit_arguments(burgers_obs):
    problem = InverseProblem(burgers_obs, n=64)
    with pytest.raises(ValueError, match="method must be one of"):
        fit(problem, method="newton")
    with pytest.raises(ValueError, match=r"init names \[.D.\], which is not a parameter of burgers \(its parameters: "
                                         r"nu, lambda1; fitted: nu\)"):
        fit(problem, {"D": 1.0})
    with pytest.raises(ValueError, match=r"init names \[.lambda1.\], which are not fitted \(unknowns: nu; fit them"):
        fit(problem, {"lambda1": 1.0})
    with pytest.raises(ValueError, match="must be positive"):
        fit(problem, {"nu": -1.0})
    with pytest.raises(ValueError, match="unknown parameter 'lambda2' to fit"):
        InverseProblem(burgers_obs, ("lambda2",))
    with pytest.raises(ValueError, match="unknown preset"):
        fit(problem, preset="fast")


def test_cli_fit_end_to_end(tmp_path, burgers_obs):
    obs_path = tmp_path / "obs.h5"
    save_observations(burgers_obs, obs_path)
    out = tmp_path / "fit.h5"
    result = CliRunner().invoke(
        cli, ["fit", "burgers", "--obs", str(obs_path), "--init", "nu=0.1", "--n", "64", "-o", str(out), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    assert "nu" in result.output and "solver calls" in result.output
    saved, obs = load_result(out)
    assert abs(saved.params["nu"] / 0.05 - 1) < 1e-4
    assert saved.history["nfev"][-1] <= saved.nfev and obs.n_points == burgers_obs.n_points
    again = CliRunner().invoke(cli, ["fit", "burgers", "--obs", str(obs_path), "--n", "64", "-o", str(out)])
    assert again.exit_code == 2 and "--force" in again.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["fit", "kdv", "--obs", "{obs}"], "holds burgers observations, not kdv"),
        (["fit", "burgers", "--obs", "{tmp}/none.h5"], "no such file"),
        (["fit", "burgers", "--obs", "{obs}", "--init", "nu=abc"], "is not a number"),
        (["fit", "burgers", "--obs", "{obs}", "--init", "D=1"], "D is not a parameter of burgers"),
        (["fit", "burgers", "--obs", "{obs}", "--init", "mu=1"], "did you mean nu?"),
        (["fit", "burgers", "--obs", "{obs}", "--init", "lambda1=1"],
         "lambda1 is a parameter of burgers that this fit does not fit (unknowns: nu); fit it too with --fit nu,lambda1"),
        (["fit", "burgers", "--obs", "{obs}", "--init", "nu=0.03", "--init", "nu=0.05"], "gives nu twice"),
        (["fit", "burger", "--obs", "{obs}"], "did you mean 'burgers'?"),
        (["fit", "burgers", "--obs", "{obs}", "--fit", "lambda2"], "unknown parameter 'lambda2'"),
        (["fit", "burgers", "--obs", "{obs}", "--method", "newton"], "Invalid value"),
        (["fit", "burgers", "--obs", "{obs}", "--steps", "0"], "max_steps must be a positive integer"),
        (["fit", "burgers", "--obs", "{obs}", "--n", "31"], "n must be an even integer"),
    ],
)
def test_cli_fit_bad_arguments_exit_2(tmp_path, burgers_obs, args, message):
    obs_path = tmp_path / "obs.h5"
    save_observations(burgers_obs, obs_path)
    result = CliRunner().invoke(cli, [a.format(obs=obs_path, tmp=tmp_path) for a in args] + ["--quiet"])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_failed_solves_are_counted_once(burgers_obs):
    # Every solve fails (nu = 1e300 overflows); the report of the final loss is not a trial solve.
    result = fit(InverseProblem(burgers_obs, n=64), {"nu": 1e300})
    assert result.status == "failed"
    assert f"; {result.nfev} trial solves failed" in result.message, (result.nfev, result.message)


def test_every_path_ends_in_a_known_status_and_success_means_converged():
    from pdeinv.result import STATUSES, FitResult

    common = dict(params={"nu": 0.01}, message="", nfev=1, nit=1, loss=0.0, history={}, grid={}, wall_time=0.0,
                  seed=0, settings={}, equation="burgers")
    assert FitResult(success=True, status="converged", **common).status == "converged"
    with pytest.raises(ValueError, match="status must be one of"):
        FitResult(success=False, status="stopped", **common)
    with pytest.raises(ValueError, match="success must mean converged"):
        FitResult(success=True, status="poor_fit", **common)
    assert "poor_fit" in STATUSES and "interrupted" in STATUSES
