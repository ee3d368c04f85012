"""Observations, synthetic data and inverse problems."""

from .observations import ObservationError, Observations
from .simulate import observation_layout, simulate

__all__ = ["ObservationError", "Observations", "observation_layout", "simulate"]
