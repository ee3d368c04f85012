"""Your own data: a grid file (.npz) to a fitted parameter, its interval and a figure.

The file here is made by pdeinv's own KdV solver on a finer grid than fits use, with 1 % noise
on every value (the first time row included), as a measured data set would have it.
"""
import numpy as np

import pdeinv
from pdeinv.io.importers import import_arrays
from pdeinv.plotting import summary_figure
from pdeinv.solvers import KdV

# 1. A grid file as an experiment gives it: u(t, x) on 512 points of [-1, 1) (the periodic
#    endpoint left out) at 101 times, noisy everywhere.
truth = {"lambda1": 1.0, "lambda2": 0.0025}
x = np.linspace(-1, 1, 512, endpoint=False)
t = np.linspace(0, 1, 101)
u = KdV(n=1024).solve(truth, t=t)[:, ::2]                  # (101, 512)
rng = np.random.default_rng(0)
u = u + 0.01 * np.std(u) * rng.standard_normal(u.shape)
np.savez("kdv.npz", t=t, x=x, u=u)

# 2. Import 64 random points of it. The first row becomes a measured snapshot; the importer
#    decides from the data whether x holds the periodic endpoint, and says what it decided.
obs = import_arrays("kdv.npz", "kdv", points=64, seed=0)
print("grid:", obs.metadata["x_grid"])
print("initial condition:", obs.metadata["initial_condition"])

# 3. Fit lambda2 from 4x off (lambda1 is neither fitted nor in the file: its default, 1, is
#    used, and the result says so). The first snapshot is noisy, so u0 is fitted with lambda2
#    and the snapshot's samples count as data.
problem = pdeinv.InverseProblem(obs, ["lambda2"])
print("decision:", problem.initial.reason)
result = pdeinv.fit(problem, {"lambda2": 0.01})
low, high = result.intervals["lambda2"]
print(f"status {result.status}: lambda2 = {result.params['lambda2']:.6g}, 95 % interval [{low:.6g}, {high:.6g}],"
      f" {result.nfev} solver calls")
print("goodness of fit:", result.goodness["verdict"], "| assumed:", result.settings.get("assumed_params"))

assert result.status == "converged"
assert low < truth["lambda2"] < high  # the interval covers the truth
assert high - low < 0.05 * truth["lambda2"]  # and says something: within +-2.5 %

# 4. The figure `pdeinv plot` draws: the recovered field, slices, residuals, convergence.
summary_figure(result, problem.source_observations).savefig("summary.png", dpi=80)
