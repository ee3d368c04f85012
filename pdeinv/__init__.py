"""pdeinv: inverse problems for 1-D PDEs with spectral solvers (Fourier or sine bases).

>>> import pdeinv
>>> obs = pdeinv.load_observations("data/burgers.h5")
>>> result = pdeinv.fit(pdeinv.InverseProblem(obs), {"nu": 0.03})
>>> result.params, result.nfev

The public names are loaded on first use: ``import pdeinv`` (and the ``pdeinv`` command's
help) does not import JAX, SciPy or h5py, which take a second or more. JAX is switched to
float64 as soon as any numerical part of pdeinv is loaded (see ``pdeinv._jax``).
"""

import importlib
import importlib.util
import sys
import types

from ._devices import apply_environment as _apply_environment

__version__ = "0.1.0"

#: public name -> the module (relative to this package) that defines it
_EXPORTS = {
    "Equation": ".equations",
    "equation_names": ".equations",
    "get_equation": ".equations",
    "register_equation": ".equations",
    "design": ".designs",
    "load_plan": ".designs",
    "save_plan": ".designs",
    "fit": ".fit",
    "fit_many": ".ensemble",
    "load_observations": ".io",
    "load_result": ".io",
    "save_observations": ".io",
    "save_result": ".io",
    "Observations": ".problems",
    "simulate": ".problems",
    "InverseProblem": ".problems.inverse",
    "FitResult": ".result",
    "use_cpu_cores": "._jax",
}

__all__ = sorted([*_EXPORTS, "__version__", "solvers"])

# The device count must reach XLA_FLAGS before JAX starts, whoever imports JAX first.
_apply_environment()
if "jax" in sys.modules:  # the user's JAX is already here: switch it to float64 now
    from . import _jax  # noqa: F401


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
        globals()[name] = value
        return value
    if not name.startswith("__") and importlib.util.find_spec(f"{__name__}.{name}") is not None:
        return importlib.import_module(f".{name}", __name__)  # pdeinv.io, pdeinv.solvers...
    raise AttributeError(f"module 'pdeinv' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """The package module. ``pdeinv.fit`` is the function ``fit``, and the subpackage of the
    same name must not replace it: Python binds a subpackage to its parent's attribute when it
    is first imported (``import pdeinv.fit.search``, or the subpackage loaded before anyone
    asked for the function), and this keeps the function there instead."""

    def __setattr__(self, name, value):
        if name == "fit" and isinstance(value, types.ModuleType):
            value = value.fit
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
