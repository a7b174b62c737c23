"""`importguard agree`: probe every module of PACKAGES and set the static verdict beside
the runtime one, disagreements first.

A command of its own rather than a `check --confirm` mode: `check` reports findings in
files, while this reports one row per module of whole packages (installed ones too,
which `check` does not walk), two verdicts a row, and exits 1 on a disagreement.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

from importguard.cli.common import (
    EXIT_CLEAN, EXIT_FINDINGS, config_option, debug_option, jobs_option, load, text_or_json_option, timeout_option,
    tool_errors,
)
from importguard.cli.probe import all_modules, probe_sys_path


@click.command()
@click.argument("packages", nargs=-1, required=True, metavar="PACKAGE...")
@click.option("--shard", "shard_text", metavar="I/N", help="Only shard I of N of the modules (every N-th, sorted).")
@click.option("--python", "python", metavar="PATH",
              help="Interpreter whose environment to probe and whose sys.path the static side reads (default: this one).")
@timeout_option("Seconds each module's import may take.")
@jobs_option("Modules probed (and processes parsing files) at once (default: the number of CPUs).")
@text_or_json_option
@click.option("--disagreements-only", is_flag=True, help="Leave the agreeing modules out of the text report.")
@click.option("--src", "src", multiple=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory with project packages (repeatable; default: the config's `src`).")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the facts cache.")
@config_option
@debug_option
@tool_errors
def agree(
    packages: tuple[str, ...],
    shard_text: Optional[str],
    python: Optional[str],
    timeout: float,
    jobs: Optional[int],
    output_format: str,
    disagreements_only: bool,
    src: tuple[Path, ...],
    no_cache: bool,
    config_path: tuple[str, ...],
    debug: bool,
) -> int:
    """Probe every module of each PACKAGE (a name or a directory) in a fresh interpreter
    and compare what it did to the CUDA driver with what `check`'s analysis says:
    reaches a sink that initializes the driver, only the driver API, or nothing.

    This executes the modules' import-time code, like `probe`.
    """
    from importguard.probe.agreement import AGREE, compare
    from importguard.probe.agreement_report import format_json, format_text, summary
    from importguard.cache.loader import open_loader
    from importguard.discovery import ModuleResolver
    from importguard.engine import FactsStore, build_graph, display_path
    from importguard.probe.package_modules import parse_shard, shard
    from importguard.probe.runner import probe_modules
    from importguard.output.progress import Progress

    config = load(config_path, Path("."))
    modules, extra, listed, warnings, roots = all_modules(packages, config, src, python, timeout)
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    shard_of = parse_shard(shard_text) if shard_text else None
    if shard_of is not None:
        modules = shard(modules, *shard_of)
    with Progress(len(modules), "probing", unit="modules") as progress:
        results = probe_modules(
            modules, python=python, sys_path=[*probe_sys_path(config, src), *extra],
            sink_modules=config.sink_modules, timeout=timeout, jobs=jobs,
            on_done=lambda result: progress.advance(),
        )
    with open_loader(config, use_cache=not no_cache, jobs=jobs) as collector:
        store = FactsStore(ModuleResolver(list(dict.fromkeys([*config.src, *roots]))), collector)
        graph = build_graph(config, store)
        rows = compare(modules, results, graph, store.for_module, display_path)
    rows = [_displayed(row, display_path) for row in rows]
    run = {"packages": listed, "shard": None if shard_of is None else {"index": shard_of[0], "count": shard_of[1]},
           "static_roots": [str(r) for r in dict.fromkeys([*config.src, *roots])]}
    if output_format == "json":
        click.echo(format_json(rows, run), nl=False)
    else:
        click.echo(format_text(rows, show_agreements=not disagreements_only), nl=False)
    click.echo(summary(rows), err=True)
    return EXIT_CLEAN if all(row.kind in (AGREE, "unknown") for row in rows) else EXIT_FINDINGS


def _displayed(row, display_path):
    """The row with its static chain's paths relative to the working directory."""
    from dataclasses import replace

    chain = row.static.chain
    if chain is None:
        return row
    hops = tuple(replace(h, path=display_path(h.path)) for h in chain.hops)
    sink = replace(chain.sink, path=display_path(chain.sink.path)) if chain.sink.path else chain.sink
    return replace(row, static=replace(row.static, chain=replace(chain, hops=hops, sink=sink)))
