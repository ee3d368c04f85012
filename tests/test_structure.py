"""The shape of the package: no import cycles, and importing pdeinv leaves XLA's flags alone."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pdeinv

PACKAGE = Path(pdeinv.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph() -> dict[str, set[str]]:
    """Every import inside pdeinv (module level and inside functions), module to module."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                # "from package import submodule" depends on the submodule, not on the package
                subs = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in modules]
                targets = subs if len(subs) == len(node.names) else [base, *subs]
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_import_graph_has_edges_and_no_cycle():
    graph = _import_graph()
    assert "pdeinv.solvers.core" in graph["pdeinv.equations.burgers"]  # the walk sees imports
    assert _cycles(graph) == []


def test_the_fit_engine_and_the_methods_never_see_a_basis():
    """A basis (pdeinv.discretizations) is used by equations, solvers and problems; the fit and
    its methods work on residuals only, so a new basis is one file and touches none of them."""
    graph = _import_graph()
    assert "pdeinv.discretizations" in graph["pdeinv.solvers.equation"]  # the walk sees the basis
    engine = [m for m in graph if m.startswith(("pdeinv.fit", "pdeinv.methods", "pdeinv.estimators"))]
    assert engine and [m for m in engine if any(t.startswith("pdeinv.discretizations") for t in graph[m])] == []


def test_a_cycle_would_be_found():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_importing_pdeinv_leaves_xla_flags_alone():
    code = "import os, pdeinv; print(repr(os.environ.get('XLA_FLAGS')))"
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "PDEINV_CPU_DEVICES")}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "None"
    opted = subprocess.run([sys.executable, "-c", code], env={**env, "PDEINV_CPU_DEVICES": "2"},
                           capture_output=True, text=True, timeout=120)
    assert "xla_force_host_platform_device_count=2" in opted.stdout


def test_compiled_solvers_are_cached_where_the_user_says(tmp_path):
    # set when pdeinv's numerical part loads (import pdeinv alone imports no JAX), or at import
    # pdeinv when JAX is already there
    code = "import pdeinv, pdeinv.solvers, jax; print(jax.config.jax_compilation_cache_dir)"
    jax_first = "import jax, pdeinv; print(jax.config.jax_compilation_cache_dir)"
    env = {k: v for k, v in os.environ.items() if k not in ("PDEINV_COMPILATION_CACHE", "JAX_COMPILATION_CACHE_DIR")}

    def cache_dir(source=code, **extra):
        done = subprocess.run([sys.executable, "-c", source], env={**env, **extra}, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert cache_dir(XDG_CACHE_HOME=str(tmp_path)) == str(tmp_path / "pdeinv" / "jax")
    assert cache_dir(jax_first, XDG_CACHE_HOME=str(tmp_path)) == str(tmp_path / "pdeinv" / "jax")
    assert cache_dir(PDEINV_COMPILATION_CACHE="off") == "None"
    assert cache_dir(PDEINV_COMPILATION_CACHE=str(tmp_path / "c")) == str(tmp_path / "c")
    assert cache_dir(JAX_COMPILATION_CACHE_DIR=str(tmp_path / "mine")) == str(tmp_path / "mine")


def _run(code: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "PDEINV_CPU_DEVICES")}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_command_line_help_imports_no_jax():
    """`pdeinv --help` (and a command's help) answers without importing JAX, SciPy, h5py or
    NumPy: those take a second or more; a command imports what it needs when it runs."""
    code = """
import runpy, sys
heavy = ("jax", "scipy", "h5py", "numpy", "matplotlib")
for args in (["--help"], ["info", "--help"], ["equations", "--help"], ["fit", "--help"]):
    sys.argv = ["pdeinv", *args]
    try:
        runpy.run_module("pdeinv", run_name="__main__")
    except SystemExit as stop:
        assert stop.code in (0, None), (args, stop.code)
    print("imported after", args[0], sorted(m for m in heavy if m in sys.modules))
"""
    out = [line for line in _run(code).splitlines() if line.startswith("imported after")]
    assert out == [f"imported after {name} []" for name in ("--help", "info", "equations", "fit")]
    # the check can fail: a command that runs does import JAX
    assert _run("import sys, pdeinv; pdeinv.get_equation('kdv'); print('jax' in sys.modules)") == "True"


def test_fit_is_the_function_whatever_is_imported_first():
    """pdeinv.fit is the function even when the subpackage of the same name is imported first
    (Python binds a subpackage to its parent's attribute when it loads it)."""
    code = """
import pdeinv.fit.search
import pdeinv
from pdeinv import fit
from pdeinv.fit import Solver, fit as fit_again
print(callable(pdeinv.fit) and pdeinv.fit is fit is fit_again and type(fit).__name__ == "function")
print(pdeinv.fit.__module__, pdeinv.fit.__name__, sys.modules["pdeinv.fit.search"].global_search.__name__)
"""
    assert _run("import sys\n" + code).splitlines() == ["True", "pdeinv.fit fit global_search"]
    # and when the function is asked for first
    assert _run("import pdeinv; f = pdeinv.fit; import pdeinv.fit.search; print(pdeinv.fit is f, callable(f))") == \
        "True True"
    assert "fit" in dir(pdeinv) and "InverseProblem" in pdeinv.__all__


def test_float64_whichever_imports_first():
    code = """
import {first}
import {second}
import jax.numpy as jnp
from pdeinv.solvers import Burgers
print(jnp.ones(1).dtype)
"""
    assert _run(code.format(first="pdeinv", second="jax")) == "float64"
    assert _run(code.format(first="jax", second="pdeinv")) == "float64"
