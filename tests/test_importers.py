"""Importers of gridded data: the periodic endpoint decided from the data, one clear line for
every inconsistent input."""

import json

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.io import savemat

from pdeinv.cli import cli
from pdeinv.io import import_raissi, load_observations, periodic_grid
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


# ---- a domain given by the user ------------------------------------------------------------


@pytest.mark.parametrize("x, kept", [(INCLUDED, 64), (EXCLUDED, 64)])
def test_user_domain_consistent(tmp_path, x, kept):
    u = write_raissi(tmp_path / "d.mat", x)
    obs = import_raissi(tmp_path / "d.mat", "kdv", domain=(-1, 1))
    assert obs.domain == (-1.0, 1.0) and obs.grid_shape == (10, kept)
    assert np.array_equal(obs.u0, u[0, :kept])
    assert obs.metadata["domain_source"] == "user"


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
