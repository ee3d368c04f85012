"""The smoothness weight of a field chosen from the data: the rules on a linear problem with a
known answer, then a noisy initial condition recovered with the chosen weight."""

import numpy as np
import pytest

from pdeinv import InverseProblem, fit, simulate
from pdeinv.fit.regularization import choose_weight
from pdeinv.problems.fields import FourierField


def smoothing_problem(seed, sigma=0.01, points=60, modes=24):
    """y = J c + noise: values of a Fourier series damped like a diffusion (exp(-0.02 k^2)) at
    random points; the true coefficients decay like 1/(1 + k)^2."""
    rng = np.random.default_rng(seed)
    j = np.arange(modes)
    k = (j + 1) // 2 + 0.0  # 0, 1, 1, 2, 2, ...: a constant, then cos and sin of each wavenumber
    x = rng.uniform(-1, 1, points)
    basis = np.where((j % 2 == 1) | (j == 0), np.cos(np.pi * np.outer(x, k)), np.sin(np.pi * np.outer(x, k)))
    J = basis * np.exp(-0.02 * k**2) / sigma  # rows weighted by 1/sigma, as pdeinv's residuals are
    truth = rng.normal(size=modes) / (1 + k) ** 2
    noise = rng.normal(size=points)
    r = -(J @ truth) - noise  # residual at c = 0 for data J truth + sigma noise, in sigma units
    return J, r, k, truth


def solution(J, r, D, w):
    return np.linalg.solve(J.T @ J + w * np.diag(D**2), -J.T @ r)


@pytest.mark.parametrize("rule", ["discrepancy", "gcv"])
def test_rules_land_near_the_oracle_weight_on_a_linear_problem(rule):
    ratios = []
    for seed in range(8):
        J, r, k, truth = smoothing_problem(seed)
        w, curve = choose_weight(J, r, k, rule)
        grid = np.array(curve["weights"])
        errors = [np.linalg.norm(solution(J, r, k, v) - truth) for v in grid]
        ratios.append(np.linalg.norm(solution(J, r, k, w) - truth) / min(errors))
        if rule == "discrepancy":  # the largest weight whose fit stays within the noise
            i = int(np.nonzero(grid == w)[0][0])
            assert curve["misfit"][i] <= r.size < curve["misfit"][i + 1]
    assert np.median(ratios) <= 1.5, ratios  # near the best error any weight of the grid gives


def test_a_noisy_initial_condition_is_better_with_the_chosen_weight():
    x = np.linspace(-1, 1, 512, endpoint=False)
    u0 = 0.6 * np.sin(np.pi * x) + 0.3 * np.cos(2 * np.pi * x) - 0.2 * np.sin(3 * np.pi * x)
    obs = simulate("burgers", {"nu": 0.05}, points=64, layout="random", n=128, dt=5e-4, u0=u0, fixed=("nu",),
                   noise=0.05, seed=3)
    problem = InverseProblem(obs, ("u0",), modes=16, n=64)
    field = FourierField(16)

    def error(result):
        recovered = field.samples(problem.field_coefficients(result.params), u0.size)
        return np.linalg.norm(recovered - u0) / np.linalg.norm(u0)

    plain = fit(problem, auto_grid=False)
    chosen = fit(problem, auto_grid=False, regularization="auto")
    choice = chosen.settings["regularization"]
    assert choice["rule"] == "discrepancy" and choice["weight"] > 0
    assert "chosen by discrepancy" in chosen.message
    assert error(chosen) < 0.8 * error(plain), (error(chosen), error(plain))
    with pytest.raises(ValueError, match="discrepancy principle needs the noise level"):
        fit(InverseProblem(simulate("burgers", {"nu": 0.05}, points=16, n=64, u0=u0, fixed=("nu",)), ("u0",),
                           modes=4, n=64).with_data(obs.u[:16] * 0), regularization="discrepancy")
