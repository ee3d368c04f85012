"""PINN inner problem with forward-mode gradient unrolling: the paper's (FG)^2U path."""

from .core import PINN, PINNConfig
from .fit import PINN_PRESETS, fit_pinn

__all__ = ["PINN", "PINNConfig", "PINN_PRESETS", "fit_pinn"]
