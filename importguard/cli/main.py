"""The `importguard` command group; each command lives in its own module and is
imported only when it runs.

Exit codes: 0 clean, 1 findings, 2 tool error (2 wins). Tool errors are one sentence
on stderr; `--debug` adds the traceback.
"""

from __future__ import annotations

import importlib
from typing import Optional

import click

from importguard import __version__

# name -> "module:attribute"; a command's module is imported only when it runs, so a
# warm `check` does not pay for the probe, the language server or verify-install.
COMMANDS = {
    "check": "importguard.cli.check:check",
    "explain": "importguard.cli.explain:explain",
    "rule": "importguard.cli.rule:rule",
    "probe": "importguard.cli.probe:probe",
    "agree": "importguard.cli.agree:agree",
    "verify-install": "importguard.cli.verify:verify_install",
    "lsp": "importguard.cli.lsp:lsp",
    "summaries": "importguard.cli.summaries:summaries",
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

