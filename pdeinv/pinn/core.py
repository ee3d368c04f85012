"""Physics-informed network as the inner problem, forward-mode unrolling as the outer derivative.

This is the (FG)^2U path of Shen et al. (NeurIPS 2024): for PDE parameters lambda the inner
problem trains a network u_theta on the PDE residual at collocation points with T unrolled
optimizer steps; the outer loss is the data misfit of u_theta(T) at the observation points.
Its derivative along a random direction v is carried through the T steps with ``jax.jvp``
(forward mode), so memory does not grow with T; ``(v . grad F) v`` is the (FG)^2U estimate.

Network: an MLP with tanh (default depth 9, width 20, as in the paper) on the features
(t, sin(w (x - a)), cos(w (x - a))), w = 2 pi / L, so u is exactly periodic in x; the initial
condition is built in: u(t, x) = u0(x) + t NN(t, x), with u0 the trigonometric interpolant of
the observation file's samples (differentiable to any order).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._jax import jax, jnp
from jax.experimental.jet import jet

__all__ = ["PINN", "PINNConfig"]


@dataclass(frozen=True)
class PINNConfig:
    """Network and inner-problem settings.

    CPU defaults are small (batch 256, T = 20 unrolled Adam steps, 3000 warm-up steps); the
    paper preset is depth 9, width 20, batch 5000, T = 1000 SGD steps with lr 1e-3.
    """

    depth: int = 9
    width: int = 20
    batch: int = 256
    unroll: int = 20
    inner_optimizer: str = "adam"  # "adam" or "sgd"
    inner_lr: float = 1e-3
    warmup_steps: int = 3000

    def __post_init__(self):
        for name in ("depth", "width", "batch", "unroll"):
            value = getattr(self, name)
            if isinstance(value, bool) or int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.warmup_steps < 0:
            raise ValueError(f"warmup_steps must be >= 0, got {self.warmup_steps!r}")
        if self.inner_optimizer not in ("adam", "sgd"):
            raise ValueError(f"inner_optimizer must be 'adam' or 'sgd', got {self.inner_optimizer!r}")
        if not (np.isfinite(self.inner_lr) and self.inner_lr > 0):
            raise ValueError(f"inner_lr must be positive, got {self.inner_lr!r}")


class PINN:
    """A PINN for the equation of an observation set, with unrolled training.

    ``problem`` is an ``InverseProblem`` (for the observations, unknowns, known parameters and
    transforms); the spectral solver is not used.
    """

    def __init__(self, problem, config: PINNConfig | None = None):
        import optax

        self.problem = problem
        self.config = config or PINNConfig()
        obs = problem.observations
        cls = problem.equation_class
        if not cls.pinn_order:
            raise ValueError(f"equation {cls.name!r} declares no PINN residual (pinn_residual, pinn_order), so "
                             "method 'pinn' cannot fit it")
        if cls.complex_state:
            raise ValueError(f"the PINN path handles real fields only; {cls.name} has a complex state")
        self.equation = problem.equation  # its pinn_residual forms the PDE residual
        self.order = int(cls.pinn_order)
        self.a, b = obs.domain
        self.length = b - self.a
        self.t0, self.t1 = obs.t_span
        self.omega = 2 * np.pi / self.length
        m = obs.u0.size
        spectrum = np.fft.rfft(obs.u0) / m
        weights = np.full(spectrum.size, 2.0)
        weights[0] = 1.0
        if m % 2 == 0:
            weights[-1] = 1.0
        self.u0_coef = jnp.asarray(spectrum * weights)
        self.u0_k = jnp.asarray(self.omega * np.arange(spectrum.size))
        self.t_obs = jnp.asarray(obs.t)
        self.x_obs = jnp.asarray(obs.x)
        self.data = jnp.asarray(obs.u)
        self.weights = jnp.asarray(problem.weights)
        self.known = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in problem.known.items()}
        self.log_scaled = tuple(bool(v) for v in problem.log_scaled)
        self.names = problem.unknowns
        cfg = self.config
        self.inner = optax.adam(cfg.inner_lr) if cfg.inner_optimizer == "adam" else optax.sgd(cfg.inner_lr)

    # ---- network -------------------------------------------------------------------------------
    def init(self, key):
        """Glorot-normal weights for (3 features) -> depth x width -> 1."""
        cfg = self.config
        sizes = [3] + [cfg.width] * cfg.depth + [1]
        theta = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            key, sub = jax.random.split(key)
            scale = jnp.sqrt(2.0 / (fan_in + fan_out))
            theta.append((scale * jax.random.normal(sub, (fan_in, fan_out), dtype=jnp.float64),
                          jnp.zeros(fan_out, dtype=jnp.float64)))
        return theta

    def u0(self, x):
        return jnp.real(jnp.sum(self.u0_coef * jnp.exp(1j * self.u0_k * (x - self.a))))

    def u(self, theta, t, x):
        """u_theta(t, x) for scalars t, x."""
        phase = self.omega * (x - self.a)
        h = jnp.stack([(t - self.t0) / (self.t1 - self.t0) * 2 - 1, jnp.sin(phase), jnp.cos(phase)])
        for W, b in theta[:-1]:
            h = jnp.tanh(h @ W + b)
        W, b = theta[-1]
        return self.u0(x) + (t - self.t0) * (h @ W + b)[0]

    def params(self, z):
        params = dict(self.known)
        for i, (name, is_log) in enumerate(zip(self.names, self.log_scaled)):
            params[name] = jnp.exp(z[i]) if is_log else z[i]
        return params

    def pde_residual(self, theta, params, t, x):
        """The equation's ``pinn_residual`` with u's derivatives by AD: ``d["t"]`` and
        ``d["x"], d["xx"], ...`` up to the equation's ``pinn_order``."""
        u = lambda tt, xx: self.u(theta, tt, xx)
        # Taylor mode: one pass gives every x-derivative (nested reverse mode, grad of grad of
        # grad for KdV's u_xxx, makes graphs that take XLA several times longer to compile).
        d = {"t": jax.jvp(lambda tt: u(tt, x), (t,), (jnp.ones_like(t),))[1]}
        one, zero = jnp.ones_like(x), jnp.zeros_like(x)
        value, series = jet(lambda s: u(t, s), (x,), ((one,) + (zero,) * (self.order - 1),))
        for order in range(1, self.order + 1):
            d["x" * order] = series[order - 1]
        return self.equation.pinn_residual(value, d, params)

    def inner_loss(self, theta, params, tc, xc):
        r = jax.vmap(lambda t, x: self.pde_residual(theta, params, t, x))(tc, xc)
        return jnp.mean(r**2)

    def collocation(self, key):
        kt, kx = jax.random.split(key)
        n = self.config.batch
        tc = jax.random.uniform(kt, (n,), minval=self.t0, maxval=self.t1, dtype=jnp.float64)
        xc = jax.random.uniform(kx, (n,), minval=self.a, maxval=self.a + self.length, dtype=jnp.float64)
        return tc, xc

    def predict(self, theta, t, x):
        return jax.vmap(lambda tt, xx: self.u(theta, tt, xx))(t, x)

    # ---- unrolled inner training ------------------------------------------------------------
    def unroll(self, z, theta, opt_state, keys):
        """T = len(keys) inner optimizer steps at parameters z (a lax.scan)."""
        params = self.params(z)

        def step(carry, key):
            th, st = carry
            tc, xc = self.collocation(key)
            g = jax.grad(self.inner_loss)(th, params, tc, xc)
            updates, st = self.inner.update(g, st, th)
            th = jax.tree_util.tree_map(lambda a, b: a + b, th, updates)
            return (th, st), None

        (theta, opt_state), _ = jax.lax.scan(step, (theta, opt_state), keys)
        return theta, opt_state

    def outer_loss(self, theta):
        pred = self.predict(theta, self.t_obs, self.x_obs)
        return jnp.mean(((pred - self.data) * self.weights) ** 2)

    def unrolled_outer(self, z, theta, opt_state, keys):
        """F(z) = outer loss after unrolling from (theta, opt_state); also returns the new state."""
        theta_T, state_T = self.unroll(z, theta, opt_state, keys)
        return self.outer_loss(theta_T), (theta_T, state_T)

    def forward_directional(self, z, v, theta, opt_state, keys):
        """(F, dF/dz . v, new inner state) by forward-mode AD through the unroll."""
        f = lambda zz: self.unrolled_outer(zz, theta, opt_state, keys)
        (loss, state), (dloss, _) = jax.jvp(f, (z,), (v,))
        return loss, dloss, state

    def reverse_gradient(self, z, theta, opt_state, keys):
        """(F, grad F) by reverse-mode AD through the unroll (memory grows with T)."""
        return jax.value_and_grad(lambda zz: self.unrolled_outer(zz, theta, opt_state, keys)[0])(z)
