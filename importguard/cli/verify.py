"""`importguard verify-install`: installed files against their RECORD.

Exit codes: 0 everything intact, 1 anything broken, 2 tool error.
"""

from __future__ import annotations

import json
from typing import Optional

import click

from importguard.cli.common import EXIT_CLEAN, EXIT_FINDINGS, debug_option, tool_errors


@click.command("verify-install")
@click.argument("distributions", nargs=-1, metavar="[DIST]...")
@click.option(
    "--python",
    "python",
    metavar="PATH",
    help="Verify the environment of this interpreter instead of the running one.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
@debug_option
@tool_errors
def verify_install(
    distributions: tuple[str, ...], python: Optional[str], output_format: str, debug: bool
) -> int:
    """Check every file of installed distributions against their RECORD.

    Reports missing files, SHA-256 and size mismatches, and paths that more than one
    distribution installs; prints the reinstall command for each broken distribution.
    Default: every distribution in the environment. Reads files only.
    """
    # Imported here: cli.py registers this command on every run, and `check` should not
    # pay for hashlib, csv, email and a thread pool it does not use.
    from importguard.installed.interpreter import target_paths
    from importguard.installed.verify import verify
    from importguard.installed.report import render_text, summary_line, to_json

    report = verify(target_paths(python), distributions)
    if output_format == "json":
        click.echo(json.dumps(to_json(report), indent=2))
    else:
        for line in render_text(report):
            click.echo(line)
        click.echo(summary_line(report), err=True)
    return EXIT_FINDINGS if report.broken else EXIT_CLEAN
