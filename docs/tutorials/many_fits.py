"""Many fits at once: several data sets and starting points on a local dask cluster.

Three noisy Burgers data sets (as three experiments would give them), two starting points
each, fitted on two worker processes. Every task is a fit of its own, with the same estimate
as alone; the table has one row per task, with each unknown's interval.
"""
import csv
import json
import subprocess
import sys

import pdeinv

for seed in range(3):
    pdeinv.save_observations(pdeinv.simulate("burgers", points=64, layout="random", seed=seed, noise=0.01,
                                             snapshot="exact"), f"run{seed}.h5")

command = [sys.executable, "-m", "pdeinv", "fit-many", "burgers", "run0.h5", "run1.h5", "run2.h5",
           "--init", "nu=0.01", "--starts", "2", "--workers", "2", "-o", "fits.csv", "--quiet", "--json"]
print("$", " ".join(["pdeinv"] + command[3:]))
done = subprocess.run(command, capture_output=True, text=True)
report = json.loads(done.stdout)
print(report["summary"])
with open("fits.csv") as f:
    rows = list(csv.DictReader(f))
truth = 0.01 / 3.141592653589793
for row in rows:
    print(f"{row['file']} start {row['start']} (nu = {float(row['init_nu']):.4g}): nu = {float(row['nu']):.5g} "
          f"[{float(row['nu_low']):.5g}, {float(row['nu_high']):.5g}], {row['status']}, {row['solver_calls']} calls")
assert done.returncode == 0 and len(rows) == 6
# both starts of a data set reach the same estimate: the data, not the start, decide
for name in ("run0", "run1", "run2"):
    estimates = [float(r["nu"]) for r in rows if r["file"] == name]
    assert abs(estimates[0] / estimates[1] - 1) < 1e-6, estimates
