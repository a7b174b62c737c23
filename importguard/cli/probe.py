"""`importguard probe`: import modules in fresh interpreters and report the CUDA driver's state."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

from importguard.cli.common import (
    EXIT_CLEAN, EXIT_FINDINGS, config_option, debug_option, jobs_option, load, text_or_json_option, timeout_option,
    tool_errors,
)
from importguard.config import Config
from importguard.errors import UsageError


def probe_sys_path(config: Config, src: tuple[Path, ...] = ()) -> list[Path]:
    """Where the child finds project modules: --src, else the config's src, else the
    project root (and its src/ folder, where there is one)."""
    if src:
        return [path.absolute() for path in src]
    if config.src:
        return list(config.src)
    roots = [config.project_root]
    if (config.project_root / "src").is_dir():
        roots.append(config.project_root / "src")
    return roots


def environment_roots(python: Optional[str], timeout: float = 60.0) -> list[Path]:
    """The target environment's sys.path directories (standard library left out).
    Another interpreter is first checked with a bounded read and `timeout`, so one that
    floods its output or hangs is refused before its paths are asked for."""
    from importguard.installed.interpreter import target_paths
    from importguard.installed.modules import search_directories
    from importguard.probe.runner import check_interpreter

    if python is not None:
        check_interpreter(python, timeout)
    return [Path(d) for d in search_directories(target_paths(python))]


def all_modules(
    packages: tuple[str, ...], config: Config, src: tuple[Path, ...], python: Optional[str], timeout: float = 60.0
) -> tuple[list[str], list[Path], list[dict], list[str], list[Path]]:
    """Every module of PACKAGES from their files: (modules sorted, extra child sys.path
    entries, the run's package list, warnings, every root looked in: where the static
    side of `agree` resolves imports)."""
    from importguard.probe.package_modules import PackageNotFound, package_modules
    from importguard.probe.runner import printable

    project = probe_sys_path(config, src)
    environment: Optional[list[Path]] = None
    modules: set[str] = set()
    extra: list[Path] = []
    listed, warnings = [], []
    for target in packages:
        try:
            found = package_modules(target, project, config.exclude)
        except PackageNotFound:
            environment = environment_roots(python, timeout) if environment is None else environment
            found = package_modules(target, [*project, *environment], config.exclude)
        if Path(found.root) not in (environment or []) and Path(found.root) not in project:
            extra.append(Path(found.root))  # a package directory given by path
        modules.update(found.modules)
        listed.append({"package": found.package, "modules": len(found.modules)})
        for path, why in found.skipped:
            warnings.append(f"{printable(path)}: not probed: {why}")  # a file name may hold escapes
    roots = list(dict.fromkeys([*project, *extra, *(environment or [])]))
    return sorted(modules), extra, listed, warnings, roots


@click.command()
@click.argument("arguments", nargs=-1, required=True, metavar="MODULE|PACKAGE|FILE...")
@click.option("--all", "whole_packages", is_flag=True,
              help="Arguments are packages (names or directories): probe every module found in their files.")
@click.option("--shard", "shard_text", metavar="I/N",
              help="With --all: probe only shard I of N (every N-th module, sorted), for a CI matrix.")
@click.option("--merge", "merge_files", is_flag=True,
              help="Arguments are JSON files from earlier runs (shards): merge them, probe nothing.")
@click.option("--python", "python", metavar="PATH",
              help="Interpreter whose environment to probe (default: the one running importguard).")
@timeout_option("Seconds each module's import may take before it and every process it started are killed.")
@jobs_option("Modules probed at once (default: the number of CPUs).")
@text_or_json_option
@click.option("--src", "src", multiple=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory put first on the child's sys.path (repeatable; default: the config's `src`).")
@config_option
@debug_option
@tool_errors
def probe(
    arguments: tuple[str, ...],
    whole_packages: bool,
    shard_text: Optional[str],
    merge_files: bool,
    python: Optional[str],
    timeout: float,
    jobs: Optional[int],
    output_format: str,
    src: tuple[Path, ...],
    config_path: tuple[str, ...],
    debug: bool,
) -> int:
    """Import each MODULE in its own fresh interpreter and report whether that initialized
    the CUDA driver, which configured sinks it imported, and through which chain.

    With --all, every module of each PACKAGE; with --merge, read FILEs instead.
    This executes the modules' import-time code (static `check` never does).
    """
    from importguard.probe.runner import CLEAN, probe_modules

    if merge_files:
        if whole_packages or shard_text:
            raise UsageError("--merge reads finished runs: it takes neither --all nor --shard")
        return _merge(arguments, output_format)
    if shard_text and not whole_packages:
        raise UsageError("--shard splits the modules of --all; give --all too")
    config = load(config_path, Path("."))
    sys_path = probe_sys_path(config, src)
    run = None
    if whole_packages:
        from importguard.probe.package_modules import parse_shard, shard

        modules, extra, listed, warnings, _ = all_modules(arguments, config, src, python, timeout)
        for warning in warnings:
            click.echo(f"warning: {warning}", err=True)
        shard_of = parse_shard(shard_text) if shard_text else None
        if shard_of is not None:
            modules = shard(modules, *shard_of)
        sys_path = [*sys_path, *extra]
        run = {"packages": listed,
               "shard": None if shard_of is None else {"index": shard_of[0], "count": shard_of[1]}}
    else:
        modules = list(arguments)
    from importguard.output.progress import Progress

    with Progress(len(modules), "probing", unit="modules") as progress:
        results = probe_modules(
            modules,
            python=python,
            sys_path=sys_path,
            sink_modules=config.sink_modules,
            timeout=timeout,
            jobs=jobs,
            on_done=lambda result: progress.advance(),
        )
    _print(results, output_format, run)
    return EXIT_CLEAN if all(r.status == CLEAN for r in results) else EXIT_FINDINGS


def _print(results, output_format: str, run: Optional[dict]) -> None:
    from importguard.probe.report import format_json, format_text, summary

    if output_format == "json":
        click.echo(format_json(results, run), nl=False)
    else:
        click.echo(format_text(results), nl=False)
    click.echo(summary(results, run), err=True)


def _merge(files: tuple[str, ...], output_format: str) -> int:
    from importguard.probe.runner import CLEAN
    from importguard.probe.merge import merge, read_document

    documents = [read_document(path) for path in files]
    results, run, warnings = merge(documents)
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    _print(results, output_format, run.to_dict())
    return EXIT_CLEAN if all(r.status == CLEAN for r in results) else EXIT_FINDINGS
