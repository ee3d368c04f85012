"""Your own equation: Fisher-KPP, u_t = D u_xx + r u (1 - u), from its class to a fit.

An equation is one small class: its linear part as a Fourier symbol (treated exactly by the
ETDRK4 stepper), its nonlinear part as a JAX function of the spectrum, its parameters. Every
part of pdeinv (simulate, fits, files, plots, the command line) then works with it.
"""
import numpy as np

import pdeinv


class Fisher(pdeinv.Equation):
    """u_t = D u_xx + r u (1 - u): Fisher-KPP."""

    name = "fisher"
    pde = "u_t = D u_xx + r u (1 - u)"
    param_names = ("D", "r")
    defaults = {"D": 0.01, "r": 2.0}
    positive = ("D", "r")  # fitted as log D, log r
    default_unknowns = ("D", "r")

    def default_initial_condition(self, x):
        return 0.5 + 0.4 * np.cos(np.pi * x)

    def linear_symbol(self, params):  # D u_xx + r u  ->  -D k^2 + r
        return -params["D"] * self.k**2 + params["r"] + 0j

    def nonlinear(self, v, params):  # -r u^2, formed on the grid
        u = self.physical(v)
        return -params["r"] * self.spectral(u * u)


pdeinv.register_equation(Fisher)  # from the command line: --plugin my_module:Fisher
print(pdeinv.get_equation("fisher").pde)

# 64 random observations of the truth D = 0.005, r = 3, with 1 % noise on them and on a
# 256-sample first snapshot (simulated on a grid twice as fine as the fit's).
truth = {"D": 0.005, "r": 3.0}
obs = pdeinv.simulate("fisher", truth, points=64, layout="random", seed=1, noise=0.01)

# Both parameters from 3x and 1/3 off; the global phase scans the (D, r) plane first.
result = pdeinv.fit(pdeinv.InverseProblem(obs), {"D": 0.015, "r": 1.0})
for name in ("D", "r"):
    low, high = result.intervals[name]
    print(f"{name} = {result.params[name]:.5g} (truth {truth[name]}), 95 % interval [{low:.5g}, {high:.5g}]")
    assert low < truth[name] < high
print(f"status {result.status}, {result.nfev} solver calls; initial condition: "
      f"{result.settings['initial_condition']['reason']}")
assert result.status == "converged"
