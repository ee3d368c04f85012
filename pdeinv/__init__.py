"""pdeinv: inverse problems for 1-D PDEs with Fourier spectral solvers."""

__version__ = "0.1.0"

from . import solvers  # noqa: E402

__all__ = ["__version__", "solvers"]
