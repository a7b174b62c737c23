"""`importguard check`, `importguard rule`, `importguard explain`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import click

from importguard.cli_common import EXIT_CLEAN, EXIT_FINDINGS, debug_option, tool_errors
from importguard.cli_installed import follow_option, python_option, verify_option
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
) -> None:
    """Report import sites whose eager chain reaches a CUDA sink.

    PATHS (default: .) choose which files are reported; the graph covers the whole
    packages they belong to. Static: no project code is executed.
    """
    from importguard.output import summary

    targets = list(paths) or [Path(".")]
    config = _load(config_path, targets[0])
    replay = None
    if not (no_cache or changed_only or fix or show_diff or confirm or verify_install
            or follow_installed or config.follow_installed):
        from importguard.cache import DEFAULT_DIRECTORY
        from importguard.replay import Replay

        options = {"paths": [str(p.absolute()) for p in targets], "select": select, "ignore": ignore,
                   "config": config_path, "jobs": jobs}
        replay = Replay(cache_dir.absolute() if cache_dir else config.cache_dir or config.project_root / DEFAULT_DIRECTORY,
                        options, config.exclude)
        replayed = replay.load()
        if replayed is not None:
            replay.save_replayed(_rendered(replayed, output_format, exit_zero))
            _print_report(replayed, output_format, exit_zero)

    from importguard.changed import only_touching, project_scope
    from importguard.collector import open_collector
    from importguard.engine import Report, run_check

    scope = project_scope(config) if changed_only else targets
    results = None
    if replay is not None:
        from importguard.collector import cache_directory
        from importguard.incremental import ResultStore

        results = ResultStore(cache_directory(config, cache_dir), config, {
            "paths": [str(p.absolute()) for p in targets], "select": select, "ignore": ignore})
    from importguard.cli_installed import open_reach

    with open_collector(config, cache_dir=cache_dir, use_cache=not no_cache, jobs=jobs) as collector, \
            open_reach(config, follow_installed, python, verify_install, collector) as reach:
        def analyse() -> Report:
            found = run_check(scope, config, select=_codes(select), ignore=_codes(ignore),
                              collector=reach.collector, installed=reach.installed,
                              record_inputs=replay is not None, results=results)
            return only_touching(found, targets, config) if changed_only else found

        report = analyse()
        if fix or show_diff:
            from importguard.cli_fix import apply_fixes

            files_changed = apply_fixes(report, write=not show_diff)
            if show_diff:
                sys.exit(EXIT_FINDINGS if files_changed else EXIT_CLEAN)
            if files_changed:
                report = analyse()  # what is left, at the lines as they are now
    if replay is not None and not collector.warnings and not reach.warnings:
        replay.save(report, _rendered(report, output_format, exit_zero))
    if confirm and report.findings:
        report = _confirmed(report, config, python=python, timeout=timeout, jobs=jobs)
    for warning in (*collector.warnings, *reach.warnings):
        click.echo(f"warning: {warning}", err=True)
    if not verify_install:
        _print_report(report, output_format, exit_zero)
    from importguard.cli_installed import echo_verified

    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    broken_install = echo_verified(report.findings, output_format, reach)
    click.echo(summary(len(report.findings), report.files_checked), err=True)
    sys.exit(EXIT_FINDINGS if (report.findings and not exit_zero) or broken_install else EXIT_CLEAN)


def _rendered(report, output_format: str, exit_zero: bool) -> tuple[list[tuple[str, str]], int]:
    """What a run prints, in order, as (stream, text) pairs, and its exit code:
    warnings and the summary to stderr, findings to stdout."""
    from importguard.output import FORMATTERS, summary

    chunks = [("stderr", f"warning: {warning}\n") for warning in report.warnings]
    chunks.append(("stdout", FORMATTERS[output_format](report.findings)))
    chunks.append(("stderr", summary(len(report.findings), report.files_checked) + "\n"))
    return chunks, EXIT_FINDINGS if report.findings and not exit_zero else EXIT_CLEAN


def _print_report(report, output_format: str, exit_zero: bool) -> None:
    chunks, code = _rendered(report, output_format, exit_zero)
    for stream, text in chunks:
        click.echo(text, nl=False, err=stream == "stderr")
    sys.exit(code)


def _confirmed(report, config: Config, *, python: Optional[str], timeout: float, jobs: Optional[int]):
    """The report with each IG001/IG002 finding's runtime verdict attached."""
    from dataclasses import replace

    from importguard.confirm import confirm_findings

    roots = dict.fromkeys([*config.src, *(_root_of(f) for f in report.findings if f.chain)])
    findings = confirm_findings(
        report.findings,
        python=python,
        sys_path=[r for r in roots if r is not None],
        sink_modules=config.sink_modules,
        timeout=timeout,
        jobs=jobs,
    )
    verdicts = [dict(f.extra)["confirmation"] for f in findings if "confirmation" in dict(f.extra)]
    confirmed = sum(1 for v in verdicts if v.get("confirmed") is True)
    click.echo(
        f"--confirm: {confirmed} of {len(verdicts)} probed findings confirmed in this environment "
        "(importing the module initialized the CUDA driver).",
        err=True,
    )
    return replace(report, findings=tuple(findings))


def _root_of(finding) -> Optional[Path]:
    """The sys.path entry under which the finding's importer has its module name."""
    importer = finding.chain[0].importer
    path = Path(finding.path).absolute()
    depth = importer.count(".") + (1 if path.name == "__init__.py" else 0)
    return path.parents[depth] if depth < len(path.parents) else None


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
@follow_option
@python_option
@debug_option
@tool_errors
def explain(
    module: str,
    src: tuple[Path, ...],
    config_path: Optional[str],
    follow_installed: Optional[bool],
    python: Optional[str],
    debug: bool,
) -> None:
    """Print every eager chain from importing MODULE to a CUDA sink."""
    from importguard.cli_installed import follow_setting, open_reach
    from importguard.engine import collect_serially, display_hop, explain as explain_module
    from importguard.output import hop_text
    from importguard.rules.base import chain_text, sink_text

    config = _load(config_path, Path("."))
    roots = list(src) or ([] if config.src else [config.project_root, config.project_root / "src"])
    if python is not None and not follow_setting(config, follow_installed):
        raise UsageError("--python is used only with --follow-installed (or follow-installed in the config)")
    with open_reach(config, follow_installed, python, False, collect_serially) as reach:
        facts, chains = explain_module(module, config, roots, reach.installed, reach.collector)
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
