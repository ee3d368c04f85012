"""Checkpoint files: a fit's whole state, serialized generically (JSON + arrays)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..problems.observations import ObservationError, Observations
from .h5 import LIBVER, _reading, atomic_path
from .observations import _read, write_observations_group

__all__ = ["CHECKPOINT_FORMAT", "CHECKPOINT_VERSION", "load_checkpoint", "save_checkpoint"]


# ---- checkpoints --------------------------------------------------------------------------------

CHECKPOINT_FORMAT = "pdeinv-checkpoint"
#: Version 2: the state of a composed solver (step-rule state, the run's evaluation counts).
CHECKPOINT_VERSION = 2


def _encode(obj, arrays: dict):
    """JSON-able copy of ``obj`` with every array moved into ``arrays`` (exact round trip)."""
    if hasattr(obj, "shape") and hasattr(obj, "dtype"):
        key = f"a{len(arrays)}"
        arrays[key] = np.asarray(obj)
        return {"__array__": key}
    if isinstance(obj, dict):
        return {str(k): _encode(v, arrays) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_encode(v, arrays) for v in obj]
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    return obj


def _decode(obj, arrays):
    if isinstance(obj, dict):
        if set(obj) == {"__array__"}:
            key = obj["__array__"]
            if key not in arrays:
                raise ObservationError(f"checkpoint refers to a missing array {key!r}")
            return np.asarray(arrays[key][()])
        return {k: _decode(v, arrays) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode(v, arrays) for v in obj]
    return obj


def save_checkpoint(state: dict, observations: Observations, path) -> Path:
    """Write a fit state (see ``pdeinv.fit``) and its observations atomically, replacing any
    previous checkpoint at ``path``."""
    import h5py

    path = Path(path)
    arrays: dict = {}
    encoded = json.dumps(_encode(state, arrays), allow_nan=True)
    with atomic_path(path, overwrite=True) as tmp, h5py.File(tmp, "w", libver=LIBVER) as f:
        f.attrs["format"] = CHECKPOINT_FORMAT
        f.attrs["version"] = CHECKPOINT_VERSION
        # A dataset, not an attribute: long histories exceed the 64 KiB attribute limit.
        f.create_dataset("state", data=encoded, dtype=h5py.string_dtype())
        g = f.create_group("arrays")
        for key, value in arrays.items():
            g.create_dataset(key, data=value)
        write_observations_group(f.create_group("observations_file"), observations)
    return path


def load_checkpoint(path) -> dict:
    """Read and validate a checkpoint: the state dict, with ``observations`` added."""
    with _reading(path, "checkpoint", CHECKPOINT_FORMAT, CHECKPOINT_VERSION) as f:
        if "state" not in f or "arrays" not in f or "observations_file" not in f:
            raise ObservationError("missing state, arrays or observations_file")
        text = f["state"][()]
        text = text.decode("utf-8") if isinstance(text, bytes) else str(text)
        state = _decode(json.loads(text), f["arrays"])
        observations = _read(f["observations_file"])
    required = ("options", "stage", "z", "local", "nit", "rng", "grid", "evaluator", "history", "best")
    if not isinstance(state, dict) or any(k not in state for k in required):
        raise ObservationError(f"{path}: checkpoint state lacks one of {list(required)}")
    if state["stage"] not in ("start", "local", "grid", "done"):
        raise ObservationError(f"{path}: checkpoint stage {state['stage']!r} is not a fit stage")
    state["observations"] = observations
    return state
