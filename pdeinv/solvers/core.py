"""The solver core, by job: ``etdrk4`` (the stepper), ``batching`` (batches across devices) and
``equation`` (the base class of every equation); the grids and transforms are the bases' in
``pdeinv.discretizations``. This module gathers their public names.
"""

from .batching import BatchedSolver
from .equation import SolverDivergedError, SpectralEquation
from .etdrk4 import DenseSchedule, StepSchedule, dense_schedule, etdrk4_coefficients, etdrk4_solve, step_schedule
from ..discretizations.fft import fourier_interpolate, fourier_interpolate_complex, irfft, library_fft, resample_periodic, rfft

__all__ = [
    "BatchedSolver",
    "DenseSchedule",
    "SolverDivergedError",
    "SpectralEquation",
    "dense_schedule",
    "StepSchedule",
    "etdrk4_coefficients",
    "etdrk4_solve",
    "fourier_interpolate",
    "fourier_interpolate_complex",
    "irfft",
    "library_fft",
    "resample_periodic",
    "rfft",
    "step_schedule",
]
