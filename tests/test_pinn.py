"""The PINN path: forward-mode unrolled derivatives against FD and reverse mode; a real inner solver."""

import numpy as np
import pytest
from click.testing import CliRunner

from pdeinv import InverseProblem, fit, save_observations, simulate
from pdeinv._jax import jax, jnp
from pdeinv.cli import cli
from pdeinv.pinn import PINN, PINNConfig
from pdeinv.solvers import Burgers


@pytest.fixture(scope="module")
def obs():
    return simulate("burgers", {"nu": 0.05}, points=16, n=128)


def test_residual_derivatives_match_nested_autodiff(monkeypatch):
    """The x-derivatives the residual sees (Taylor mode, up to KdV's third) equal nested
    reverse-mode derivatives of the network, and d["t"] its time derivative."""
    pinn = PINN(InverseProblem(simulate("kdv", {}, points=9, n=64)), PINNConfig(depth=3, width=8))
    theta = pinn.init(jax.random.PRNGKey(0))
    seen = lambda u, d, params: jnp.stack([u, d["t"], d["x"], d["xx"], d["xxx"]])  # noqa: E731
    monkeypatch.setattr(pinn.equation, "pinn_residual", seen)
    u = lambda t, x: pinn.u(theta, t, x)  # noqa: E731
    u_x = jax.grad(u, 1)
    u_xx = jax.grad(u_x, 1)
    nested = lambda t, x: jnp.stack([u(t, x), jax.grad(u, 0)(t, x), u_x(t, x), u_xx(t, x),  # noqa: E731
                                     jax.grad(u_xx, 1)(t, x)])
    taylor = jax.jit(jax.vmap(lambda t, x: pinn.pde_residual(theta, {}, t, x)))
    t, x = jnp.asarray([0.1, 0.5, 0.9]), jnp.asarray([-0.7, 0.2, 0.95])
    for got, want in zip(np.asarray(taylor(t, x)), np.asarray(jax.jit(jax.vmap(nested))(t, x))):
        assert np.allclose(got, want, rtol=1e-12, atol=1e-12 * np.max(np.abs(want))), (got, want)
        assert np.all(np.abs(want[2:]) > 1e-6)  # the derivatives are not trivially zero


# The KdV case (third derivative) runs with -m slow; the derivatives it adds are checked above.
@pytest.mark.parametrize("equation, params", [
    ("burgers", {"nu": 0.05}), pytest.param("kdv", {"lambda2": 0.01}, marks=pytest.mark.slow)])
def test_jvp_through_unroll_matches_finite_difference_and_reverse_mode(equation, params):
    data = simulate(equation, params, points=9, n=64)
    problem = InverseProblem(data)
    pinn = PINN(problem, PINNConfig(depth=3, width=8, batch=16, unroll=3))
    theta = pinn.init(jax.random.PRNGKey(0))
    state = pinn.inner.init(theta)
    keys = jax.random.split(jax.random.PRNGKey(1), 3)
    z = jnp.asarray(problem.to_z({k: 1.4 * v for k, v in params.items()}))
    v = jnp.ones_like(z)
    directional = jax.jit(pinn.forward_directional)
    _, forward, _ = directional(z, v, theta, state, keys)
    _, grad = jax.jit(pinn.reverse_gradient)(z, theta, state, keys)
    F = lambda zz: float(directional(zz, v, theta, state, keys)[0])  # F itself, from the same program
    h = 1e-4
    central = (F(z + h * v) - F(z - h * v)) / (2 * h)
    assert abs(float(forward) - central) <= 1e-6 * abs(central)
    assert abs(float(forward) - float(grad @ v)) <= 1e-12 * abs(central)


def test_pinn_trained_at_true_parameters_fits_the_reference(obs):
    problem = InverseProblem(obs)
    pinn = PINN(problem, PINNConfig(depth=4, width=20, batch=256, inner_lr=3e-3))
    theta = pinn.init(jax.random.PRNGKey(0))
    z = jnp.asarray(problem.to_z({"nu": 0.05}))
    theta, _ = jax.jit(pinn.unroll)(z, theta, pinn.inner.init(theta), jax.random.split(jax.random.PRNGKey(1), 3000))
    t = np.linspace(0.1, 1.0, 10)
    eq = Burgers(n=128)
    reference = eq.solve({"nu": 0.05}, t)
    tt, xx = np.meshgrid(t, eq.x, indexing="ij")
    u = np.asarray(pinn.predict(theta, jnp.asarray(tt.ravel()), jnp.asarray(xx.ravel()))).reshape(reference.shape)
    error = np.linalg.norm(u - reference) / np.linalg.norm(reference)
    assert error < 0.03, error  # a trained PINN; an untrained one is ~100 % off
    untrained = pinn.init(jax.random.PRNGKey(0))
    u0 = np.asarray(pinn.predict(untrained, jnp.asarray(tt.ravel()), jnp.asarray(xx.ravel()))).reshape(reference.shape)
    assert np.linalg.norm(u0 - reference) / np.linalg.norm(reference) > 0.1


def test_pinn_fit_moves_toward_the_truth(obs):
    from pdeinv.pinn import fit_pinn

    config = PINNConfig(depth=4, width=20, batch=128, unroll=5, warmup_steps=1000, inner_lr=3e-3)
    result = fit_pinn(InverseProblem(obs), {"nu": 0.1}, max_steps=60, learning_rate=0.05, config=config)
    assert abs(np.log(result.params["nu"] / 0.05)) < 0.25 * abs(np.log(0.1 / 0.05))
    assert result.nfev == 0 and result.evaluations == 60 and len(result.history["loss"]) == 60


def test_cli_accepts_pinn_method(tmp_path, obs):
    save_observations(obs, tmp_path / "o.h5")
    with pytest.raises(ValueError, match="not supported for method 'pinn'"):
        fit(InverseProblem(obs), method="pinn", checkpoint=str(tmp_path / "c.h5"))
    bad = CliRunner().invoke(cli, ["fit", "burgers", "--obs", str(tmp_path / "o.h5"), "--method", "pinn",
                                   "--steps", "0", "--quiet"])
    assert bad.exit_code == 2 and "max_steps must be a positive integer" in bad.output
