"""Figures: check what was drawn, not only that nothing raised."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from click.testing import CliRunner  # noqa: E402

from pdeinv import InverseProblem, fit, save_observations, save_result, simulate  # noqa: E402
from pdeinv.cli import cli  # noqa: E402
from pdeinv import plotting  # noqa: E402
from pdeinv.problems.fields import true_field  # noqa: E402


@pytest.fixture(scope="module")
def fitted():
    obs = simulate("burgers", {"nu": 0.05}, points=16, n=128, dt=5e-4)
    result = fit(InverseProblem(obs, n=64), {"nu": 0.1})
    return obs, result


def test_field_image_with_observations(fitted):
    obs, result = fitted
    t, x, u = plotting.field_at(obs, result.params, n=64, times=21)
    ax = plotting.plot_field(t, x, u, observations=obs)
    assert len(ax.images) == 1 and ax.images[0].get_array().shape == (64, 21)
    assert ax.get_xlabel() == "t" and ax.get_ylabel() == "x"
    offsets = ax.collections[0].get_offsets()
    assert offsets.shape == (16, 2) and np.allclose(offsets[:, 0], obs.t)
    plt.close("all")


def test_comparison_shares_colour_scale(fitted):
    obs, _ = fitted
    t, x, a = plotting.field_at(obs, {"nu": 0.05}, n=64, times=11)
    b = 1.5 * a
    axes = plotting.plot_comparison(t, x, a, b, observations=obs)
    assert len(axes) == 3
    lims = [ax.images[0].get_clim() for ax in axes[:2]]
    assert lims[0] == lims[1] == (-np.max(np.abs(b)), np.max(np.abs(b)))
    diff_lim = axes[2].images[0].get_clim()
    assert np.isclose(diff_lim[1], np.max(np.abs(a - b))) and np.isclose(diff_lim[0], -diff_lim[1])
    plt.close("all")


def test_slices_draw_each_field_and_nearby_observations(fitted):
    obs, _ = fitted
    t, x, u = plotting.field_at(obs, {"nu": 0.05}, n=64, times=11)
    times = np.unique(obs.t)[:2]
    ax = plotting.plot_slices(t, x, {"a": u, "b": u}, times, observations=obs)
    data_lines = [line for line in ax.lines if len(line.get_xdata()) == 64]
    assert len(data_lines) == 4  # 2 fields x 2 times
    markers = [line for line in ax.lines if line.get_marker() == "o" and len(line.get_xdata())]
    assert sum(len(m.get_xdata()) for m in markers) == 8  # the 4 + 4 points of those two times
    plt.close("all")


def test_residuals_and_convergence(fitted):
    obs, result = fitted
    ax = plotting.plot_residuals(obs, obs.u + 0.01)
    assert np.allclose(ax.collections[0].get_offsets()[:, 1], 0.01)
    axes = plotting.plot_convergence({"first": result, "second": result})
    assert len(axes) == 2 and axes[-1].get_xlabel() == "solver calls"
    truth_lines = [l for l in axes[1].lines if l.get_linestyle() == "--"]
    assert truth_lines and np.isclose(truth_lines[0].get_ydata()[0], 0.05)
    assert len([l for l in axes[0].lines if l.get_linestyle() == "-"]) == 2
    plt.close("all")


@pytest.fixture(scope="module")
def dense():
    """A 50 x 48 observation grid: more points than DENSE_POINTS."""
    return simulate("burgers", {"nu": 0.05}, grid=(50, 48), n=64, dt=1e-3)


def test_dense_observations_stay_readable(dense):
    """Above DENSE_POINTS the observations are named on the field, not marked (their marks
    hatched the image), the residuals are small rasterized dots, and each slice marks at most
    SLICE_MARKS points, all at the observation time nearest the slice (not every point of a
    window, which drew solid bands)."""
    assert dense.n_points > plotting.DENSE_POINTS
    t, x, u = plotting.field_at(dense, {"nu": 0.05}, n=64, times=11)
    ax = plotting.plot_field(t, x, u, observations=dense)
    assert not ax.collections and f"{dense.n_points} observations (dense: not marked)" in [
        text.get_text() for text in ax.get_legend().get_texts()]
    residuals = plotting.plot_residuals(dense, dense.u + 0.01).collections[0]
    assert residuals.get_rasterized() and residuals.get_sizes()[0] < 5
    middle = float(np.median(np.unique(dense.t)))
    lines = plotting.plot_slices(t, x, {"u": u}, [t[0], middle], observations=dense).lines
    markers = [line for line in lines if line.get_marker() == "o" and len(line.get_xdata()) > 1]
    assert len(markers) == 2 and all(len(m.get_xdata()) <= plotting.SLICE_MARKS for m in markers)
    nearest = dense.t[np.argmin(np.abs(dense.t - middle))]
    at_time = dense.t == nearest
    assert set(np.round(markers[1].get_xdata(), 12)) <= set(np.round(dense.x[at_time], 12))
    plt.close("all")


def test_dense_grid_file_is_drawn_as_an_image(tmp_path, dense):
    import dataclasses

    # Without true parameters the observation figure draws the data themselves.
    path = tmp_path / "dense.h5"
    save_observations(dataclasses.replace(dense, true_params=None, true_fields={}), path)
    fig = plotting.figure_for_file(path, "summary")
    ax = fig.axes[0]
    assert len(ax.images) == 1 and ax.images[0].get_array().shape == (48, 50) and not ax.collections
    plt.close("all")


def test_summary_figure(fitted):
    obs, result = fitted
    fig = plotting.summary_figure(result, obs, n=64)
    assert sum(len(ax.images) for ax in fig.axes) == 3
    assert "nu" in fig._suptitle.get_text()
    plt.close("all")


def test_cli_plot_writes_png_and_refuses_bad_paths(tmp_path, fitted):
    obs, result = fitted
    save_result(result, obs, tmp_path / "fit.h5")
    save_observations(obs, tmp_path / "obs.h5")
    runner = CliRunner()
    out = runner.invoke(cli, ["plot", str(tmp_path / "fit.h5"), "--n", "64"])
    assert out.exit_code == 0, out.output
    png = tmp_path / "fit.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    for kind in ("field", "convergence", "residuals"):
        res = runner.invoke(cli, ["plot", str(tmp_path / "fit.h5"), "--kind", kind, "-o", str(tmp_path / f"{kind}.svg")])
        assert res.exit_code == 0 and (tmp_path / f"{kind}.svg").stat().st_size > 1000
    res = runner.invoke(cli, ["plot", str(tmp_path / "obs.h5"), "-o", str(tmp_path / "obs.pdf")])
    assert res.exit_code == 0 and (tmp_path / "obs.pdf").read_bytes()[:4] == b"%PDF"
    again = runner.invoke(cli, ["plot", str(tmp_path / "fit.h5")])
    assert again.exit_code == 2 and "--force" in again.output
    for bad in (["-o", str(tmp_path / "x.txt")], ["-o", str(tmp_path / "no" / "x.png")]):
        res = runner.invoke(cli, ["plot", str(tmp_path / "fit.h5"), *bad])
        assert res.exit_code == 2 and "Traceback" not in res.output
    res = runner.invoke(cli, ["plot", str(tmp_path / "missing.h5")])
    assert res.exit_code == 2 and "no such file" in res.output


@pytest.fixture(scope="module")
def with_u0(tmp_path_factory):
    """nu fitted with u0 as a nuisance (a noisy snapshot of 256 samples), saved as a result."""
    obs = simulate("burgers", {"nu": 0.05}, points=16, n=128, dt=5e-4, noise=0.01, seed=1)
    result = fit(InverseProblem(obs, ["nu"], n=64), {"nu": 0.1}, auto_grid=False)
    path = tmp_path_factory.mktemp("u0") / "fit.h5"
    save_result(result, obs, path)
    return obs, result, path


def test_a_fit_with_u0_as_a_nuisance_is_drawn_for_its_parameter(with_u0):
    obs, result, _ = with_u0
    modes = sum("[" in k for k in result.params)
    assert modes >= 8 and result.settings["initial_condition"]["mode"] == "fit"
    fig = plotting.summary_figure(result, obs, n=64)
    low, high = result.intervals["nu"]
    assert fig._suptitle.get_text().startswith(f"burgers: nu = {result.params['nu']:.4g} [{low:.4g}, {high:.4g}]")
    assert f"u0 from {modes} Fourier modes" in fig._suptitle.get_text()
    # without a truth for u0's dynamics the recovered field spans the row: no empty panels
    assert all(ax.has_data() for ax in fig.axes if ax.get_label() != "<colorbar>")
    convergence = plotting.plot_convergence(result)
    assert [ax.get_ylabel() for ax in convergence] == ["loss", "nu"]  # not one panel per coefficient
    panels = plotting.plot_uncertainty(result)
    assert [ax.get_xlabel() for ax in panels] == ["nu", "x"] and panels[1].get_ylabel() == "u0"
    assert panels[0].get_ylabel() == "Delta misfit / sigma^2" and panels[0].lines  # the Laplace model, drawn
    # with the observations, the band panel draws the true u0 stored behind the noisy snapshot
    with_truth = plotting.plot_uncertainty(result, observations=obs)
    labels = [line.get_label() for line in with_truth[1].lines]
    assert any(label.startswith("truth (inside the band at") for label in labels), labels
    truth = next(line for line in with_truth[1].lines if line.get_label().startswith("truth"))
    x = np.asarray(result.uncertainty["x"])
    assert np.allclose(truth.get_ydata(), true_field(obs, "u0", x.size))
    plt.close("all")


def test_info_of_a_result_is_readable_and_says_what_was_decided(with_u0):
    _, result, path = with_u0
    text = CliRunner().invoke(cli, ["info", str(path)]).output
    assert "u0[" not in text and "u0=" in text and "coefficients (in --json)" in text
    assert "initial_condition u0 fitted with the parameters" in text
    assert len(text) < 3000, len(text)  # a band of 256 points is not printed
    import json

    summary = json.loads(CliRunner().invoke(cli, ["info", str(path), "--json"]).output)
    assert summary["initial_condition"]["mode"] == "fit" and "u0[0]" in summary["params"]


def test_plot_refuses_a_kind_for_observations_and_fit_refuses_a_grid_file(tmp_path, fitted):
    obs, _ = fitted
    save_observations(obs, tmp_path / "obs.h5")
    run = CliRunner().invoke(cli, ["plot", str(tmp_path / "obs.h5"), "--kind", "convergence", "-o",
                                   str(tmp_path / "c.png")])
    assert run.exit_code == 2 and "--kind convergence draws a fit result" in run.output
    assert not (tmp_path / "c.png").exists()
    np.savez(tmp_path / "grid.npz", t=[0.0, 1.0], x=[0.0, 1.0], u=[[0.0, 1.0], [1.0, 0.0]])
    run = CliRunner().invoke(cli, ["fit", "burgers", "--obs", str(tmp_path / "grid.npz")])
    assert run.exit_code == 2 and "pdeinv import arrays grid.npz --equation EQUATION" in run.output
