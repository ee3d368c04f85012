"""Importers of gridded data: the periodic endpoint decided from the data, the generic
.mat/.npz importer, and one clear line for every ambiguous or wrong input."""

import json

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.io import savemat

from pdeinv.cli import cli
from pdeinv.io import ENDPOINT_RTOL, import_arrays, import_raissi, load_observations, periodic_grid
from pdeinv.problems import ObservationError

T = np.linspace(0, 1, 11)


def field(t, x):
    """A smooth field of period 2: u(t, x) = cos(pi (x - t)), shape (len(t), len(x))."""
    return np.cos(np.pi * (x[None, :] - t[:, None]))


def write_raissi(path, x, t=T, u=None):
    """A PINN-paper .mat file: x (n, 1), tt (1, nt), uu[i, j] = u(t[j], x[i])."""
    u = field(t, x) if u is None else u
    savemat(path, {"x": x[:, None], "tt": t[None, :], "uu": u.T})
    return u


INCLUDED = np.linspace(-1, 1, 65)  # both ends: x = 1 repeats x = -1
EXCLUDED = np.linspace(-1, 1, 64, endpoint=False)


# ---- the endpoint decided from the data --------------------------------------------------


def test_endpoint_included_drops_the_last_column(tmp_path):
    u = write_raissi(tmp_path / "inc.mat", INCLUDED)
    obs = import_raissi(tmp_path / "inc.mat", "kdv")
    assert obs.grid_shape == (10, 64)
    assert obs.domain == (-1.0, 1.0) and obs.t_span == (0.0, 1.0)
    assert np.array_equal(obs.u0, u[0, :64])
    assert np.array_equal(obs.u.reshape(10, 64), u[1:, :64])
    assert np.array_equal(obs.x[:64], INCLUDED[:64])
    assert obs.metadata["domain_source"] == "data"
    assert obs.metadata["x_grid"].startswith("linspace(-1, 1, 65) with the periodic endpoint: last column dropped")


def test_endpoint_excluded_keeps_every_column(tmp_path):
    u = write_raissi(tmp_path / "exc.mat", EXCLUDED)
    obs = import_raissi(tmp_path / "exc.mat", "kdv")
    assert obs.grid_shape == (10, 64)
    assert obs.domain == (-1.0, 1.0)  # period n dx = 64 * (2/64), not x[-1] - x[0] = 1.96875
    assert np.array_equal(obs.u0, u[0]) and np.array_equal(obs.u.reshape(10, 64), u[1:])
    assert np.array_equal(obs.x[:64], EXCLUDED)
    assert obs.metadata["x_grid"].startswith("linspace(-1, 1, 64, endpoint=False): endpoint excluded, period n*dx = 2")
    assert obs.metadata["domain_source"] == "data"


def test_both_conventions_give_the_same_observations(tmp_path):
    write_raissi(tmp_path / "inc.mat", INCLUDED)
    write_raissi(tmp_path / "exc.mat", EXCLUDED)
    a = import_raissi(tmp_path / "inc.mat", "kdv")
    b = import_raissi(tmp_path / "exc.mat", "kdv")
    assert a.domain == b.domain
    assert np.allclose(a.x, b.x, rtol=0, atol=1e-15) and np.allclose(a.u, b.u, rtol=0, atol=1e-14)


def test_end_columns_differ_at_x_equal_b_means_endpoint_excluded(tmp_path):
    # x reaches 1, but u(t, 1) != u(t, -1): x = 1 is a sample of its own, so the period is n dx.
    x = INCLUDED
    u = field(T, x) + 0.1 * x[None, :]
    write_raissi(tmp_path / "open.mat", x, u=u)
    obs = import_raissi(tmp_path / "open.mat", "kdv")
    assert obs.grid_shape == (10, 65)
    assert obs.domain == (-1.0, -1.0 + 65 * (2 / 64))
    assert np.array_equal(obs.u0, u[0])
    text = obs.metadata["x_grid"]
    assert "endpoint excluded, period n*dx = 2.03125" in text and "differ by up to 1.8e-01 of max|u|" in text  # 0.2 / 1.1


def test_single_precision_files_use_their_own_round_off(tmp_path):
    x = INCLUDED.astype(np.float32)
    t = T.astype(np.float32)
    u = np.cos(np.float32(np.pi) * (x[None, :] - t[:, None]))
    assert np.max(np.abs(u[:, -1] - u[:, 0])) > ENDPOINT_RTOL  # float32 round-off, not a new sample
    np.savez(tmp_path / "single.npz", t=t, x=x, u=u)
    obs = import_arrays(tmp_path / "single.npz", "kdv")
    assert obs.grid_shape == (10, 64) and obs.domain == (-1.0, 1.0)


def test_flat_ends_cannot_decide_and_ask_for_the_domain(tmp_path):
    x = EXCLUDED
    u = np.zeros((T.size, x.size))
    u[:, 20:40] = 1.0
    np.savez(tmp_path / "flat.npz", t=T, x=x, u=u)
    with pytest.raises(ObservationError, match=r"flat at both ends .* give the domain \(CLI: --domain A,B\)"):
        import_arrays(tmp_path / "flat.npz", "kdv")
    obs = import_arrays(tmp_path / "flat.npz", "kdv", domain=(-1, 1))
    assert obs.grid_shape == (10, 64) and obs.metadata["domain_source"] == "user"


# ---- a domain given by the user ------------------------------------------------------------


@pytest.mark.parametrize("x, kept", [(INCLUDED, 64), (EXCLUDED, 64)])
def test_user_domain_consistent(tmp_path, x, kept):
    u = write_raissi(tmp_path / "d.mat", x)
    obs = import_raissi(tmp_path / "d.mat", "kdv", domain=(-1, 1))
    assert obs.domain == (-1.0, 1.0) and obs.grid_shape == (10, kept)
    assert np.array_equal(obs.u0, u[0, :kept])
    assert obs.metadata["domain_source"] == "user"


def test_user_domain_accepts_pi_on_the_command_line(tmp_path):
    x = np.linspace(0, 2 * np.pi, 32, endpoint=False)
    np.savez(tmp_path / "p.npz", t=T, x=x, u=np.sin(x[None, :] - T[:, None]))
    out = tmp_path / "p.h5"
    result = CliRunner().invoke(cli, ["import", "arrays", str(tmp_path / "p.npz"), "--equation", "burgers",
                                      "--domain", "0,2*pi", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert load_observations(out).domain == (0.0, 2 * np.pi)


@pytest.mark.parametrize(
    "x, u_extra, domain, message",
    [
        (EXCLUDED, 0.0, (-1, 0.5), r"does not fit the domain \(-1, 0.5\): neither x\[-1\] = 0.5"),
        (EXCLUDED, 0.0, (0, 2), "x starts at -1, not at the start 0 of the domain"),
        (INCLUDED, 0.1, (-1, 1), "x ends at the domain end 1, but u there differs from u at -1 by up to 1.8e-01"),
        (EXCLUDED, 0.0, (1, -1), "domain must be a finite interval"),
    ],
)
def test_user_domain_inconsistent(tmp_path, x, u_extra, domain, message):
    write_raissi(tmp_path / "d.mat", x, u=field(T, x) + u_extra * x[None, :])
    with pytest.raises(ObservationError, match=message) as info:
        import_raissi(tmp_path / "d.mat", "kdv", domain=domain)
    assert str(info.value).startswith(str(tmp_path / "d.mat")) and "\n" not in str(info.value)


def test_periodic_grid_rejects_non_uniform_x():
    x = np.linspace(-1, 1, 16, endpoint=False)
    x[5] += 1e-3
    with pytest.raises(ObservationError, match="x must be uniformly spaced and increasing"):
        periodic_grid(x, field(T, x), "here")


# ---- the generic importer --------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["tx", "xt"])
def test_npz_both_orientations(tmp_path, layout):
    u = field(T, EXCLUDED)
    stored = u if layout == "tx" else u.T
    np.savez(tmp_path / "a.npz", time=T, pos=EXCLUDED, sol=stored)
    obs = import_arrays(tmp_path / "a.npz", "burgers", t="time", x="pos", u="sol")
    assert obs.grid_shape == (10, 64) and obs.domain == (-1.0, 1.0)
    assert np.array_equal(obs.u0, u[0]) and np.array_equal(obs.u.reshape(10, 64), u[1:])
    assert obs.metadata["layout"] == layout
    assert obs.metadata["variables"] == {"t": "time", "x": "pos", "u": "sol"}
    explicit = import_arrays(tmp_path / "a.npz", "burgers", t="time", x="pos", u="sol", layout=layout)
    assert np.array_equal(explicit.u, obs.u)


def test_square_field_with_layout_given(tmp_path):
    x = np.linspace(-1, 1, 11, endpoint=False)
    t = np.linspace(0, 1, 11)
    u = field(t, x)
    np.savez(tmp_path / "sq.npz", t=t, x=x, u=u.T)
    obs = import_arrays(tmp_path / "sq.npz", "kdv", layout="xt")
    assert np.array_equal(obs.u0, u[0]) and np.array_equal(obs.u.reshape(10, 11), u[1:])


def test_mat_file_in_tx_layout_and_subsampling(tmp_path):
    u = field(T, EXCLUDED)
    savemat(tmp_path / "a.mat", {"t": T, "x": EXCLUDED, "u": u})
    obs = import_arrays(tmp_path / "a.mat", "kdv", points=25, seed=4)
    again = import_arrays(tmp_path / "a.mat", "kdv", points=25, seed=4)
    assert obs.n_points == 25 and obs.grid_shape is None and np.array_equal(obs.x, again.x)
    assert np.all(obs.t > 0)
    assert np.array_equal(obs.u, np.cos(np.pi * (obs.x - obs.t)))  # each value at its own (t, x)
    assert obs.metadata["subsample_points"] == 25 and obs.metadata["seed"] == 4
    with pytest.raises(ObservationError, match=r"a.mat: points must be between 1 and 640, got 641"):
        import_arrays(tmp_path / "a.mat", "kdv", points=641)


def test_given_initial_condition_keeps_every_later_row(tmp_path):
    t = np.linspace(0.1, 1, 10)
    u = field(t, EXCLUDED)
    np.savez(tmp_path / "late.npz", t=t, x=EXCLUDED, u=u)
    obs = import_arrays(tmp_path / "late.npz", "kdv", u0=lambda x: np.cos(np.pi * x))
    assert obs.t_span == (0.0, 1.0) and obs.grid_shape == (10, 64)
    assert np.array_equal(obs.u.reshape(10, 64), u)
    assert np.array_equal(obs.u0, np.cos(np.pi * EXCLUDED))
    with pytest.raises(ObservationError, match="t0 = 0.5 is after the first time t"):
        import_arrays(tmp_path / "late.npz", "kdv", u0=np.cos(np.pi * EXCLUDED), t0=0.5)


# ---- command line: the decision is shown, errors are one line ----------------------------------


def test_cli_prints_and_records_the_decision(tmp_path):
    write_raissi(tmp_path / "inc.mat", INCLUDED)
    out = tmp_path / "o.h5"
    result = CliRunner().invoke(cli, ["import", "raissi", str(tmp_path / "inc.mat"), "--equation", "kdv", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        f"wrote {out}: 640 points of kdv; domain (-1, 1) from the data; x: linspace(-1, 1, 65) with the periodic "
        "endpoint: last column dropped (equal to the first at every time, to 4.4e-16 of max|u|)"
    )
    text = CliRunner().invoke(cli, ["info", str(out)])
    assert "x_grid=linspace(-1, 1, 65) with the periodic endpoint" in text.output
    assert "domain_source=data" in text.output
    summary = json.loads(CliRunner().invoke(cli, ["info", str(out), "--json"]).output)
    assert summary["metadata"]["domain_source"] == "data"
    assert summary["metadata"]["x_grid"].startswith("linspace(-1, 1, 65) with the periodic endpoint: last column dropped")
    assert summary["domain"] == [-1.0, 1.0]


def test_cli_arrays_with_domain(tmp_path):
    np.savez(tmp_path / "a.npz", t=T, x=EXCLUDED, u=field(T, EXCLUDED).T)
    out = tmp_path / "o.h5"
    result = CliRunner().invoke(cli, ["import", "arrays", str(tmp_path / "a.npz"), "--equation", "kdv", "--layout", "xt",
                                      "--domain", "-1,1", "--points", "30", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "domain (-1, 1) given; x: linspace(-1, 1, 64, endpoint=False): endpoint excluded" in result.output
    obs = load_observations(out)
    assert obs.n_points == 30 and obs.metadata["domain_source"] == "user" and obs.metadata["layout"] == "xt"


def _bad_files(folder):
    """name -> (file, extra CLI arguments, expected message)."""
    x, u = EXCLUDED, field(T, EXCLUDED)
    nonuniform = x.copy()
    nonuniform[3] += 0.01
    backwards = T.copy()
    backwards[4] = backwards[3]
    nan = u.copy()
    nan[2, 2] = np.nan
    files = {
        "missing": ({"t": T, "x": x, "v": u}, [], "missing variable 'u' (the file has: 't', 'v', 'x')"),
        "shape": ({"t": T, "x": x, "u": u[:, :10]}, [], "u has shape (11, 10), which is neither (len(t), len(x)) = (11, 64)"),
        "square": ({"t": np.linspace(0, 1, 64), "x": x, "u": np.ones((64, 64))}, [], "give the layout"),
        "wrong layout": ({"t": T, "x": x, "u": u}, ["--layout", "xt"], "layout 'xt' needs (64, 11)"),
        "nonuniform": ({"t": T, "x": nonuniform, "u": u}, [], "x must be uniformly spaced and increasing"),
        "t order": ({"t": backwards, "x": x, "u": u}, [], "t must be strictly increasing (t[3] = 0.3, t[4] = 0.3)"),
        "nan": ({"t": T, "x": x, "u": nan}, [], "variable 'u' contains NaN or inf"),
        "complex": ({"t": T, "x": x, "u": u * (1 + 1j)}, [], "u is complex, but this equation's state is real"),
        "text": ({"t": T, "x": x, "u": np.array(["a", "b"])}, [], "variable 'u' is not a numeric array"),
        "domain": ({"t": T, "x": x, "u": u}, ["--domain", "-1,3"], "does not fit the domain (-1, 3)"),
        "bad domain": ({"t": T, "x": x, "u": u}, ["--domain", "1"], "--domain expects A,B"),
        "x domain": ({"t": T, "x": x, "u": u}, ["--domain", "-1,x"], "--domain: 'x' is not a number"),
    }
    out = {}
    for name, (arrays, extra, message) in files.items():
        path = folder / f"{name.replace(' ', '_')}.npz"
        np.savez(path, **arrays)
        out[name] = (path, extra, message)
    (folder / "data.csv").write_text("1,2,3\n")
    out["suffix"] = (folder / "data.csv", [], "unknown file type '.csv'; expected .mat or .npz")
    (folder / "broken.mat").write_bytes(b"not matlab at all")
    out["broken mat"] = (folder / "broken.mat", [], "not a readable MATLAB file")
    out["no file"] = (folder / "none.npz", [], "no such file")
    return out


BAD = ["missing", "shape", "square", "wrong layout", "nonuniform", "t order", "nan", "complex", "text", "domain",
       "bad domain", "x domain", "suffix", "broken mat", "no file"]


@pytest.mark.parametrize("case", BAD)
def test_cli_errors_are_one_line_exit_2(tmp_path, case):
    path, extra, message = _bad_files(tmp_path)[case]
    out = tmp_path / "o.h5"
    result = CliRunner().invoke(cli, ["import", "arrays", str(path), "--equation", "kdv", *extra, "-o", str(out)])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:"), result.output
    assert message in lines[0]
    assert "Traceback" not in result.output and not out.exists()


def test_raissi_cli_refuses_inconsistent_domain(tmp_path):
    write_raissi(tmp_path / "inc.mat", INCLUDED, u=field(T, INCLUDED) + 0.1 * INCLUDED[None, :])
    result = CliRunner().invoke(cli, ["import", "raissi", str(tmp_path / "inc.mat"), "--equation", "kdv",
                                      "--domain", "-1,1", "-o", str(tmp_path / "o.h5")])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:") and "not the periodic copy of x = -1" in lines[0]


# ---- published data ----------------------------------------------------------------------------


def test_published_burgers_keeps_dropping_its_endpoint(burgers_shock_path):
    obs = import_raissi(burgers_shock_path, "burgers")
    assert obs.grid_shape == (99, 255) and obs.domain == (-1.0, 1.0)
    assert obs.metadata["domain_source"] == "data"
    assert obs.metadata["x_grid"].startswith("linspace(-1, 1, 256) with the periodic endpoint: last column dropped")
    assert np.allclose(obs.u0, -np.sin(np.pi * np.linspace(-1, 1, 256)[:-1]), atol=1e-12)
    given = import_raissi(burgers_shock_path, "burgers", domain=(-1, 1))
    assert np.array_equal(given.u, obs.u) and given.metadata["domain_source"] == "user"


def test_complex_nls_data_in_the_published_layout(tmp_path):
    """The PINN papers' NLS file: x = 256 points of [-5, 5) without the endpoint, complex uu."""
    from scipy.io import savemat

    from pdeinv.solvers import NLS

    eq = NLS(n=256)
    tt = np.linspace(0, np.pi / 2, 11)
    h = eq.solve({}, tt)  # (11, 256), complex
    savemat(tmp_path / "NLS.mat", {"x": eq.x[:, None], "tt": tt[None, :], "uu": h.T})
    obs = import_raissi(tmp_path / "NLS.mat", "nls")
    assert obs.is_complex and obs.domain == (-5.0, 5.0) and obs.grid_shape == (10, 256)
    assert np.array_equal(obs.u0, h[0]) and np.array_equal(obs.u, h[1:].ravel())
    assert "endpoint excluded" in obs.metadata["x_grid"]
