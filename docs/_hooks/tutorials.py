"""Run the tutorials when the site builds, so that they cannot rot.

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


def on_files(files, config):
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
