"""Observation files: round trips, importers, and every kind of bad input."""

import h5py
import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pdeinv.cli import cli
from pdeinv.io import import_pdebench, import_raissi, load_observations, save_observations
from pdeinv.problems import ObservationError, Observations, simulate


def small_obs(**kwargs):
    rng = np.random.default_rng(0)
    base = dict(
        equation="kdv",
        t=rng.uniform(0.1, 1, 10),
        x=rng.uniform(-1, 1, 10),
        u=rng.normal(size=10),
        u0=np.cos(np.pi * np.linspace(-1, 1, 16, endpoint=False)),
        fixed_params={"lambda1": 1.0},
        true_params={"lambda1": 1.0, "lambda2": 0.0025},
        metadata={"source": "test"},
    )
    base.update(kwargs)
    return Observations(**base)


def test_points_round_trip(tmp_path):
    obs = small_obs(sigma=np.full(10, 0.01))
    save_observations(obs, tmp_path / "a.h5")
    back = load_observations(tmp_path / "a.h5")
    for name in ("t", "x", "u", "u0", "sigma"):
        assert np.array_equal(getattr(back, name), getattr(obs, name))
    assert back.equation == "kdv" and back.grid_shape is None
    assert dict(back.true_params) == {"lambda1": 1.0, "lambda2": 0.0025}
    assert dict(back.fixed_params) == {"lambda1": 1.0}
    assert back.metadata["source"] == "test"


def test_grid_round_trip(tmp_path):
    t = np.array([0.25, 0.5, 0.75])
    x = np.linspace(-1, 1, 8, endpoint=False)
    u = np.arange(24.0).reshape(3, 8)
    obs = Observations.from_grid("burgers", t, x, u, u0=np.sin(np.pi * x))
    save_observations(obs, tmp_path / "g.h5")
    with h5py.File(tmp_path / "g.h5") as f:
        assert f["observations"].attrs["layout"] == "grid"
        assert f["observations/u"].shape == (3, 8)
    back = load_observations(tmp_path / "g.h5")
    assert back.grid_shape == (3, 8)
    assert np.array_equal(back.u, u.ravel()) and np.array_equal(back.t, np.repeat(t, 8))


def test_save_refuses_to_overwrite_and_leaves_no_partial_file(tmp_path):
    path = tmp_path / "a.h5"
    save_observations(small_obs(), path)
    before = path.read_bytes()
    with pytest.raises(FileExistsError):
        save_observations(small_obs(u=np.zeros(10)), path)
    assert path.read_bytes() == before
    save_observations(small_obs(u=np.zeros(10)), path, overwrite=True)
    assert np.all(load_observations(path).u == 0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.h5"]


def test_simulate_info_load_give_back_true_parameters(tmp_path):
    path = tmp_path / "sim.h5"
    result = CliRunner().invoke(
        cli, ["simulate", "kdv", "--param", "lambda2=0.003", "--points", "16", "--n", "128", "-o", str(path)]
    )
    assert result.exit_code == 0, result.output
    info = CliRunner().invoke(cli, ["info", str(path), "--json"])
    assert info.exit_code == 0
    assert '"lambda2": 0.003' in info.output
    obs = load_observations(path)
    assert obs.true_params["lambda2"] == 0.003 and obs.n_points == 16 and obs.grid_shape == (4, 4)
    assert obs.metadata["solver_n"] == 128


def test_simulate_samples_the_solution_and_adds_seeded_noise():
    clean = simulate("burgers", {"nu": 0.05}, points=16, n=128)
    from pdeinv.solvers import Burgers

    direct = Burgers(n=128).solve_at({"nu": 0.05}, clean.t, clean.x)
    assert np.max(np.abs(clean.u - direct)) < 1e-8  # finer simulation grid vs default dt
    noisy = simulate("burgers", {"nu": 0.05}, points=16, n=128, noise=0.01, seed=3)
    again = simulate("burgers", {"nu": 0.05}, points=16, n=128, noise=0.01, seed=3)
    assert np.array_equal(noisy.u, again.u)
    assert noisy.sigma is not None and 0 < np.std(noisy.u - clean.u) < 0.05
    rand = simulate("allen-cahn", points=20, layout="random", n=64, seed=1)
    assert rand.grid_shape is None and rand.n_points == 20 and np.all(rand.t > 0)


def test_import_raissi_reads_published_burgers(burgers_shock_path, tmp_path):
    obs = import_raissi(burgers_shock_path, "burgers")
    assert obs.grid_shape == (99, 255)  # t = 0 becomes u0; duplicate x = 1 dropped
    assert obs.domain == (-1.0, 1.0) and obs.u0.size == 255
    assert np.allclose(obs.u0, -np.sin(np.pi * np.linspace(-1, 1, 256)[:-1]), atol=1e-12)
    sub = import_raissi(burgers_shock_path, "burgers", points=64, seed=0)
    assert sub.n_points == 64 and np.all(sub.t > 0)


def test_import_raissi_synthetic_mat(tmp_path):
    from scipy.io import savemat

    x = np.linspace(-1, 1, 33)
    tt = np.linspace(0, 1, 5)
    uu = np.cos(np.pi * x)[:, None] * np.exp(-tt)[None, :]
    savemat(tmp_path / "kdv.mat", {"x": x[:, None], "tt": tt[None, :], "uu": uu})
    result = CliRunner().invoke(
        cli, ["import", "raissi", str(tmp_path / "kdv.mat"), "--equation", "kdv", "-o", str(tmp_path / "k.h5")]
    )
    assert result.exit_code == 0, result.output
    obs = load_observations(tmp_path / "k.h5")
    assert obs.grid_shape == (4, 32)
    assert np.allclose(obs.u.reshape(4, 32), uu[:-1, 1:].T)


def write_pdebench(path, nu=0.01):
    nx, nt = 32, 6
    dx = 2.0 / nx
    x = -1 + dx / 2 + dx * np.arange(nx)
    t_edges = np.linspace(0, 1, nt + 1)
    tensor = np.stack([np.sin(np.pi * (x[None, :] - s)) * np.ones((nt, 1)) for s in (0.0, 0.1)]).astype(np.float32)
    with h5py.File(path, "w") as f:
        f.create_dataset("tensor", data=tensor)
        f.create_dataset("x-coordinate", data=x.astype(np.float32))
        f.create_dataset("t-coordinate", data=t_edges.astype(np.float32))
        f.attrs["Nu"] = nu * np.pi
    return x, tensor


def test_import_pdebench(tmp_path):
    x, tensor = write_pdebench(tmp_path / "pb.h5")
    obs = import_pdebench(tmp_path / "pb.h5", sample=1)
    assert np.isclose(obs.true_params["nu"], 0.01)
    assert obs.grid_shape == (5, 32) and np.allclose(obs.x[:32], x)
    # u0 moved from cell centres to the left edges of the cells, spectrally
    edges = np.linspace(-1, 1, 32, endpoint=False)
    assert np.allclose(obs.u0, np.sin(np.pi * (edges - 0.1)), atol=1e-6)
    with pytest.raises(ObservationError, match="sample must be in"):
        import_pdebench(tmp_path / "pb.h5", sample=5)


# ---- bad input -------------------------------------------------------------------------------


def corrupt(path, edit):
    with h5py.File(path, "r+") as f:
        edit(f)


def setitem(group, name, value):
    del group[name]
    group[name] = value


BAD_EDITS = {
    "wrong format": (lambda f: f.attrs.__setitem__("format", "other"), "not a pdeinv observation file"),
    "wrong version": (lambda f: f.attrs.__setitem__("version", 99), "unsupported format version 99"),
    "unknown equation": (lambda f: f.attrs.__setitem__("equation", "wave"), "unknown equation 'wave'"),
    "missing dataset": (lambda f: f["observations"].__delitem__("u"), "missing dataset /observations/u"),
    "mis-shaped": (lambda f: setitem(f["observations"], "x", np.zeros(3)), "x must have shape"),
    "nan values": (lambda f: setitem(f["observations"], "u", np.full(10, np.nan)), "contains NaN or inf"),
    "outside domain": (lambda f: setitem(f["observations"], "x", np.full(10, 5.0)), "must lie in the domain"),
    "outside time": (lambda f: setitem(f["observations"], "t", np.full(10, 2.0)), "must lie in t_span"),
    "bad param name": (lambda f: f["parameters/fixed"].attrs.__setitem__("nu", 1.0), "unknown fixed parameter 'nu'"),
    "negative viscosity": (
        lambda f: (f.attrs.__setitem__("equation", "burgers"), f["parameters"].__delitem__("true"),
                   f["parameters"].__delitem__("fixed"), f["parameters"].create_group("true").attrs.__setitem__("nu", -1.0)),
        "true parameter nu must be positive",
    ),
    "text data": (lambda f: setitem(f["observations"], "u", np.array([b"a"] * 10)), "must be numeric"),
}


@pytest.mark.parametrize("case", sorted(BAD_EDITS))
def test_bad_files_give_one_clear_line(tmp_path, case):
    edit, message = BAD_EDITS[case]
    path = tmp_path / "bad.h5"
    save_observations(small_obs(), path)
    corrupt(path, edit)
    with pytest.raises(ObservationError, match=message) as info:
        load_observations(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    result = CliRunner().invoke(cli, ["info", str(path)])
    assert result.exit_code == 2 and message.split("'")[0] in result.output
    assert "Traceback" not in result.output


def test_missing_not_hdf5_and_truncated_files(tmp_path):
    with pytest.raises(ObservationError, match="no such file"):
        load_observations(tmp_path / "nope.h5")
    (tmp_path / "text.h5").write_text("hello")
    with pytest.raises(ObservationError, match="not an HDF5 file"):
        load_observations(tmp_path / "text.h5")
    save_observations(small_obs(), tmp_path / "ok.h5")
    data = (tmp_path / "ok.h5").read_bytes()
    (tmp_path / "cut.h5").write_bytes(data[: len(data) // 2])
    with pytest.raises(ObservationError):
        load_observations(tmp_path / "cut.h5")


@pytest.mark.parametrize(
    "args, message",
    [
        (["simulate", "burgers", "--param", "nu=-1", "-o", "{tmp}/o.h5"], "nu must be positive"),
        (["simulate", "burgers", "--param", "mu=1", "-o", "{tmp}/o.h5"], "unknown parameter name"),
        (["simulate", "burgers", "--param", "nu", "-o", "{tmp}/o.h5"], "expects NAME=VALUE"),
        (["simulate", "burgers", "--points", "10", "-o", "{tmp}/o.h5"], "square number of points"),
        (["simulate", "burgers", "--noise", "-1", "-o", "{tmp}/o.h5"], "noise must be"),
        (["simulate", "wave", "-o", "{tmp}/o.h5"], "Invalid value"),
        (["simulate", "burgers", "-o", "{tmp}/missing/o.h5"], "does not exist"),
        (["info", "{tmp}/none.h5"], "no such file"),
        (["import", "raissi", "{tmp}/none.mat", "--equation", "kdv", "-o", "{tmp}/o.h5"], "no such file"),
    ],
)
def test_cli_bad_arguments_exit_2(tmp_path, args, message):
    result = CliRunner().invoke(cli, [a.format(tmp=tmp_path) for a in args])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o.h5").exists()


def test_simulate_refuses_existing_output(tmp_path):
    path = tmp_path / "o.h5"
    path.write_bytes(b"keep me")
    result = CliRunner().invoke(cli, ["simulate", "burgers", "--n", "64", "--points", "4", "-o", str(path)])
    assert result.exit_code == 2 and "--force" in result.output
    assert path.read_bytes() == b"keep me"


# ---- fuzzing ---------------------------------------------------------------------------------

def _fuzz_once(tmp_path_factory, data, flips):
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / "f.h5"
    save_observations(small_obs(), path)
    raw = bytearray(path.read_bytes())
    for position, value in flips:
        raw[position % len(raw)] = value
    if data is not None:
        raw = raw[: max(1, data % len(raw))]
    path.write_bytes(bytes(raw))
    original = bytes(raw)
    try:
        load_observations(path)
    except ObservationError as err:
        assert "\n" not in str(err)
    assert path.read_bytes() == original  # the loader never modifies its input


fuzz_strategy = dict(
    data=st.none() | st.integers(min_value=1, max_value=10**6),
    flips=st.lists(st.tuples(st.integers(min_value=0, max_value=10**6), st.integers(0, 255)), max_size=8),
)


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(**fuzz_strategy)
def test_fuzzed_files_raise_only_our_error(tmp_path_factory, data, flips):
    _fuzz_once(tmp_path_factory, data, flips)


@pytest.mark.slow
@settings(max_examples=1200, deadline=None, derandomize=False,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(**fuzz_strategy)
def test_fuzzed_files_raise_only_our_error_many(tmp_path_factory, data, flips):
    _fuzz_once(tmp_path_factory, data, flips)
