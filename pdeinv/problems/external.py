"""A forward map that runs an external program: the black box at arm's length.

The program receives the full parameter set as a JSON object on standard input and must print
the predictions at the observation points (in the file's order) on standard output, as
whitespace-separated numbers or a JSON list. A program that exits non-zero, prints something
else, or runs longer than ``timeout`` seconds (it is then killed) counts as a failed trial
point, which the fit rejects like a solver blow-up.
"""

from __future__ import annotations

import json
import subprocess
from typing import Sequence

import numpy as np

__all__ = ["CommandForward", "ForwardTimeout"]


class ForwardTimeout(RuntimeError):
    """The external forward program ran longer than its timeout and was killed."""


class CommandForward:
    """``CommandForward(["python", "my_solver.py"], timeout=60)`` -> callable params -> predictions.

    Protocol, per call: the program gets the full parameter set as one JSON object on standard
    input (``{"nu": 0.01, "lambda1": 1.0}``) and prints the predictions at the observation
    points, in the observation file's order, on standard output: numbers separated by white
    space, or a JSON list. Exit code non-zero, anything else printed, or a run longer than
    ``timeout`` seconds (the program is then killed) makes that trial point fail; the fit rejects
    it like a solver blow-up. ``cwd``: the folder the program runs in.

    >>> problem = InverseProblem(obs, forward=CommandForward(["python", "model.py"], timeout=60))
    """

    def __init__(self, command: Sequence[str], *, timeout: float | None = None, cwd: str | None = None):
        if isinstance(command, str) or not command:
            raise ValueError("command must be a non-empty list of program and arguments")
        if timeout is not None and not (np.isfinite(timeout) and timeout > 0):
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        self.command = [str(c) for c in command]
        self.timeout = timeout
        self.cwd = cwd

    def __call__(self, params: dict) -> np.ndarray:
        try:
            done = subprocess.run(
                self.command, input=json.dumps(params), capture_output=True, text=True,
                timeout=self.timeout, cwd=self.cwd, check=False,
            )
        except subprocess.TimeoutExpired:
            raise ForwardTimeout(f"{self.command[0]} did not finish within {self.timeout} s") from None
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise RuntimeError(f"{self.command[0]} exited with code {done.returncode}: {last}")
        text = done.stdout.strip()
        try:
            values = json.loads(text) if text.startswith("[") else [float(v) for v in text.split()]
        except ValueError:
            raise RuntimeError(f"{self.command[0]} printed something that is not a list of numbers") from None
        return np.asarray(values, dtype=float)
