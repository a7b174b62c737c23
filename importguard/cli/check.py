"""`importguard check`: builds the request, runs it, renders the result."""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Optional

import click

from importguard.cli.common import (
    config_option, debug_option, jobs_option, load, parse_codes, timeout_option, tool_errors,
)
from importguard.cli.installed import follow_option, verify_option
from importguard.config import Config
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
@click.option("--select", multiple=True, help="Rule codes or prefixes to run, replacing the config's selection (comma-separated).")
@click.option("--extend-select", multiple=True, help="Rule codes or prefixes to run besides those selected (comma-separated).")
@click.option("--ignore", multiple=True, help="Rule codes or prefixes to skip (comma-separated).")
@click.option("--extend-ignore", multiple=True, help="The same as --ignore (as in ruff).")
@config_option
@click.option("--respect-gitignore/--no-respect-gitignore", "respect_gitignore", default=None,
              help="Skip files that git ignores (default: the config's respect-gitignore, on).")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("--exit-non-zero-on-fix", is_flag=True, help="With --fix, exit 1 when a file was changed, even if no finding is left.")
@click.option("--stdin-filename", type=click.Path(path_type=Path),
              help="Read the source from stdin and check it as the file at this path (PATHS: none or `-`).")
@click.option("--output-file", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the findings (stdout's part) to this file, atomically, instead of stdout.")
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
    extend_select: tuple[str, ...],
    ignore: tuple[str, ...],
    extend_ignore: tuple[str, ...],
    config_path: tuple[str, ...],
    respect_gitignore: Optional[bool],
    exit_zero: bool,
    exit_non_zero_on_fix: bool,
    stdin_filename: Optional[Path],
    output_file: Optional[Path],
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

    if no_cache or jobs == 1 or show_files or show_settings or stdin_filename:
        from importguard.cache import early_parser

        early_parser.stop()  # a pool parses everything, one process was asked for, or nothing is parsed
    from_stdin = stdin_filename is not None or paths == (Path("-"),)
    if from_stdin and (stdin_filename is None or paths not in ((), (Path("-"),))):
        raise UsageError("a source read from stdin needs --stdin-filename PATH, and no PATHS but `-`")
    targets = (stdin_filename,) if stdin_filename is not None else tuple(paths) or (Path("."),)
    config = load(config_path, targets[0])
    if platform is not None or python is not None or config.environment.read_installed:
        # Reading another environment (subprocess, shlex) is imported only when asked for.
        from importguard.environment.installed import apply_options

        config = apply_options(config, platform, python)
    if respect_gitignore is not None:
        config = replace(config, respect_gitignore=respect_gitignore)
    if show_files or show_settings:
        from importguard.cli.show import files_text, settings_text

        click.echo(files_text(config, targets) if show_files else settings_text(config), nl=False)
        return 0
    if add_noqa and (fix or show_diff):
        raise UsageError("--add-noqa cannot be combined with --fix or --diff")
    chosen, skipped = _rule_selection(config, select, extend_select, ignore, extend_ignore)
    request = CheckRequest(
        paths=targets,
        config=config,
        output_format=output_format,
        statistics=statistics,
        quiet=quiet,
        color=use_color(color, sys.stdout.isatty() and output_file is None, os.environ),
        add_noqa=add_noqa,
        select=chosen,
        ignore=skipped,
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
                        "extend_select": extend_select, "extend_ignore": extend_ignore,
                        "config": config_path, "respect_gitignore": respect_gitignore, "jobs": jobs,
                        "platform": platform},
    )
    if from_stdin:
        from importguard.cli.stdin_source import check_source

        result = check_source(request, targets[0], click.get_binary_stream("stdin").read())
    else:
        result = run(request)
    chunks, code = render(result, request, exit_non_zero_on_fix)
    if output_file is None and not from_stdin:
        result.remember((chunks, code))  # a replay prints to stdout: not for --output-file
    echo(chunks, output_file)
    return code


def _rule_selection(config: Config, select: tuple[str, ...], extend_select: tuple[str, ...],
                    ignore: tuple[str, ...], extend_ignore: tuple[str, ...]) -> tuple[Optional[tuple[str, ...]], Optional[tuple[str, ...]]]:
    """The rules to run and those to skip, as exact codes, after the config's selection
    and the command line's on top of it (selection.py); (None, None) when the command
    line selects nothing: the engine takes the config's."""
    given = {option: parse_codes(values, option) for option, values in (
        ("--select", select), ("--extend-select", extend_select), ("--ignore", ignore),
        ("--extend-ignore", extend_ignore))}
    if not any(given.values()):
        return None, None
    from importguard.rules import ALL_RULES  # the rules' modules: only when the command line selects
    from importguard.selection import Selection, selected_codes

    layers = [
        Selection(config.select or None, config.extend_select, config.ignore),
        Selection(given["--select"], given["--extend-select"] or (),
                  (*(given["--ignore"] or ()), *(given["--extend-ignore"] or ()))),
    ]
    chosen = selected_codes([(rule.code, rule.opt_in) for rule in ALL_RULES], layers)
    codes = [rule.code for rule in ALL_RULES]
    return tuple(c for c in codes if c in chosen), tuple(c for c in codes if c not in chosen)
