"""pdeinv's files: observations (HDF5), fit results, checkpoints, importers. The only package
that touches h5py or scipy.io (modules: h5, observations, importers, results, checkpoints).

Layout, version 2 (documented in docs/observations.md; version 1 files, which lack what is
marked "v2", still load)::

    /                      attrs: format="pdeinv-observations", version=2, equation,
                                  domain (2,), t_span (2,),
                                  equation_source (v2, optional: module:Class of a user equation)
    /initial_condition/u0  (m,) samples on the equation basis's m nodes (Fourier: linspace(a, b, m,
                           endpoint=False); sine: the m interior points); attr description
    /initial_condition/u0_imag   (v2) imaginary part of a complex u0
    /observations          attr layout = "points" | "grid", observable = "value" | "abs" (v2)
        t, x, u            points: (P,) each;  grid: t (nt,), x (nx,), u (nt, nx)
        u_imag             (v2) imaginary part of complex observations, shape of u
        sigma              optional, same shape as u
    /parameters/fixed      attrs name -> value (known parameters)
    /parameters/true       attrs name -> value (only when known); a parameter that varied in
                           x is a dataset name (m,) of samples on the same nodes as u0
    /metadata              attr json: provenance as a JSON object

Every problem with a file raises ``ObservationError`` whose message starts with the file name.
Writes go to a temporary file in the same folder and are renamed into place, so a failed or
interrupted write never leaves a partial file.
"""

from .checkpoints import CHECKPOINT_FORMAT, CHECKPOINT_VERSION, load_checkpoint, save_checkpoint
from .h5 import LIBVER, ObservationError, atomic_path
from .importers import ENDPOINT_RTOL, PeriodicGrid, import_arrays, import_pdebench, import_raissi, periodic_grid
from .observations import FORMAT, READABLE_VERSIONS, VERSION, load_observations, save_observations, write_observations_group
from .results import RESULT_FORMAT, RESULT_VERSION, load_any, load_result, save_result

__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_VERSION",
    "ENDPOINT_RTOL",
    "FORMAT",
    "LIBVER",
    "ObservationError",
    "PeriodicGrid",
    "READABLE_VERSIONS",
    "RESULT_FORMAT",
    "RESULT_VERSION",
    "VERSION",
    "atomic_path",
    "import_arrays",
    "import_pdebench",
    "import_raissi",
    "load_any",
    "load_checkpoint",
    "load_observations",
    "load_result",
    "periodic_grid",
    "save_checkpoint",
    "save_observations",
    "save_result",
    "write_observations_group",
]
