"""Pseudo-spectral ETDRK4 solvers for 1-D PDEs (the bases are in ``pdeinv.discretizations``).

>>> from pdeinv.solvers import KdV
>>> eq = KdV(n=512)
>>> u = eq.solve({"lambda1": 1.0, "lambda2": 0.0025}, t=np.linspace(0, 1, 201))  # (201, 512)

The equations themselves are defined in ``pdeinv.equations``; their classes are reachable
from here too (``pdeinv.solvers.Burgers``) and by name through ``get_equation``.
"""

from .core import (
    SolverDivergedError,
    SpectralEquation,
    etdrk4_coefficients,
    etdrk4_solve,
    resample_periodic,
)

_FROM_EQUATIONS = ("AllenCahn", "Burgers", "KdV", "KuramotoSivashinsky", "NLS", "get_equation")


def __getattr__(name):
    # Resolved lazily: the equation modules import this package's core.
    if name in _FROM_EQUATIONS:
        from .. import equations

        return getattr(equations, name)
    raise AttributeError(f"module 'pdeinv.solvers' has no attribute {name!r}")


__all__ = [
    "AllenCahn",
    "Burgers",
    "KdV",
    "KuramotoSivashinsky",
    "NLS",
    "SolverDivergedError",
    "SpectralEquation",
    "etdrk4_coefficients",
    "etdrk4_solve",
    "get_equation",
    "resample_periodic",
]
