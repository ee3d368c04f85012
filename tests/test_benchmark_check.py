"""Which code a benchmark's results depend on (``python -m benchmarks --check``): a change to
code a benchmark never runs leaves its results current; one it may run does not."""

from benchmarks.run import SCRIPTS, dependencies


def test_a_fit_benchmark_depends_on_the_fit_and_not_on_the_command_line_or_the_plots():
    files = set(dependencies("fit"))
    for needed in ("benchmarks/fit.py", "benchmarks/common.py", "pdeinv/__init__.py", "pdeinv/fit/engine.py",
                   "pdeinv/fit/steps/lm.py", "pdeinv/problems/inverse.py", "pdeinv/problems/initial.py",
                   "pdeinv/solvers/equation.py", "pdeinv/equations/kdv.py", "pdeinv/io/observations.py"):
        assert needed in files, needed
    assert "pdeinv/cli.py" not in files and "pdeinv/plotting.py" not in files


def test_benchmarks_that_run_the_command_line_or_other_benchmarks_depend_on_them():
    assert "pdeinv/cli.py" in dependencies("walltime")  # its driver program runs pdeinv.cli
    assert "benchmarks/fit.py" in dependencies("paper")
    assert "benchmarks/regularization.py" in dependencies("penalty_order")
    assert "pdeinv/ensemble.py" in dependencies("distributed")
    for name, _ in SCRIPTS:
        assert f"benchmarks/{name}.py" in dependencies(name)
