"""Spectral discretizations: one file per basis (see ``base.Basis`` for what a basis provides).

- ``fourier``: periodic interval, Fourier modes (every built-in periodic equation);
- ``sine``: bounded interval with u = 0 at both ends, sine modes (the ``heat`` equation).

An equation names its basis in ``basis_type``; the fit engine never sees it.
"""

from .base import Basis
from .fourier import FourierBasis, FourierField
from .sine import SineBasis, SineField

__all__ = ["Basis", "FourierBasis", "FourierField", "SineBasis", "SineField"]
