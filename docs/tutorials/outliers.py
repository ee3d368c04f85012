"""Noisy data with outliers: a robust loss, and the goodness-of-fit test that tells you.

KdV, 64 random points with 1 % noise; 4 of them (6 %) are wrong by 15-30 sigma, as a sensor
glitch would make them. Least squares cannot tell them from a model error: the goodness-of-fit
tests say the fit does not explain its data (status poor_fit, intervals not calibrated). The
Cauchy loss (`--loss cauchy`) lets them go, and its fit explains the rest of the data.
"""
import dataclasses

import numpy as np

import pdeinv

obs = pdeinv.simulate("kdv", points=64, layout="random", seed=4, noise=0.01, snapshot="exact")
rng = np.random.default_rng(4)
bad = rng.choice(obs.n_points, size=4, replace=False)
u = np.array(obs.u)
u[bad] += rng.choice([-1.0, 1.0], size=4) * rng.uniform(15, 30, size=4) * obs.sigma[bad]
dirty = dataclasses.replace(obs, u=u)
truth = obs.true_params["lambda2"]

errors, statuses, covered = {}, {}, {}
for loss in ("linear", "cauchy"):
    result = pdeinv.fit(pdeinv.InverseProblem(dirty, ["lambda2"], loss=loss), {"lambda2": 0.005})
    low, high = result.intervals["lambda2"]
    errors[loss] = abs(result.params["lambda2"] / truth - 1)
    statuses[loss], covered[loss] = result.status, bool(low < truth < high)
    if loss == "linear":  # the verdict names the cause: a few points far out, and the remedy
        assert result.goodness.get("outliers") == 4 and "--loss cauchy" in result.goodness["reason"]
    print(f"{loss:7s}: status {result.status:9s} lambda2 = {result.params['lambda2']:.6g} "
          f"({errors[loss]:.2%} off), 95 % interval [{low:.6g}, {high:.6g}]")
    print(f"         goodness of fit: {result.goodness['verdict']}"
          + (f" ({result.goodness['reason']})" if result.goodness["verdict"] == "poor" else ""))

clean = pdeinv.fit(pdeinv.InverseProblem(obs, ["lambda2"]), {"lambda2": 0.005})
print(f"without the outliers (least squares): lambda2 = {clean.params['lambda2']:.6g} "
      f"({abs(clean.params['lambda2'] / truth - 1):.2%} off)")
assert statuses == {"linear": "poor_fit", "cauchy": "converged"}
assert covered["cauchy"]  # the robust fit's interval covers the truth
