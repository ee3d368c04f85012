"""Fields as unknowns: which fields an equation has, their coefficient names, their samples.

A field is parameterized by its basis (``FourierField`` for the periodic Fourier basis,
``SineField`` for the sine basis), see ``pdeinv.discretizations``."""

from __future__ import annotations

import numpy as np

from ..discretizations import FourierBasis, FourierField

__all__ = ["FourierField", "field_samples", "field_unknowns", "split_field", "true_field"]


def field_unknowns(equation_class) -> dict[str, tuple[str, str | None]]:
    """The field unknowns of an equation: name -> (prefix of its coefficient names, the
    equation parameter it replaces or None).

    ``u0`` is the initial condition (coefficients ``u0[j]``). Each parameter ``P`` the
    equation lets vary in x gives ``P(x)``: through log P (coefficients ``logP[j]``) when the
    equation declares P positive, so it stays positive, else P itself (``P[j]``).
    """
    table: dict[str, tuple[str, str | None]] = {"u0": ("u0", None)}
    for param in equation_class.field_params:
        table[f"{param}(x)"] = (f"log{param}" if param in equation_class.positive else param, param)
    return table


def _is_log(name: str, equation_class) -> bool:
    table = field_unknowns(equation_class)
    if name not in table:
        raise ValueError(f"{name!r} is not a field unknown of {equation_class.name}; fields: {sorted(table)}")
    prefix, param = table[name]
    return param is not None and prefix != param


def split_field(params: dict, equation_class=None) -> tuple[str | None, np.ndarray | None, dict]:
    """Separate field coefficients (``u0[j]``, ``logD[j]``, ...) from scalar parameters.

    Returns ``(field name or None, coefficients in index order or None, scalar parameters)``.
    With ``equation_class`` the field names are that equation's; without, a prefix ``logP``
    is read as the field ``P(x)`` through its logarithm.
    """
    prefixes = {k[: k.index("[")] for k in params if k.endswith("]") and "[" in k}
    if not prefixes:
        return None, None, dict(params)
    if len(prefixes) > 1:
        raise ValueError(f"parameters hold coefficients of several fields: {sorted(prefixes)}")
    prefix = prefixes.pop()
    if equation_class is not None:
        names = [n for n, (p, _) in field_unknowns(equation_class).items() if p == prefix]
        if not names:
            raise ValueError(f"{prefix}[j] is not a field of {equation_class.name}")
        name = names[0]
    else:
        name = "u0" if prefix == "u0" else f"{prefix[3:] if prefix.startswith('log') else prefix}(x)"
    head = prefix + "["
    entries = sorted((int(k[len(head):-1]), v) for k, v in params.items() if k.startswith(head))
    scalars = {k: v for k, v in params.items() if not k.startswith(head)}
    return name, np.array([v for _, v in entries], dtype=float), scalars


def field_samples(name: str, coefficients, domain: tuple[float, float], n: int, equation_class=None) -> np.ndarray:
    """The field ``name`` with these coefficients on the basis's ``n`` nodes (a positive parameter's field
    is exp of its log-field; without ``equation_class`` every ``P(x)`` is taken as such)."""
    basis = FourierBasis if equation_class is None else equation_class.basis_type
    values = basis.field(len(coefficients), domain).samples(np.asarray(coefficients, dtype=float), n)
    log = name != "u0" if equation_class is None else _is_log(name, equation_class)
    return np.exp(values) if log else values


def true_field(observations, name: str, n: int) -> np.ndarray | None:
    """The field ``name`` that generated ``observations`` on ``n`` points, when known: the true u0
    stored with a noisy snapshot, or the file's exact u0; a true coefficient field stored with the
    data, or a constant one from a true scalar."""
    parameter = field_unknowns(observations.equation_class).get(name, (None, None))[1]
    if parameter is None:  # u0: the stored truth behind a noisy snapshot, or an exact u0
        samples = observations.true_fields.get("u0")
        if samples is None and not observations.u0_measured:
            samples = observations.u0
    else:
        samples = observations.true_fields.get(parameter)
    if samples is None:
        scalar = (observations.true_params or {}).get(parameter)
        return None if scalar is None else np.full(n, float(scalar))
    return samples.copy() if samples.size == n else observations.equation_class.basis_type.resample(samples, n)
