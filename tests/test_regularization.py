"""The smoothness weight of a field chosen from the data: the rules on a linear problem with a
known answer, then a noisy initial condition recovered with the chosen weight."""

import numpy as np
import pytest

from pdeinv import InverseProblem, fit, simulate
from pdeinv.fit.regularization import choose_penalty, choose_weight
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


@pytest.mark.parametrize("rule", ["discrepancy", "gcv", "evidence"])
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


@pytest.mark.parametrize("sigma_known", [True, False])
def test_evidence_finds_the_weight_of_the_prior_the_field_was_drawn_from(sigma_known):
    # Coefficients drawn from the prior the penalty stands for, c ~ N(0, (w0 k^2)^-1) (the
    # constant free), so w0 is the true value of the weight: the marginal likelihood's maximum
    # must sit near it (over 12 draws, the median within a factor 2), whether sigma is given
    # or estimated. A rule that ignores the prior (e.g. the discrepancy principle) has no reason to.
    w0, chosen = 4.0, []
    for seed in range(12):
        rng = np.random.default_rng(100 + seed)
        points, modes, sigma = 80, 16, 0.01
        j = np.arange(modes)
        k = (j + 1) // 2 + 0.0
        x = rng.uniform(-1, 1, points)
        basis = np.where((j % 2 == 1) | (j == 0), np.cos(np.pi * np.outer(x, k)), np.sin(np.pi * np.outer(x, k)))
        J = basis * np.exp(-0.02 * k**2) / sigma
        truth = np.where(k > 0, rng.normal(size=modes) / np.sqrt(w0 * np.maximum(k, 1) ** 2), 0.3)
        r = -(J @ truth) - rng.normal(size=points)
        scale = 1.0 if sigma_known else 2.5  # residuals in units of a sigma we do not know
        w, _ = choose_weight(J * scale, r * scale, k, "evidence", sigma_known=sigma_known)
        chosen.append(w / scale**2)
    assert 0.5 <= np.median(chosen) / w0 <= 2.0, np.array(chosen) / w0


@pytest.mark.parametrize("sigma_known", [True, False])
@pytest.mark.parametrize("q0", [1, 2, 3])
def test_evidence_finds_the_order_of_the_prior_the_field_was_drawn_from(q0, sigma_known):
    # c ~ N(0, (w0 k^(2 q0))^-1): the order q0 of the penalty w |k^q c|^2 is the truth, and the
    # evidence compares orders on one scale (-2 log p(data) up to a constant). Chance would pick
    # it on a quarter of the draws; measured: 12/12 (q0 = 1), 10/12 (q0 = 2), 9-10/12 (q0 = 3).
    picks = []
    for seed in range(12):
        rng = np.random.default_rng(200 + seed)
        points, modes, sigma, w0 = 80, 16, 0.01, 4.0
        j = np.arange(modes)
        k = (j + 1) // 2 + 0.0
        x = rng.uniform(-1, 1, points)
        basis = np.where((j % 2 == 1) | (j == 0), np.cos(np.pi * np.outer(x, k)), np.sin(np.pi * np.outer(x, k)))
        J = basis * np.exp(-0.02 * k**2) / sigma
        truth = np.where(k > 0, rng.normal(size=modes) / np.sqrt(w0 * np.maximum(k, 1) ** (2 * q0)), 0.3)
        r = -(J @ truth) - rng.normal(size=points)
        scale = 1.0 if sigma_known else 2.5
        q, w, _, by_order = choose_penalty(J * scale, r * scale, k, np.arange(modes), (1, 2, 3, 4), "evidence",
                                           sigma_known=sigma_known)
        assert by_order[q] == min(by_order.values())
        picks.append(q)
    assert picks.count(q0) >= 8, picks


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
    assert choice["rule"] == "evidence" and choice["weight"] > 0
    assert "chosen by evidence" in chosen.message and "|k^2 c|^2" in chosen.message
    assert chosen.summary()["regularization"] == {"weight": choice["weight"], "penalty_order": 2, "rule": "evidence",
                                                  "order_rule": None}
    assert error(chosen) < 0.8 * error(plain), (error(chosen), error(plain))
    with pytest.raises(ValueError, match="discrepancy principle needs the noise level"):
        fit(InverseProblem(simulate("burgers", {"nu": 0.05}, points=16, n=64, u0=u0, fixed=("nu",)), ("u0",),
                           modes=4, n=64).with_data(obs.u[:16] * 0), regularization="discrepancy")


def test_the_order_chosen_with_the_weight(tmp_path):
    from click.testing import CliRunner

    from pdeinv import save_observations
    from pdeinv.cli import cli

    obs = simulate("allen-cahn", {"D": lambda x: 0.01 * np.exp(0.5 * np.sin(np.pi * x)), "r": 1.0}, grid=(8, 16),
                   n=128, dt=5e-4, u0=lambda x: np.cos(np.pi * x) + 0.5 * np.sin(3 * np.pi * x), noise=0.02, seed=4)
    problem = InverseProblem(obs, ("D(x)",), modes=8, n=64, penalty_order="auto")
    result = fit(problem, auto_grid=False, regularization="auto", intervals="none")
    choice = result.settings["regularization"]
    q = choice["penalty_order"]["chosen"]
    assert q in (1, 2, 3, 4) and result.settings["problem"]["penalty_order"] == q
    last = choice["choices"][-1]["evidence_by_order"]
    assert set(last) == {1, 2, 3, 4} and min(last, key=last.get) == q
    assert "weight and order chosen by evidence" in result.message
    assert result.summary()["regularization"]["order_rule"] == "evidence"
    for bad, message in [({"regularization": "gcv"}, "the gcv rule cannot compare orders"),
                         ({}, "penalty_order='auto' is chosen with the weight")]:
        with pytest.raises(ValueError, match=message):
            fit(problem, auto_grid=False, **bad)
    with pytest.raises(ValueError, match="give a rule"):
        InverseProblem(obs, ("D(x)",), modes=8, n=64, penalty_order="auto", regularization=1.0)
    with pytest.raises(ValueError, match="penalty_order must be one of 1, 2, 3, 4"):
        InverseProblem(obs, ("D(x)",), modes=8, n=64, penalty_order=5)
    path = tmp_path / "ac.h5"
    save_observations(obs, path)
    done = CliRunner().invoke(cli, ["fit", "allen-cahn", "--obs", str(path), "--fit", "D(x)", "--modes", "8", "--n", "64",
                                    "--regularization", "auto", "--penalty-order", "auto", "--no-auto-grid", "--quiet"])
    assert done.exit_code == 0, done.output
    assert f"|k^{q} c|^2 (weight and order chosen by evidence)" in done.output.replace("|k c|", "|k^1 c|")
