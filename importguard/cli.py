"""Command line: parses options, runs the engine, prints, maps the report to an exit code.

Exit codes: 0 clean, 1 findings, 2 tool error (2 wins). Tool errors are one sentence
on stderr; `--debug` adds the traceback.
"""

from __future__ import annotations

import importlib
from typing import Optional

import click

from importguard import __version__
from importguard.cli_common import (  # noqa: F401  (re-exported for commands and tests)
    EXIT_CLEAN,
    EXIT_FINDINGS,
    EXIT_TOOL_ERROR,
    debug_option,
    tool_errors,
)

# name -> "module:attribute"; a command's module is imported only when it runs, so a
# warm `check` does not pay for the probe, the language server or verify-install.
COMMANDS = {
    "check": "importguard.cli_check:check",
    "explain": "importguard.cli_check:explain",
    "rule": "importguard.cli_check:rule",
    "probe": "importguard.cli_probe:probe",
    "agree": "importguard.cli_agree:agree",
    "verify-install": "importguard.cli_verify:verify_install",
    "lsp": "importguard.cli_lsp:lsp",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> Optional[click.Command]:
        if cmd_name not in COMMANDS:
            return None
        module, _, attribute = COMMANDS[cmd_name].partition(":")
        return getattr(importlib.import_module(module), attribute)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="importguard")
def cli() -> None:
    """importguard: find import paths that initialize CUDA before a fork."""


def main() -> None:
    """The CLI with the console script's handling of Ctrl-C and closed pipes."""
    from importguard.entry import main as entry_main

    entry_main()
