"""`importguard check`: builds the request, runs it, renders the result."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import click

from importguard.cli.common import (
    config_option, debug_option, jobs_option, load, parse_codes, timeout_option, tool_errors,
)
from importguard.cli.installed import follow_option, verify_option
from importguard.environment.profile import PLATFORMS
from importguard.errors import UsageError


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--output-format", "--format", "output_format",
              type=click.Choice(["concise", "full", "grouped", "json", "sarif", "github", "text"]),
              default="text", show_default=True,
              help="ruff's names: concise (one line a finding; `text` is its old name), full (with the chain), grouped (under each file).")
@click.option("--statistics", is_flag=True, help="Count findings per code and per root cause instead of listing them.")
@click.option("--quiet", "-q", is_flag=True, help="Print the findings (and warnings) only: no fix plan, no summary.")
@click.option("--color", "color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True,
              help="Colour the human formats; auto: on a terminal, unless NO_COLOR is set (FORCE_COLOR forces it).")
@click.option("--show-files", is_flag=True, help="List the files that would be checked, then exit.")
@click.option("--show-settings", is_flag=True, help="Print the settings in effect, then exit.")
@click.option("--add-noqa", is_flag=True, help="Write `# noqa: IGxxx` on every reported line (idempotent), then exit 0.")
@click.option("--select", multiple=True, help="Rule codes or prefixes to run (comma-separated).")
@click.option("--ignore", multiple=True, help="Rule codes or prefixes to skip (comma-separated).")
@config_option
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Facts cache directory (default: the config's cache-dir, else .importguard_cache in the project root).")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the facts cache.")
@jobs_option("Processes that parse files (default: the number of CPUs).")
@click.option("--changed-only", is_flag=True,
              help="PATHS are changed files: analyse the whole project, report findings whose site, chain or sink is in one of them (for pre-commit).")
@click.option("--fix", is_flag=True, help="Make eager re-exports in `__init__.py` that reach a sink lazy (PEP 562 `__getattr__`).")
@click.option("--diff", "show_diff", is_flag=True, help="Print what --fix would change as a unified diff; write nothing.")
@click.option("--confirm", is_flag=True,
              help="Import the importer of every IG001/IG002 finding in a fresh interpreter and report whether it really initializes the CUDA driver here (runs project code).")
@click.option("--python", "python", type=click.Path(dir_okay=False),
              help="Interpreter whose environment --confirm probes and --follow-installed/--verify-install read (default: this one); its installed versions join the environment profile.")
@click.option("--platform", "platform", type=click.Choice(PLATFORMS),
              help="The platform branches are decided for (default: the config's, else cuda; docs/environment.md).")
@timeout_option("Seconds each --confirm import may take.")
@follow_option
@verify_option
@debug_option
@tool_errors
def check(
    paths: tuple[Path, ...],
    output_format: str,
    statistics: bool,
    quiet: bool,
    color: str,
    show_files: bool,
    show_settings: bool,
    add_noqa: bool,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    config_path: Optional[str],
    exit_zero: bool,
    cache_dir: Optional[Path],
    no_cache: bool,
    jobs: Optional[int],
    changed_only: bool,
    fix: bool,
    show_diff: bool,
    confirm: bool,
    python: Optional[str],
    platform: Optional[str],
    timeout: float,
    follow_installed: Optional[bool],
    verify_install: bool,
    debug: bool,
) -> int:
    """Report import sites whose eager chain reaches a CUDA sink.

    PATHS (default: .) choose which files are reported; the graph covers the whole
    packages they belong to. Static: no project code is executed.
    """
    from importguard.cli.render import echo, render
    from importguard.output.style import use_color
    from importguard.workflow import CheckRequest, run

    if no_cache or jobs == 1 or show_files or show_settings:
        from importguard.cache import early_parser

        early_parser.stop()  # a pool parses everything, one process was asked for, or nothing is parsed
    targets = tuple(paths) or (Path("."),)
    from importguard.environment.installed import apply_options

    config = apply_options(load(config_path, targets[0]), platform, python)
    if show_files or show_settings:
        from importguard.cli.show import files_text, settings_text

        click.echo(files_text(config, targets) if show_files else settings_text(config), nl=False)
        return 0
    if add_noqa and (fix or show_diff):
        raise UsageError("--add-noqa cannot be combined with --fix or --diff")
    request = CheckRequest(
        paths=targets,
        config=config,
        output_format=output_format,
        statistics=statistics,
        quiet=quiet,
        color=use_color(color, sys.stdout.isatty(), os.environ),
        add_noqa=add_noqa,
        select=parse_codes(select),
        ignore=parse_codes(ignore),
        exit_zero=exit_zero,
        cache_dir=cache_dir,
        use_cache=not no_cache,
        jobs=jobs,
        changed_only=changed_only,
        fix=fix,
        diff=show_diff,
        confirm=confirm,
        python=python,
        timeout=timeout,
        follow_installed=follow_installed,
        verify_install=verify_install,
        replay_options={"paths": [str(p.absolute()) for p in targets], "select": select, "ignore": ignore,
                        "config": config_path, "jobs": jobs, "platform": platform},
    )
    result = run(request)
    chunks, code = render(result, request)
    result.remember((chunks, code))
    echo(chunks)
    return code
