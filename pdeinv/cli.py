"""Command-line interface: a thin shell over the Python API."""

from __future__ import annotations

import click

from . import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pdeinv")
def cli():
    """pdeinv: recover PDE parameters from scattered observations of u(t, x)."""


def main():
    cli()
