"""Executors and fit-many on a real dask cluster: two worker processes on loopback."""

import csv
import json
import os
import re
import signal
import sys
import time

import cloudpickle
import numpy as np
import pytest
from click.testing import CliRunner

from pdeinv import InverseProblem, fit, fit_many, save_observations, simulate
from pdeinv.cli import cli
from pdeinv.ensemble import start_points
from pdeinv.parallel import DaskCluster, InProcess, ProcessPool, make_executor
from pdeinv.problems import Observations
from pdeinv.problems.external import CommandForward

distributed = pytest.importorskip("distributed")

# The workers cannot import this file (pytest put its folder on the path of this process only):
# ship the forward maps defined here by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def burgers_obs():
    return simulate("burgers", {"nu": 0.05}, points=16, n=128, dt=5e-4)


@pytest.fixture(scope="module")
def serial_problem(burgers_obs):
    """The reference: fits in this process, one after the other (one problem, compiled once)."""
    return InverseProblem(burgers_obs, n=64)


class SlowLinearModel:
    """u = A [lambda1, log lambda2] + b, sleeping ``delay`` seconds per call (a slow black box);
    raises where lambda1 > ``fails_above``."""

    def __init__(self, A, b, delay=0.0, fails_above=np.inf):
        self.A, self.b, self.delay, self.fails_above = A, b, delay, fails_above

    def __call__(self, p):
        time.sleep(self.delay)
        if p["lambda1"] > self.fails_above:
            raise RuntimeError("outside the model's range")
        return np.tanh(self.A @ np.array([p["lambda1"], np.log(p["lambda2"])]) + self.b)


def linear_observations(model, P=12):
    data = model({"lambda1": 0.7, "lambda2": 0.02})
    return Observations("kdv", t=np.linspace(0.1, 1, P), x=np.zeros(P), u=data, u0=np.zeros(8),
                        true_params={"lambda1": 0.7, "lambda2": 0.02})


def toy(delay=0.0, fails_above=np.inf, P=12):
    rng = np.random.default_rng(5)
    model = SlowLinearModel(0.5 * rng.normal(size=(P, 2)), 0.1 * rng.normal(size=P), delay, fails_above)
    return model, linear_observations(model, P)


def test_fit_many_on_cluster_equals_serial_fits_bit_for_bit(client, burgers_obs, serial_problem):
    init = {"nu": 0.2}
    starts = start_points(init, 2)
    assert starts[0] == init and starts[1]["nu"] != init["nu"]
    options = {"auto_grid": False}
    rows = fit_many({"b": burgers_obs}, init=init, starts=2, seeds=[0, 3], n=64,
                    executor=DaskCluster(client=client), **options)
    assert [(r["seed"], r["start"]) for r in rows] == [(0, 0), (0, 1), (3, 0), (3, 1)]
    for row in rows:
        serial = fit(serial_problem, starts[row["start"]], seed=row["seed"], **options)
        assert row["params"] == serial.params and row["nfev"] == serial.nfev, (row, serial.params)
        assert row["status"] == "converged" and abs(row["params"]["nu"] / 0.05 - 1) < 1e-4


USER_EQUATION = """
import numpy as np
from pdeinv import Equation


class Fisher(Equation):
    name = "fisher-on-workers"
    pde = "u_t = D u_xx + r u (1 - u)"
    param_names = ("D", "r")
    defaults = {"D": 0.01, "r": 2.0}
    positive = ("D",)
    default_unknowns = ("D",)
    default_n = 64

    def default_initial_condition(self, x):
        return 0.5 + 0.4 * np.cos(np.pi * x)

    def linear_symbol(self, params):
        return -params["D"] * self.k**2 + params["r"] + 0j

    def nonlinear(self, v, params):
        u = self.physical(v)
        return -params["r"] * self.spectral(u * u)
"""


def test_fit_many_of_a_user_equation_on_workers_that_cannot_import_it(client, tmp_path, monkeypatch):
    import importlib

    # The module exists in this process only: the workers started before its folder was on the path.
    (tmp_path / "fisher_on_workers_eq.py").write_text(USER_EQUATION)
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("fisher_on_workers_eq")
    assert not any(client.run(lambda: importlib.util.find_spec("fisher_on_workers_eq") is not None).values())
    obs = simulate(module.Fisher, {"D": 0.01}, points=36, n=128)
    options = dict(init={"D": 0.03}, starts=2, n=64, auto_grid=False)
    rows = fit_many({"f": obs}, executor=DaskCluster(client=client), **options)
    serial = fit_many({"f": obs}, **options)
    assert [r["params"] for r in rows] == [r["params"] for r in serial]
    assert all(r["status"] == "converged" and abs(r["params"]["D"] / 0.01 - 1) < 1e-6 for r in rows), rows
    # The class travelled by value only for the run: pickling it by reference again afterwards.
    assert "fisher_on_workers_eq" not in cloudpickle.list_registry_pickle_by_value()


def test_worker_killed_mid_run_loses_no_task(client, tmp_path):
    model, obs = toy(delay=0.03)
    killed = []

    def kill_a_busy_worker(done, total, row):
        if killed:
            return
        busy = [w for w, keys in client.processing().items() if keys]
        if not busy:
            return
        pid = client.run(os.getpid, workers=busy[:1])[busy[0]]
        os.kill(pid, signal.SIGKILL)  # mid-task: its fit is lost with the process
        killed.append(pid)

    executor = DaskCluster(client=client)
    before = set(client.run(os.getpid).values())
    rows = fit_many({"toy": obs}, unknowns=("lambda1", "lambda2"), init={"lambda1": 1.0, "lambda2": 0.05},
                    starts=3, seeds=[0, 1], forward=model, executor=executor, progress=kill_a_busy_worker,
                    output=tmp_path / "runs.csv")
    assert killed and killed[0] in before
    assert len(rows) == 6 and all(r["result"] is not None for r in rows)
    # The tasks that died ran again elsewhere and gave what a run without a crash gives.
    quick = SlowLinearModel(model.A, model.b)
    serial = fit_many({"toy": obs}, unknowns=("lambda1", "lambda2"), init={"lambda1": 1.0, "lambda2": 0.05},
                      starts=3, seeds=[0, 1], forward=quick)
    assert [r["params"] for r in rows] == [r["params"] for r in serial]
    with open(tmp_path / "runs.csv") as f:
        table = list(csv.DictReader(f))
    assert len(table) == 6 and all((tmp_path / t["result_file"]).exists() for t in table)
    assert [float(t["lambda2"]) for t in table] == [r["params"]["lambda2"] for r in serial]


def test_black_box_batch_on_cluster_equals_the_serial_loop(client):
    model, obs = toy(fails_above=1.5)
    local = InverseProblem(obs, ("lambda1", "lambda2"), forward=model)
    remote = InverseProblem(obs, ("lambda1", "lambda2"), forward=model, executor=DaskCluster(client=client))
    Z = np.column_stack([np.linspace(0.2, 2.0, 7), np.log(np.linspace(0.01, 0.1, 7))])
    tally_local, tally_remote = {}, {}
    R_local, ok_local = local.residuals(Z, tally_local)
    R_remote, ok_remote = remote.residuals(Z, tally_remote)
    assert not ok_local.all() and ok_local.any()  # some members raise: rejected, not fatal
    np.testing.assert_array_equal(ok_remote, ok_local)
    np.testing.assert_array_equal(R_remote, R_local)  # NaN where rejected, bitwise elsewhere
    # The same counts and error; where it was raised reads differently for code shipped by value.
    where = lambda tally: {**tally, "first_error": tally["first_error"].split(" (at ")[0]}  # noqa: E731
    assert where(tally_remote) == where(tally_local) and tally_local["error"] == int(np.sum(~ok_local))
    assert tally_local["first_error"].startswith("RuntimeError: outside the model's range")
    start = {"lambda1": 1.2, "lambda2": 0.05}
    a, b = fit(local, start, seed=2), fit(remote, start, seed=2)
    assert a.params == b.params and a.nfev == b.nfev
    assert re.sub(r" \(at .*?\)", "", a.message) == re.sub(r" \(at .*?\)", "", b.message)
    assert abs(b.params["lambda1"] - 0.7) < 1e-6


def test_external_command_through_a_spawned_process_pool():
    script = ("import json, sys; p = json.load(sys.stdin); "
              "sys.exit(3) if p['lambda1'] > 1.5 else print(*[p['lambda1'] * k + p['lambda2'] for k in range(6)])")
    forward = CommandForward([sys.executable, "-c", script], timeout=60)
    obs = Observations("kdv", t=np.linspace(0.1, 1, 6), x=np.zeros(6), u=np.arange(6.0), u0=np.zeros(8))
    Z = np.column_stack([[0.5, 1.0, 2.0, 1.2], np.log([0.1, 0.2, 0.3, 0.4])])
    serial_tally, pool_tally = {}, {}
    serial = InverseProblem(obs, ("lambda1", "lambda2"), forward=forward).predict(Z, serial_tally)
    with ProcessPool(2) as pool:
        pooled = InverseProblem(obs, ("lambda1", "lambda2"), forward=forward, executor=pool).predict(Z, pool_tally)
    np.testing.assert_array_equal(pooled[0], serial[0])
    np.testing.assert_array_equal(pooled[1], [True, True, False, True])
    assert pool_tally == serial_tally and "exited with code 3" in pool_tally["first_error"]


def test_executor_interface_keeps_input_order(client):
    items = list(range(12))
    for executor in (InProcess(), DaskCluster(client=client)):
        with executor:
            assert executor.map(np.square, items) == [i * i for i in items]
            assert sorted(executor.as_completed(np.square, items)) == [(i, i * i) for i in items]


def test_cli_fit_many_with_scheduler_and_rerun_skips_finished(client, burgers_obs, serial_problem, tmp_path):
    save_observations(burgers_obs, tmp_path / "one.h5")
    out = tmp_path / "runs.csv"
    args = ["fit-many", "burgers", str(tmp_path / "one.h5"), "--init", "nu=0.2", "--starts", "2", "--n", "64",
            "--no-auto-grid", "--scheduler", client.scheduler.address, "-o", str(out), "--quiet"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    with open(out) as f:
        table = list(csv.DictReader(f))
    assert [(t["file"], t["seed"], t["start"], t["status"]) for t in table] == [
        ("one", "0", "0", "converged"), ("one", "0", "1", "converged")]
    for t, start in zip(table, start_points({"nu": 0.2}, 2)):
        serial = fit(serial_problem, start, seed=0, auto_grid=False)
        assert float(t["init_nu"]) == start["nu"] and float(t["nu"]) == serial.params["nu"]
        assert int(t["solver_calls"]) == serial.nfev
    first = out.read_text()
    # Again, with an unreachable scheduler: nothing is left to run, so nothing needs one.
    args[args.index("--scheduler") + 1] = "tcp://127.0.0.1:1"
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0 and "2 read from a previous run" in again.output, again.output
    assert out.read_text() == first


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--scheduler", "tcp://127.0.0.1:1", "--timeout", "1"], "cannot reach the dask scheduler at tcp://127.0.0.1:1"),
        (["--scheduler", "nowhere"], "must look like tcp://HOST:PORT"),
        (["--workers", "0"], "--workers must be at least 1"),
        (["--workers", "2", "--scheduler", "tcp://127.0.0.1:8786"], "give --workers or --scheduler, not both"),
        (["--timeout", "3"], "--timeout applies to --scheduler"),
        (["--seeds", "3-1"], "runs backwards"),
        (["--init", "D=1"], "which are not unknowns"),
    ],
)
def test_cli_fit_many_bad_input_exit_2(burgers_obs, tmp_path, extra, message):
    save_observations(burgers_obs, tmp_path / "one.h5")
    out = tmp_path / "runs.csv"
    result = CliRunner().invoke(cli, ["fit-many", "burgers", str(tmp_path / "one.h5"), "-o", str(out), "--quiet"]
                                + extra)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1 and not out.exists()


def test_make_executor_refuses_bad_combinations():
    with pytest.raises(ValueError, match="not both"):
        make_executor(workers=2, scheduler="tcp://127.0.0.1:8786")
    with pytest.raises(ValueError, match="positive integer"):
        make_executor(workers=0)
    assert isinstance(make_executor(), InProcess)
    with pytest.raises(ValueError, match="without an executor|an executor distributes"):
        InverseProblem(toy()[1], ("lambda1", "lambda2"), executor=InProcess())


MODEL = """
import json, sys
import numpy as np
p = json.load(sys.stdin)
t, x = np.loadtxt(sys.argv[1])
print(*(np.exp(-p["nu"] * np.pi ** 2 * t) * np.sin(np.pi * x)))
"""


def test_cli_fit_with_an_external_program_on_workers_equals_the_serial_fit(tmp_path):
    rng = np.random.default_rng(0)
    t, x = rng.uniform(0, 1, 24), rng.uniform(-1, 1, 24)
    u = np.exp(-0.05 * np.pi**2 * t) * np.sin(np.pi * x)
    obs = Observations("burgers", t, x, u, u0=-np.sin(np.pi * np.linspace(-1, 1, 64, endpoint=False)),
                       fixed_params={"lambda1": 1.0}, true_params={"nu": 0.05, "lambda1": 1.0})
    save_observations(obs, tmp_path / "obs.h5")
    np.savetxt(tmp_path / "points.txt", np.stack([t, x]))
    (tmp_path / "model.py").write_text(MODEL)
    command = f"{sys.executable} {tmp_path / 'model.py'} {tmp_path / 'points.txt'}"
    base = ["fit", "burgers", "--obs", str(tmp_path / "obs.h5"), "--init", "nu=0.2", "--forward-command", command,
            "--json", "--quiet", "--intervals", "none"]
    serial = CliRunner().invoke(cli, base)
    assert serial.exit_code == 0, serial.output
    spread = CliRunner().invoke(cli, base + ["--workers", "2"])
    assert spread.exit_code == 0, spread.output
    a, b = (json.loads(r.stdout[r.stdout.index("{"):]) for r in (serial, spread))
    assert a["params"]["nu"] == b["params"]["nu"] and a["nfev"] == b["nfev"]
    assert abs(a["params"]["nu"] / 0.05 - 1) < 1e-6
    bad = CliRunner().invoke(cli, ["fit", "burgers", "--obs", str(tmp_path / "obs.h5"), "--workers", "2"])
    assert bad.exit_code == 2 and "--workers applies to a --forward-command black box" in bad.output


def test_cli_fit_many_json_and_intervals(burgers_obs, tmp_path):
    save_observations(burgers_obs, tmp_path / "one.h5")
    out = tmp_path / "runs.csv"
    base = ["fit-many", "burgers", str(tmp_path / "one.h5"), "--init", "nu=0.2", "--n", "64", "--no-auto-grid",
            "-o", str(out), "--quiet"]
    run = CliRunner().invoke(cli, base + ["--json"])
    assert run.exit_code == 0, run.output
    report = json.loads(run.stdout)
    (task,) = report["tasks"]
    assert report["summary"] == "1 tasks: 1 converged" and task["status"] == "converged"
    lo, hi = task["intervals"]["nu"]
    assert lo < task["params"]["nu"] < hi
    with open(out) as f:
        (row,) = list(csv.DictReader(f))
    assert (float(row["nu_low"]), float(row["nu_high"])) == (lo, hi)
    # the finished task was assessed with Laplace intervals: asking for none is another task
    other = CliRunner().invoke(cli, base + ["--intervals", "none"])
    assert other.exit_code == 2 and "start, seed, method or intervals" in other.output
    missing = CliRunner().invoke(cli, base[:2] + [str(tmp_path / "nope.h5"), "-o", str(tmp_path / "x.csv"), "--json"])
    assert missing.exit_code == 2 and "error" in json.loads(missing.stdout.splitlines()[-1])
