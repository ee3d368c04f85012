"""Fit result files (format ``pdeinv-fit-result``) and telling pdeinv files apart."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..problems.observations import ObservationError, Observations
from ..result import FitResult, penalty_settings
from .h5 import LIBVER, _attr, _read_array, _reading, atomic_path
from .checkpoints import CHECKPOINT_FORMAT, load_checkpoint
from .observations import _read, load_observations, write_observations_group

__all__ = ["RESULT_FORMAT", "RESULT_VERSION", "checkpoint_summary", "load_any", "load_result", "save_result"]


# ---- fit results ------------------------------------------------------------------------------

RESULT_FORMAT = "pdeinv-fit-result"
RESULT_VERSION = 1


def save_result(result, observations: Observations, path, *, overwrite: bool = False) -> Path:
    """Write a FitResult and the observations it was fitted to (enough to re-plot) atomically.

    Layout: root attrs ``format="pdeinv-fit-result"``, ``version=1``, ``summary`` (JSON of
    the scalar fields and parameters), ``settings`` (JSON); ``/history`` datasets ``nfev``,
    ``loss``, ``phase`` and ``params/NAME``; ``/observations_file`` an observation group in
    the observation-file layout.
    """
    import h5py

    path = Path(path)
    with atomic_path(path, overwrite=overwrite) as tmp, h5py.File(tmp, "w", libver=LIBVER) as f:
        f.attrs["format"] = RESULT_FORMAT
        f.attrs["version"] = RESULT_VERSION
        f.attrs["result"] = json.dumps(
            {
                "equation": result.equation,
                "params": result.params,
                "status": result.status,
                "success": result.success,
                "message": result.message,
                "nfev": result.nfev,
                "evaluations": result.evaluations,
                "nit": result.nit,
                "loss": result.loss,
                "grid": result.grid,
                "wall_time": result.wall_time,
                "seed": result.seed,
                "true_params": result.true_params,
                "known_params": result.known_params,
                "uncertainty": result.uncertainty,
                "goodness": result.goodness,
            },
            default=float,
        )
        f.attrs["settings"] = json.dumps(result.settings, default=str)
        h = f.create_group("history")
        h.create_dataset("nfev", data=np.asarray(result.history["nfev"], dtype=np.int64))
        h.create_dataset("loss", data=np.asarray(result.history["loss"], dtype=float))
        h.create_dataset("phase", data=np.asarray(result.history["phase"], dtype="S16"))
        hp = h.create_group("params")
        for name, values in result.history["params"].items():
            hp.create_dataset(name, data=np.asarray(values, dtype=float))
        write_observations_group(f.create_group("observations_file"), observations)
    return path


def load_result(path):
    """Read a fit result file: ``(FitResult, Observations)``; ``ObservationError`` if bad."""
    path = Path(path)
    with _reading(path, "fit result file", RESULT_FORMAT, RESULT_VERSION) as f:
        data = json.loads(str(_attr(f, "result", "/")))
        settings = json.loads(str(_attr(f, "settings", "/")))
        if not isinstance(data, dict) or not isinstance(settings, dict):
            raise ObservationError("result and settings attributes must be JSON objects")
        if "history" not in f or "observations_file" not in f:
            raise ObservationError("missing group /history or /observations_file")
        h = f["history"]
        history = {
            "nfev": _read_array(h, "nfev", "/history", ndim=1).astype(int).tolist(),
            "loss": np.asarray(h["loss"][()], dtype=float).tolist() if "loss" in h else [],
            "phase": [p.decode() if isinstance(p, bytes) else str(p) for p in h["phase"][()]] if "phase" in h else [],
            "params": {k: np.asarray(v[()], dtype=float).tolist() for k, v in h["params"].items()} if "params" in h else {},
        }
        observations = _read(f["observations_file"])
        required = ("equation", "params", "success", "message", "nfev", "nit", "loss", "grid", "wall_time", "seed")
        missing = [k for k in required if k not in data]
        if missing:
            raise ObservationError(f"result attribute lacks {missing}")
        params = {str(k): float(v) for k, v in dict(data["params"]).items()}
        result = FitResult(
            params=params,
            success=bool(data["success"]),
            message=str(data["message"]),
            nfev=int(data["nfev"]),
            nit=int(data["nit"]),
            loss=float(data["loss"]) if data["loss"] is not None else float("nan"),
            history=history,
            grid=dict(data["grid"]),
            wall_time=float(data["wall_time"]),
            seed=int(data["seed"]),
            settings=settings,
            equation=str(data["equation"]),
            true_params=data.get("true_params"),
            known_params=dict(data.get("known_params") or {}),
            status=str(data.get("status", "")),
            evaluations=data.get("evaluations"),
            uncertainty=data.get("uncertainty"),
            goodness=data.get("goodness"),
        )
        return result, observations


def load_any(path) -> tuple[str, dict]:
    """Identify a pdeinv file and summarise it: ``("observations" | "fit result" | "checkpoint" |
    "observation plan", summary)``."""
    import h5py

    path = Path(path)
    fmt = None
    if path.is_file() and h5py.is_hdf5(path):
        try:
            with h5py.File(path, "r") as f:
                fmt = f.attrs.get("format")
        except Exception:
            fmt = None
    if isinstance(fmt, bytes):
        fmt = fmt.decode("utf-8", errors="replace")
    if fmt == RESULT_FORMAT:
        return "fit result", load_result(path)[0].summary()
    if fmt == CHECKPOINT_FORMAT:
        return "checkpoint", checkpoint_summary(load_checkpoint(path))
    from ..designs import PLAN_FORMAT, load_plan

    if fmt == PLAN_FORMAT:
        return "observation plan", load_plan(path).summary()
    return "observations", load_observations(path).summary()


def checkpoint_summary(state: dict) -> dict:
    """What a checkpoint holds, for people: where the fit stands and how to continue it."""
    o, history = state["options"], state["history"]
    latest = {k: v[-1] for k, v in history["params"].items() if v}
    return {
        "equation": state["observations"].equation,
        "method": o.get("method"),
        "unknowns": list(o.get("unknowns", [])),
        "regularization": penalty_settings(o),
        "stage": state["stage"],
        "solver_calls": int(state["evaluator"]["nfev"]),
        "iterations": int(state["nit"]),
        "latest_params": latest,
        "latest_loss": history["loss"][-1] if history["loss"] else None,
        "grid": dict(state["grid"]),
        "wall_time": state.get("wall_time"),
        "continue_with": "pdeinv fit --resume FILE -o RESULT.h5",
    }
