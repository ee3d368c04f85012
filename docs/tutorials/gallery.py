"""The figures pdeinv draws (`pdeinv plot RESULT.h5 --kind KIND`), for a sparse and a dense case.

Sparse: the shipped example data/burgers.h5 (64 noise-free points). Dense: published data, the
PINN papers' Burgers solution (burgers_shock.mat, 25,600 values on a 100 x 256 grid) when a copy
sits in ../shared/data beside the repository, else a dense grid simulated the same way.
"""
from pathlib import Path

import matplotlib.pyplot as plt

import pdeinv
from pdeinv.io.importers import import_raissi
from pdeinv.plotting import FIGURE_KINDS, figure_for_file

repo = Path(__file__).resolve().parents[2]
sparse = pdeinv.load_observations(repo / "data" / "burgers.h5")
published = repo.parent / "shared" / "data" / "burgers_shock.mat"
if published.exists():
    dense = import_raissi(published, "burgers")
    print(f"dense: {published.name}, {dense.n_points} values ({dense.metadata['x_grid']})")
else:
    dense = pdeinv.simulate("burgers", grid=(99, 256))
    print(f"dense: simulated, {dense.n_points} values (published data not found beside the repository)")

for label, obs in (("sparse", sparse), ("dense", dense)):
    result = pdeinv.fit(pdeinv.InverseProblem(obs, ["nu"]), {"nu": 0.01})
    low, high = result.intervals["nu"]
    print(f"{label}: nu = {result.params['nu']:.6g} [{low:.6g}, {high:.6g}], {result.status}, "
          f"{result.nfev} solver calls, {obs.n_points} points")
    assert result.status == "converged" and abs(result.params["nu"] / 0.01 * 3.141592653589793 - 1) < 1e-3
    pdeinv.save_result(result, obs, f"{label}.h5")
    for kind in FIGURE_KINDS:
        figure_for_file(f"{label}.h5", kind).savefig(f"{label}-{kind}.png", dpi=70)
        plt.close("all")
    pdeinv.save_observations(obs, f"{label}-obs.h5")
    figure_for_file(f"{label}-obs.h5").savefig(f"{label}-observations.png", dpi=70)
    plt.close("all")
