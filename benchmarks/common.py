"""Helpers shared by the benchmark scripts: machine description and result writing."""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=RESULTS.parent
        ).stdout.strip()
    except OSError:
        commit = ""
    try:  # uncommitted changes to the measured code make the commit stamp a lie: say so
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--", "pdeinv", "benchmarks/*.py"],
                                    capture_output=True, text=True, cwd=RESULTS.parent.parent).stdout.strip())
    except OSError:
        dirty = False
    import jax

    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit + ("+uncommitted" if dirty and commit else ""),
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "jax": jax.__version__,
    }


def markdown_table(rows: list[dict], columns: list[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = []
        for c in columns:
            v = row.get(c, "")
            cells.append(f"{v:.3g}" if isinstance(v, float) else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_results(name: str, payload: dict, table: str) -> Path:
    """Write ``results/NAME.json`` and ``results/NAME.md`` atomically and print the table."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {"machine": machine(), **payload}
    path = RESULTS / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=float))
    os.replace(tmp, path)
    md = RESULTS / f"{name}.md"
    m = payload["machine"]
    header = f"Measured {m['date']} on {m['cores']} cores ({m['cpu']}), commit {m['commit']}, jax {m['jax']}.\n\n"
    tmp = md.with_suffix(".md.tmp")
    tmp.write_text(header + table + "\n")
    os.replace(tmp, md)
    print(table)
    return path
