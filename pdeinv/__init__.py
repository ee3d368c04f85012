"""pdeinv: inverse problems for 1-D PDEs with Fourier spectral solvers.

>>> import pdeinv
>>> obs = pdeinv.load_observations("data/burgers.h5")
>>> result = pdeinv.fit(pdeinv.InverseProblem(obs), {"nu": 0.03})
>>> result.params, result.nfev
"""

__version__ = "0.1.0"

from . import solvers  # noqa: E402
from ._jax import use_cpu_cores  # noqa: E402
from .equations import Equation, equation_names, get_equation, register_equation  # noqa: E402
from .fit import fit  # noqa: E402
from .ensemble import fit_many  # noqa: E402
from .io import load_observations, load_result, save_observations, save_result  # noqa: E402
from .problems import Observations, simulate  # noqa: E402
from .problems.inverse import InverseProblem  # noqa: E402
from .result import FitResult  # noqa: E402

__all__ = [
    "Equation",
    "FitResult",
    "InverseProblem",
    "Observations",
    "__version__",
    "equation_names",
    "fit",
    "fit_many",
    "get_equation",
    "load_observations",
    "load_result",
    "register_equation",
    "save_observations",
    "save_result",
    "simulate",
    "solvers",
    "use_cpu_cores",
]
