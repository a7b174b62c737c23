"""Command line: parses options, runs the engine, prints, maps the report to an exit code.

Exit codes: 0 clean, 1 findings, 2 tool error (2 wins). Tool errors are one sentence
on stderr; `--debug` adds the traceback.
"""

from __future__ import annotations

import sys

import click

from importguard import __version__

from importguard.cli_common import (  # noqa: F401  (re-exported for commands and tests)
    EXIT_CLEAN,
    EXIT_FINDINGS,
    EXIT_TOOL_ERROR,
    debug_option,
    tool_errors,
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="importguard")
def cli() -> None:
    """importguard: find import paths that initialize CUDA before a fork."""


# Commands are registered from their own modules below.
from importguard import cli_check  # noqa: E402

cli.add_command(cli_check.check)
cli.add_command(cli_check.rule)
cli.add_command(cli_check.explain)
# Further commands register here (one import + add_command each).
from importguard import cli_lsp  # noqa: E402
cli.add_command(cli_lsp.lsp)
from importguard import cli_probe  # noqa: E402
cli.add_command(cli_probe.probe)
from importguard import cli_verify  # noqa: E402
cli.add_command(cli_verify.verify_install)


def main() -> None:
    """Console-script entry point: quiet on Ctrl-C and on a closed pipe."""
    try:
        cli.main(prog_name="importguard")
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        # Python flushes stdout at exit; point it at devnull so that fails quietly too.
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(EXIT_FINDINGS)
