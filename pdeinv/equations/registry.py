"""The equation registry: the one place where pdeinv looks equations up, and where users add theirs.

An equation is a subclass of :class:`pdeinv.Equation` (see its docstring for what it declares).
It becomes available to simulate, fit, files, the command line and plots by

- ``pdeinv.register_equation(MyEquation)`` (or the same as a class decorator), in Python;
- an entry point in the group ``pdeinv.equations`` of an installed package
  (``[project.entry-points."pdeinv.equations"] my-eq = "my_package.module:MyEquation"``);
- ``module:ClassName`` wherever an equation name is expected (CLI and API), or a list of such
  references in the environment variable ``PDEINV_EQUATIONS`` (comma-separated), which files
  made with a user's equation need when they are read back in a new process.

Built-in equations are registered exactly the same way (see the sibling modules).
"""

from __future__ import annotations

import difflib
import importlib
import os
import sys

__all__ = ["describe_equation", "equation_names", "get_equation", "is_builtin", "plugin_errors", "register_equation"]

_registry: dict[str, type] = {}
_aliases: dict[str, str] = {}
_plugin_errors: dict[str, str] = {}
_plugins_loaded = False
_env_loaded: str | None = None


def _check_definition(cls) -> None:
    """Refuse an incomplete definition with one line that names what is missing."""
    from ..solvers.core import SpectralEquation

    if not (isinstance(cls, type) and issubclass(cls, SpectralEquation)):
        raise ValueError(f"an equation must be a subclass of pdeinv.Equation, got {cls!r}")
    label = getattr(cls, "__name__", repr(cls))
    name = getattr(cls, "name", "")
    if not isinstance(name, str) or not name.strip() or ":" in name or name != name.strip():
        raise ValueError(f"equation {label} needs a name (a non-empty string without ':' or surrounding spaces)")
    params = tuple(cls.param_names)
    if not params or not all(isinstance(p, str) and p.isidentifier() for p in params):
        raise ValueError(f"equation {name}: param_names must be a non-empty tuple of identifiers, got {params!r}")
    if len(set(params)) != len(params):
        raise ValueError(f"equation {name}: param_names repeat a name: {list(params)}")
    missing = [p for p in params if p not in cls.defaults]
    if missing:
        raise ValueError(f"equation {name}: defaults lack {missing}")
    for attr in ("positive", "default_unknowns", "field_params"):
        extra = [p for p in getattr(cls, attr) if p not in params]
        if extra:
            raise ValueError(f"equation {name}: {attr} names {extra}, which are not parameters {list(params)}")
    for p in cls.positive:
        if not float(cls.defaults[p]) > 0:
            raise ValueError(f"equation {name}: the default of the positive parameter {p} must be > 0")
    for method in ("linear_symbol", "nonlinear", "default_initial_condition"):
        if getattr(cls, method) is getattr(SpectralEquation, method):
            raise ValueError(f"equation {name}: {method}() is not defined")


def register_equation(cls=None, *, replace: bool = False):
    """Make an equation class available by its ``name`` (and ``aliases``) everywhere in pdeinv.

    Usable as ``register_equation(MyEquation)`` or as the class decorator
    ``@register_equation``. Registering another class under a taken name raises unless
    ``replace=True``; registering the same class again is a no-op. Returns the class.
    """
    if cls is None:
        return lambda c: register_equation(c, replace=replace)
    _check_definition(cls)
    for key in (cls.name, *cls.aliases):
        owner = _registry.get(_aliases.get(key, key))
        if owner is not None and owner is not cls and not replace:
            raise ValueError(f"equation name {key!r} is taken by {owner.__module__}.{owner.__qualname__}; "
                             "pass replace=True to override it")
    _registry[cls.name] = cls
    for alias in cls.aliases:
        _aliases[alias] = cls.name
    return cls


def _import_reference(reference: str) -> type:
    """``package.module:ClassName`` -> the class (registered)."""
    module_name, _, attr = reference.partition(":")
    if not module_name or not attr:
        raise ValueError(f"an equation reference must look like module:ClassName, got {reference!r}")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        # A console script does not put the working directory on the path (python -m does):
        # a module beside the user is found there, looked up after everything else.
        here = os.getcwd()
        if err.name != module_name.partition(".")[0] or here in sys.path or "" in sys.path:
            raise ValueError(f"cannot import module {module_name!r} for equation {reference!r}: {err}") from None
        sys.path.append(here)
        try:
            module = importlib.import_module(module_name)
        except ImportError as again:
            raise ValueError(f"cannot import module {module_name!r} for equation {reference!r} (looked on the "
                             f"Python path and in the working directory): {again}") from None
    except ImportError as err:
        raise ValueError(f"cannot import module {module_name!r} for equation {reference!r}: {err}") from None
    target = module
    for part in attr.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ValueError(f"module {module_name!r} has no {attr!r} (equation {reference!r})") from None
    return register_equation(target)


def _load_plugins() -> None:
    """Entry points of the group ``pdeinv.equations`` (once) and ``PDEINV_EQUATIONS`` (when it
    changes). A plug-in that fails to load is reported by ``plugin_errors()`` and skipped."""
    global _plugins_loaded, _env_loaded
    if not _plugins_loaded:
        _plugins_loaded = True
        from importlib.metadata import entry_points

        for entry in entry_points(group="pdeinv.equations"):
            try:
                register_equation(entry.load())
            except Exception as err:  # a broken plug-in must not break pdeinv
                _plugin_errors[f"entry point {entry.name} ({entry.value})"] = f"{type(err).__name__}: {err}"
    env = os.environ.get("PDEINV_EQUATIONS", "")
    if env != _env_loaded:
        _env_loaded = env
        for reference in (r.strip() for r in env.split(",")):
            if reference:
                try:
                    _import_reference(reference)
                except Exception as err:
                    _plugin_errors[f"PDEINV_EQUATIONS {reference}"] = f"{type(err).__name__}: {err}"


def get_equation(spec) -> type:
    """The equation class for a name, an alias, a ``module:ClassName`` reference or a class
    (which is registered on the way)."""
    if isinstance(spec, type):
        return register_equation(spec)
    if not isinstance(spec, str):
        raise ValueError(f"an equation is a name, module:ClassName or an Equation class, got {spec!r}")
    if ":" in spec:
        return _import_reference(spec)
    key = _aliases.get(spec, spec)
    if key not in _registry:
        _load_plugins()
        key = _aliases.get(spec, spec)
    if key not in _registry:
        close = difflib.get_close_matches(spec, equation_names(with_aliases=True), n=1)
        guess = f" (did you mean {close[0]!r}?)" if close else ""
        hint = "; register it with pdeinv.register_equation, name it as module:ClassName, or list it in PDEINV_EQUATIONS"
        raise ValueError(f"unknown equation {spec!r}{guess}; known: {', '.join(equation_names())}{hint}")
    return _registry[key]


def equation_names(with_aliases: bool = False) -> list[str]:
    """Names of every available equation (built-in, registered and plug-ins), sorted."""
    _load_plugins()
    names = sorted(_registry)
    return sorted(names + list(_aliases)) if with_aliases else names


def plugin_errors() -> dict[str, str]:
    """Plug-ins that failed to load: where they came from -> the error."""
    _load_plugins()
    return dict(_plugin_errors)


def is_builtin(cls) -> bool:
    """True for pdeinv's own equations; a user's equation must travel with its files (as a
    ``module:ClassName`` reference) and with tasks sent to other processes."""
    return cls.__module__ == "pdeinv" or cls.__module__.startswith("pdeinv.")


def describe_equation(cls) -> dict:
    """A JSON-friendly description of an equation (for ``pdeinv equations``)."""
    cls = get_equation(cls)
    return {
        "name": cls.name,
        "aliases": list(cls.aliases),
        "pde": cls.pde,
        "parameters": {p: float(cls.defaults[p]) for p in cls.param_names},
        "positive": list(cls.positive),
        "default_unknowns": list(cls.default_unknowns),
        "field_params": list(cls.field_params),
        "u0": cls.u0_description,
        "domain": list(cls.default_domain),
        "basis": cls.basis_type.name,
        "boundary": getattr(cls, "boundary", "") or cls.basis_type.boundary,
        "t_span": list(cls.default_t_span),
        "default_n": int(cls.default_n),
        "complex_state": bool(cls.complex_state),
        "components": list(cls.components),
        "pinn": bool(cls.pinn_order),
        "source": f"{cls.__module__}:{cls.__qualname__}",
    }

