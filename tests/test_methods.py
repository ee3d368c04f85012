"""Methods are registered objects: a new named method is one file, and the API and the command
line take it, with its options and help, without an edit anywhere else."""

import importlib
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

import pdeinv
from pdeinv import methods
from pdeinv.cli import cli

DATA = Path(__file__).resolve().parents[1] / "data"

# A method a user might add: the classic finite-difference Levenberg-Marquardt (a fresh
# coordinate Jacobian at every step), in a file of its own.
FD_LM = '''
from pdeinv.methods import Method, register_method


def build(o, optimizer=None):
    from pdeinv.estimators import ZOSketch
    from pdeinv.fit.solver import Solver
    from pdeinv.fit.steps import LevenbergMarquardt

    return Solver(ZOSketch(o["directions"], "ordered", "forward", None), LevenbergMarquardt(broyden=False), "fd-lm")


def configure(o, problem):
    o["directions"] = problem.dim if o["directions"] is None else o["directions"]


register_method(Method("fd-lm", "finite-difference Levenberg-Marquardt, a fresh Jacobian every step", build,
                       options=("directions",), configure=configure))
'''


@pytest.fixture
def fd_lm(tmp_path, monkeypatch):
    (tmp_path / "my_fd_lm.py").write_text(textwrap.dedent(FD_LM))
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.import_module("my_fd_lm")
    yield "fd-lm"
    methods._REGISTRY.pop("fd-lm", None)
    methods._SUMMARIES.pop("fd-lm", None)
    sys.modules.pop("my_fd_lm", None)


def test_the_built_in_methods_are_registered_with_their_options():
    assert methods.method_names() == ["zo-gn", "exact", "lsq", "zo"]
    assert methods.method_options()["broyden"] == ("zo-gn",)
    assert methods.method_options()["max_step"] == ("zo-gn", "exact")
    from pdeinv.fit import METHODS

    assert set(METHODS) == set(methods.method_names())
    with pytest.raises(ValueError, match="registered already"):
        methods.register_method(methods.get_method("zo"))
    with pytest.raises(ValueError, match="declares options"):
        methods.Method("mine", "x", lambda o, opt: None, options=("colour",))


def test_a_new_method_file_is_a_choice_of_the_api_and_the_command_line(fd_lm):
    obs = pdeinv.load_observations(DATA / "burgers.h5")
    result = pdeinv.fit(pdeinv.InverseProblem(obs), {"nu": 0.03}, method=fd_lm)
    assert result.status == "converged" and abs(result.params["nu"] / obs.true_params["nu"] - 1) < 1e-5
    assert result.settings["method"] == fd_lm
    with pytest.raises(ValueError, match="option broyden applies to method zo-gn, not fd-lm"):
        pdeinv.fit(pdeinv.InverseProblem(obs), {"nu": 0.03}, method=fd_lm, broyden=True)
    runner = CliRunner()
    help_text = runner.invoke(cli, ["fit", "--help"]).output
    assert "fd-lm" in help_text and "a fresh Jacobian every step" in " ".join(help_text.split())
    run = runner.invoke(cli, ["fit", "burgers", "--obs", str(DATA / "burgers.h5"), "--method", fd_lm,
                              "--init", "nu=0.03", "--json"])
    assert run.exit_code == 0, run.output
    assert '"status": "converged"' in run.output
    refused = runner.invoke(cli, ["fit", "burgers", "--obs", str(DATA / "burgers.h5"), "--method", "fd-lm2"])
    assert refused.exit_code == 2 and "'fd-lm'" in refused.output
