"""Command-line interface: a thin shell over the Python API.

Every user error (bad file, bad option value, name clash) ends with one line on stderr and
exit code 2; nothing is written unless the command succeeds.

The commands live in ``data`` (equations, simulate, info, import, plot), ``fit`` and ``many``
(fit-many, sample); ``_common`` holds what they share and the command group, ``report`` the
text they print. Importing this package stays light: commands import pdeinv's numerical parts
when they run.
"""

from __future__ import annotations

import os
import sys

import click

from . import data, fit, many, plan  # noqa: F401  (the commands register on the group)
from ._common import _SIGNALS, RULE_NAMES, U0_CHOICES, _interrupt, cli

__all__ = ["RULE_NAMES", "U0_CHOICES", "cli", "main"]


def main():
    # The command line owns its process: split batches of solves across the cores, unless the
    # environment already decides (PDEINV_CPU_DEVICES or a device count in XLA_FLAGS).
    # Without importing JAX (a second or more) when it is not loaded yet: `pdeinv --help` and
    # input errors answer at once; commands import what they need when they run.
    if not os.environ.get("PDEINV_CPU_DEVICES", "").strip():
        if "jax" in sys.modules:
            from .._jax import use_cpu_cores

            use_cpu_cores()
        else:
            from .._devices import device_count, set_device_flag

            set_device_flag(device_count(None))
    import signal

    # Ctrl-C from the first moment (see _interrupt): exit 130 in one line, never a traceback.
    signal.signal(signal.SIGINT, _interrupt)
    try:
        code = cli.main(standalone_mode=False)
    except (KeyboardInterrupt, click.Abort):  # Ctrl-C outside a fit (a fit saves its checkpoint)
        click.echo("interrupted", err=True)
        sys.exit(130)
    except click.UsageError as err:  # one line, as every other error (click prints usage and a hint)
        where = f"; see '{err.ctx.command_path} --help'" if err.ctx is not None else ""
        click.echo(f"Error: {err.format_message().rstrip('.')}{where}", err=True)
        sys.exit(err.exit_code)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    if _SIGNALS:
        click.echo("interrupted", err=True)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
