"""How results, samples and files are described in text: the tables `fit`, `info` and
`sample` print."""

from __future__ import annotations


def _samples_file(path):
    """The draws in ``path`` when it is a samples file (pdeinv sample -o), else None."""
    import h5py

    from ..sampling import FORMAT, load_samples

    try:
        with h5py.File(path, "r") as f:
            is_samples = f.attrs.get("format") == FORMAT
    except (OSError, ValueError):
        return None
    return load_samples(path) if is_samples else None


def _scalars_and_fields(values: dict) -> dict:
    """A result's per-unknown entries for people: the scalars, and each field's coefficients as
    one count (they are all in --json)."""
    out, fields = {}, {}
    for name, value in values.items():
        if "[" in name:
            field = name.split("[")[0]
            fields[field] = fields.get(field, 0) + 1
        else:
            out[name] = value
    out.update({field: f"{count} coefficients (in --json)" for field, count in fields.items()})
    return out


def _describe_uncertainty(unc: dict) -> str:
    """How the intervals were made, in one line (the intervals themselves are on their own line;
    a field's pointwise band is in --json and drawn by pdeinv plot --kind uncertainty)."""
    said = [f"{unc.get('method')} at {unc.get('level', 0.95):.0%}"]
    sigma = unc.get("sigma")
    if isinstance(sigma, dict) and sigma.get("value") is not None:
        said.append(f"sigma {sigma['value']:.3g} (from the {sigma.get('source', 'file')})")
    if unc.get("calibrated") is False:
        said.append("NOT calibrated (the fit does not explain its data)")
    if unc.get("band"):
        said.append(f"a pointwise band of the field on {len(unc.get('x') or [])} points")
    if unc.get("nfev"):
        said.append(f"{unc['nfev']} solver calls")
    said += list(unc.get("undetermined") or [])
    return "; ".join(said)



def format_interval(value, low, high) -> str:
    """``± half-width [low, high]``; an unbounded side is shown as such."""
    if low is None or high is None:
        return f"[{'-inf' if low is None else f'{low:.4g}'}, {'+inf' if high is None else f'{high:.4g}'}] (not bounded)"
    return f"± {(high - low) / 2:.2g} [{low:.6g}, {high:.6g}]"


def describe_goodness(goodness: dict) -> str:
    """``good (family p = 0.59; misfit 1.07x the noise level)`` or ``poor (...): reason``."""
    if not goodness["tests"]:
        return (f"{goodness['verdict']} (residuals at the solver's precision, {goodness['level']:.2g} of the data's RMS: "
                "no noise left to test)")
    said = [f"p = {goodness['p_value']:.2g} over {len(goodness['tests'])} tests"]
    if goodness.get("misfit_ratio") is not None:
        said.append(f"misfit {goodness['misfit_ratio']:.2f}x the noise level")
    if goodness.get("level") is not None:
        said.append(f"residuals {goodness['level']:.2g} of the data's RMS")
    if goodness.get("discretization") is not None:
        said.append("residuals at the discretization level")
    text = f"{goodness['verdict']} ({'; '.join(said)})"
    return text + (f": {goodness['reason']}" if goodness["verdict"] == "poor" else "")


def format_result_table(result, observations=None) -> str:
    """The end-of-fit table: estimate, truth and relative error per parameter, then the cost.

    A fitted field gets one line: its modes and its relative L2 distance from the true field
    (the file's u0, or the stored true D(x) of synthetic data)."""
    import numpy as np

    from ..problems.fields import field_samples, split_field, true_field
    from ..result import describe_penalty, penalty_settings

    truth = result.true_params or {}
    errors = result.relative_errors()
    lines = [f"{'parameter':10s} {'estimate':>14s} {'truth':>14s} {'rel. error':>11s}"]
    cls = None if observations is None else observations.equation_class
    field, coefficients, scalars = split_field(result.params, cls)
    if field is not None:
        line = f"{field:10s} {coefficients.size} {_mode_word(cls)}"
        reference = None if observations is None else true_field(observations, field, 1024)
        if reference is not None:
            recovered = field_samples(field, coefficients, observations.domain, 1024, cls)
            distance = np.linalg.norm(recovered - reference) / np.linalg.norm(reference)
            line += f"; relative L2 distance from the true {field}: {distance:.2e}"
        lines.append(line)
        penalty = penalty_settings(result.settings)
        if penalty is not None:
            lines.append(f"{'':10s} {describe_penalty(penalty)}")
    unc = result.uncertainty or {}
    intervals = unc.get("intervals") or {}
    if intervals:
        lines[0] += f"   {unc['level']:.0%} interval ({unc['method']})"
    for name, value in scalars.items():
        t = f"{truth[name]:14.6e}" if name in truth else f"{'-':>14s}"
        e = f"{errors[name]:11.2e}" if name in errors else f"{'-':>11s}"
        line = f"{name:10s} {value:14.6e} {t} {e}"
        if name in intervals:
            line += "   " + format_interval(value, *intervals[name])
        lines.append(line)
    tail = []
    if unc:
        sigma = unc["sigma"]
        if sigma["source"] != "file":
            said = f"sigma {sigma['value']:.3g} estimated from the residuals ({sigma['dof']} degrees of freedom)"
        elif sigma.get("value") is not None:
            said = f"sigma {sigma['value']:.3g} from the file"
        else:
            said = "sigma per point from the file ({min:.3g} to {max:.3g})".format(**sigma["per_point"])
        corr = unc.get("correlation") or {}
        names = list(corr)
        pairs = [f"{a}~{b} {corr[a][b]:+.3f}" for i, a in enumerate(names) for b in names[i + 1:]
                 if corr[a].get(b) is not None]
        tail.append(f"intervals: {said}" + (f"; correlation {', '.join(pairs)}" if pairs else "")
                    + f"; {unc['nfev']} more solver call{'s' if unc['nfev'] != 1 else ''}")
        tail += [f"note: {sentence}" for sentence in unc.get("undetermined") or []]
    grid = result.grid
    goodness = result.goodness or {}
    if goodness.get("verdict") in ("good", "poor"):
        tail.insert(0, "goodness of fit: " + describe_goodness(goodness))
    headline = result.message if result.success else (
        f"POOR FIT: {result.message}" if result.status == "poor_fit" else f"NOT converged ({result.status}: {result.message})")
    lines.append(
        f"{headline}\n"
        + (f"outer evaluations {result.evaluations}, " if result.evaluations is not None else f"solver calls {result.nfev}, ")
        + 
        f"iterations {result.nit}, loss {result.loss:.3e}, "
        + (f"grid n={grid['n']} dt={grid['dt']:.3g}, " if grid.get("n") else "")
        + f"wall {result.wall_time:.1f} s"
    )
    initial = result.settings.get("initial_condition") or {}
    if initial and (initial.get("mode") != "exact" or initial.get("source") != "file"):
        lines.append(f"initial condition: {initial['reason']}")
    assumed = result.settings.get("assumed_params") or {}
    if assumed:
        lines.append("assumed (equation defaults; neither fitted nor known in the file): "
                     + ", ".join(f"{k}={v:g}" for k, v in assumed.items()))
    return "\n".join(lines + tail)


def _mode_word(equation_class) -> str:
    """What a field's coefficients are called for this equation ("Fourier modes", "sine modes")."""
    from ..discretizations import FourierBasis

    return (FourierBasis if equation_class is None else equation_class.basis_type).mode_word
