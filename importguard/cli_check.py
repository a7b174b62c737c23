"""`importguard check`, `importguard rule`, `importguard explain`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import click

from importguard.cli import EXIT_CLEAN, EXIT_FINDINGS, debug_option, tool_errors
from importguard.config import Config, load_config
from importguard.errors import UsageError


def _codes(values: tuple[str, ...]) -> Optional[tuple[str, ...]]:
    """`--select IG001,IG002 --select IG9` -> ("IG001", "IG002", "IG9")."""
    if not values:
        return None
    codes = tuple(c.strip().upper() for v in values for c in v.split(",") if c.strip())
    for code in codes:
        if not (code == "ALL" or (code.startswith("IG") and code[2:].isdigit())):
            raise UsageError(f"{code!r} is not a rule code or prefix such as 'IG001' or 'IG0'")
    return codes


def _load(config_path: Optional[str], start: Path) -> Config:
    return load_config(Path(config_path) if config_path else None, start)


config_option = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False), help="pyproject.toml to read [tool.importguard] from."
)


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--format", "output_format", type=click.Choice(["text", "full", "json"]), default="text", show_default=True)
@click.option("--select", multiple=True, help="Rule codes or prefixes to run (comma-separated).")
@click.option("--ignore", multiple=True, help="Rule codes or prefixes to skip (comma-separated).")
@config_option
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@debug_option
@tool_errors
def check(
    paths: tuple[Path, ...],
    output_format: str,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    config_path: Optional[str],
    exit_zero: bool,
    debug: bool,
) -> None:
    """Report import sites whose eager chain reaches a CUDA sink.

    PATHS (default: .) choose which files are reported; the graph covers the whole
    packages they belong to. Static: no project code is executed.
    """
    from importguard.engine import run_check
    from importguard.output import FORMATTERS, summary

    targets = list(paths) or [Path(".")]
    config = _load(config_path, targets[0])
    report = run_check(targets, config, select=_codes(select), ignore=_codes(ignore))
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(FORMATTERS[output_format](report.findings), nl=False)
    click.echo(summary(len(report.findings), report.files_checked), err=True)
    sys.exit(EXIT_FINDINGS if report.findings and not exit_zero else EXIT_CLEAN)


@click.command()
@click.argument("code", required=False)
@click.option("--all", "show_all", is_flag=True, help="List every rule.")
@debug_option
@tool_errors
def rule(code: Optional[str], show_all: bool, debug: bool) -> None:
    """Print the documentation of rule CODE (e.g. IG001)."""
    from importguard.rule_docs import rule_markdown
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


@click.command()
@click.argument("module")
@click.option("--src", "src", multiple=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory to find project modules in (default: the config's `src`, else the project root).")
@config_option
@debug_option
@tool_errors
def explain(module: str, src: tuple[Path, ...], config_path: Optional[str], debug: bool) -> None:
    """Print every eager chain from importing MODULE to a CUDA sink."""
    from importguard.engine import display_hop, explain as explain_module
    from importguard.output import hop_text
    from importguard.rules.base import chain_text, sink_text

    config = _load(config_path, Path("."))
    roots = list(src) or ([] if config.src else [config.project_root, config.project_root / "src"])
    facts, chains = explain_module(module, config, roots)
    if facts is None and not chains:
        raise UsageError(f"module {module!r} was not found under {', '.join(str(r) for r in (*config.src, *roots))}")
    if not chains:
        click.echo(f"importing `{module}` reaches no CUDA sink through eager imports.")
        sys.exit(EXIT_CLEAN)
    noun = "sink" if len(chains) == 1 else "sinks"
    click.echo(f"importing `{module}` reaches {len(chains)} CUDA {noun}:")
    for chain in chains:
        click.echo(f"\n{sink_text(chain)}\n  chain: {chain_text(chain)}")
        for hop in chain.hops:
            click.echo(f"    {hop_text(display_hop(hop))}")
    click.echo(
        "\nfix: move the first eager import of each chain into the function that uses it, "
        "or make the package re-export lazy (PEP 562 `__getattr__`)."
    )
    sys.exit(EXIT_FINDINGS)
