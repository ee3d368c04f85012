"""Fourier pseudo-spectral ETDRK4 solvers for 1-D periodic PDEs.

>>> from pdeinv.solvers import KdV
>>> eq = KdV(n=512)
>>> u = eq.solve({"lambda1": 1.0, "lambda2": 0.0025}, t=np.linspace(0, 1, 201))  # (201, 512)
"""

from .allen_cahn import AllenCahn
from .burgers import Burgers
from .core import SolverDivergedError, SpectralEquation, etdrk4_coefficients, resample_periodic
from .kdv import KdV

EQUATIONS = {"burgers": Burgers, "allen-cahn": AllenCahn, "kdv": KdV}


def get_equation(name: str):
    """The equation class for a key of ``EQUATIONS`` (``burgers``, ``allen-cahn``, ``kdv``)."""
    try:
        return EQUATIONS[name]
    except KeyError:
        raise ValueError(f"unknown equation {name!r}; expected one of {sorted(EQUATIONS)}") from None


__all__ = [
    "AllenCahn",
    "Burgers",
    "EQUATIONS",
    "KdV",
    "SolverDivergedError",
    "SpectralEquation",
    "etdrk4_coefficients",
    "get_equation",
    "resample_periodic",
]
