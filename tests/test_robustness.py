"""Long fits that survive: checkpoint and resume, signals, failing black boxes, hostile CLI input."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import optax
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pdeinv import InverseProblem, fit, load_result, save_observations, simulate
from pdeinv.cli import cli
from pdeinv.io import load_checkpoint
from pdeinv.problems import Observations
from pdeinv.problems.external import CommandForward


@pytest.fixture(scope="module")
def obs():
    return simulate("burgers", {"nu": 0.05}, points=16, n=128, dt=5e-4)


@pytest.fixture(scope="module")
def obs_file(tmp_path_factory, obs):
    path = tmp_path_factory.mktemp("data") / "obs.h5"
    save_observations(obs, path)
    return path


# The exact Jacobian (~27 s, most of it compiling jacfwd) resumes bitwise by default in
# test_engine.py (exact + adam); with Levenberg-Marquardt it runs with -m slow.
@pytest.mark.parametrize("method", ["zo-gn", "zo", pytest.param("exact", marks=pytest.mark.slow), "lsq"])
def test_resume_is_bitwise_identical(tmp_path, obs, method):
    options = dict(method=method, seed=5, max_steps=25 if method == "zo" else None)
    problem = lambda: InverseProblem(obs, n=32, dt=4e-3)  # noqa: E731 - a smooth field: 250 steps
    whole = fit(problem(), {"nu": 0.12}, **options)
    rng = np.random.default_rng(len(method))
    interrupted = 0
    for stop_at in sorted(rng.choice(np.arange(1, 6), size=2, replace=False)):
        polls = []
        checkpoint = tmp_path / f"{method}-{stop_at}.ckpt.h5"
        part = fit(problem(), {"nu": 0.12}, checkpoint=checkpoint, checkpoint_every=1,
                   should_stop=lambda: polls.append(1) or len(polls) == stop_at, **options)
        if not part.message.startswith("interrupted"):
            continue  # finished before that poll
        interrupted += 1
        resumed = fit(problem(), resume=checkpoint)
        assert resumed.params == whole.params
        assert resumed.history == whole.history
        assert (resumed.nfev, resumed.nit, resumed.message) == (whole.nfev, whole.nit, whole.message)
    assert interrupted >= 1


def _run_cli_fit(args, env=None):
    return subprocess.Popen([sys.executable, "-m", "pdeinv", "fit", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


# SIGINT's exit (130, no traceback, checkpoint named) is checked by default in
# test_ctrl_c_at_any_moment_exits_130_without_a_traceback; its resume runs with -m slow (~25 s).
@pytest.mark.parametrize("sig, code", [pytest.param(signal.SIGINT, 130, marks=pytest.mark.slow), (signal.SIGTERM, 143)])
def test_signal_saves_checkpoint_and_resume_matches_uninterrupted(tmp_path, obs_file, sig, code):
    common = ["burgers", "--obs", str(obs_file), "--method", "zo", "--no-search", "--init", "nu=0.2",
              "--n", "64", "--dt", "4e-3", "--steps", "120", "--seed", "3", "--quiet", "--no-auto-grid"]
    # 120 steps of ~60 ms: the signal (at most 1 s after the first checkpoint) lands mid-run.
    whole = CliRunner().invoke(cli, ["fit", *common, "-o", str(tmp_path / "whole.h5")])
    assert whole.exit_code in (0, 1), whole.output
    checkpoint = tmp_path / "cut.ckpt.h5"
    process = _run_cli_fit([*common, "--checkpoint", str(checkpoint), "--checkpoint-every", "1",
                            "-o", str(tmp_path / "cut.h5")])
    deadline = time.time() + 120
    while not checkpoint.exists() and time.time() < deadline and process.poll() is None:
        time.sleep(0.05)
    time.sleep(np.random.default_rng(sig).uniform(0.2, 1.0))  # a random step
    process.send_signal(sig)
    out, err = process.communicate(timeout=120)
    assert process.returncode == code, err
    assert "Traceback" not in err and "resume with: pdeinv fit --resume" in err
    assert not (tmp_path / "cut.h5").exists()  # no half-written result
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    state = load_checkpoint(checkpoint)
    assert state["stage"] == "local" and state["evaluator"]["nfev"] > 0
    resumed = CliRunner().invoke(cli, ["fit", "--resume", str(checkpoint), "-o", str(tmp_path / "cut.h5"), "--quiet"])
    assert resumed.exit_code == whole.exit_code, resumed.output
    a, _ = load_result(tmp_path / "whole.h5")
    b, _ = load_result(tmp_path / "cut.h5")
    assert a.params == b.params and a.history == b.history and a.nfev == b.nfev


def test_corrupt_checkpoints_are_rejected_clearly(tmp_path, obs):
    checkpoint = tmp_path / "c.ckpt.h5"
    polls = []
    fit(InverseProblem(obs, n=32), {"nu": 0.1}, checkpoint=checkpoint, should_stop=lambda: polls.append(1) or len(polls) == 3)
    import h5py

    with h5py.File(checkpoint, "r+") as f:
        del f["state"]
        f.create_dataset("state", data="{not json", dtype=h5py.string_dtype())
    (tmp_path / "text.ckpt.h5").write_text("nope")
    for bad, message in ((checkpoint, "damaged checkpoint"), (tmp_path / "text.ckpt.h5", "not an HDF5 file"),
                         (tmp_path / "none.h5", "no such file")):
        result = CliRunner().invoke(cli, ["fit", "--resume", str(bad), "--quiet"])
        assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    save_observations(obs, tmp_path / "obs.h5")
    result = CliRunner().invoke(cli, ["fit", "--resume", str(tmp_path / "obs.h5"), "--quiet"])
    assert result.exit_code == 2 and "not a pdeinv checkpoint" in result.output


def test_randomly_failing_forward_map_is_reported_honestly():
    x = np.linspace(-1, 1, 20)
    truth = 0.03
    obs = Observations("burgers", t=np.full(20, 0.5), x=x, u=np.tanh(x / truth), u0=np.zeros(8))
    rng = np.random.default_rng(0)

    def flaky(p):
        if rng.random() < 0.3:
            return np.full(20, np.nan)
        return np.tanh(x / p["nu"])

    result = fit(InverseProblem(obs, forward=flaky), {"nu": 0.1}, auto_grid=False)
    assert result.success and abs(result.params["nu"] / truth - 1) < 1e-6
    assert "trial solves failed and were rejected" in result.message and "non-finite" in result.message

    always = fit(InverseProblem(obs, forward=lambda p: np.full(20, np.inf)), {"nu": 0.1}, auto_grid=False)
    assert not always.success


def test_external_program_timeout_is_a_rejected_trial_point(tmp_path):
    script = tmp_path / "model.py"
    script.write_text(
        "import json, sys, time, math\n"
        "p = json.load(sys.stdin)\n"
        "if p['nu'] > 0.3: time.sleep(30)\n"
        "xs = [-1 + 2 * i / 9 for i in range(10)]\n"
        "print(' '.join(str(math.tanh(x / p['nu'])) for x in xs))\n"
    )
    x = np.linspace(-1, 1, 10)
    obs = Observations("burgers", t=np.full(10, 0.5), x=x, u=np.tanh(x / 0.05), u0=np.zeros(8))
    forward = CommandForward([sys.executable, str(script)], timeout=2.0)
    started = time.perf_counter()
    result = fit(InverseProblem(obs, forward=forward), {"nu": 0.1}, auto_grid=False)
    assert result.success and abs(result.params["nu"] / 0.05 - 1) < 1e-6
    assert "timeout" in result.message
    assert time.perf_counter() - started < 60  # hung programs were killed, not waited for
    with pytest.raises(ValueError, match="timeout must be a positive"):
        CommandForward(["true"], timeout=-1)


def test_optimizer_that_produces_nan_is_survived(obs):
    def nan_updates():
        def init(params):
            return optax.EmptyState()

        def update(updates, state, params=None):
            return np.full_like(np.asarray(updates), np.nan), state

        return optax.GradientTransformation(init, update)

    result = fit(InverseProblem(obs, n=32), {"nu": 0.1}, method="zo", optimizer=nan_updates(), search=False,
                 auto_grid=False, max_steps=100)
    assert not result.success and "NaN" in result.message
    assert np.isfinite(result.params["nu"])


BAD_OPTIONS = [
    ["--steps", "-1"], ["--steps", "0"], ["--tol", "abc"], ["--tol", "0"], ["--n", "7"], ["--seed", "x"],
    ["--init", "nu=-1"], ["--init", "nu"], ["--fit", "bogus"], ["--obs", "missing.h5"], ["--method", "foo"],
    ["--directions", "0"], ["--max-nfev", "0"], ["--checkpoint-every", "0"], ["--dt", "-1"], ["--preset", "fast"],
    ["--resume", "missing.ckpt.h5"],
]
GOOD_OPTIONS = [[], ["--quiet"], ["--seed", "2"], ["--method", "lsq"], ["--no-search"], ["--json"]]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bad=st.lists(st.sampled_from(BAD_OPTIONS), min_size=1, max_size=3),
       good=st.lists(st.sampled_from(GOOD_OPTIONS), max_size=2), equation=st.sampled_from(["burgers", "kdv", "heat"]))
def test_cli_rejects_bad_arguments_without_traceback(obs_file, bad, good, equation):
    args = ["fit", equation, "--obs", str(obs_file)]
    for option in good + bad:
        args += option
    result = CliRunner().invoke(cli, args + ["--quiet"])
    assert result.exit_code == 2, (args, result.output)
    assert "Traceback" not in result.output and result.output.strip()
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_outputs_are_checked_before_work_and_inputs_never_overwritten(tmp_path, obs_file):
    import shutil

    data = tmp_path / "b.h5"
    shutil.copy(obs_file, data)
    before = data.read_bytes()
    for args, message in (
        (["fit", "burgers", "--obs", str(data), "-o", str(data), "--force"], "is an input of this command"),
        (["fit", "burgers", "--obs", str(data), "-o", str(tmp_path / "no" / "fit.h5")], "does not exist"),
        (["simulate", "burgers", "-o", str(data)], "exists; pass --force"),
        (["simulate", "burgers", "-o", str(tmp_path / "no" / "s.h5")], "does not exist"),
    ):
        run = CliRunner().invoke(cli, args)
        assert run.exit_code == 2 and message in run.output, (args, run.output)
    assert data.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.h5"]


def test_a_successful_resume_removes_its_checkpoint(tmp_path, obs):
    checkpoint = tmp_path / "r.ckpt.h5"
    polls = []
    part = fit(InverseProblem(obs, n=32), {"nu": 0.1}, checkpoint=checkpoint, auto_grid=False,
               should_stop=lambda: polls.append(1) or len(polls) == 3)
    assert part.status == "interrupted" and checkpoint.exists()
    done = CliRunner().invoke(cli, ["fit", "--resume", str(checkpoint), "-o", str(tmp_path / "r.h5"), "--quiet"])
    assert done.exit_code == 0, done.output
    assert not checkpoint.exists() and (tmp_path / "r.h5").exists()


def test_outputs_must_be_hdf5_and_info_reads_checkpoints(tmp_path, obs):
    run = CliRunner().invoke(cli, ["simulate", "burgers", "-o", str(tmp_path / "r.mat")])
    assert run.exit_code == 2 and "pdeinv writes HDF5; name the output .h5" in run.output
    assert not (tmp_path / "r.mat").exists()
    checkpoint = tmp_path / "c.ckpt.h5"
    polls = []
    fit(InverseProblem(obs, n=32), {"nu": 0.1}, checkpoint=checkpoint, should_stop=lambda: polls.append(1) or len(polls) == 3)
    info = CliRunner().invoke(cli, ["info", str(checkpoint), "--json"])
    assert info.exit_code == 0, info.output
    import json

    summary = json.loads(info.output)
    assert summary["stage"] == "local" and summary["unknowns"] == ["nu"] and summary["solver_calls"] > 0


def test_parameters_neither_fitted_nor_known_are_never_assumed_silently(tmp_path):
    made = simulate("burgers", {"nu": 0.02}, points=16, n=128)  # nu not recorded as known
    with pytest.raises(ValueError, match="nu is neither fitted nor known in the file, and its default"):
        InverseProblem(made, ("u0",))
    # No true value to contradict the default: it is used, and every result says so.
    bare = Observations("burgers", made.t, made.x, made.u, u0=made.u0, true_params={"nu": 0.02})
    path = tmp_path / "bare.h5"
    save_observations(bare, path)
    run = CliRunner().invoke(cli, ["fit", "burgers", "--obs", str(path), "--n", "64", "--quiet", "--no-auto-grid"])
    assert "assumed (equation defaults; neither fitted nor known in the file): lambda1=1" in run.output, run.output


def test_a_time_step_larger_than_a_tenth_of_the_span_is_refused(obs_file):
    run = CliRunner().invoke(cli, ["fit", "burgers", "--obs", str(obs_file), "--dt", "5", "--quiet"])
    assert run.exit_code == 2
    assert "dt=5 is too large for the time span [0, 1]: at most 0.1 (10 steps)" in run.output


@pytest.mark.parametrize("args, message", [
    (["simulate", "burgers", "--grid", "4x4", "--points", "25", "--layout", "random", "-o", "{tmp}/z.h5"],
     "--grid 4x4 sets the observation points; it cannot be combined with --layout and --points"),
    (["fit", "burgers", "--obs", "{obs}", "--modes", "8"], "--modes applies to a fitted field"),
    (["fit", "burgers", "--obs", "{obs}", "--penalty-order", "1"], "--penalty-order applies to a fitted field"),
    (["fit", "burgers", "--obs", "{obs}", "--fit", "u0", "--penalty-order", "1"],
     "--penalty-order shapes the smoothness penalty, and there is none"),
    (["fit", "--resume", "{obs}", "--regularization", "2", "--penalty-order", "1"],
     "--regularization/--penalty-order cannot change a fit being resumed"),
    (["fit", "burgers", "--obs", "{obs}", "--max-nfev", "3"], "max_nfev=3 leaves nothing after the global search's 10 solves"),
])
def test_conflicting_options_are_refused_not_resolved_quietly(tmp_path, obs_file, args, message):
    args = [a.format(tmp=tmp_path, obs=obs_file) for a in args]
    run = CliRunner().invoke(cli, args)
    assert run.exit_code == 2 and message in run.output, run.output
    assert not (tmp_path / "z.h5").exists()


def test_repeated_obs_and_json_errors(tmp_path):
    from pdeinv import save_observations, simulate

    save_observations(simulate("burgers", points=16, layout="random"), tmp_path / "a.h5")
    twice = CliRunner().invoke(cli, ["fit", "burgers", "--obs", str(tmp_path / "a.h5"), "--obs", str(tmp_path / "a.h5")])
    assert twice.exit_code == 2 and "--obs given 2 times" in twice.output
    bad = CliRunner().invoke(cli, ["fit", "burgers", "--obs", str(tmp_path / "missing.h5"), "--json"])
    assert bad.exit_code == 2
    line = [s for s in bad.stdout.splitlines() if s.startswith("{")]
    assert line and "missing.h5" in json.loads(line[-1])["error"]


def test_sizes_that_cannot_fit_in_memory_are_refused_before_allocating():
    from pdeinv import simulate
    from pdeinv.solvers import Burgers

    with pytest.raises(ValueError, match=r"a solve on n=\d+ grid points needs about .* TB of memory"):
        Burgers(n=2**42)
    with pytest.raises(ValueError, match="10000000000 observation points on n=.* use fewer points"):
        simulate("burgers", points=10**10, layout="random")
    run = CliRunner().invoke(cli, ["simulate", "burgers", "--n", str(2**42), "-o", "never.h5"])
    assert run.exit_code == 2 and "of memory" in run.output and len(run.output.strip().splitlines()) == 1


def test_usage_errors_are_one_line_with_exit_2():
    done = subprocess.run([sys.executable, "-m", "pdeinv", "fit", "burgers", "--bogus"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "No such option '--bogus'" in lines[0] and "pdeinv fit --help" in lines[0], lines
    choice = subprocess.run([sys.executable, "-m", "pdeinv", "fit", "burgers", "--intervals", "profil"],
                            capture_output=True, text=True, timeout=120)
    assert choice.returncode == 2 and "'laplace', 'profile', 'none'; see " in choice.stderr, choice.stderr


def test_the_memory_check_can_be_turned_off(monkeypatch):
    from pdeinv.solvers.memory import check_memory

    with pytest.raises(ValueError, match="PDEINV_MEMORY_CHECK=off"):
        check_memory(1e18, "a test", "less")
    monkeypatch.setenv("PDEINV_MEMORY_CHECK", "off")
    check_memory(1e18, "a test", "less")  # no error: the user asked for none


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="needs /proc to see when JAX is loading")
@pytest.mark.parametrize("after", [0.0, 1.5])
def test_ctrl_c_at_any_moment_exits_130_without_a_traceback(tmp_path, after):
    # While JAX is still loading (its shared library mapped, the import not done), or later (in
    # the fit, which stops at its next step): one line, exit 130, no traceback.
    from pathlib import Path

    data = Path(__file__).resolve().parents[1] / "data" / "burgers.h5"
    proc = subprocess.Popen([sys.executable, "-m", "pdeinv", "fit", "burgers", "--obs", str(data), "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        with open(f"/proc/{proc.pid}/maps") as maps:
            if "jaxlib" in maps.read():
                break
        time.sleep(0.01)
    time.sleep(after)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err, err
    assert len(err.strip().splitlines()) <= 2, err  # "interrupted", or the fit's stop line (+ checkpoint)


def test_a_fit_stopped_by_its_time_budget_is_finished_with_a_new_one(tmp_path, obs_file):
    out = tmp_path / "mt.h5"
    first = CliRunner().invoke(cli, ["fit", "burgers", "--obs", str(obs_file), "--init", "nu=0.1", "--n", "64",
                                     "--no-auto-grid", "--max-time", "1e-3", "-o", str(out), "--quiet"])
    checkpoint = tmp_path / "mt.ckpt.h5"
    assert first.exit_code == 1 and "max_time" in first.output and checkpoint.exists(), first.output
    for args, flag in ((["--obs", str(obs_file)], "--obs"), (["--method", "lsq"], "--method"),
                       (["--n", "128"], "--n"), (["--init", "nu=0.2"], "--init")):
        refused = CliRunner().invoke(cli, ["fit", "--resume", str(checkpoint), "-o", str(tmp_path / "r.h5"), *args])
        assert refused.exit_code == 2 and f"{flag} cannot change a fit being resumed" in refused.output, refused.output
    again = CliRunner().invoke(cli, ["fit", "--resume", str(checkpoint), "-o", str(tmp_path / "r.h5"), "--quiet",
                                     "--max-time", "600"])
    assert again.exit_code == 0, again.output
    assert load_result(tmp_path / "r.h5")[0].status == "converged" and not checkpoint.exists()


def test_a_missing_file_is_refused_before_the_numerical_modules_load():
    code = ("import sys\nfrom pdeinv.cli import cli\ntry:\n    cli(['fit', 'burgers', '--obs', 'missing.h5'])\n"
            "except SystemExit as stop:\n    print(stop.code, 'jax' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["2", "False"], done.stdout + done.stderr
    assert "missing.h5: no such file" in done.stderr


def test_a_start_where_the_solver_fails_is_refused(obs_file):
    run = CliRunner().invoke(cli, ["fit", "burgers", "--obs", str(obs_file), "--init", "nu=1e300", "--n", "64"])
    assert run.exit_code == 2, run.output
    assert "--init nu=1e+300: the solver gives no finite solution there" in run.output


def test_a_field_checkpoint_without_a_penalty_resumes_whatever_order_was_named(tmp_path):
    obs = simulate("burgers", {"nu": 0.05}, points=25, n=128, dt=5e-4, fixed=("nu", "lambda1"))
    checkpoint = tmp_path / "f.ckpt.h5"
    polls = []
    named = InverseProblem(obs, ["u0"], modes=8, n=64, penalty_order=2)  # weight 0: the order plays no part
    part = fit(named, checkpoint=checkpoint, auto_grid=False, intervals="none",
               should_stop=lambda: polls.append(1) or len(polls) == 2)
    assert part.status == "interrupted" and checkpoint.exists()
    resumed = fit(InverseProblem(obs, ["u0"], modes=8, n=64), resume=checkpoint, auto_grid=False)
    whole = fit(named, auto_grid=False, intervals="none")
    assert resumed.params == whole.params and resumed.nfev == whole.nfev
    with pytest.raises(ValueError, match="auto' \\(the same as 'risk'\\) or 'evidence'"):
        fit(InverseProblem(obs, ["u0"], modes=8, n=64, regularization=1e-3, penalty_order="auto"), auto_grid=False)
