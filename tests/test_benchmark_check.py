"""Which code a benchmark's results depend on (``python -m benchmarks --check``): a change to
code a benchmark never runs leaves its results current; one it may run does not."""

from benchmarks.run import SCRIPTS, dependencies


def test_a_fit_benchmark_depends_on_the_fit_and_not_on_the_command_line_or_the_plots():
    files = set(dependencies("fit"))
    for needed in ("benchmarks/fit.py", "benchmarks/common.py", "pdeinv/__init__.py", "pdeinv/fit/engine.py",
                   "pdeinv/fit/steps/lm.py", "pdeinv/problems/inverse.py", "pdeinv/problems/initial.py",
                   "pdeinv/solvers/equation.py", "pdeinv/equations/kdv.py", "pdeinv/io/observations.py"):
        assert needed in files, needed
    assert not any(f.startswith("pdeinv/cli/") for f in files) and "pdeinv/plotting.py" not in files


def test_benchmarks_that_run_the_command_line_or_other_benchmarks_depend_on_them():
    assert {"pdeinv/cli/__init__.py", "pdeinv/cli/fit.py"} <= set(dependencies("walltime"))  # its driver runs the CLI
    assert "benchmarks/fit.py" in dependencies("paper")
    assert "benchmarks/regularization.py" in dependencies("penalty_order")
    assert "pdeinv/ensemble.py" in dependencies("distributed")
    for name, _ in SCRIPTS:
        assert f"benchmarks/{name}.py" in dependencies(name)


# ---- behaviour fingerprints (python -m benchmarks --verify) --------------------------------------
from benchmarks.fingerprints import FINGERPRINTS, differences  # noqa: E402


def test_every_benchmark_has_a_fingerprint():
    assert set(FINGERPRINTS) == {name for name, _ in SCRIPTS}


def test_a_changed_estimate_count_or_status_is_a_difference_and_round_off_is_not():
    before = {"fit: nu": 0.0031830997651, "fit: nfev": 17, "fit: status": "converged", "u0[0]": 2.5e-13}
    assert differences(before, dict(before)) == []
    assert differences(before, {**before, "fit: nu": 0.0031830997651 * (1 + 1e-11), "u0[0]": -4e-13}) == []
    assert differences(before, {**before, "fit: nu": 0.0031830997651 * (1 + 1e-7)}) == [
        f"fit: nu: {0.0031830997651!r} -> {0.0031830997651 * (1 + 1e-7)!r}"]
    assert differences(before, {**before, "fit: nfev": 18}) == ["fit: nfev: 17 -> 18"]
    assert differences(before, {**before, "fit: status": "poor_fit"}) == ["fit: status: 'converged' -> 'poor_fit'"]
    assert differences(before, {**before, "fit: nfev": 17.0}) == ["fit: nfev: 17 -> 17.0"]
    missing = dict(before)
    del missing["fit: status"]
    assert differences(before, missing) == ["fit: status: converged -> absent"]


def test_a_fingerprint_is_the_same_in_two_fresh_processes():
    from benchmarks.run import fingerprint_at

    first = fingerprint_at("solvers")
    assert len(first) == 15 and all(isinstance(v, float) for v in first.values())
    assert differences(first, fingerprint_at("solvers")) == []
