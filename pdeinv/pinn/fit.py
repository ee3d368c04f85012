"""The outer loop of the PINN path: (FG)^2U estimates fed to optax Adam."""

from __future__ import annotations

import time

import numpy as np

from .._jax import jax, jnp
from ..result import FitResult
from .core import PINN, PINNConfig

__all__ = ["fit_pinn", "PINN_PRESETS"]

#: Table F.3 of Shen et al. for (FG)^2U with a PINN: T = 1000 unrolled SGD steps (lr 1e-3),
#: batch 5000, 5000 outer steps, outer Adam at the equation's ``paper_learning_rate`` (1e-2;
#: KdV 1e-3). Expected to need a GPU; it runs (slowly) on a CPU.
PINN_PRESETS = {
    "paper": {"config": {"depth": 9, "width": 20, "batch": 5000, "unroll": 1000, "inner_optimizer": "sgd",
                         "inner_lr": 1e-3, "warmup_steps": 0},
              "max_steps": 5000},
}


def fit_pinn(problem, init, *, seed=0, max_steps=None, learning_rate=None, directions=1, config=None,
             callback=None, preset=None, should_stop=None) -> FitResult:
    """Recover the unknowns with a PINN inner problem and forward-mode unrolled derivatives.

    Each outer step: draw ``directions`` gaussian directions v, carry each through the T
    unrolled inner steps with ``jax.jvp`` to get F and dF.v, form the (FG)^2U estimate
    ``mean_k (dF.v_k) v_k`` and take an Adam step on the (log-)parameters. The inner network
    and optimizer state are warm-started across outer steps. The solver is never called
    (``nfev`` = 0); ``evaluations`` counts outer evaluations (each one unroll of T inner
    steps). Running out of ``max_steps`` is status "max_steps", not convergence: the
    stochastic estimates give no convergence test.
    """
    import optax

    started = time.perf_counter()
    should_stop = should_stop or (lambda: False)
    name = problem.equation_class.name
    if preset is not None:
        if preset not in PINN_PRESETS:
            raise ValueError(f"unknown preset {preset!r}; expected one of {sorted(PINN_PRESETS)}")
        p = PINN_PRESETS[preset]
        config = PINNConfig(**p["config"])
        max_steps = p["max_steps"] if max_steps is None else max_steps
        learning_rate = problem.equation_class.paper_learning_rate
    config = config or PINNConfig()
    max_steps = 200 if max_steps is None else int(max_steps)
    if max_steps < 1:
        raise ValueError(f"max_steps must be a positive integer, got {max_steps!r}")
    learning_rate = 0.02 if learning_rate is None else float(learning_rate)
    directions = int(directions)
    if directions < 1:
        raise ValueError(f"directions must be a positive integer, got {directions!r}")
    if problem.field is not None:
        raise ValueError(f"the PINN path fits scalar parameters only, not the field {problem.field_name}")
    z = jnp.asarray(problem.to_z({**problem.default_init(), **(init or {})}))
    pinn = PINN(problem, config)
    key = jax.random.PRNGKey(seed)
    key, sub = jax.random.split(key)
    theta = pinn.init(sub)
    inner_state = pinn.inner.init(theta)

    # Warm-up: train the network at the initial parameters so the first outer derivatives mean
    # something (a random network's data misfit says nothing about lambda).
    if config.warmup_steps:
        key, sub = jax.random.split(key)
        warm = jax.jit(pinn.unroll)
        keys = jax.random.split(sub, config.warmup_steps)
        theta, inner_state = warm(z, theta, inner_state, keys)

    step_fn = jax.jit(lambda zz, vv, th, st, ks: pinn.forward_directional(zz, vv, th, st, ks))
    outer = optax.adam(learning_rate)
    outer_state = outer.init(z)
    history = {"nfev": [], "loss": [], "phase": [], "params": {k: [] for k in problem.unknowns}}
    nfev, message, status = 0, "stopped: max_steps reached", "max_steps"
    rng = np.random.default_rng(seed)
    for step in range(1, max_steps + 1):
        if should_stop():
            message, status = "interrupted", "interrupted"
            break
        key, sub = jax.random.split(key)
        keys = jax.random.split(sub, config.unroll)
        V = rng.standard_normal((directions, z.size))
        grads, losses = [], []
        new_state = None
        for v in V:
            loss, dloss, new_state = step_fn(z, jnp.asarray(v), theta, inner_state, keys)
            nfev += 1
            grads.append(float(dloss) * v)
            losses.append(float(loss))
        loss = float(np.mean(losses))
        history["nfev"].append(nfev)
        history["loss"].append(loss)
        history["phase"].append("pinn")
        for k, v in problem.to_params(np.asarray(z)).items():
            history["params"][k].append(v)
        if callback is not None and callback({"phase": "pinn", "nfev": nfev, "loss": loss,
                                              "params": problem.to_params(np.asarray(z)), "step": step}) is True:
            message, status = "stopped by callback", "interrupted"
            break
        if not np.isfinite(loss) or not np.all(np.isfinite(grads)):
            message, status = "stopped: the PINN training diverged (non-finite loss)", "diverged"
            break
        theta, inner_state = new_state
        updates, outer_state = outer.update(jnp.asarray(np.mean(grads, axis=0)), outer_state, z)
        z = optax.apply_updates(z, updates)
    obs = problem.observations
    result = FitResult(
        params=problem.to_params(np.asarray(z)),
        success=status == "converged",
        message=message,
        nfev=0,
        nit=len(history["loss"]),
        loss=history["loss"][-1] if history["loss"] else float("nan"),
        history=history,
        grid={"n": None, "dt": None, "grid_shift": None},  # no solver grid on this path
        wall_time=time.perf_counter() - started,
        seed=int(seed),
        settings={"method": "pinn", "learning_rate": learning_rate, "directions": directions,
                  "max_steps": max_steps, "unknowns": list(problem.unknowns), "preset": preset,
                  **{f"pinn_{k}": v for k, v in config.__dict__.items()}},
        equation=name,
        true_params=None if obs.true_params is None else {k: obs.true_params[k] for k in problem.unknowns
                                                          if k in obs.true_params},
        known_params=dict(problem.known),
        status=status,
        evaluations=nfev,
    )
    result.network = (pinn, theta)  # the trained network, for evaluating u_theta
    return result
