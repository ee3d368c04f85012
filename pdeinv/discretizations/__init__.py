"""Spectral discretizations: one file per basis (see ``base.Basis`` for what a basis provides).

- ``fourier``: periodic interval, Fourier modes (every built-in periodic equation);
- ``sine``: bounded interval with u = 0 at both ends, sine modes (the ``heat`` equation);
- ``chebyshev``: bounded interval with a Dirichlet, Neumann or Robin condition at each end
  (values, fluxes and coefficients may be parameters, values may vary in time), collocation at
  Chebyshev points with dense operators.

An equation names its basis in ``basis_type``; the fit engine never sees it.
"""

from .base import Basis
from .fourier import FourierBasis, FourierField
from .chebyshev import BoundaryCondition, ChebyshevBasis, ChebyshevField, dirichlet, neumann, robin
from .sine import SineBasis, SineField

__all__ = ["Basis", "BoundaryCondition", "ChebyshevBasis", "ChebyshevField", "FourierBasis", "FourierField",
           "SineBasis", "SineField", "dirichlet", "neumann", "robin"]
