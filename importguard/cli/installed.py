"""`--follow-installed`, `--python` and `--verify-install` for `check` and `explain`."""

from __future__ import annotations

import click

follow_option = click.option(
    "--follow-installed/--no-follow-installed",
    "follow_installed",
    default=None,
    help="Follow imports into installed packages (default: the config's follow-installed; "
    "a configured list of names still narrows it).",
)
python_option = click.option(
    "--python",
    "python",
    metavar="PATH",
    help="Resolve installed packages in this interpreter's environment instead of the running one.",
)
verify_option = click.option(
    "--verify-install",
    is_flag=True,
    help="Also check the files of the distributions the reported chains pass through against their RECORD.",
)
