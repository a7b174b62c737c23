"""`importguard explain MODULE`: every eager chain from importing MODULE to a sink."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

from importguard.cli.common import EXIT_CLEAN, EXIT_FINDINGS, config_option, debug_option, load, tool_errors
from importguard.cli.installed import follow_option, python_option
from importguard.errors import UsageError


@click.command()
@click.argument("module")
@click.option("--src", "src", multiple=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory to find project modules in (default: the config's `src`, else the project root).")
@config_option
@follow_option
@python_option
@debug_option
@tool_errors
def explain(
    module: str,
    src: tuple[Path, ...],
    config_path: tuple[str, ...],
    follow_installed: Optional[bool],
    python: Optional[str],
    debug: bool,
) -> int:
    """Print every eager chain from importing MODULE to a CUDA sink."""
    if not _is_module_name(module):
        hint = " (a path? name the module with dots, e.g. `pkg.sub`)" if "/" in module or module.endswith(".py") else ""
        raise UsageError(f"{module!r} is not a module name{hint}")
    from importguard.installed.reach import follow_setting, open_reach
    from importguard.cache.loader import open_loader
    from importguard.engine import display_hop, explanation
    from importguard.output.plan_text import explain_plan_text
    from importguard.output.chain import hop_text
    from importguard.rules.base import chain_text, sink_text

    config = load(config_path, Path("."))
    roots = list(src) or ([] if config.src else [config.project_root, config.project_root / "src"])
    if python is not None and not follow_setting(config, follow_installed):
        raise UsageError("--python is used only with --follow-installed (or follow-installed in the config)")
    # The facts cache `check` fills (and the language server): explain reads what they stored.
    with open_loader(config) as loader, open_reach(config, follow_installed, python, False, loader) as reach:
        facts, chains, plan = explanation(module, config, roots, reach.installed, reach.collector)
    if facts is None and not chains:
        raise UsageError(f"module {module!r} was not found under {', '.join(str(r) for r in (*config.src, *roots))}")
    if not chains:
        click.echo(f"importing `{module}` reaches no CUDA sink through eager imports.")
        return EXIT_CLEAN
    noun = "sink" if len(chains) == 1 else "sinks"
    click.echo(f"importing `{module}` reaches {len(chains)} CUDA {noun}:")
    for chain in chains:
        click.echo(f"\n{sink_text(chain)}\n  chain: {chain_text(chain)}")
        for hop in (*chain.hops, *chain.sink.calls):
            click.echo(f"    {hop_text(display_hop(hop))}")
    click.echo(
        "\nfix: move the first eager import of each chain into the function that uses it, "
        "or make the package re-export lazy (PEP 562 `__getattr__`)."
    )
    planned = explain_plan_text(plan, module)
    if planned:
        click.echo(f"\n{planned}", nl=False)
    return EXIT_FINDINGS


def _is_module_name(name: str) -> bool:
    return all(part.isidentifier() for part in name.split("."))
