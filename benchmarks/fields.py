"""Recovering fields: the initial condition of Burgers and the diffusion D(x) of Allen-Cahn.

Burgers: a smooth u0 with 16 Fourier modes (amplitudes 0.4 / (1 + k)), nu = 0.02 known, 800
observations: 10 times in (0, 0.5) x 80 positions in (-1, 1) (a 20 x 20 grid sees only 20
distinct x, too few for 64 modes; 800 random times make every solve output 800 rows),
simulated on a grid twice as fine as the fit's. Unknowns: the first d Fourier coefficients of
u0, started from zero.

Burgers again with a truth of d modes whose energy is spread over all of them (d = 16, 32,
64), so that the ordered sketch must measure every mode.

Allen-Cahn: D(x) = 0.01 exp(g(x)) with g of 8 Fourier modes (amplitudes 0.3 / (1 + k)), r = 1
known, u0 = cos(pi x) + 0.5 sin(3 pi x), 400 observations (10 times x 40 positions). Unknowns:
the first d Fourier coefficients of log D, started from the constant D = 0.005.

For each method: solver calls until the recovered field is within 1 % (relative L2) of the
truth, final error, total calls. FD-LM is the classic finite-difference Levenberg-Marquardt (a
fresh d-column Jacobian every iteration); "zo-gn random K" draws K Gaussian directions (scaled
by the field's prior) per refresh, "zo-gn ordered K" takes K coordinate axes, lowest
wavenumbers first; both keep their Jacobian estimate with secant (Broyden) updates.

    python -m benchmarks.fields [--quick]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from pdeinv import InverseProblem, fit, simulate
from pdeinv.problems import Observations
from pdeinv.problems.fields import FourierField, field_samples, true_field

from .common import markdown_table, write_results


def burgers_case():
    truth_field = FourierField(16)
    c = np.random.default_rng(0).normal(size=16) * 0.4 / (1 + truth_field.wavenumber)
    dense = simulate("burgers", {"nu": 0.02}, points=6400, layout="grid", u0=truth_field.samples(c, 2048),
                     t_span=(0, 0.5), fixed=("nu",))  # 80 x 80
    rows = np.isin(np.round(dense.t, 12), np.unique(np.round(dense.t, 12))[3::8])  # 10 of the 80 times
    return Observations("burgers", dense.t[rows], dense.x[rows], dense.u[rows], u0=dense.u0, t_span=dense.t_span,
                        fixed_params=dense.fixed_params, true_params=dense.true_params, metadata=dense.metadata)


def spread_case(d):
    """Like ``burgers_case`` but the truth has d modes with energy spread over all of them
    (amplitudes 0.3 / sqrt(1 + k)), so that an ordered sketch cannot stop early at the 16 modes
    of the first case's truth."""
    truth_field = FourierField(d)
    c = np.random.default_rng(2).normal(size=d) * 0.3 / np.sqrt(1 + truth_field.wavenumber)
    dense = simulate("burgers", {"nu": 0.02}, points=6400, layout="grid", u0=truth_field.samples(c, 2048),
                     t_span=(0, 0.5), fixed=("nu",))
    rows = np.isin(np.round(dense.t, 12), np.unique(np.round(dense.t, 12))[3::8])
    return Observations("burgers", dense.t[rows], dense.x[rows], dense.u[rows], u0=dense.u0, t_span=dense.t_span,
                        fixed_params=dense.fixed_params, true_params=dense.true_params, metadata=dense.metadata)


def diffusion_case():
    truth_field = FourierField(8)
    g = np.random.default_rng(1).normal(size=8) * 0.3 / (1 + truth_field.wavenumber)
    g[0] = np.log(0.01)
    log_d = truth_field.samples(g, 1024)
    return simulate("allen-cahn", {"D": np.exp(log_d), "r": 1.0}, grid=(10, 40),
                    u0=lambda x: np.cos(np.pi * x) + 0.5 * np.sin(3 * np.pi * x))


def methods_for(d, with_adam, with_exact=True):
    methods = [("FD-LM", {"directions": d, "broyden": False})]
    for k in (4, 8, 16):
        if k < d:
            methods.append((f"zo-gn random K={k}", {"directions": k, "distribution": "gaussian", "broyden": True}))
    for k in (4, 8, 16):
        if k < d:
            methods.append((f"zo-gn ordered K={k}", {"directions": k, "distribution": "ordered", "broyden": True}))
    if with_exact:
        methods.append(("exact", {"method": "exact"}))
    if with_adam:
        methods.append(("zo (Adam)", {"method": "zo", "max_steps": 300, "learning_rate": 0.01}))
    return methods


def run_case(label, obs, field_name, dims, init, n, adam_at, curves, regularization=0.0):
    truth = true_field(obs, field_name, 512)
    rows = []
    for d in dims:
        for method, options in methods_for(d, d in adam_at, with_exact=regularization == 0):
            # The first-derivative penalty this case was set up with (the default is now the second's).
            problem = InverseProblem(obs, (field_name,), modes=d, n=n, regularization=regularization, penalty_order=1)
            start = time.perf_counter()
            result = fit(problem, init, auto_grid=False, max_nfev=20 * d + 400, **options)
            wall = time.perf_counter() - start
            history = result.history
            names = problem.field.names(problem.field_prefix)
            coefficients = np.array([history["params"][k] for k in names]).T
            errors = np.array([np.linalg.norm(field_samples(field_name, c, obs.domain, 512, obs.equation_class) - truth)
                               for c in coefficients]) / np.linalg.norm(truth)
            hit = np.nonzero(errors <= 0.01)[0]
            curves.setdefault(f"{label} d={d}", {})[method] = {"nfev": history["nfev"], "error": errors.tolist()}
            final = field_samples(field_name, problem.field_coefficients(result.params), obs.domain, 512,
                                  obs.equation_class)
            rows.append({"case": label, "d": d, "method": method + (f", w={regularization:g}" if regularization else ""),
                         "calls_to_1%": int(history["nfev"][hit[0]]) if hit.size else "-",
                         "final_error": float(np.linalg.norm(final - truth) / np.linalg.norm(truth)),
                         "nfev": result.nfev, "wall_s": wall, "message": result.message[:48]})
            print(rows[-1], flush=True)
        base = next(r for r in rows if r["d"] == d and r["method"].startswith("FD-LM"))
        for r in rows:
            if r["d"] == d and isinstance(r["calls_to_1%"], int) and isinstance(base["calls_to_1%"], int):
                r["vs_FD-LM"] = r["calls_to_1%"] / base["calls_to_1%"]
    return rows


def plot_curves(curves: dict, path):
    """Relative field error against solver calls, one line per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), constrained_layout=True)
    for method, curve in curves.items():
        best = np.minimum.accumulate(np.asarray(curve["error"]))  # best point so far
        ax.semilogy(curve["nfev"], best, label=method, ls="--" if "random" in method else "-")
    ax.axhline(0.01, color="k", lw=0.8, ls=":")
    ax.set_xlabel("solver calls")
    ax.set_ylabel("relative L2 error of the field (best so far)")
    ax.set_xlim(0, 400)
    ax.legend(fontsize="small")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run(quick: bool):
    from .common import RESULTS

    columns = ["d", "method", "calls_to_1%", "vs_FD-LM", "final_error", "nfev", "wall_s", "message"]
    curves: dict = {}
    case = burgers_case()
    burgers = run_case("burgers u0", case, "u0", [16, 32, 64] if quick else [16, 32, 64, 128],
                       None, None, adam_at=(16, 64), curves=curves)
    # d = 128 is ill-posed without a penalty (modes beyond the positions' Nyquist, erased by
    # diffusion): a small smoothness weight makes every method converge.
    regularized = run_case("burgers u0", case, "u0", [128], None, None, adam_at=(), curves={},
                           regularization=1e-6)
    spread = []
    for d in [16, 32] if quick else [16, 32, 64]:
        spread += run_case("burgers u0, energy in all d modes", spread_case(d), "u0", [d], None, None, adam_at=(),
                           curves={})
    diffusion = run_case("allen-cahn D(x)", diffusion_case(), "D(x)", [8, 16] if quick else [8, 16, 32],
                         {"D": 0.005}, 256, adam_at=(), curves=curves)
    RESULTS.mkdir(parents=True, exist_ok=True)
    plot_curves(curves["burgers u0 d=64"], RESULTS / "fields_burgers_d64.png")
    table = (
        "### Initial condition of Burgers, 800 observations (10 times x 80 positions)\n\n"
        + markdown_table(burgers, columns)
        + "\n\nError against solver calls at d = 64: fields_burgers_d64.png (curves for every run in fields.json)."
        + "\n\nd = 128 with a smoothness penalty of weight w = 1e-6 (--regularization 1e-6 --penalty-order 1; final "
        "errors include its bias):\n\n" + markdown_table(regularized, columns)
        + "\n\n### Initial condition of Burgers with energy in all d modes (amplitudes 0.3 / sqrt(1 + k)), same "
        "design; calls_to_1% beside nfev, the calls the fit used\n\n" + markdown_table(spread, columns)
        + "\n\n### Diffusion field D(x) of Allen-Cahn, 400 observations (10 times x 40 positions), n = 256\n\n"
        + markdown_table(diffusion, columns)
    )
    write_results("fields", {"quick": quick, "rows": burgers + regularized + spread + diffusion, "curves": curves},
                  table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    run(parser.parse_args().quick)
