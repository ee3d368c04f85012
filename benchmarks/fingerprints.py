"""Behaviour fingerprints of the benchmarks: small deterministic runs along each benchmark's code
path (the same equations, methods and options, on less work), recording what the benchmark's
results depend on: estimates, solver calls, statuses.

``python -m benchmarks --verify`` compares each benchmark's fingerprint at the current code with
the one taken at the code that measured its results file. Equal (estimates to 1e-9 relative,
counts and statuses exactly): the results still describe the code, and ``--check`` counts them
current from this commit on. Different: the differences are printed and the benchmark must be
rerun. Timings are not fingerprinted: work that aims at speed re-measures them.

This module uses only pdeinv's public API and no other benchmark module, so that it can run
against the code of an earlier commit (the baseline of results measured there).
"""

from __future__ import annotations

import math
from pathlib import Path

#: Tolerances on fingerprinted floats: relative, and absolute for values that vanish (a field's
#: coefficients at round-off).
RTOL, ATOL = 1e-9, 1e-12


def _simulate(*args, **kwargs):
    """``pdeinv.simulate``; a ``snapshot="exact"`` is dropped for code that predates the option
    (it then always wrote the exact u0)."""
    import pdeinv

    try:
        return pdeinv.simulate(*args, **kwargs)
    except TypeError:
        if kwargs.get("snapshot") != "exact":
            raise
        kwargs.pop("snapshot")
        return pdeinv.simulate(*args, **kwargs)


def _summary(label: str, result) -> dict:
    """A fit's fingerprint: its estimates, solver calls and status."""
    out = {f"{label}: {k}": float(v) for k, v in result.params.items()}
    out[f"{label}: nfev"] = int(result.nfev)
    out[f"{label}: status"] = str(result.status)
    return out


def _fit(label: str, problem, init, **options) -> dict:
    """The fingerprint of ``pdeinv.fit(problem, init, **options)``."""
    import pdeinv

    return _summary(label, pdeinv.fit(problem, init, **options))


def _data(root: Path, name: str):
    import pdeinv

    return pdeinv.load_observations(Path(root) / "data" / f"{name}.h5")


def solvers(root: Path) -> dict:
    """Each built-in equation solved on a small grid: a few values at the last time."""
    import numpy as np

    out = {}
    for name in ("burgers", "kdv", "allen-cahn", "ks", "nls"):
        obs = _simulate(name, points=9, n=64)
        values = np.abs(obs.u) if np.iscomplexobj(obs.u) else obs.u
        for i in range(0, values.size, 3):
            out[f"{name}: u[{i}]"] = float(values[i])
    return out


def fit(root: Path) -> dict:
    """The fit benchmark's cases and methods, one far start each (lsq on KdV: a wrong minimum)."""
    import pdeinv

    out = {}
    for name, key, ratio in (("burgers", "nu", 10.0), ("allen-cahn", "D", 0.1), ("kdv", "lambda2", 10.0)):
        obs = _data(root, name)
        start = {key: ratio * obs.true_params[key]}
        for method in ("zo-gn", "exact") + (("lsq",) if name == "kdv" else ()):
            out.update(_fit(f"{name} {method}", pdeinv.InverseProblem(obs), start, method=method))
    return out


def convergence(root: Path) -> dict:
    """Burgers from 10x off by each method the convergence figure draws (Adam: 20 steps)."""
    import pdeinv

    obs = _data(root, "burgers")
    start = {"nu": 10 * obs.true_params["nu"]}
    out = {}
    for method, options in (("zo-gn", {}), ("exact", {}), ("lsq", {}), ("zo", {"max_steps": 20})):
        out.update(_fit(method, pdeinv.InverseProblem(obs), start, method=method, **options))
    return out


def paper(root: Path) -> dict:
    """The paper preset's first 20 steps from 10x off, beside zo-gn."""
    import pdeinv

    obs = _data(root, "burgers")
    start = {"nu": 10 * obs.true_params["nu"]}
    out = _fit("paper", pdeinv.InverseProblem(obs), start, method="zo", preset="paper", max_steps=20)
    out.update(_fit("zo-gn", pdeinv.InverseProblem(obs), start))
    return out


def pinn(root: Path) -> dict:
    """Three outer steps of the PINN path on a tiny network (the estimates after them), and the
    numerical fit it is compared with."""
    import pdeinv
    from pdeinv.pinn import PINNConfig, fit_pinn

    obs = _data(root, "burgers")
    start = {"nu": 3 * obs.true_params["nu"]}
    config = PINNConfig(depth=2, width=8, batch=32, unroll=3, warmup_steps=5)
    result = fit_pinn(pdeinv.InverseProblem(obs), start, max_steps=3, config=config)
    out = {f"pinn: {k}": float(v) for k, v in result.params.items()}
    out["pinn: status"] = str(result.status)
    out.update(_fit("zo-gn", pdeinv.InverseProblem(obs), start))
    return out


def fields(root: Path) -> dict:
    """Burgers' initial condition with 16 modes, by FD-LM and by both sketches (K = 4)."""
    import numpy as np

    import pdeinv

    x = np.linspace(-1, 1, 512, endpoint=False)
    u0 = 0.6 * np.sin(np.pi * x) + 0.3 * np.cos(2 * np.pi * x) - 0.2 * np.sin(3 * np.pi * x)
    obs = _simulate("burgers", {"nu": 0.05}, grid=(10, 80), n=128, dt=5e-4, u0=u0, fixed=("nu",))
    out = {}
    for label, options in (("FD-LM", {"directions": 16, "broyden": False}),
                           ("random K=4", {"directions": 4, "distribution": "gaussian", "broyden": True}),
                           ("ordered K=4", {"directions": 4, "distribution": "ordered", "broyden": True})):
        problem = pdeinv.InverseProblem(obs, ("u0",), modes=16, n=64, penalty_order=1)
        out.update(_fit(label, problem, None, auto_grid=False, max_nfev=720, **options))
    return out


def import_grid(root: Path) -> dict:
    """A published-convention KdV grid (512 columns, no periodic endpoint), imported and fitted."""
    import tempfile

    import numpy as np
    from scipy.io import savemat

    import pdeinv
    from pdeinv.io import import_raissi

    from pdeinv.solvers import KdV

    t = np.linspace(0, 1, 51)
    fine = KdV(n=512, dt=2e-4)
    uu = np.ascontiguousarray(fine.solve({"lambda1": 1.0, "lambda2": 0.0025}, t).T)  # (x, t)
    x = np.asarray(fine.x)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "kdv.mat"
        savemat(path, {"x": x[:, None], "tt": t[None, :], "uu": uu})
        obs = import_raissi(path, "kdv", points=64, seed=0)
    out = {"domain": f"{obs.domain[0]:.12g},{obs.domain[1]:.12g}"}
    out.update(_fit("fit", pdeinv.InverseProblem(obs), {"lambda2": 0.003}))
    return out


def multiparam(root: Path) -> dict:
    """KdV lambda1 and lambda2 from a far start, with the time windows and without."""
    import pdeinv

    obs = _simulate("kdv", points=64, layout="random", seed=3, fixed=())
    start = {"lambda1": 3.0, "lambda2": 0.02}
    out = _fit("windows", pdeinv.InverseProblem(obs, ["lambda1", "lambda2"]), start)
    out.update(_fit("scan only", pdeinv.InverseProblem(obs, ["lambda1", "lambda2"]), start, windows=0))
    return out


def _intervals(label: str, result) -> dict:
    out = {}
    for name, (low, high) in (result.intervals or {}).items():
        if "[" not in name:
            out[f"{label}: {name} interval"] = f"{low:.10g},{high:.10g}"
    return out


def uncertainty(root: Path) -> dict:
    """One noisy Burgers data set (1 %, the first snapshot measured): Laplace and profile
    intervals, and a robust loss on data with outliers."""
    import numpy as np

    import pdeinv

    obs = _simulate("burgers", {"nu": 0.01 / np.pi}, points=64, layout="random", noise=0.01, seed=5)
    out = {}
    for how in ("laplace", "profile"):
        result = pdeinv.fit(pdeinv.InverseProblem(obs, ["nu"]), {"nu": 0.01}, intervals=how)
        out.update(_summary(how, result))
        out.update(_intervals(how, result))
    return out


def initial_condition(root: Path) -> dict:
    """One replicate of the initial-condition benchmark: Burgers, 1 % noise on every value, u0
    fitted jointly (the default), taken as exact, and the oracle's true u0."""
    import numpy as np

    import pdeinv

    obs = _simulate("burgers", {"nu": 0.01 / np.pi}, points=64, layout="random", noise=0.01, seed=11)
    start = {"nu": 1.3 * 0.01 / np.pi}
    out = {}
    for label, u0 in (("joint", "auto"), ("as exact", "exact")):
        result = pdeinv.fit(pdeinv.InverseProblem(obs, ["nu"], u0=u0), start)
        out.update(_summary(label, result))
        out.update(_intervals(label, result))
    return out


def snapshot_coverage(root: Path) -> dict:
    """The same fits as ``initial_condition`` (that benchmark's arms at scale)."""
    return initial_condition(root)


def _allen_cahn_field(seed: int):
    import numpy as np

    log_d = lambda x: np.log(0.01) + 0.5 * np.sin(np.pi * x) - 0.3 * np.cos(np.pi * x)  # noqa: E731
    return _simulate("allen-cahn", {"D": lambda x: np.exp(log_d(x)), "r": 1.0}, grid=(10, 24), n=128, dt=5e-4,
                     u0=lambda x: np.cos(np.pi * x) + 0.5 * np.sin(3 * np.pi * x), noise=0.02, seed=seed,
                     snapshot="exact")


def _field_fit(label: str, problem, **options) -> dict:
    """A field fit's fingerprint, with the penalty weight a rule chose."""
    import pdeinv

    result = pdeinv.fit(problem, **options)
    out = _summary(label, result)
    chosen = (result.settings or {}).get("regularization") or {}
    if isinstance(chosen, dict) and "weight" in chosen:
        out[f"{label}: weight"] = float(chosen["weight"])
    return out


def regularization(root: Path) -> dict:
    """The Allen-Cahn D(x) draw (seed 4) under the risk rule and the discrepancy principle."""
    import pdeinv

    obs = _allen_cahn_field(4)
    out = {}
    for rule in ("risk", "discrepancy"):
        out.update(_field_fit(rule, pdeinv.InverseProblem(obs, ("D(x)",), modes=8, n=64, penalty_order=1),
                              regularization=rule))
    return out


def undetermined(root: Path) -> dict:
    """The D(x) flat on half the domain: the default sketch and the exact fit, first-derivative
    penalty."""
    import pdeinv
    from pdeinv.examples import flat_half_allen_cahn

    obs = flat_half_allen_cahn()
    out = {}
    for label, options in (("zo-gn", {}), ("exact", {"method": "exact"})):
        problem = pdeinv.InverseProblem(obs, ("D(x)",), modes=8, n=64, regularization=1e-2, penalty_order=1)
        result = pdeinv.fit(problem, auto_grid=False, intervals="none", max_steps=400, **options)
        out[f"{label}: loss"] = float(result.loss)
        out[f"{label}: nfev"] = int(result.nfev)
        out[f"{label}: status"] = str(result.status)
    return out


def penalty_order(root: Path) -> dict:
    """The evidence's choice of penalty form on the Allen-Cahn draw."""
    import pdeinv

    obs = _allen_cahn_field(4)
    return _field_fit("evidence", pdeinv.InverseProblem(obs, ("D(x)",), modes=8, n=64, penalty_order="auto"),
                      regularization="evidence")


def distributed(root: Path) -> dict:
    """fit-many of one data set from 3 starts, in this process."""
    import pdeinv

    obs = _simulate("burgers", {"nu": 0.05}, points=64, n=128, dt=5e-4)
    results = pdeinv.fit_many({"burgers": obs}, starts=3)
    out = {}
    for i, row in enumerate(results):
        params = row["params"] if isinstance(row, dict) else row.params
        out.update({f"fit {i}: {k}": float(v) for k, v in params.items()})
    return out


def walltime(root: Path) -> dict:
    """The README's main job through the command line: its estimate and solver calls."""
    import json
    import tempfile

    from click.testing import CliRunner

    from pdeinv.cli import cli

    with tempfile.TemporaryDirectory() as folder:
        args = ["fit", "kdv", "--obs", str(Path(root) / "data" / "kdv.h5"), "--init", "lambda2=0.02",
                "-o", str(Path(folder) / "fit.h5"), "--json"]
        run = CliRunner().invoke(cli, args)
    summary = json.loads(run.output[run.output.index("{"):])
    out = {f"cli: {k}": float(v) for k, v in summary["params"].items()}
    out["cli: nfev"] = int(summary["nfev"])
    out["cli: exit code"] = int(run.exit_code)
    return out


def bounded(root: Path) -> dict:
    """A rod on the Chebyshev basis: a solve against its exact solution, and D and ub fitted."""
    import numpy as np

    import pdeinv
    from pdeinv.equations import Rod

    eq = Rod(24)
    t = np.linspace(0, 1, 11)
    out = {"solve error": float(np.max(np.abs(eq.solve({"D": 1.0}, t) - np.exp(-t)[:, None] * np.sin(np.pi * eq.x))))}
    obs = pdeinv.simulate("rod", {"D": 1.0, "ub": 0.5}, points=64, layout="random", seed=3, fixed=("ua",),
                          u0=lambda x: np.sin(np.pi * x) + 0.25 * (1 + x))
    result = pdeinv.fit(pdeinv.InverseProblem(obs, unknowns=("D", "ub")), {"D": 0.1, "ub": 0.0})
    out.update({f"fit: {k}": float(v) for k, v in result.params.items()})
    out.update({"fit: nfev": int(result.nfev), "fit: status": result.status})
    return out


def systems(root: Path) -> dict:
    """The two-species diffusion-reaction system: a solve, and D and k fitted from species B alone."""
    import numpy as np

    import pdeinv
    from pdeinv.equations import Reaction

    u = Reaction(48).solve({}, np.linspace(0, 10, 6))
    out = {"solve: A(10, x_24)": float(u[-1, 0, 24]), "solve: B(10, x_24)": float(u[-1, 1, 24])}
    obs = pdeinv.simulate("reaction", points=64, layout="random", seed=3, components=["B"])
    result = pdeinv.fit(pdeinv.InverseProblem(obs), {"D": 0.02, "k": 0.02})
    out.update({f"fit: {k}": float(v) for k, v in result.params.items()})
    out.update({"fit: nfev": int(result.nfev), "fit: status": result.status})
    return out


def design(root: Path) -> dict:
    """A design for Burgers nu with a measured u0 (fewer draws), and a bounded fit at its points."""
    import pdeinv

    plan = pdeinv.design("burgers", {"nu": 0.0048}, budget=16, draws=3, noise=0.01)
    out = {"plan: predicted sd": float(plan.predicted_std["nu"]), "plan: random sd": float(plan.random_std["nu"]),
           "plan: t": [float(v) for v in plan.t], "plan: x": [float(v) for v in plan.x]}
    obs = pdeinv.simulate("burgers", at=plan, noise=0.01, seed=0, snapshot="exact")
    out.update(_fit("fit", pdeinv.InverseProblem(obs, ["nu"], bounds={"nu": tuple(plan.settings["prior_box"]["nu"])}),
                    {"nu": 0.0048}, seed=0))
    return out


def design_sequential(root: Path) -> dict:
    """A KdV pilot of 16 random points fitted, then 8 points designed given it, all fitted."""
    import dataclasses

    import numpy as np

    import pdeinv

    bounds = {"lambda2": (0.002, 0.0045)}
    pilot = pdeinv.simulate("kdv", points=16, layout="random", noise=0.01, seed=0, snapshot="exact")
    first = pdeinv.fit(pdeinv.InverseProblem(pilot, ["lambda2"], bounds=bounds), {"lambda2": 0.003}, seed=0)
    plan = pdeinv.design("kdv", {"lambda2": first.params["lambda2"]}, budget=8, spread=1.05, draws=2, noise=0.01,
                         initial="exact", given=pilot, explore=0.0)
    second = pdeinv.simulate("kdv", at=plan, noise=0.01, seed=10_000, snapshot="exact")
    both = dataclasses.replace(pilot, t=np.concatenate([pilot.t, second.t]), x=np.concatenate([pilot.x, second.x]),
                               u=np.concatenate([pilot.u, second.u]), sigma=np.concatenate([pilot.sigma, second.sigma]),
                               grid_shape=None)
    out = _summary("pilot", first)
    out.update({"plan: t": [float(v) for v in plan.t], "plan: x": [float(v) for v in plan.x]})
    out.update(_fit("both", pdeinv.InverseProblem(both, ["lambda2"], bounds=bounds), {"lambda2": 0.003}, seed=0))
    return out


FINGERPRINTS = {f.__name__: f for f in (solvers, fit, convergence, paper, pinn, fields, import_grid, multiparam,
                                        uncertainty, initial_condition, snapshot_coverage, regularization, undetermined,
                                        penalty_order, distributed, walltime, bounded, systems, design,
                                        design_sequential)}


def differences(before: dict, after: dict, rtol: float = RTOL, atol: float = ATOL) -> list[str]:
    """What changed between two fingerprints, one line each (empty: the same behaviour).
    Floats are compared to ``rtol`` relative or ``atol`` absolute; everything else exactly."""
    lines = []
    for key in sorted(set(before) | set(after)):
        if key not in before or key not in after:
            lines.append(f"{key}: {before.get(key, 'absent')} -> {after.get(key, 'absent')}")
            continue
        a, b = before[key], after[key]
        if isinstance(a, float) and isinstance(b, float):
            same = (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=rtol, abs_tol=atol)
        else:
            same = type(a) is type(b) and a == b
        if not same:
            lines.append(f"{key}: {a!r} -> {b!r}")
    return lines
