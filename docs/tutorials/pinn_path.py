"""The PINN path beside the numerical one, on the same data from the same start.

The PINN path is the (FG)^2U of Shen et al. as the paper runs it: a physics-informed network is
the inner problem, trained by unrolled steps, and the derivative with respect to nu is carried
forward through the unroll with jax.jvp (memory flat in the unroll depth). It never calls the
spectral solver. It is in pdeinv to compare, honestly; this script does that on a CPU budget of
about a minute.
"""
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import pdeinv

repo = Path(__file__).resolve().parents[2]
obs = pdeinv.load_observations(repo / "data" / "burgers.h5")  # 64 noise-free points of Burgers, nu = 0.01/pi
truth = obs.true_params["nu"]
problem = pdeinv.InverseProblem(obs, ["nu"])
start = {"nu": 3 * truth}

runs = {}
for method, options in (("zo-gn", {}), ("pinn", {"max_steps": 100})):
    began = time.perf_counter()
    result = pdeinv.fit(problem, start, method=method, **options)
    runs[method] = result
    error = abs(result.params["nu"] / truth - 1)
    print(f"{method:6s} nu = {result.params['nu']:.6g} ({error:.1e} off), status {result.status}, "
          f"{result.nfev} solver calls, {time.perf_counter() - began:.0f} s")

numerical, pinn = runs["zo-gn"], runs["pinn"]
assert numerical.status == "converged" and abs(numerical.params["nu"] / truth - 1) < 1e-6
# The PINN path has no convergence test (its derivatives are stochastic) and calls no solver.
assert pinn.status == "max_steps" and pinn.nfev == 0
assert abs(pinn.params["nu"] / truth - 1) > 100 * abs(numerical.params["nu"] / truth - 1)

fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2), sharey=True, constrained_layout=True)
left.plot(numerical.history["nfev"], numerical.history["params"]["nu"], ".")  # the scan: 9 values at once
left.set_xlabel("solver calls (zo-gn)")
right.plot(np.arange(1, len(pinn.history["params"]["nu"]) + 1), pinn.history["params"]["nu"], "-", color="C1")
right.set_xlabel("outer steps (PINN, 20 unrolled inner steps each)")
for ax in (left, right):
    ax.axhline(truth, color="k", linestyle="--", linewidth=1, label="true nu")
    ax.set_yscale("log")
    ax.legend(fontsize="small")
left.set_ylabel("nu")
fig.savefig("pinn-vs-numerical.png", dpi=80)
