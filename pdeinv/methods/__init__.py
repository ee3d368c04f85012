"""The named methods: one file each in this folder, every file registered on import.

A method composes a derivative source and a step rule (``build``), says which of the method
options it uses (``options``: any other given explicitly is refused), and fills in and checks its
own defaults (``configure``). ``register_method`` adds one from anywhere (a user's module, or a
package's entry point in the group ``pdeinv.methods``); the API and the command line read their
choices and help from this registry. Importing it is light: a method imports the solver's
pieces only when it builds one.
"""

from __future__ import annotations

import importlib
import pkgutil
import types
from dataclasses import dataclass, field
from typing import Callable

__all__ = ["METHODS", "Method", "get_method", "method_names", "method_options", "register_method"]

#: Options that only some methods use (the rest apply to every method).
METHOD_SPECIFIC = ("directions", "distribution", "scheme", "eps", "learning_rate", "optimizer", "broyden", "max_step")


def _nothing(o: dict, problem) -> None:
    return None


@dataclass(frozen=True)
class Method:
    """A named method.

    name : what ``method=`` and ``--method`` take.
    summary : one line for help texts.
    build : ``build(options, optimizer) -> Solver`` from validated options.
    options : the method-specific options it uses (of ``METHOD_SPECIFIC``).
    configure : ``configure(options, problem)`` fills in the method's defaults and checks what
        only it needs (called after the common checks, before any solve).
    max_steps : default step budget.
    max_nfev : ``max_nfev(options) -> int``, the default solver-call budget (None: 10 x
        max_steps, at least 1000).
    search : whether the global phase runs by default (where there is a scalar to scan).
    """

    name: str
    summary: str
    build: Callable
    options: tuple[str, ...] = ()
    configure: Callable[[dict, object], None] = field(default=_nothing)
    max_steps: int = 100
    max_nfev: Callable[[dict], int] | None = None
    search: bool = True

    def __post_init__(self):
        unknown = sorted(set(self.options) - set(METHOD_SPECIFIC))
        if unknown:
            raise ValueError(f"method {self.name!r} declares options {unknown}; method options are {list(METHOD_SPECIFIC)}")
        if not self.name or self.name in ("pinn", "custom"):
            raise ValueError(f"{self.name!r} cannot name a method")


_REGISTRY: dict[str, Method] = {}
_SUMMARIES: dict[str, str] = {}
#: method name -> one line for help texts (a live view of the registry)
METHODS = types.MappingProxyType(_SUMMARIES)


def register_method(method: Method, *, replace: bool = False) -> Method:
    """Add ``method`` to the registry (``replace``: over one of the same name)."""
    if not isinstance(method, Method):
        raise TypeError(f"register_method takes a Method, got {type(method).__name__}")
    if method.name in _REGISTRY and not replace:
        raise ValueError(f"a method named {method.name!r} is registered already (replace=True to replace it)")
    _REGISTRY[method.name] = method
    _SUMMARIES[method.name] = method.summary
    return method


_entry_points_loaded = False


def _load_entry_points() -> None:
    """Methods of installed packages (entry points of the group ``pdeinv.methods``, each a
    module that registers its method on import), once; one that fails to load is skipped."""
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    from importlib.metadata import entry_points

    for entry in entry_points(group="pdeinv.methods"):
        try:
            entry.load()
        except Exception:  # a broken plug-in must not break pdeinv
            continue


def get_method(name: str) -> Method:
    """The registered method ``name`` (a clear error naming the choices otherwise)."""
    if name not in _REGISTRY:
        _load_entry_points()
    if name not in _REGISTRY:
        raise ValueError(f"method must be one of {method_names() + ['pinn']}, got {name!r}")
    return _REGISTRY[name]


def method_names() -> list[str]:
    """The registered methods, the default (zo-gn) first, then by name."""
    _load_entry_points()
    return sorted(_REGISTRY, key=lambda n: (n != "zo-gn", n))


def method_options() -> dict[str, tuple[str, ...]]:
    """``{option: the methods that use it}`` for every method-specific option."""
    return {o: tuple(n for n in method_names() if o in _REGISTRY[n].options) for o in METHOD_SPECIFIC}


for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    importlib.import_module(f"{__name__}.{_info.name}")
