"""`importguard probe`: import modules in fresh interpreters and report the CUDA driver's state."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

from importguard.cli.common import EXIT_CLEAN, EXIT_FINDINGS, debug_option, tool_errors
from importguard.config import Config, load_config


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


@click.command()
@click.argument("modules", nargs=-1, required=True)
@click.option("--python", "python", metavar="PATH",
              help="Interpreter whose environment to probe (default: the one running importguard).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=60.0, show_default=True,
              help="Seconds each module's import may take before its process group is killed.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
              help="Modules probed at once (default: the number of CPUs).")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("--src", "src", multiple=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory put first on the child's sys.path (repeatable; default: the config's `src`).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="pyproject.toml to read [tool.importguard] from.")
@debug_option
@tool_errors
def probe(
    modules: tuple[str, ...],
    python: Optional[str],
    timeout: float,
    jobs: Optional[int],
    output_format: str,
    src: tuple[Path, ...],
    config_path: Optional[str],
    debug: bool,
) -> int:
    """Import each MODULE in its own fresh interpreter and report whether that initialized
    the CUDA driver, which configured sinks it imported, and through which chain.

    This executes the modules' import-time code (static `check` never does).
    """
    from importguard.probe.runner import CLEAN, probe_modules
    from importguard.probe.report import format_json, format_text, summary

    config = load_config(Path(config_path) if config_path else None, Path("."))
    results = probe_modules(
        modules,
        python=python,
        sys_path=probe_sys_path(config, src),
        sink_modules=config.sink_modules,
        timeout=timeout,
        jobs=jobs,
    )
    if output_format == "json":
        click.echo(format_json(results), nl=False)
    else:
        click.echo(format_text(results), nl=False)
    click.echo(summary(results), err=True)
    return EXIT_CLEAN if all(r.status == CLEAN for r in results) else EXIT_FINDINGS
