"""PINN inner problem with forward-mode gradient unrolling: the paper's (FG)^2U path."""

from .core import PINN, RESIDUALS, PINNConfig
from .fit import PINN_PRESETS, fit_pinn

__all__ = ["PINN", "PINNConfig", "PINN_PRESETS", "RESIDUALS", "fit_pinn"]
