"""Pages made when the site builds, so that they cannot rot: the tutorials, run, and the table
of equations, read from the registry.

Each ``docs/tutorials/NAME.py`` runs in a fresh temporary folder (a Python process of its own,
matplotlib without a display). A tutorial checks its own results with ``assert``: one that
raises, or whose results drift from what it says, fails the build. Its page holds the marker
``<!-- tutorial: NAME.py -->``, which becomes the script, what it printed and the figures it
saved (every ``*.png`` it wrote, published beside the page as ``NAME/FIGURE.png``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

MARKER = re.compile(r"<!-- tutorial: ([\w-]+\.py) -->")
#: The longest a tutorial may run (seconds).
TIMEOUT = 900

_runs: dict[str, tuple[str, str, list[str], float]] = {}


#: Pages this hook writes (not in docs/; listed in the navigation like the others).
GENERATED = ("reference/equations.md", "results/report.md")

#: Where the benchmarks' results live (their report becomes a page, its figures beside it).
RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"


def report_page() -> str:
    """Every benchmark's tables, as ``python -m benchmarks`` rendered them (REPORT.md)."""
    text = (RESULTS / "REPORT.md").read_text()
    return ("<!-- made from benchmarks/results/REPORT.md when the site is built -->\n" + text
            + "\n\nThe summary, with what each measurement means for a user: [Benchmarks](../benchmarks.md).\n")


def equations_page() -> str:
    """The equations pdeinv knows, from its registry (what `pdeinv equations` prints)."""
    from pdeinv.equations import describe_equation, equation_names

    lines = ["# Equations", "",
             "The built-in equations, as `pdeinv equations` describes them (made from the registry when "
             "this site was built). A half-open interval [a, b) of x is periodic; a closed one names its "
             "boundary conditions. Parameters marked + are fitted through their logarithm (positive).", "",
             "| name | PDE | parameters (default) | fitted by default | u0 | x, t | basis, grid n |",
             "|---|---|---|---|---|---|---|"]
    for name in equation_names():
        d = describe_equation(name)
        params = ", ".join(f"{k}{'+' if k in d['positive'] else ''} ({v:g})" for k, v in d["parameters"].items())
        label = f"`{d['name']}`" + (f" ({', '.join(f'`{a}`' for a in d['aliases'])})" if d["aliases"] else "")
        pde = d["pde"].replace("|", "\\|")
        lines.append(f"| {label} | {pde} | {params} | {', '.join(d['default_unknowns'])} | {d['u0']} | "
                     f"[{d['domain'][0]:g}, {d['domain'][1]:g}"
                     + (")" if d["boundary"] == "periodic" else f"] ({d['boundary']})")
                     + f", [{d['t_span'][0]:g}, {d['t_span'][1]:g}] | {d['basis']}, {d['default_n']} |")
    lines += ["", "Fields (parameters that may vary in x): "
              + "; ".join(f"{describe_equation(n)['name']}: {', '.join(describe_equation(n)['field_params'])}"
                          for n in equation_names() if describe_equation(n)["field_params"]) + ".",
              "", "Your own equation joins this list: see [the tutorial](../tutorials/own-equation.md)."]
    return "\n".join(lines) + "\n"


def on_files(files, config):
    files.append(File.generated(config, "reference/equations.md", content=equations_page()))
    files.append(File.generated(config, "results/report.md", content=report_page()))
    for png in sorted(RESULTS.glob("*.png")):
        files.append(File.generated(config, f"results/{png.name}", content=png.read_bytes()))
    folder = Path(config["docs_dir"]) / "tutorials"
    for script in sorted(folder.glob("*.py")):
        with tempfile.TemporaryDirectory() as work:
            start = time.perf_counter()
            done = subprocess.run([sys.executable, str(script)], cwd=work, capture_output=True, text=True,
                                  timeout=TIMEOUT, env={**os.environ, "MPLBACKEND": "Agg"})
            wall = time.perf_counter() - start
            if done.returncode != 0:
                raise PluginError(f"tutorial {script.name} failed (exit {done.returncode}):\n{done.stderr[-4000:]}")
            figures = []
            for png in sorted(Path(work).glob("*.png")):
                files.append(File.generated(config, f"tutorials/{script.stem}/{png.name}", content=png.read_bytes()))
                figures.append(png.name)
        _runs[script.name] = (script.read_text(), done.stdout, figures, wall)
    return files


def on_page_markdown(markdown, page, config, files):
    def insert(match):
        name = match.group(1)
        if name not in _runs:
            raise PluginError(f"{page.file.src_uri}: no tutorial {name} in docs/tutorials")
        code, output, figures, wall = _runs[name]
        parts = [f"```python\n{code.rstrip()}\n```",
                 f"What it printed when this page was built ({wall:.0f} s on the build machine):",
                 f"```text\n{output.rstrip()}\n```"]
        stem = name[:-3]
        parts += [f"![{figure}]({stem}/{figure})" for figure in figures]
        return "\n\n".join(parts)

    return MARKER.sub(insert, markdown)
