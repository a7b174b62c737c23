"""`importguard rule [CODE]`: a rule's documentation, or the list of rules."""

from __future__ import annotations

from typing import Optional

import click

from importguard.cli.common import debug_option, tool_errors
from importguard.errors import UsageError


@click.command()
@click.argument("code", required=False)
@click.option("--all", "show_all", is_flag=True, help="List every rule.")
@debug_option
@tool_errors
def rule(code: Optional[str], show_all: bool, debug: bool) -> None:
    """Print the documentation of rule CODE (e.g. IG001)."""
    from importguard.rules.documentation import rule_markdown
    from importguard.rules import ALL_RULES, RULES_BY_CODE

    if show_all or not code:
        for rule_class in ALL_RULES:
            click.echo(f"{rule_class.code}  {rule_class.name:40} {rule_class.summary}")
        return
    rule_class = RULES_BY_CODE.get(code.upper())
    if rule_class is None:
        known = ", ".join(RULES_BY_CODE)
        raise UsageError(f"unknown rule {code!r}; known rules: {known}")
    click.echo(rule_markdown(rule_class), nl=False)
