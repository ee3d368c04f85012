"""The equation registry, a user's own equation end to end, and the NLS equation."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import pdeinv
from pdeinv import InverseProblem, fit, load_observations, save_observations, simulate
from pdeinv.cli import cli
from pdeinv.equations import Equation, equation_names, get_equation, register_equation
from pdeinv.problems import ObservationError

# A user's equation, written as a user would: one small module, nothing of pdeinv edited.
# Linear advection-diffusion u_t + c u_x = kappa u_xx; each Fourier mode of u0 is carried at
# speed c and damped by exp(-kappa k^2 t), which gives the exact solution below.
ADVDIFF_SOURCE = textwrap.dedent('''
    import numpy as np
    import pdeinv


    class AdvDiff(pdeinv.Equation):
        """u_t + c u_x = kappa u_xx."""

        name = "advdiff"
        pde = "u_t + c u_x = kappa u_xx"
        param_names = ("kappa", "c")
        defaults = {"kappa": 0.02, "c": 0.5}
        positive = ("kappa",)
        default_unknowns = ("kappa", "c")
        u0_description = "sin(pi x) + 0.5 cos(2 pi x)"
        default_n = 64
        pinn_order = 2

        def default_initial_condition(self, x):
            return np.sin(np.pi * x) + 0.5 * np.cos(2 * np.pi * x)

        def linear_symbol(self, params):
            return -params["kappa"] * self.k**2 - params["c"] * self.ik

        def nonlinear(self, v, params):
            return 0.0 * v

        def pinn_residual(self, u, d, params):
            return d["t"] + params["c"] * d["x"] - params["kappa"] * d["xx"]
''')


def advdiff_exact(t, x, kappa, c):
    shifted = x - c * t
    return (np.exp(-kappa * np.pi**2 * t) * np.sin(np.pi * shifted)
            + 0.5 * np.exp(-kappa * 4 * np.pi**2 * t) * np.cos(2 * np.pi * shifted))


@pytest.fixture(scope="module")
def user_module(tmp_path_factory):
    """The module ``advdiff_eq`` on sys.path, as an installed user package would be."""
    folder = tmp_path_factory.mktemp("user")
    (folder / "advdiff_eq.py").write_text(ADVDIFF_SOURCE)
    sys.path.insert(0, str(folder))
    try:
        yield folder
    finally:
        sys.path.remove(str(folder))


# ---- the registry ---------------------------------------------------------------------------


def test_builtins_are_registered_with_aliases():
    names = equation_names()
    for name in ("burgers", "allen-cahn", "heat", "kdv", "kuramoto-sivashinsky", "nls"):
        assert name in names
    assert get_equation("ks") is get_equation("kuramoto-sivashinsky")
    assert get_equation("ac").name == "allen-cahn"
    assert get_equation(pdeinv.solvers.Burgers) is pdeinv.solvers.Burgers


@pytest.mark.parametrize("change, message", [
    ({"defaults": {"q": 1.0}}, "defaults lack ['p']"),
    ({"positive": ("z",)}, "positive names ['z']"),
    ({"name": ""}, "needs a name"),
    ({"param_names": ("p", "p")}, "repeat a name"),
    ({"nonlinear": Equation.nonlinear}, "nonlinear() is not defined"),
])
def test_incomplete_definitions_are_refused_with_one_line(change, message):
    attrs = dict(name="bad", param_names=("p",), defaults={"p": 1.0},
                 linear_symbol=lambda self, params: 0 * self.k + 0j, nonlinear=lambda self, v, params: 0 * v,
                 default_initial_condition=lambda self, x: np.sin(x))
    attrs.update(change)
    with pytest.raises(ValueError) as err:
        register_equation(type("Bad", (Equation,), attrs))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_taken_name_is_refused_unless_replaced():
    clash = type("Clash", (pdeinv.solvers.Burgers,), {})
    with pytest.raises(ValueError, match="taken by"):
        register_equation(clash)
    assert get_equation("burgers") is pdeinv.solvers.Burgers


def test_unknown_equation_names_the_known_ones():
    with pytest.raises(ValueError, match="unknown equation 'wave'; known: allen-cahn, burgers"):
        get_equation("wave")
    with pytest.raises(ValueError, match="cannot import module 'no_such_module'"):
        get_equation("no_such_module:Heat")


def test_equations_command_lists_and_describes():
    result = CliRunner().invoke(cli, ["equations"])
    assert result.exit_code == 0, result.output
    assert "kuramoto-sivashinsky (alias ks): u_t + alpha u u_x + beta u_xx + gamma u_xxxx = 0" in result.output
    assert "nls: i h_t + a h_xx + b |h|^2 h = 0" in result.output
    described = json.loads(CliRunner().invoke(cli, ["equations", "ks", "--json"]).output)
    assert described["parameters"] == {"alpha": 1.0, "beta": 1.0, "gamma": 1.0}
    assert described["default_unknowns"] == ["alpha", "beta", "gamma"]
    assert described["domain"] == [0.0, pytest.approx(32 * np.pi)]


# ---- a user's equation end to end -------------------------------------------------------------


def test_user_equation_matches_its_exact_solution(user_module):
    AdvDiff = get_equation("advdiff_eq:AdvDiff")
    eq = AdvDiff(n=64)
    t = np.array([0.25, 0.5, 1.0])
    u = eq.solve({"kappa": 0.02, "c": 0.5}, t)
    exact = advdiff_exact(t[:, None], eq.x[None, :], 0.02, 0.5)
    assert np.max(np.abs(u - exact)) <= 1e-10


def test_user_equation_simulate_fit_plot_from_python(user_module, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from pdeinv import plotting

    AdvDiff = get_equation("advdiff_eq:AdvDiff")
    obs = simulate(AdvDiff, {"kappa": 0.03, "c": 0.7}, points=36)
    assert obs.equation == "advdiff" and obs.true_params == {"kappa": 0.03, "c": 0.7}
    assert np.allclose(obs.u, advdiff_exact(obs.t, obs.x, 0.03, 0.7), atol=1e-10)
    result = fit(InverseProblem(obs), {"kappa": 0.01, "c": 0.3})
    assert result.success, result.message
    assert abs(result.params["kappa"] / 0.03 - 1) < 1e-6 and abs(result.params["c"] / 0.7 - 1) < 1e-6
    fig = plotting.summary_figure(result, obs)
    fig.savefig(tmp_path / "advdiff.png")
    assert (tmp_path / "advdiff.png").stat().st_size > 10_000


def test_user_equation_through_the_cli(user_module, tmp_path, monkeypatch):
    runner = CliRunner()
    data, out = tmp_path / "ad.h5", tmp_path / "fit.h5"
    made = runner.invoke(cli, ["simulate", "advdiff_eq:AdvDiff", "--param", "kappa=0.03", "--param", "c=0.7",
                               "--points", "36", "-o", str(data)])
    assert made.exit_code == 0, made.output
    monkeypatch.setenv("PDEINV_EQUATIONS", "advdiff_eq:AdvDiff")
    fitted = runner.invoke(cli, ["fit", "advdiff", "--obs", str(data), "--init", "kappa=0.01,c=0.3",
                                 "-o", str(out), "--quiet"])
    assert fitted.exit_code == 0, fitted.output
    assert "kappa" in fitted.output and "converged" in fitted.output
    info = runner.invoke(cli, ["info", str(out), "--json"])
    assert info.exit_code == 0, info.output
    assert json.loads(info.output)["params"]["c"] == pytest.approx(0.7, rel=1e-6)
    drawn = runner.invoke(cli, ["plot", str(out), "-o", str(tmp_path / "fit.png")])
    assert drawn.exit_code == 0, drawn.output
    listed = runner.invoke(cli, ["--plugin", "advdiff_eq:AdvDiff", "equations", "advdiff"])
    assert "u_t + c u_x = kappa u_xx" in listed.output and "advdiff_eq:AdvDiff" in listed.output


def test_user_equation_checkpoint_resume_is_bitwise(user_module, tmp_path):
    AdvDiff = get_equation("advdiff_eq:AdvDiff")
    obs = simulate(AdvDiff, {"kappa": 0.03, "c": 0.7}, points=25)
    whole = fit(InverseProblem(obs, n=32), {"kappa": 0.01, "c": 0.3}, seed=3)
    polls = []
    checkpoint = tmp_path / "ad.ckpt.h5"
    part = fit(InverseProblem(obs, n=32), {"kappa": 0.01, "c": 0.3}, seed=3, checkpoint=checkpoint,
               checkpoint_every=1, should_stop=lambda: polls.append(1) or len(polls) == 3)
    assert part.message.startswith("interrupted")
    resumed = fit(InverseProblem(obs, n=32), resume=checkpoint)
    assert resumed.params == whole.params and resumed.history == whole.history


def test_entry_point_plugin_in_a_fresh_process(user_module, tmp_path):
    """An installed package announces its equation in the entry-point group pdeinv.equations;
    a new process then knows it, and reads files made with it."""
    dist = user_module / "advdiff_eq-1.0.dist-info"
    dist.mkdir(exist_ok=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: advdiff-eq\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[pdeinv.equations]\nadvdiff = advdiff_eq:AdvDiff\n")
    AdvDiff = get_equation("advdiff_eq:AdvDiff")
    data = tmp_path / "ad.h5"
    save_observations(simulate(AdvDiff, {}, points=16), data)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(user_module), *sys.path])}
    env.pop("PDEINV_EQUATIONS", None)
    listed = subprocess.run([sys.executable, "-m", "pdeinv", "equations", "--json"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    names = [e["name"] for e in json.loads(listed.stdout)["equations"]]
    assert "advdiff" in names
    info = subprocess.run([sys.executable, "-m", "pdeinv", "info", str(data)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert info.returncode == 0 and "advdiff" in info.stdout, info.stderr


def test_console_script_finds_a_module_in_the_working_directory(tmp_path):
    """``pdeinv`` (a console script, unlike ``python -m``) does not put the working directory on
    the path; a ``module:Class`` beside the user is found there all the same."""
    script = Path(sys.executable).with_name("pdeinv")
    if not script.exists():
        pytest.skip("pdeinv is not installed as a console script here")
    (tmp_path / "beside_eq.py").write_text(ADVDIFF_SOURCE)
    env = {k: v for k, v in os.environ.items() if k not in ("PDEINV_EQUATIONS", "PYTHONPATH")}
    done = subprocess.run([str(script), "--plugin", "beside_eq:AdvDiff", "equations", "advdiff"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "u_t + c u_x = kappa u_xx" in done.stdout
    missing = subprocess.run([str(script), "--plugin", "nowhere_eq:AdvDiff", "equations"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and "looked on the Python path and in the working directory" in missing.stderr


def test_file_of_an_unavailable_equation_says_where_it_is_defined(user_module, tmp_path):
    data = tmp_path / "ad.h5"
    save_observations(simulate(get_equation("advdiff_eq:AdvDiff"), {}, points=16), data)
    env = {k: v for k, v in os.environ.items() if k != "PDEINV_EQUATIONS"}
    done = subprocess.run([sys.executable, "-m", "pdeinv", "info", str(data)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"Error: {data}: unknown equation 'advdiff' (defined in advdiff_eq:AdvDiff; make it available with "
        "--plugin advdiff_eq:AdvDiff or PDEINV_EQUATIONS=advdiff_eq:AdvDiff)"]


# ---- NLS: a complex state --------------------------------------------------------------------


def soliton(t, x, amplitude=2.0, a=0.5, b=1.0):
    return amplitude / np.cosh(amplitude * np.sqrt(b / (2 * a)) * x) * np.exp(0.5j * b * amplitude**2 * t)


def test_nls_matches_the_exact_soliton_and_conserves_mass():
    NLS = get_equation("nls")
    # On [-20, 20) the soliton's tails are ~1e-17: the periodic problem has the same solution.
    eq = NLS(n=512, domain=(-20, 20), u0=lambda x: soliton(0, x))
    t = np.array([0.5, 1.0, np.pi / 2])
    h = eq.solve({"a": 0.5, "b": 1.0}, t)
    exact = soliton(t[:, None], eq.x[None, :])
    assert np.max(np.abs(h - exact)) / 2.0 <= 1e-10
    # Mass of the default (breathing) 2 sech(x) initial condition on the default domain: the
    # semi-discrete system conserves it exactly, ETDRK4 to its own (fourth) order in dt.
    drift = []
    for dt in (5e-4, 2.5e-4):
        eq = NLS(dt=dt)
        mass = np.sum(np.abs(eq.solve({}, np.linspace(0, np.pi / 2, 9))) ** 2, axis=1)
        drift.append(np.max(np.abs(mass / np.sum(np.abs(eq.u0) ** 2) - 1)))
    assert drift[1] <= 1e-12
    assert drift[0] / drift[1] > 2**3.5


def test_nls_complex_observations_round_trip_and_fit(tmp_path):
    obs = simulate("nls", {"a": 0.5, "b": 1.0}, points=64, layout="random", seed=1)
    assert obs.is_complex and obs.domain == (-5.0, 5.0) and obs.t_span == pytest.approx((0, np.pi / 2))
    save_observations(obs, tmp_path / "h.h5")
    back = load_observations(tmp_path / "h.h5")
    assert np.array_equal(back.u, obs.u) and np.array_equal(back.u0, obs.u0) and back.observable == "value"
    result = fit(InverseProblem(back), {"a": 0.4, "b": 1.3})
    assert result.success, result.message
    # Data simulated on a grid twice as fine: the estimate is as close as the fit's grid check
    # promises (grid_tol = 1e-5 relative); measured 1.8e-6 and 7e-7.
    for name, truth in (("a", 0.5), ("b", 1.0)):
        assert abs(result.params[name] / truth - 1) < 1e-5, result.params
    import matplotlib

    matplotlib.use("Agg")
    from pdeinv import plotting

    plotting.summary_figure(result, back).savefig(tmp_path / "nls.png")  # |h| drawn for a complex field
    assert (tmp_path / "nls.png").stat().st_size > 10_000


def test_nls_fit_from_the_modulus_alone(tmp_path):
    runner = CliRunner()
    data = tmp_path / "abs.h5"
    made = runner.invoke(cli, ["simulate", "nls", "--observe", "abs", "--points", "64", "--layout", "random",
                               "-o", str(data)])
    assert made.exit_code == 0, made.output
    obs = load_observations(data)
    assert obs.observable == "abs" and not obs.is_complex and np.all(obs.u >= 0)
    result = fit(InverseProblem(obs), {"a": 0.4, "b": 1.3})
    assert result.success, result.message
    assert abs(result.params["a"] / 0.5 - 1) < 1e-5 and abs(result.params["b"] - 1) < 1e-5


def test_complex_values_for_a_real_equation_are_refused():
    with pytest.raises(ObservationError, match="u is complex, but this equation's state is real"):
        pdeinv.Observations("burgers", [0.5], [0.0], [1 + 1j], u0=np.zeros(8))


def test_version_1_files_still_load(tmp_path):
    import h5py

    path = tmp_path / "v1.h5"
    save_observations(simulate("burgers", {}, points=16, n=64), path)
    with h5py.File(path, "r+") as f:  # what version 1 wrote: no observable, version 1
        f.attrs["version"] = 1
        del f["observations"].attrs["observable"]
    obs = load_observations(path)
    assert obs.observable == "value" and obs.n_points == 16
