"""A field with regularization and its band: the diffusion coefficient D(x) of Allen-Cahn.

A coefficient that varies in x is an unknown function, not a number. pdeinv writes it as a few
Fourier coefficients (here of log D, so D stays positive) and fits them like parameters. With
noisy data the highest modes are poorly determined; a smoothness penalty of weight w keeps them
small, and a rule chooses w from the data. The result carries a pointwise 95 % band for the
field, and names the places where the data do not determine it.
"""
import matplotlib.pyplot as plt
import numpy as np

import pdeinv
from pdeinv.plotting import figure_for_file

# The truth: D(x) = 0.01 exp(0.5 sin(pi x) - 0.3 cos(pi x)) on [-1, 1), observed on a 10 x 24 grid
# of (t, x) with 2 % noise. The initial condition is set by the experimenter and known exactly.
log_d = lambda x: np.log(0.01) + 0.5 * np.sin(np.pi * x) - 0.3 * np.cos(np.pi * x)  # noqa: E731
obs = pdeinv.simulate("allen-cahn", {"D": lambda x: np.exp(log_d(x)), "r": 1.0}, grid=(10, 24), n=128, dt=5e-4,
                      u0=lambda x: np.cos(np.pi * x) + 0.5 * np.sin(3 * np.pi * x), noise=0.02, seed=4,
                      snapshot="exact")
problem = pdeinv.InverseProblem(obs, ["D(x)"], modes=8)  # 8 Fourier coefficients of log D
x = np.linspace(-1, 1, 256, endpoint=False)
truth = np.exp(log_d(x))


def field_error(result):
    recovered = problem.field_values(problem.field_coefficients(result.params), x.size)
    return np.linalg.norm(recovered - truth) / np.linalg.norm(truth)


# The default: the weight by the least expected field error ("risk"), the form of the penalty
# by the evidence.
result = pdeinv.fit(problem, regularization="auto")
chosen = result.settings["regularization"]
print(f"{result.status} in {result.nfev} solver calls; penalty weight {chosen['weight']:.3g}, "
      f"order {chosen['penalty_order']['chosen']} (chosen by {chosen['penalty_order']['rule']})")
print(f"field error {field_error(result):.2%}; goodness of fit: {result.goodness['verdict']}")
low, high = (np.asarray(b) for b in result.uncertainty["band"])
inside = np.mean((truth >= np.interp(x, result.uncertainty["x"], low))
                 & (truth <= np.interp(x, result.uncertainty["x"], high)))
print(f"the 95 % band holds the true D at {inside:.0%} of 256 points; "
      f"undetermined: {result.uncertainty['undetermined'] or 'nowhere'}")
assert result.status == "converged" and field_error(result) < 0.05 and inside > 0.8

# How much does the answer depend on the weight? Refit with 100x less and 100x more (same form).
errors = {}
for factor in (0.01, 1.0, 100.0):
    weighted = problem.with_regularization(chosen["weight"] * factor,
                                          chosen["penalty_order"]["chosen"])
    errors[factor] = field_error(pdeinv.fit(weighted))
    print(f"weight x {factor:g}: field error {errors[factor]:.2%}")
# The rule reads the best weight from a model of the fit, not from the truth: near the best, not at it.
assert errors[1.0] <= 1.5 * min(errors.values()) and errors[100.0] > 2 * errors[1.0]

pdeinv.save_result(result, obs, "field.h5")
for kind in ("field", "uncertainty"):
    figure_for_file("field.h5", kind).savefig(f"field-{kind}.png", dpi=80)
    plt.close("all")
