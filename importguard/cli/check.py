"""`importguard check`: builds the request, runs it, renders the result."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

from importguard.cli.common import config_option, debug_option, load, parse_codes, tool_errors
from importguard.cli.installed import follow_option, verify_option


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--format", "output_format", type=click.Choice(["text", "full", "json", "sarif", "github"]),
              default="text", show_default=True)
@click.option("--select", multiple=True, help="Rule codes or prefixes to run (comma-separated).")
@click.option("--ignore", multiple=True, help="Rule codes or prefixes to skip (comma-separated).")
@config_option
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Facts cache directory (default: the config's cache-dir, else .importguard_cache in the project root).")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the facts cache.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
              help="Processes that parse files (default: the number of CPUs).")
@click.option("--changed-only", is_flag=True,
              help="PATHS are changed files: analyse the whole project, report findings whose site, chain or sink is in one of them (for pre-commit).")
@click.option("--fix", is_flag=True, help="Make eager re-exports in `__init__.py` that reach a sink lazy (PEP 562 `__getattr__`).")
@click.option("--diff", "show_diff", is_flag=True, help="Print what --fix would change as a unified diff; write nothing.")
@click.option("--confirm", is_flag=True,
              help="Import the importer of every IG001/IG002 finding in a fresh interpreter and report whether it really initializes the CUDA driver here (runs project code).")
@click.option("--python", "python", type=click.Path(dir_okay=False),
              help="Interpreter whose environment --confirm probes and --follow-installed/--verify-install read (default: this one).")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=60.0, show_default=True,
              help="Seconds each --confirm import may take.")
@follow_option
@verify_option
@debug_option
@tool_errors
def check(
    paths: tuple[Path, ...],
    output_format: str,
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
    from importguard.workflow import CheckRequest, run

    targets = tuple(paths) or (Path("."),)
    request = CheckRequest(
        paths=targets,
        config=load(config_path, targets[0]),
        output_format=output_format,
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
                        "config": config_path, "jobs": jobs},
    )
    result = run(request)
    chunks, code = render(result, request)
    result.remember((chunks, code))
    echo(chunks)
    return code
