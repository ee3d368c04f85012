"""The fit engine as composable parts: derivative sources x step rules, one status vocabulary,
an immutable problem, method-independent option checks, time limits."""

import numpy as np
import optax
import pytest
from click.testing import CliRunner

from pdeinv import InverseProblem, fit, save_observations, simulate
from pdeinv.cli import cli
from pdeinv.estimators import Estimate, ExactAD, ZOSketch
from pdeinv.fit import Dogleg, LevenbergMarquardt, OptaxStep, Solver
from pdeinv.fit.refine import misfit_allows_refinement


@pytest.fixture(scope="module")
def obs():
    return simulate("burgers", {"nu": 0.05}, points=16, n=128, dt=5e-4)


class CentralJacobian:
    """A derivative source written by a user: the full Jacobian by central differences."""

    name = "central-fd"
    provides = ("jacobian", "gradient")

    def __call__(self, evaluator, z, base, rng):
        d, eps = z.size, 1e-5
        Z = np.concatenate([z + eps * np.eye(d), z - eps * np.eye(d)])
        R, finite = evaluator.residuals(Z)
        if base is None:
            base = evaluator.residuals(z[None, :])[0][0]
        jac = ((R[:d] - R[d:]) / (2 * eps)).T
        return Estimate(float(np.mean(base**2)), base, jac=jac, directions=np.eye(d), nfev=2 * d)


def test_a_new_derivative_source_composes_with_an_existing_step_rule(obs):
    result = fit(InverseProblem(obs, n=64), {"nu": 0.2}, solver=Solver(CentralJacobian(), LevenbergMarquardt()))
    assert result.status == "converged" and result.success, result.message
    assert abs(result.params["nu"] / 0.05 - 1) < 1e-4
    assert result.settings["method"] == "custom"


def test_exact_gradients_with_adam_and_a_sketch_with_dogleg(obs):
    adam = fit(InverseProblem(obs, n=64), {"nu": 0.08}, solver=Solver(ExactAD(), OptaxStep(optax.adam(0.05))),
               max_steps=60, search=False, auto_grid=False)
    assert adam.status == "max_steps" and not adam.success
    assert adam.history["loss"][-1] < 1e-3 * adam.history["loss"][0]
    dogleg = fit(InverseProblem(obs, n=64), {"nu": 0.2}, solver=Solver(ZOSketch(1), Dogleg()))
    assert dogleg.status == "converged", dogleg.message
    assert abs(dogleg.params["nu"] / 0.05 - 1) < 1e-4


def test_incompatible_compositions_are_refused():
    from pdeinv.estimators import ZOGradient

    with pytest.raises(ValueError, match="needs a jacobian, which ZOGradient does not provide"):
        Solver(ZOGradient(), LevenbergMarquardt())


@pytest.mark.parametrize("method, options, status", [
    ("zo-gn", {}, "converged"),
    ("exact", {}, "converged"),
    ("lsq", {}, "converged"),
    ("zo", {"max_steps": 3}, "max_steps"),
    ("zo-gn", {"max_nfev": 12}, "max_nfev"),
    ("lsq", {"max_nfev": 3}, "max_nfev"),
    ("pinn", {"max_steps": 2}, "max_steps"),
])
def test_status_is_one_vocabulary_and_success_means_converged(obs, method, options, status):
    if method == "pinn":
        from pdeinv.pinn import PINNConfig, fit_pinn

        result = fit_pinn(InverseProblem(obs), {"nu": 0.08}, config=PINNConfig(depth=2, width=8, batch=32, unroll=2,
                                                                                  warmup_steps=2), **options)
        assert result.nfev == 0 and result.evaluations == 2
    else:
        result = fit(InverseProblem(obs, n=64), {"nu": 0.08}, method=method, auto_grid=False, **options)
    assert result.status == status, result.message
    assert result.success == (status == "converged")


def test_cli_exits_1_when_steps_run_out(tmp_path, obs):
    path = tmp_path / "obs.h5"
    save_observations(obs, path)
    run = CliRunner().invoke(cli, ["fit", "burgers", "--obs", str(path), "--method", "zo", "--steps", "2", "--n", "64",
                                   "--quiet", "--no-auto-grid"])
    assert run.exit_code == 1, run.output
    assert "NOT converged (max_steps: stopped: max_steps reached" in run.output


def test_max_time_stops_with_a_checkpoint(tmp_path, obs):
    checkpoint = tmp_path / "t.ckpt.h5"
    result = fit(InverseProblem(obs, n=64), {"nu": 0.08}, method="zo", max_steps=100000, max_time=1.0,
                 checkpoint=checkpoint, auto_grid=False)
    assert result.status == "max_time" and checkpoint.exists()
    assert 1.0 <= result.wall_time < 30
    resumed = fit(InverseProblem(obs, n=64), resume=checkpoint, max_steps=None)
    assert resumed.history["nfev"][: len(result.history["nfev"])] == result.history["nfev"]


def test_the_problem_is_not_changed_by_a_fit(obs):
    problem = InverseProblem(obs, n=32)
    before = problem.grid
    result = fit(problem, {"nu": 0.08})
    assert result.grid["n"] > 32  # the fit refined its own copy...
    assert problem.grid == before and not hasattr(problem, "nfev")  # ...not the problem
    finer = problem.with_grid(64)
    assert finer.grid["n"] == 64 and problem.grid == before


@pytest.mark.parametrize("method", ["zo-gn", "zo", "exact", "lsq"])
def test_option_checks_do_not_depend_on_the_method(obs, method):
    problem = InverseProblem(obs, n=32)
    with pytest.raises(ValueError, match="directions must be a positive integer|option directions applies"):
        fit(problem, method=method, directions=0)
    if method in ("exact", "lsq"):
        with pytest.raises(ValueError, match=f"option directions applies to methods zo-gn and zo, not {method}"):
            fit(problem, method=method, directions=4)
    with pytest.raises(ValueError, match="preset 'paper' runs method 'zo'"):
        fit(problem, method="lsq" if method == "zo" else method, preset="paper")


def test_refinement_only_near_the_noise_or_roundoff_level(obs):
    problem = InverseProblem(obs, n=32)
    scale = np.sqrt(np.mean(problem.data**2))
    assert misfit_allows_refinement(problem, np.full(obs.n_points, 1e-4 * scale))
    assert not misfit_allows_refinement(problem, np.full(obs.n_points, 0.2 * scale))
    noisy = simulate("burgers", {"nu": 0.05}, points=16, n=128, noise=0.01)
    noisy_problem = InverseProblem(noisy, n=32)
    assert misfit_allows_refinement(noisy_problem, np.full(noisy.n_points, 1.0))
    assert not misfit_allows_refinement(noisy_problem, np.full(noisy.n_points, 10.0))


@pytest.mark.parametrize("ratio, refined", [(0.96, False), (0.4, True)])
def test_refinement_stops_when_a_finer_grid_does_not_settle_the_estimate(obs, monkeypatch, ratio, refined):
    # The shift a finer grid would cause, as measured, then scaled to a chosen sequence: 0.5 on the
    # first check, then `ratio` times the previous one. Beyond the equation's default grid (set to
    # 32 here) a shift that does not shrink below 0.9 of the previous one stops the refinement.
    import importlib

    from pdeinv.equations import Burgers

    engine = importlib.import_module("pdeinv.fit.engine")  # pdeinv.fit is also the function

    measured = engine.grid_shift_estimate
    shifts = []

    def scaled(ev, z, r, J=None):
        shift, *rest = measured(ev, z, r, J)
        shifts.append(0.5 * ratio ** len(shifts))
        return np.full_like(shift, shifts[-1]), *rest

    monkeypatch.setattr(engine, "grid_shift_estimate", scaled)
    monkeypatch.setattr(Burgers, "default_n", 32)
    result = fit(InverseProblem(obs, n=32), {"nu": 0.06}, max_n=128)
    assert result.status == "converged"
    if refined:  # the shift halves: refined to the largest grid allowed
        assert result.grid["n"] == 128 and "does not settle" not in result.message
    else:  # 0.5, then 0.48: kept the grid of the second check
        assert len(shifts) == 2 and result.grid["n"] == 64
        assert "refining the grid does not settle the estimate (it moved 0.5, then 0.48): kept n = 64" in result.message


def test_a_raising_black_box_names_its_error(obs):
    def forward(params):
        return params["nuu"]  # a typo: KeyError at every call

    result = fit(InverseProblem(obs, forward=forward), {"nu": 0.08})
    assert result.status == "failed"
    assert "first error: KeyError: 'nuu'" in result.message and "test_engine.py" in result.message


@pytest.mark.parametrize("make", [lambda: Solver(ZOSketch(1), Dogleg()),
                                  lambda: Solver(ExactAD(), OptaxStep(optax.adam(0.05))),
                                  lambda: Solver(CentralJacobian(), LevenbergMarquardt(broyden=False))],
                         ids=["sketch+dogleg", "exact+adam", "user-fd+lm"])
def test_resume_is_bitwise_identical_for_compositions(tmp_path, obs, make):
    options = dict(seed=4, max_steps=12, auto_grid=False)
    whole = fit(InverseProblem(obs, n=32), {"nu": 0.12}, solver=make(), **options)
    polls = []
    checkpoint = tmp_path / "c.ckpt.h5"
    part = fit(InverseProblem(obs, n=32), {"nu": 0.12}, solver=make(), checkpoint=checkpoint, checkpoint_every=1,
               should_stop=lambda: polls.append(1) or len(polls) == 4, **options)
    assert part.status == "interrupted"
    with pytest.raises(ValueError, match="custom solver: pass the same solver"):
        fit(InverseProblem(obs, n=32), resume=checkpoint)
    resumed = fit(InverseProblem(obs, n=32), resume=checkpoint, solver=make())
    assert resumed.params == whole.params and resumed.history == whole.history
    assert (resumed.nfev, resumed.nit, resumed.status) == (whole.nfev, whole.nit, whole.status)


def _kdv_with_dense_first_row(points_at_t0=256):
    """KdV data (simulated on a finer grid) holding its whole first row at t = 0 as
    observations, plus 64 scattered points later: noise-free."""
    import dataclasses

    later = simulate("kdv", points=64, layout="random", seed=1)
    a, b = later.domain
    x0 = np.linspace(a, b, later.u0.size, endpoint=False)
    every = later.u0.size // points_at_t0
    return dataclasses.replace(later, t=np.concatenate([np.zeros(points_at_t0), later.t]),
                               x=np.concatenate([x0[::every], later.x]),
                               u=np.concatenate([later.u0[::every], later.u]), grid_shape=None)


@pytest.mark.parametrize("modes", [8, 16])
def test_a_joint_field_and_scalar_fit_moves_the_scalar(modes):
    # u0 starts at zero, where the solution is u = 0 whatever lambda2 is: the first Jacobian's
    # lambda2 column is exactly zero. The fit used to keep that column (secant updates never
    # move a direction the steps do not take), crawl, and then call a step shrunk by the
    # damping "below tol": "converged" with lambda2 at its start, 10 % off.
    problem = InverseProblem(_kdv_with_dense_first_row(), ("u0", "lambda2"), modes=modes)
    result = fit(problem, {"lambda2": 0.00275}, intervals="none")
    assert result.status == "converged", result.message
    assert abs(result.params["lambda2"] / 0.0025 - 1) < 1e-7


class RecordingSketch(ZOSketch):
    """The default sketch, recording every point and direction it measures."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.measured = []

    def along(self, problem, z, base, V):
        self.measured.append((np.array(z), np.array(V)))
        return super().along(problem, z, base, V)


@pytest.mark.parametrize("case", ["kdv", "diffusive"])
def test_converged_means_the_jacobian_was_measured_at_the_end_along_every_direction(case):
    # "diffusive": viscous Burgers erases u0's high modes before the first observation, so the
    # sketch stops exploring them (their columns are negligible): convergence must still wait for
    # a Jacobian measured along all of them at the final point.
    if case == "kdv":
        problem = InverseProblem(_kdv_with_dense_first_row(128), ("u0", "lambda2"), modes=8)
        init = {"lambda2": 0.00275}
    else:
        data = simulate("burgers", {"nu": 0.5}, points=64, n=128, dt=5e-4,
                        u0=lambda x: -np.sin(np.pi * x) + 0.3 * np.cos(2 * np.pi * x), fixed=("nu", "lambda1"))
        problem = InverseProblem(data, ("u0",), modes=32, n=80, regularization=1e-10)
        init = None
    sketch = RecordingSketch(directions=4, distribution="ordered")
    result = fit(problem, init, solver=Solver(sketch, LevenbergMarquardt()), intervals="none", auto_grid=False)
    assert result.status == "converged", result.message
    final = problem.to_z(result.params)
    here = [V for z, V in sketch.measured if np.array_equal(z, final)]
    assert here and np.linalg.matrix_rank(np.concatenate(here, axis=1)) == problem.dim
