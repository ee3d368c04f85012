"""Equations: one definition per file, found through one registry.

>>> import pdeinv
>>> pdeinv.equation_names()
['allen-cahn', 'burgers', 'fisher-kpp', 'gray-scott', 'heat', 'kdv', 'kuramoto-sivashinsky', 'nls', 'reaction', 'reaction-rate', 'rod']
>>> pdeinv.get_equation("ks").pde
'u_t + alpha u u_x + beta u_xx + gamma u_xxxx = 0'

A new equation is a subclass of :class:`pdeinv.Equation` registered with
:func:`register_equation` (see ``registry`` for the plug-in routes). The built-in ones below
use nothing else.
"""

from ..solvers.core import SpectralEquation as Equation
from .registry import describe_equation, equation_names, get_equation, plugin_errors, register_equation

# The built-ins register themselves on import, like any user's module.
from .allen_cahn import AllenCahn  # noqa: E402
from .burgers import Burgers  # noqa: E402
from .fisher import FisherKPP  # noqa: E402
from .gray_scott import GrayScott  # noqa: E402
from .heat import Heat  # noqa: E402
from .kdv import KdV  # noqa: E402
from .ks import KuramotoSivashinsky  # noqa: E402
from .nls import NLS  # noqa: E402
from .reaction import Reaction  # noqa: E402
from .reaction_rate import ReactionRate  # noqa: E402
from .rod import Rod  # noqa: E402

__all__ = [
    "AllenCahn",
    "Burgers",
    "Equation",
    "FisherKPP",
    "GrayScott",
    "Heat",
    "KdV",
    "KuramotoSivashinsky",
    "NLS",
    "Reaction",
    "ReactionRate",
    "Rod",
    "describe_equation",
    "equation_names",
    "get_equation",
    "plugin_errors",
    "register_equation",
]
