import os
from pathlib import Path

import jax
import pytest

jax.config.update("jax_enable_x64", True)

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def burgers_shock_path():
    """The published exact Burgers solution, when the reference data folder is beside the repo."""
    path = Path(os.environ.get("PDEINV_REFERENCE_DATA", SHARED_DATA)) / "burgers_shock.mat"
    if not path.exists():
        pytest.skip("reference file burgers_shock.mat not found")
    return path
