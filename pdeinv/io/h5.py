"""HDF5 helpers shared by every pdeinv file: atomic writes, one validating opener, arrays."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

import numpy as np

from ..problems.observations import ObservationError

__all__ = ["LIBVER", "ObservationError", "atomic_path"]

#: HDF5 file-format features of HDF5 1.8: its metadata blocks carry checksums, so a damaged file
#: is reported by the library instead of being parsed (corrupted metadata in the older format can
#: crash the HDF5 library itself). Readable by any HDF5 >= 1.8 (2008).
LIBVER = ("v108", "v108")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``.

    Refuses an existing ``path`` unless ``overwrite``. On any error the temporary file is
    removed and ``path`` is untouched.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True (CLI: --force) to replace it")
    if not path.parent.exists():
        raise FileNotFoundError(f"folder {path.parent} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp creates 0600; give the result the permissions a plain open() would.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _write_real_imag(group, name: str, values: np.ndarray) -> None:
    """``name`` holds the real part; complex values add ``name_imag`` (plain float datasets
    that any HDF5 reader understands, unlike compound complex types)."""
    group.create_dataset(name, data=np.real(values))
    if np.iscomplexobj(values):
        group.create_dataset(f"{name}_imag", data=np.imag(values))


def _read_real_imag(group, name: str, where: str, ndim: int | None = None) -> np.ndarray:
    values = _read_array(group, name, where, ndim)
    if f"{name}_imag" in group:
        imag = _read_array(group, f"{name}_imag", where, ndim)
        if imag.shape != values.shape:
            raise ObservationError(f"{where}/{name}_imag must have the shape of {name} {values.shape}, got {imag.shape}")
        values = values + 1j * imag
    return values


def _read_array(group, name: str, where: str, ndim: int | None = None) -> np.ndarray:
    if name not in group:
        raise ObservationError(f"missing dataset {where}/{name}")
    node = group[name]
    if not hasattr(node, "shape") or not hasattr(node, "dtype"):
        raise ObservationError(f"{where}/{name} is not a dataset")
    if node.dtype.kind not in "fiu":
        raise ObservationError(f"{where}/{name} must be numeric, got dtype {node.dtype}")
    data = np.asarray(node[()], dtype=float)
    if ndim is not None and data.ndim != ndim:
        raise ObservationError(f"{where}/{name} must be {ndim}-D, got shape {data.shape}")
    if not np.all(np.isfinite(data)):
        raise ObservationError(f"{where}/{name} contains NaN or inf")
    return data


def _attr(node, name: str, where: str):
    if name not in node.attrs:
        raise ObservationError(f"missing attribute {name!r} on {where}")
    value = node.attrs[name]
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    return value


@contextlib.contextmanager
def _reading(path, what: str, fmt: str | None = None, version: int | None = None):
    """Open a pdeinv HDF5 file for reading; every problem becomes one ``ObservationError`` line.

    Checks that the file exists and is HDF5, and (when given) its root ``format`` and
    ``version`` attributes. Errors raised while the caller reads are prefixed with the path;
    anything else h5py raises on a damaged file is reported as such.
    """
    import h5py

    path = Path(path)
    if not path.exists():
        raise ObservationError(f"{path}: no such file")
    if path.is_dir():
        raise ObservationError(f"{path}: is a folder, not a {what}")
    if not h5py.is_hdf5(path):
        raise ObservationError(f"{path}: not an HDF5 file")
    try:
        with h5py.File(path, "r") as f:
            if fmt is not None:
                found = _attr(f, "format", "/")
                if found != fmt:
                    raise ObservationError(f"not a pdeinv {what} (format {found!r}, expected {fmt!r})")
                found_version = int(np.asarray(_attr(f, "version", "/")).reshape(()))
                if found_version != version:
                    raise ObservationError(f"unsupported {what} version {found_version} (this pdeinv reads version {version})")
            yield f
    except ObservationError as err:
        raise ObservationError(f"{path}: {err}") from None
    except Exception as err:  # a damaged file can fail inside h5py in many ways
        detail = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ObservationError(f"{path}: unreadable or damaged {what} ({detail})") from None
