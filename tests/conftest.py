import atexit
import os
import shutil
import tempfile
from pathlib import Path

# Batches split across the cores, as the command line does (before pdeinv or JAX computes).
os.environ.setdefault("PDEINV_CPU_DEVICES", "auto")
# Compiled solvers are shared by this run's tests, its workers (which inherit the variable) and
# the commands they start, never written to the user's own cache; the process that made the
# folder removes it at exit.
if "PDEINV_COMPILATION_CACHE" not in os.environ:
    os.environ["PDEINV_COMPILATION_CACHE"] = tempfile.mkdtemp(prefix="pdeinv-jax-cache-")
    atexit.register(shutil.rmtree, os.environ["PDEINV_COMPILATION_CACHE"], ignore_errors=True)

import jax  # noqa: E402
import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

jax.config.update("jax_enable_x64", True)

# Property-based tests in the default run draw the same examples every time, so a run's answer
# does not depend on luck; the long random fuzzing lives behind the "slow" marker.
settings.register_profile("pdeinv", derandomize=True, deadline=None)
settings.load_profile("pdeinv")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def burgers_shock_path():
    """The published exact Burgers solution, when the reference data folder is beside the repo."""
    path = Path(os.environ.get("PDEINV_REFERENCE_DATA", SHARED_DATA)) / "burgers_shock.mat"
    if not path.exists():
        pytest.skip("reference file burgers_shock.mat not found")
    return path
