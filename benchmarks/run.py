"""Run every benchmark and render benchmarks/results/REPORT.md.

    python -m benchmarks [--quick | --full] [--only NAME ...]
    python -m benchmarks --check      # which results are older than the code they measure
    python -m benchmarks --verify     # whether the code's behaviour changed since (fingerprints)
    python -m benchmarks --report     # render REPORT.md from the results files, running nothing

--quick (default) finishes in about an hour on 2 cores; --full runs every grid, every start
(the ZO gradient method: 3), 200 noise replicates per coverage row and the paper preset's 5000
steps, in about three hours.
"""

from __future__ import annotations

import argparse
import importlib
import os
import time

from .common import RESULTS, machine

SCRIPTS = [
    ("solvers", "Forward solvers: speed and accuracy"),
    ("fit", "Parameter recovery: accuracy and solver calls per method"),
    ("convergence", "Convergence against solver calls"),
    ("paper", "The paper's recipe (full run) against zo-gn"),
    ("pinn", "PINN path: memory and accuracy against the numerical path"),
    ("fields", "Fields as unknowns: solver calls to recover an initial condition or a diffusion field"),
    ("import_grid", "Importers: the periodic endpoint of published grids, on KdV data"),
    ("multiparam", "Several unknowns from far starts: the global phase with and without time windows"),
    ("uncertainty", "How sure the answer is: interval coverage, robust losses, profile cost"),
    ("initial_condition", "Measured data: a noisy first snapshot fitted with the parameters, against taking it as exact"),
    ("snapshot_coverage", "Measured data at scale: interval coverage with u0 fitted, over hundreds of data sets"),
    ("regularization", "Regularization rules over many noise draws: the chosen weight against the oracle"),
    ("undetermined", "A field the data determine only in part: how each local method reaches the minimum"),
    ("penalty_order", "Which penalty order: the marginal likelihood over orders 1 to 4, against the oracle"),
    ("distributed", "Many fits and clusters: parallel efficiency, fit-many speed-up, scheduler overhead"),
    ("walltime", "A fit in seconds: end-to-end wall time, compilations, --help, many observation times"),
    ("bounded", "Bounded domains: Chebyshev solves against scipy's stiff integrators, recovery on a rod"),
    ("systems", "Systems: two-species diffusion-reaction solves against scipy, D and k from both species or one"),
    ("design", "Experiment design: designed against random observation points, over replicate experiments"),
    ("design_sequential", "Experiment design in two stages: a pilot, a fit, the rest designed; against random points"),
]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="the quick mode (default)")
    mode.add_argument("--full", action="store_true", help="everything, long")
    parser.add_argument("--only", nargs="*", help="run only these scripts")
    parser.add_argument("--check", action="store_true", help="list results older than the code they measure")
    parser.add_argument("--verify", action="store_true",
                        help="compare each benchmark's behaviour fingerprint with the one of the code that measured its "
                             "results; unchanged results count as current (see benchmarks/fingerprints.py)")
    parser.add_argument("--report", action="store_true", help="render REPORT.md from the results files, running nothing")
    args = parser.parse_args(argv)
    if args.check:
        return check()
    if args.verify:
        return verify(args.only)
    if args.report:
        render(not args.full, {})
        return 0
    quick = not args.full
    timings = {}
    for name, _ in SCRIPTS:
        if args.only and name not in args.only:
            continue
        start = time.perf_counter()
        importlib.import_module(f"benchmarks.{name}").run(quick)
        timings[name] = time.perf_counter() - start
    render(quick, timings)


def _measured_at(name: str) -> str:
    """The commit a results file was measured at ("" when missing; "+uncommitted" kept)."""
    import json

    path = RESULTS / f"{name}.json"
    return str(json.loads(path.read_text()).get("machine", {}).get("commit", "")) if path.exists() else ""


def _changed_since(name: str, base: str, repo) -> list[str] | None:
    """The files ``name`` depends on whose code changed between ``base`` and the working tree
    (None: ``base`` is not a commit here)."""
    import subprocess

    changed = subprocess.run(["git", "diff", "--name-only", base, "--", *dependencies(name, repo)],
                             capture_output=True, text=True, cwd=repo)
    if changed.returncode != 0:
        return None
    return [f for f in changed.stdout.split() if not same_code(repo, base, f)]


def check() -> int:
    """Print, for each results file, the commit it was measured at and whether the code it
    depends on changed since (docstrings and comments aside; see ``dependencies``), or since the
    latest commit at which ``--verify`` found its behaviour fingerprint unchanged; returns 1
    when any is stale (or was measured on uncommitted code)."""
    repo = RESULTS.parent.parent
    verified = _load_fingerprints()
    stale = 0
    for name, _ in SCRIPTS:
        commit = _measured_at(name)
        base = commit.split("+")[0]
        if not commit:
            print(f"{name:14s} missing")
            stale += 1
            continue
        if commit.endswith("+uncommitted"):
            print(f"{name:14s} measured at {commit}: stale (not a committed state)")
            stale += 1
            continue
        entry = verified.get(name, {})
        since = entry["verified"] if entry.get("results") == commit else base
        files = _changed_since(name, since, repo)
        if files is None:
            print(f"{name:14s} measured at {commit}: unknown commit here")
            stale += 1
            continue
        said = f"measured at {commit}" + (f", behaviour verified unchanged at {since}" if since != base else "")
        print(f"{name:14s} {said}: " + (f"stale ({len(files)} files changed since)" if files else "current"))
        stale += bool(files)
    return 1 if stale else 0


FINGERPRINTS = RESULTS / "fingerprints.json"


def _load_fingerprints() -> dict:
    import json

    return json.loads(FINGERPRINTS.read_text()) if FINGERPRINTS.exists() else {}


def _fingerprint_source() -> str:
    """A digest of the fingerprints' code: a baseline taken with other code is taken again."""
    import hashlib
    from pathlib import Path

    return hashlib.sha256(_code((Path(__file__).parent / "fingerprints.py").read_text()).encode()).hexdigest()[:16]


def fingerprint_at(name: str, commit: str | None = None) -> dict:
    """The fingerprint of benchmark ``name`` run against pdeinv as it is in the working tree
    (``commit`` None) or at ``commit`` (checked out in a temporary git worktree); in a fresh
    process either way, so that no compiled state is shared."""
    import json
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    repo = RESULTS.parent.parent
    script = Path(__file__).parent / "fingerprints.py"
    with tempfile.TemporaryDirectory(prefix="pdeinv-fingerprint-") as scratch:
        root = repo
        if commit is not None:
            root = Path(scratch) / "tree"
            subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(root), commit], cwd=repo, check=True)
        try:
            code = (f"import importlib.util, json, sys\nsys.path.insert(0, {str(root)!r})\nimport pdeinv\n"
                    f"assert pdeinv.__file__.startswith({str(root)!r}), pdeinv.__file__\n"
                    f"spec = importlib.util.spec_from_file_location('_fingerprints', {str(script)!r})\n"
                    "module = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(module)\n"
                    f"print('FINGERPRINT ' + json.dumps(module.FINGERPRINTS[{name!r}]({str(root)!r})))\n")
            run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=scratch)
        finally:
            if commit is not None:
                subprocess.run(["git", "worktree", "remove", "--force", str(root)], cwd=repo, capture_output=True)
        line = next((l for l in run.stdout.splitlines() if l.startswith("FINGERPRINT ")), None)
        if run.returncode != 0 or line is None:
            tail = (run.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"the fingerprint of {name} at {commit or 'the working tree'} failed: {tail}")
        return json.loads(line[len("FINGERPRINT "):])


def verify(only=None) -> int:
    """For each benchmark (or those in ``only``) whose code changed since its results were
    measured or last verified: its fingerprint now against the one taken at the code that
    measured the results (taken once, at that commit, and kept in fingerprints.json). Unchanged:
    the results count as current from this commit on. Changed: the differences are printed;
    returns 1 (rerun those benchmarks). Measures committed code only."""
    import json
    import os
    import subprocess

    from .fingerprints import differences

    repo = RESULTS.parent.parent
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "pdeinv", "benchmarks/*.py"],
                           capture_output=True, text=True, cwd=repo).stdout.strip()
    if dirty:
        print("commit the code first: --verify records the commit whose behaviour it verified")
        return 2
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=repo).stdout.strip()
    stored, source, failed = _load_fingerprints(), _fingerprint_source(), 0
    for name, _ in SCRIPTS:
        if only and name not in only:
            continue
        commit = _measured_at(name)
        if not commit or commit.endswith("+uncommitted"):
            print(f"{name:14s} cannot verify: results {'missing' if not commit else 'measured on uncommitted code'}")
            failed += 1
            continue
        entry = stored.get(name, {})
        if entry.get("results") != commit or entry.get("source") != source:
            at = None if _changed_since(name, commit, repo) == [] else commit  # the same code here: no checkout
            print(f"{name:14s} taking the baseline at {commit} ...", flush=True)
            try:
                entry = {"results": commit, "verified": commit, "source": source, "fingerprint": fingerprint_at(name, at)}
            except RuntimeError as error:
                print(f"{name:14s} cannot verify: {error}")
                failed += 1
                continue
        files = _changed_since(name, entry["verified"], repo)
        if files == []:
            print(f"{name:14s} current: no code it runs changed since {entry['verified']}")
        else:
            try:
                changes = differences(entry["fingerprint"], fingerprint_at(name))
            except RuntimeError as error:
                print(f"{name:14s} cannot verify: {error}")
                failed += 1
                continue
            if changes:
                print(f"{name:14s} CHANGED since {commit} (rerun: python -m benchmarks --only {name}):")
                for line in changes:
                    print(f"{'':16s}{line}")
                failed += 1
            else:
                entry["verified"] = head
                print(f"{name:14s} unchanged since {commit}: results current at {head}")
        stored[name] = entry
        tmp = FINGERPRINTS.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(stored, indent=1, sort_keys=True) + "\n")
        os.replace(tmp, FINGERPRINTS)
    return 1 if failed else 0


def _module_files(repo) -> dict[str, str]:
    """``{module name: path relative to repo}`` of the pdeinv and benchmarks packages."""
    out = {}
    for package in ("pdeinv", "benchmarks"):
        for path in sorted((repo / package).rglob("*.py")):
            parts = list(path.relative_to(repo).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path.relative_to(repo).as_posix()
    return out


def _imports(module: str, path, modules: dict, exports: dict) -> set[str]:
    """The pdeinv/benchmarks modules ``module`` names: every import statement (inside functions
    too: pdeinv imports lazily), a name pdeinv exports resolved to the module that defines it,
    and dotted module names in its text (a driver program run as a subprocess, ``pdeinv.x``
    attributes of a plain ``import pdeinv``); ``-m pdeinv`` runs the command line."""
    import ast
    import re

    source = path.read_text()
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else [])) \
                if node.level else (node.module or "")
            found.add(base)
            for alias in node.names:
                found.add(f"{base}.{alias.name}")
                if base == "pdeinv" and alias.name in exports:
                    found.add("pdeinv" + exports[alias.name])
    found.update(re.findall(r"\b(?:pdeinv|benchmarks)(?:\.\w+)+", source))
    if re.search(r"^import pdeinv\s*$", source, re.M):
        found.update("pdeinv" + m for m in exports.values())
    if re.search(r"""["']-m["'],\s*["']pdeinv["']""", source):
        found.update({"pdeinv.__main__", "pdeinv.cli"})
    return {m for m in found if m in modules}


def dependencies(name: str, repo=None) -> list[str]:
    """The files a benchmark's results depend on: its script, benchmarks/common.py, and every
    module reachable from them by ``_imports`` (with the packages' ``__init__`` on the way).
    Static and generous: a module reached through any import statement counts, so a change that
    leaves a benchmark "current" cannot have run in it; a change elsewhere (the command line for a
    benchmark that never runs it, the plots) leaves its results current."""
    import ast
    from pathlib import Path

    repo = Path(repo or RESULTS.parent.parent)
    modules = _module_files(repo)
    tree = ast.parse((repo / "pdeinv" / "__init__.py").read_text())
    exports = next((ast.literal_eval(node.value) for node in ast.walk(tree) if isinstance(node, ast.Assign)
                    and getattr(node.targets[0], "id", "") == "_EXPORTS"), {})
    seen: set[str] = set()
    todo = [f"benchmarks.{name}", "benchmarks.common"]
    while todo:
        module = todo.pop()
        if module in seen or module not in modules:
            continue
        seen.add(module)
        parts = module.split(".")
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))
        todo.extend(_imports(module, repo / modules[module], modules, exports))
    return sorted(modules[m] for m in seen)


def _code(source: str) -> str:
    """The code of a Python source without its docstrings (comments are not in the syntax tree)."""
    import ast

    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(body, list) and body and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree)


def same_code(repo, base: str, path: str) -> bool:
    """Whether the Python file ``path`` has the same code at ``base`` as in the working tree:
    a change to docstrings or comments alone does not change what a benchmark measured."""
    import subprocess

    if not path.endswith(".py") or not (repo / path).exists():
        return False
    old = subprocess.run(["git", "show", f"{base}:{path}"], capture_output=True, text=True, cwd=repo)
    if old.returncode != 0:
        return False
    try:
        return _code(old.stdout) == _code((repo / path).read_text())
    except SyntaxError:
        return False


def _mode(name: str) -> str:
    """quick or full, from the results file (with its replicates, where it has them)."""
    import json

    data = json.loads((RESULTS / f"{name}.json").read_text())
    mode = {True: "quick", False: "full"}.get(data.get("quick"), "single mode")
    return mode + (f", {data['replicates']} replicates" if "replicates" in data else "")


def render(quick: bool, timings: dict):
    m = machine()
    parts = [
        "# pdeinv benchmark report",
        "",
        f"Rendered {m['date']}, commit {m['commit']}, {m['cores']} cores ({m['cpu']}), python {m['python']}, "
        f"jax {m['jax']}. Each section states when, at which commit and in which mode it was measured "
        "(`python -m benchmarks --check` says whether the code changed since); regenerate with "
        "`python -m benchmarks [--full]`.",
    ]
    for name, title in SCRIPTS:
        path = RESULTS / f"{name}.md"
        if not path.exists():
            continue
        took = f" (ran {timings[name]:.0f} s)" if name in timings else ""
        parts += ["", f"## {title}{took}", "", f"Mode: {_mode(name)}.", "", path.read_text().strip()]
    text = "\n".join(parts) + "\n"
    tmp = RESULTS / "REPORT.md.tmp"
    tmp.write_text(text)
    os.replace(tmp, RESULTS / "REPORT.md")
    print(f"wrote {RESULTS / 'REPORT.md'}")


if __name__ == "__main__":
    raise SystemExit(main())
