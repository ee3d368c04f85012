"""Forward solvers against exact solutions, published data and convergence orders."""

import re

import numpy as np
import pytest
from exact import burgers_cole_hopf, kdv_soliton

import jax
from pdeinv.solvers import AllenCahn, Burgers, KdV, SolverDivergedError, etdrk4_coefficients
from pdeinv.solvers.core import BatchedSolver, irfft, library_fft, rfft, step_schedule

NU = 0.01 / np.pi


def rel_l2(a, b):
    return np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(np.asarray(b))


def test_burgers_matches_cole_hopf_at_default_resolution():
    eq = Burgers()
    t = np.linspace(0, 1, 11)
    u = eq.solve({"nu": NU}, t)
    exact = np.array([burgers_cole_hopf(tk, eq.x, NU) for tk in t])
    assert u.shape == (11, eq.n)
    assert rel_l2(u, exact) <= 1e-6


def test_burgers_matches_published_exact_solution(burgers_shock_path):
    from scipy.io import loadmat

    data = loadmat(burgers_shock_path)
    x = data["x"].ravel()[:-1]  # drop the duplicate periodic endpoint x = 1
    t = data["t"].ravel()
    usol = data["usol"][:-1, :].T  # (nt, nx)
    eq = Burgers(n=1024)
    u = eq.solve({"nu": NU}, t)
    at_data_points = eq.interpolate(u, x)
    # The published field is given to ~1e-7 near the shock (its own quadrature); our solver is
    # 1e-8 accurate, so agreement to 1e-5 checks both independently of our own earlier output.
    assert rel_l2(at_data_points, usol) < 1e-5


def test_kdv_soliton_travels_several_widths():
    lambda1, lambda2, speed = 6.0, 1.0, 1.0
    eq = KdV(
        n=256,
        domain=(-40.0, 40.0),
        t_span=(0.0, 12.0),
        u0=lambda x: kdv_soliton(0.0, x, lambda1, lambda2, speed, x0=-6.0),
        dt=5e-3,
    )
    t = np.array([4.0, 8.0, 12.0])  # the 2-wide soliton moves 12 units = 6 widths
    u = eq.solve({"lambda1": lambda1, "lambda2": lambda2}, t)
    exact = np.array([kdv_soliton(tk, eq.x, lambda1, lambda2, speed, x0=-6.0) for tk in t])
    assert rel_l2(u, exact) <= 1e-8


def _observed_order(cls, params, n, dts, t):
    ref = cls(n=n, dt=dts[-1] / 16).solve(params, t)
    errors = np.array([rel_l2(cls(n=n, dt=dt).solve(params, t), ref) for dt in dts])
    slope = np.polyfit(np.log(dts), np.log(errors), 1)[0]
    return slope, errors


@pytest.mark.parametrize(
    "cls, params, dts",
    [
        (Burgers, {"nu": 0.02}, [8e-3, 4e-3, 2e-3, 1e-3]),
        (AllenCahn, {}, [2e-2, 1e-2, 5e-3, 2.5e-3]),
        (KdV, {}, [4e-3, 2e-3, 1e-3, 5e-4]),
    ],
)
def test_etdrk4_is_fourth_order_in_time(cls, params, dts):
    slope, errors = _observed_order(cls, params, 128, dts, np.array([0.5, 1.0]))
    assert errors[-1] > 1e-13, "sweep reached round-off; the slope would be meaningless"
    assert 3.6 <= slope <= 4.4, (slope, errors)


# Allen-Cahn keeps a finer step than its scalar case needs, for diffusion fields (see its
# default_dt), so only an upper bound applies to it.
@pytest.mark.parametrize("cls, floor", [(Burgers, 1e-9), (KdV, 1e-9), (AllenCahn, 0.0)])
def test_default_step_is_accurate_to_about_1e_8_at_the_default_parameters(cls, floor):
    # The default step is chosen for accuracy, not just stability: on each equation's default
    # grid its time error (against dt/8, where fourth order leaves 4000x less) stays near 1e-8,
    # what 64 observations can resolve, and not orders below it (which would waste steps).
    eq = cls()
    t = np.linspace(0, 1, 11)[1:]
    error = rel_l2(eq.solve({}, t), cls(dt=eq.dt / 8).solve({}, t))
    assert floor < error < 2e-8, (eq.dt, error)


# Allen-Cahn's default u0 = x^2 cos(pi x) has a kink at the periodic boundary (u0' jumps from
# -2 to 2), which limits convergence to algebraic; a smooth periodic u0 shows the spectral rate.
SMOOTH_U0 = lambda x: 0.5 * np.cos(np.pi * x) + 0.3 * np.sin(2 * np.pi * x)


@pytest.mark.parametrize(
    "cls, params, u0", [(Burgers, {"nu": 0.05}, None), (KdV, {}, None), (AllenCahn, {"D": 1e-2}, SMOOTH_U0)]
)
def test_spectral_convergence_in_space(cls, params, u0):
    t = np.array([0.5])
    ref = cls(n=512, dt=1e-3, u0=u0).solve(params, t)
    errors = [rel_l2(cls(n=m, dt=1e-3, u0=u0).solve(params, t), ref[:, :: 512 // m]) for m in (32, 64, 128)]
    # Geometric decay: every doubling of n gains more than a factor 10, and the gain itself
    # grows (an algebraic rate n^-p would give the same factor 2^p each time), until round-off.
    gains = [errors[0] / errors[1], errors[1] / max(errors[2], 1e-15)]
    assert gains[0] > 10 and gains[1] > 10, errors
    assert gains[1] > gains[0] or errors[2] < 1e-12, errors


@pytest.mark.parametrize("cls, params", [(Burgers, {"nu": NU}), (KdV, {})])
def test_mean_is_conserved(cls, params):
    eq = cls(n=256)
    u = eq.solve(params, np.linspace(0, 1, 6))
    mean = u.mean(axis=1)
    assert np.max(np.abs(mean - eq.u0.mean())) <= 1e-12


def test_output_is_exact_at_irregular_times():
    # A time between steps must come out as if the solver had stopped there.
    eq = Burgers(n=64, dt=1e-2)
    p = {"nu": 0.05}
    irregular = eq.solve(p, [0.0, 0.013, 0.5, 0.731])
    assert np.allclose(irregular[0], eq.u0, rtol=0, atol=1e-15)  # FFT round trip
    fine = Burgers(n=64, dt=1e-4).solve(p, [0.013, 0.5, 0.73, 0.731])
    # Off by one step's rounding of the time (0.73 vs 0.731) would be ~1e-3; the truncation
    # error of dt = 1e-2 steps is ~1e-9.
    assert rel_l2(fine[2], fine[3]) > 1e-4
    for k, row in zip((0, 1, 3), (1, 2, 3)):
        assert rel_l2(irregular[row], fine[k]) < 1e-7


def test_step_schedule_lands_on_every_time():
    t = np.array([0.1, 0.25, 0.25 + 1e-3, 1.0])
    s = step_schedule(t, 0.0, 0.05)
    ends = np.cumsum(s.step_sizes[s.step_kind])
    landed = ends[s.output_slot < s.n_out]
    assert np.allclose(landed, t, rtol=0, atol=1e-14)
    assert np.all(s.step_sizes <= 0.05 + 1e-15)


def test_etdrk4_coefficients_match_series_for_small_arguments():
    # phi functions of z = hL near 0, from their Taylor series (Cox & Matthews):
    # f1/h -> 1/6, f2/h -> 1/6, f3/h -> 1/6, Q/h -> 1/2 as z -> 0.
    L = np.array([0.0, -1e-6, 1e-6j])
    E, E2, Q, f1, f2, f3 = (np.asarray(c) for c in etdrk4_coefficients(L, 1.0))
    assert np.allclose(Q, 0.5, atol=1e-6)
    for f in (f1, f2, f3):
        assert np.allclose(f, 1 / 6, atol=1e-6)
    # and against the explicit formula where it has no cancellation
    z = -3.0 + 2.0j
    ez = np.exp(z)
    explicit_f1 = (-4 - z + ez * (4 - 3 * z + z**2)) / z**3
    assert abs(np.asarray(etdrk4_coefficients(np.array([z]), 1.0)[3])[0] - explicit_f1) < 1e-13


def _phi_reference(z):
    """phi_1, phi_2, phi_3 of z: Taylor series for |z| < 0.5, closed forms elsewhere."""
    from math import factorial

    small = np.abs(z) < 0.5
    safe = np.where(small, 1.0, z)
    series = lambda k: sum(z**j / factorial(j + k) for j in range(30))
    p1 = np.where(small, series(1), (np.exp(z) - 1) / safe)
    p2 = np.where(small, series(2), (np.exp(z) - 1 - z) / safe**2)
    p3 = np.where(small, series(3), (np.exp(z) - 1 - z - z**2 / 2) / safe**3)
    return p1, p2, p3


def test_etdrk4_coefficients_match_phi_functions_over_the_complex_plane():
    # stiff (large negative), dispersive (imaginary), growing and mixed arguments z = hL
    z = np.concatenate([-np.logspace(-8, 4, 25), 1j * np.logspace(-8, 4, 25), np.logspace(-8, 0.7, 10),
                        -np.logspace(-3, 3, 13) * (1 + 0.7j)])
    p1, p2, p3 = _phi_reference(z)
    expected = {"Q": _phi_reference(z / 2)[0] / 2, "f1": p1 - 3 * p2 + 4 * p3, "f2": p2 - 2 * p3, "f3": -p2 + 4 * p3}
    E, E2, Q, f1, f2, f3 = (np.asarray(c) for c in etdrk4_coefficients(z, 1.0))
    assert np.allclose(E, np.exp(z), rtol=1e-14, atol=0) and np.allclose(E2, np.exp(z / 2), rtol=1e-14, atol=0)
    for name, value in {"Q": Q, "f1": f1, "f2": f2, "f3": f3}.items():
        assert np.max(np.abs(value - expected[name]) / np.abs(expected[name])) <= 5e-12, name


@pytest.mark.parametrize("size", [1, 4, 5])
def test_batched_solve_equals_loop(size):
    # odd sizes exercise the padding when the batch is split across host devices
    eq = KdV(n=64)
    lambdas = np.array([0.002, 0.0025, 0.003, 0.004, 0.0045])[:size]
    t = np.linspace(0, 1, 5)
    batched = eq.solve_batch({"lambda2": lambdas}, t)
    for i, lam in enumerate(lambdas):
        single = eq.solve({"lambda2": lam}, t)
        assert np.max(np.abs(batched[i] - single)) <= 1e-13


@pytest.mark.parametrize("n", [8, 10, 64, 256])
def test_packed_real_fft_matches_numpy(n):
    rng = np.random.default_rng(n)
    u = rng.normal(size=(3, n))
    v = np.fft.rfft(u)
    assert np.max(np.abs(np.asarray(rfft(jax.numpy.asarray(u))) - v)) <= 1e-13 * n
    # the inverse ignores imaginary parts of the mean and Nyquist modes, as NumPy's does
    v_noisy = v.copy()
    v_noisy[:, 0] += 0.3j
    v_noisy[:, -1] -= 0.7j
    assert np.max(np.abs(np.asarray(irfft(jax.numpy.asarray(v_noisy), n)) - np.fft.irfft(v_noisy, n))) <= 1e-14 * n
    assert np.max(np.abs(np.asarray(irfft(rfft(jax.numpy.asarray(u)), n)) - u)) <= 1e-14 * n


def test_library_fft_switch_changes_the_transform_not_the_numbers():
    u = jax.numpy.asarray(np.random.default_rng(0).normal(size=(2, 64)))

    def fft_lengths(fn):  # the packed transform is a complex FFT of half the length
        return set(re.findall(r"fft_lengths=\((\d+),\)", str(jax.make_jaxpr(fn)(u))))

    assert fft_lengths(lambda a: irfft(rfft(a), 64)) == {"32"}
    with library_fft():
        assert fft_lengths(lambda a: irfft(rfft(a), 64)) == {"64"}
        assert np.max(np.abs(np.asarray(rfft(u)) - np.fft.rfft(np.asarray(u)))) <= 1e-13
    assert fft_lengths(lambda a: rfft(a)) == {"32"}  # the context is left behind
    # the batched solver variant is traced with the library transform and agrees to rounding
    eq = Burgers(n=64, dt=1e-3)
    t = np.array([0.25, 0.5])
    p, v0 = eq.params_pytree(eq.defaults), eq.initial_spectrum()
    single = np.asarray(eq.spectral_solver(t)(p, v0))
    assert np.max(np.abs(np.asarray(eq.spectral_solver(t, batched=True)(p, v0)) - single)) <= 1e-13


def test_batched_solver_splits_and_pads_across_devices():
    # the same numbers whatever the split and the chunk sizes; with one device it is a plain vmap
    fn = lambda p, c: jax.numpy.sin(p["a"]) * c
    for chunks in (None, (1,), (3,), (2, 4)):
        batched = BatchedSolver(fn, in_axes=(0, None), chunks=chunks)
        for size in (1, 2, 3, 7, 9):
            a = np.linspace(0.1, 1.0, size)
            out = np.asarray(batched({"a": a}, 2.0))
            assert out.shape == (size,)
            assert np.allclose(out, 2.0 * np.sin(a), rtol=0, atol=1e-15)
    with pytest.raises(ValueError, match="positive"):
        BatchedSolver(fn, in_axes=(0, None), chunks=(0,))


def test_batch_plan_pads_only_the_smallest_chunk():
    from pdeinv.solvers.batching import batch_plan, default_chunks

    assert default_chunks(1) == (1, 10, 16) and default_chunks(2) == (2, 10, 16)
    assert default_chunks(3) == (3, 12, 24)

    assert batch_plan(1, (2, 10, 16)) == [2]
    assert batch_plan(10, (2, 10, 16)) == [10]  # a one-unknown scan in one chunk
    assert batch_plan(9, (2, 10, 16)) == [2] * 5  # only the smallest chunk is ever padded
    assert batch_plan(16, (2, 10, 16)) == [16]
    assert batch_plan(17, (2, 10, 16)) == [16, 2]  # the scan of two unknowns, and its start
    assert batch_plan(35, (2, 10, 16)) == [16, 16, 2, 2]
    assert batch_plan(15, (2, 16)) == [2] * 8
    assert batch_plan(5, (1,)) == [1] * 5
    with pytest.raises(ValueError, match="at least one member"):
        batch_plan(0, (2,))


def test_a_padded_batch_equals_the_unpadded_one():
    """Chunks padded with copies of the last member give each member the numbers of one plain
    vmapped batch of exactly the members (to 1e-12) and of any other padding (bitwise)."""
    eq = Burgers(n=64, dt=2e-3)
    t, x = np.array([0.2, 0.5, 0.5, 0.9, 1.0]), np.array([-0.3, 0.1, 0.7, -0.9, 0.4])
    fn = eq.point_solver(t, x, batched=True)
    u0_hat = eq.initial_spectrum()
    nus = np.linspace(0.02, 0.08, 7)
    params = {"nu": nus, "lambda1": np.linspace(0.9, 1.1, 7)}
    plain = np.asarray(jax.jit(jax.vmap(fn, in_axes=(0, None)))(params, u0_hat))
    three = BatchedSolver(fn, in_axes=(0, None), chunks=(3,))(params, u0_hat)  # 3 + 3 + 1 padded to 3
    four = BatchedSolver(fn, in_axes=(0, None), chunks=(4,))(params, u0_hat)  # 4 + 3 padded to 4
    assert three.shape == four.shape == plain.shape == (7, 5)
    assert np.max(np.abs(three - plain)) <= 1e-12 * np.max(np.abs(plain))
    assert np.max(np.abs(four - plain)) <= 1e-12 * np.max(np.abs(plain))
    single = BatchedSolver(fn, in_axes=(0, None), chunks=(3,))({k: v[-1:] for k, v in params.items()}, u0_hat)
    assert np.array_equal(single[0], three[-1])  # the last member alone (padded x3) and in its chunk
    # the check can fail: a member solved with another viscosity differs
    assert np.max(np.abs(three[0] - three[1])) > 1e-6


def test_spectral_solver_is_vmappable_and_differentiable():
    eq = Burgers(n=32)
    solver = eq.spectral_solver(np.array([0.5]))
    u0_hat = eq.initial_spectrum()
    nus = jax.numpy.array([0.05, 0.1])
    out = jax.vmap(solver, in_axes=({"nu": 0}, None))({"nu": nus}, u0_hat)
    assert out.shape == (2, 1, 17)
    grad = jax.grad(lambda nu: jax.numpy.sum(jax.numpy.abs(solver({"nu": nu}, u0_hat)) ** 2))(0.05)
    h = 1e-6
    f = lambda nu: float(np.sum(np.abs(solver({"nu": nu}, u0_hat)) ** 2))
    assert np.isclose(grad, (f(0.05 + h) - f(0.05 - h)) / (2 * h), rtol=1e-6)


def test_fourier_interpolation_is_exact_for_band_limited_fields():
    eq = Burgers(n=32)
    field = lambda x: np.sin(3 * np.pi * x) + 0.5 * np.cos(7 * np.pi * x) + 0.25
    xq = np.array([-0.999, -0.3, 0.0123, 0.77, 1.5])  # 1.5 wraps to -0.5
    values = eq.interpolate(field(eq.x)[None, :], xq)
    assert np.allclose(values[0], field(xq), atol=1e-13)
    # at grid points it returns the samples, Nyquist mode included
    rough = np.random.default_rng(0).normal(size=32)
    assert np.allclose(eq.interpolate(rough, eq.x), rough, atol=1e-13)


def test_u0_array_on_other_grid_is_resampled_spectrally():
    coarse = np.linspace(-1, 1, 16, endpoint=False)
    eq = AllenCahn(n=64, u0=np.cos(np.pi * coarse) + np.sin(2 * np.pi * coarse))
    assert np.allclose(eq.u0, np.cos(np.pi * eq.x) + np.sin(2 * np.pi * eq.x), atol=1e-13)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: Burgers(n=63), "n must be an even integer"),
        (lambda: Burgers(n=4), "n must be an even integer"),
        (lambda: Burgers(n=32, dt=-1.0), "dt must be a positive"),
        (lambda: Burgers(n=32, domain=(1, -1)), "domain"),
        (lambda: Burgers(n=32).solve({"nu": -0.1}, [0.5]), "parameter nu must be positive"),
        (lambda: AllenCahn(n=32).solve({"D": 0.0}, [0.5]), "parameter D must be positive"),
        (lambda: KdV(n=32).solve({"nu": 0.1}, [0.5]), "unknown parameter name"),
        (lambda: Burgers(n=32).solve({"nu": 0.1}, [0.5, 0.2]), "t must be strictly increasing"),
        (lambda: Burgers(n=32).solve({"nu": 0.1}, [0.5, 1.5]), "t must lie in t_span"),
        (lambda: Burgers(n=32).solve({"nu": float("nan")}, [0.5]), "parameter nu must be finite"),
        (lambda: Burgers(n=32, u0=np.ones((2, 2))), "u0 must be"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_blow_up_is_reported_not_returned():
    # Far too large a step for the explicit advection term: the solution overflows.
    eq = Burgers(n=256, dt=0.1)
    with pytest.raises(SolverDivergedError, match="diverged"):
        eq.solve({"nu": 1e-4}, [1.0])
    u, finite = eq.solve_batch({"nu": [1e-4, 1.0]}, [1.0], on_blowup="mask")
    assert finite.tolist() == [False, True]
    with pytest.raises(SolverDivergedError):
        eq.solve_batch({"nu": [1e-4, 1.0]}, [1.0])


def test_solve_at_scattered_points_matches_exact_solution():
    eq = Burgers(n=1024)
    rng = np.random.default_rng(1)
    t_points = rng.uniform(0.05, 1.0, 40)
    x_points = rng.uniform(-1.0, 1.0, 40)
    values = eq.solve_at({"nu": NU}, t_points, x_points)
    exact = np.array([burgers_cole_hopf(tk, np.array([xk]), NU)[0] for tk, xk in zip(t_points, x_points)])
    assert np.max(np.abs(values - exact)) < 1e-6


# ---- Allen-Cahn with a diffusion field D(x) ---------------------------------------------------
def _diffusion_field(x):
    return 1e-3 * np.exp(0.6 * np.sin(np.pi * x) + 0.3 * np.cos(2 * np.pi * x))


def _smooth_u0(x):
    return np.cos(np.pi * x) + 0.4 * np.sin(2 * np.pi * x)


def test_allen_cahn_diffusion_field_matches_independent_method_of_lines():
    # A separate NumPy right-hand side, (D u_x)_x + r (u - u^3) without the D* splitting,
    # integrated by SciPy's DOP853 at tight tolerance.
    from scipy.integrate import solve_ivp

    n, r = 64, 5.0
    eq = AllenCahn(n=n, u0=_smooth_u0)
    t = np.linspace(0, 1, 6)
    u = eq.solve({"D": _diffusion_field, "r": r}, t)
    ik = 1j * np.pi * np.arange(n // 2 + 1)
    ik[-1] = 0
    D = _diffusion_field(eq.x)

    def rhs(_, w):
        w_x = np.fft.irfft(ik * np.fft.rfft(w), n)
        return np.fft.irfft(ik * np.fft.rfft(D * w_x), n) + r * (w - w**3)

    ref = solve_ivp(rhs, (0, 1), eq.u0, t_eval=t, method="DOP853", rtol=1e-12, atol=1e-13).y.T
    assert rel_l2(u, ref) <= 1e-9


def test_allen_cahn_constant_field_equals_scalar_and_conserves_mean():
    eq = AllenCahn(n=64, u0=_smooth_u0)
    t = np.linspace(0, 1, 5)
    as_field = eq.solve({"D": np.full(64, 2e-3)}, t)
    assert np.max(np.abs(as_field - eq.solve({"D": 2e-3}, t))) <= 1e-13
    # conservative form: without the reaction term the mean stays put
    u = eq.solve({"D": _diffusion_field, "r": 0.0}, t)
    assert np.max(np.abs(u.mean(axis=1) - u[0].mean())) <= 1e-12


def test_allen_cahn_diffusion_field_time_order():
    t = np.linspace(0, 1, 6)
    params = {"D": _diffusion_field}
    ref = AllenCahn(n=64, u0=_smooth_u0, dt=1 / 8192).solve(params, t)
    steps = np.array([32, 64, 128, 256])
    errors = [rel_l2(AllenCahn(n=64, u0=_smooth_u0, dt=1 / s).solve(params, t), ref) for s in steps]
    slope = -np.polyfit(np.log(steps), np.log(errors), 1)[0]
    assert 3.6 <= slope <= 4.4, (errors, slope)


def test_allen_cahn_diffusion_field_batch_and_bad_input():
    eq = AllenCahn(n=32, u0=_smooth_u0)
    t = np.array([0.25, 0.5])
    fields = np.stack([s * _diffusion_field(eq.x) for s in (0.5, 1.0, 2.0)])
    batched = eq.solve_batch({"D": fields}, t)
    for i in range(3):
        assert np.max(np.abs(batched[i] - eq.solve({"D": fields[i]}, t))) <= 1e-13
    # samples on another grid are resampled spectrally
    fine = np.linspace(-1, 1, 128, endpoint=False)
    assert np.max(np.abs(eq.solve({"D": _diffusion_field(fine)}, t) - eq.solve({"D": _diffusion_field}, t))) <= 1e-10
    with pytest.raises(ValueError, match="D must be positive"):
        eq.solve({"D": lambda x: np.sin(np.pi * x)}, t)
    with pytest.raises(ValueError, match="r must be a number, not a function"):
        eq.solve({"r": lambda x: x}, t)
    with pytest.raises(ValueError, match="shape"):
        eq.solve_batch({"D": np.ones((2, 31)) * 1e-3}, t)


@pytest.mark.parametrize("times", [3, 300], ids=["grid", "scattered"])
def test_interpolation_matrix_is_an_operand_not_a_compiled_constant(times):
    # Folded into the program as a constant, a (points x modes) matrix made XLA compile for
    # seconds (7.5 s at 25,245 points); as an operand the program's text stays small.
    eq = Burgers(n=256)
    rng = np.random.default_rng(0)
    t, x = rng.choice(np.linspace(0.1, 1, times), 3000), rng.uniform(-1, 1, 3000)
    solver = eq.point_solver(t, x)
    matrix_bytes = sum(a.nbytes for a in jax.tree_util.tree_leaves(solver.operands))
    assert matrix_bytes > 5e6
    params, u0_hat = eq.params_pytree(eq.defaults), eq.initial_spectrum()
    program = jax.jit(solver.fn).lower(params, u0_hat, solver.operands).as_text()
    assert len(program) < 0.05 * matrix_bytes, len(program)
    # and the values are those of interpolating the solved field
    u = eq.solve({}, np.unique(t))
    expected = np.array([eq.interpolate(u[np.searchsorted(np.unique(t), tj)], xj) for tj, xj in zip(t[:20], x[:20])])
    assert np.max(np.abs(np.asarray(solver(params, u0_hat))[:20] - expected.ravel())) < 1e-12


def test_batched_observations_on_a_large_grid_equal_single_solves():
    """Values at 99 x 255 points (the size of the published Burgers grid) from a batch of 10
    split across the devices equal those of single solves. XLA's complex matmul returned wrong
    values for the first member of each device's share at this size; small grids never showed it."""
    from pdeinv.solvers.batching import BatchedSolver

    eq = Burgers(n=1024)
    tt, xx = np.meshgrid(np.linspace(0.01, 0.99, 99), np.linspace(-1, 1, 255, endpoint=False), indexing="ij")
    single = eq.point_solver(tt.ravel(), xx.ravel())
    batched = BatchedSolver(eq.point_solver(tt.ravel(), xx.ravel(), batched=True), in_axes=(0, None))
    u0_hat = eq.initial_spectrum()
    nus = np.linspace(0.001, 0.006, 10)
    out = np.asarray(batched({"nu": jax.numpy.asarray(nus), "lambda1": jax.numpy.ones(10)}, u0_hat))
    share = -(-nus.size // jax.device_count())  # members per device
    for b in sorted({*range(0, nus.size, share), *range(share - 1, nus.size, share), nus.size - 1}):
        # the first and last member of each device's share (the miscomputed ones were first)
        assert np.max(np.abs(out[b] - np.asarray(single({"nu": nus[b], "lambda1": 1.0}, u0_hat)))) < 1e-13, b


# ---- Kuramoto-Sivashinsky: an independent reference and the order -----------------------------


def _ks_numpy_rhs(eq, params):
    """The same semi-discrete Fourier system in plain NumPy (real FFT), for SciPy's integrators."""
    k = eq.k
    ik = 1j * k
    ik[-1] = 0.0
    linear = params["beta"] * k**2 - params["gamma"] * k**4

    def rhs(_, y):
        v = y[: k.size] + 1j * y[k.size:]
        u = np.fft.irfft(v, eq.n)
        dv = linear * v - 0.5 * params["alpha"] * ik * np.fft.rfft(u * u)
        return np.concatenate([dv.real, dv.imag])

    return rhs


@pytest.mark.parametrize("horizon", [10.0, pytest.param(60.0, marks=pytest.mark.slow)])
def test_ks_agrees_with_dop853_over_a_chaotic_horizon(horizon):
    """Against SciPy's DOP853 on the stiff spectral ODE (its stability bound makes this the
    slowest reference: t = 10 by default, the chaotic t = 60 with -m slow)."""
    from scipy.integrate import solve_ivp

    from pdeinv.solvers import KuramotoSivashinsky

    # L = 22 (a standard chaotic size), n = 64 resolves it: the top modes sit at round-off.
    params = {"alpha": 1.0, "beta": 1.0, "gamma": 1.0}
    u0 = lambda x: np.cos(2 * np.pi * x / 22) * (1 + np.sin(2 * np.pi * x / 22)) * 0.5
    t = np.linspace(0, horizon, 7)
    eq = KuramotoSivashinsky(n=64, domain=(0, 22), t_span=(0, horizon), u0=u0, dt=0.005)
    u = eq.solve(params, t)
    assert np.max(np.abs(np.fft.rfft(u[-1])[-4:])) < 1e-9 * np.max(np.abs(np.fft.rfft(u[-1])))
    v0 = np.fft.rfft(eq.u0)
    sol = solve_ivp(_ks_numpy_rhs(eq, params), (0, horizon), np.concatenate([v0.real, v0.imag]), method="DOP853",
                    t_eval=t, rtol=1e-12, atol=1e-12)
    reference = np.fft.irfft(sol.y[: eq.k.size].T + 1j * sol.y[eq.k.size:].T, eq.n)
    assert np.max(np.abs(u - reference)) / np.max(np.abs(reference)) <= 1e-8
    if horizon >= 60:  # ...over a horizon where the dynamics are chaotic: a 1e-8 perturbation grows > 100x.
        bumped = KuramotoSivashinsky(n=64, domain=(0, 22), t_span=(0, horizon), u0=eq.u0 + 1e-8 * np.sin(eq.x),
                                     dt=0.005)
        assert np.max(np.abs(bumped.solve(params, t)[-1] - u[-1])) > 100 * 1e-8


def test_ks_converges_at_fourth_order_in_time():
    """Errors at t = 5 against dt = 1/16384. The stiff k^4 term delays the asymptotic regime
    (measured orders 3.1, 3.2, 3.5 for dt = 0.1 ... 0.0125); from dt = 0.0125 down it is 4."""
    from pdeinv.solvers import KuramotoSivashinsky

    u0 = lambda x: np.cos(2 * np.pi * x / 22) * (1 + np.sin(2 * np.pi * x / 22)) * 0.5
    make = lambda dt: KuramotoSivashinsky(n=64, domain=(0, 22), t_span=(0, 5), u0=u0, dt=dt)
    reference = make(1 / 16384).solve({}, [5.0])
    errors = [np.max(np.abs(make(h).solve({}, [5.0]) - reference)) for h in (0.0125, 0.00625, 0.003125)]
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all((orders > 3.6) & (orders < 4.3)) and orders[-1] > 3.9, (errors, orders)


# ---- observations at many distinct times: uniform steps and a Hermite interpolant in time ----


@pytest.mark.parametrize("make", [Burgers, KdV], ids=["burgers", "kdv"])
def test_many_distinct_times_agree_with_landing_on_each(monkeypatch, make):
    """200 random observation times on the default grids: uniform steps + the cubic Hermite
    interpolant are as accurate as steps landing on every time. Both are fourth order; against a
    reference with dt/8 the interpolant's error (max norm) was 3.1x landing's on Burgers (2.5e-8
    against 8.1e-9, at the shock) and 1.3x on KdV."""
    from pdeinv.solvers.etdrk4 import DenseSchedule, StepSchedule

    import pdeinv.solvers.equation as equation_module

    rng = np.random.default_rng(3)
    t, x = rng.uniform(0, 1, 200), rng.uniform(-1, 1, 200)
    t[:3] = [0.0, 0.5, 1.0]  # the initial time, a time on a step point of both, the end
    eq = make()
    assert isinstance(eq.schedule(np.unique(t)), DenseSchedule)
    p, u0 = eq.params_pytree(eq.defaults), eq.initial_spectrum()
    dense = np.asarray(eq.point_solver(t, x)(p, u0))
    monkeypatch.setattr(equation_module, "EXACT_TIMES_MAX_STEP_SIZES", 10**9)
    exact_eq = make()
    assert isinstance(exact_eq.schedule(np.unique(t)), StepSchedule)
    exact = np.asarray(exact_eq.point_solver(t, x)(p, u0))
    fine = make(dt=eq.dt / 8)
    reference = np.asarray(fine.point_solver(t, x)(p, u0))
    error = lambda u: np.max(np.abs(u - reference)) / np.max(np.abs(reference))  # noqa: E731
    assert 0 < error(dense) <= 4 * error(exact) and error(dense) <= 5e-8, (error(dense), error(exact))
    assert np.max(np.abs(dense[0] - exact[0])) <= 1e-14  # t = t0 is the initial state


def test_hermite_interpolation_in_time_converges_at_fourth_order(monkeypatch):
    import pdeinv.solvers.equation as equation_module

    rng = np.random.default_rng(1)
    t, x = np.sort(rng.uniform(0, 1, 40)), rng.uniform(-1, 1, 40)
    errors = []
    for dt in (0.02, 0.01, 0.005):
        eq = Burgers(n=64, dt=dt)
        p, u0 = eq.params_pytree({"nu": 0.05}), eq.initial_spectrum()
        dense = np.asarray(eq.point_solver(t, x)(p, u0))
        with monkeypatch.context() as patch:
            patch.setattr(equation_module, "EXACT_TIMES_MAX_STEP_SIZES", 10**9)
            exact = np.asarray(Burgers(n=64, dt=dt).point_solver(t, x)(p, u0))
        errors.append(np.max(np.abs(dense - exact)) / np.max(np.abs(exact)))
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all((orders > 3.5) & (orders < 4.6)), (errors, orders)


def test_dense_schedule_weights():
    from pdeinv.solvers.etdrk4 import dense_schedule

    s = dense_schedule(np.array([0.0625, 0.3125, 0.375, 1.0]), 0.0, 0.125)
    assert s.step_size == 0.125 and s.node_slot.size == 9
    # on a step point: that point's value alone; between: the cubic Hermite weights
    assert np.array_equal(s.weights[2], [1, 0, 0, 0]) and np.array_equal(s.weights[3], [0, 0, 1, 0])
    theta, h = 0.5, 0.125
    assert np.allclose(s.weights[:2], [0.5, h * theta * (1 - theta) ** 2, 0.5, -h * theta**2 * (1 - theta)])
    assert s.n_nodes == len({0, 1, 2, 3, 4, 7, 8})
    nodes = np.flatnonzero(s.node_slot < s.n_nodes)
    assert list(nodes[s.left]) == [0, 2, 3, 7] and list(nodes[s.right]) == [1, 3, 4, 8]
    with pytest.raises(ValueError, match="after t0"):
        dense_schedule(np.array([0.0]), 0.0, 0.1)
