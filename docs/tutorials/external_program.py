"""An external program as the forward map: pdeinv calls it, never looks inside.

Any model a scientist already has (a legacy code, a commercial solver behind a script) can be
the forward map: the program reads the parameters as JSON on standard input and prints the
predictions at the observation points. Here the model is a short SciPy method-of-lines Burgers
solver in its own file, knowing nothing of pdeinv; pdeinv fits nu through it from the command
line (`--forward-command`).
"""
import json
import subprocess
import sys
import textwrap

import numpy as np

import pdeinv

# The data: 64 noisy observations of Burgers (the initial condition known: -sin(pi x)).
obs = pdeinv.simulate("burgers", points=64, layout="random", seed=1, noise=0.01, snapshot="exact")
pdeinv.save_observations(obs, "obs.h5")
np.savez("points.npz", t=obs.t, x=obs.x)  # what the model must predict, in the file's order

# The model: its own program, with its own discretization (128 Fourier modes, SciPy's RK45).
with open("model.py", "w") as f:
    f.write(textwrap.dedent('''
        import json, sys
        import numpy as np
        from scipy.integrate import solve_ivp

        params = json.load(sys.stdin)                       # {"nu": ..., "lambda1": ...}
        points = np.load("points.npz")
        n = 256
        x = np.linspace(-1, 1, n, endpoint=False)
        k = np.pi * np.fft.rfftfreq(n, d=1.0 / n)

        def rhs(t, u):
            v = np.fft.rfft(u)
            ux, uxx = np.fft.irfft(1j * k * v, n), np.fft.irfft(-k**2 * v, n)
            return params["nu"] * uxx - params["lambda1"] * u * ux

        times = np.unique(points["t"])
        sol = solve_ivp(rhs, (0, times[-1]), -np.sin(np.pi * x), t_eval=times, rtol=1e-8, atol=1e-10)
        if not sol.success:
            sys.exit(1)                                      # pdeinv rejects this trial point
        spectra = np.fft.rfft(sol.y.T, axis=1)               # interpolate each time's field at its points
        row = np.searchsorted(times, points["t"])
        phase = np.exp(1j * np.outer(points["x"] + 1, k))
        weights = np.where(np.arange(k.size) == 0, 1, 2) / n
        values = np.real(np.sum(spectra[row] * phase * weights, axis=1))
        print(json.dumps(values.tolist()))
    '''))

run = subprocess.run([sys.executable, "-m", "pdeinv", "fit", "burgers", "--obs", "obs.h5", "--init", "nu=0.01",
                      "--forward-command", f"{sys.executable} model.py", "--quiet", "--json"],
                     capture_output=True, text=True)
print(run.stderr.strip())
summary = json.loads(run.stdout)
low, high = summary["intervals"]["nu"]
truth = obs.true_params["nu"]
print(f"status {summary['status']}: nu = {summary['params']['nu']:.6g} (truth {truth:.6g}), "
      f"95 % interval [{low:.6g}, {high:.6g}], {summary['nfev']} runs of model.py")
assert run.returncode == 0 and low < truth < high
