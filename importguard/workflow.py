"""One `check`, from request to result: replay of an unchanged run, the analysis,
`--fix`/`--diff`, `--confirm` and `--verify-install`. Prints nothing: the command
renders the result and maps it to an exit code (cli/render.py)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from importguard.config import Config
from importguard.model import Report

if TYPE_CHECKING:
    from importguard.cache.replay import Replay
    from importguard.installed.verify import VerifyReport

Rendered = tuple[list[tuple[str, str]], int]  # (stream, text) pairs in order, exit code


@dataclass(frozen=True)
class CheckRequest:
    paths: tuple[Path, ...]
    config: Config
    output_format: str = "text"
    select: Optional[tuple[str, ...]] = None
    ignore: Optional[tuple[str, ...]] = None
    exit_zero: bool = False
    cache_dir: Optional[Path] = None
    use_cache: bool = True
    jobs: Optional[int] = None
    changed_only: bool = False
    fix: bool = False
    diff: bool = False
    confirm: bool = False
    python: Optional[str] = None
    timeout: float = 60.0
    follow_installed: Optional[bool] = None
    verify_install: bool = False
    add_noqa: bool = False
    # How the result is shown (cli/render.py); they do not change the report.
    statistics: bool = False
    quiet: bool = False
    color: bool = False
    # The options as given, for the replay key (the config file's path, the raw codes).
    replay_options: dict[str, Any] = field(default_factory=dict)

    @property
    def replayable(self) -> bool:
        """Only a plain `check` is replayed: the others write files, run project code,
        filter by changed files or read an environment that the replay does not track."""
        writes_or_runs = self.fix or self.diff or self.confirm or self.add_noqa
        reads_more = self.changed_only or self.verify_install or self.follow_installed or self.config.follow_installed \
            or self.config.environment.modules is not None  # installed versions read from an interpreter
        return self.use_cache and not (writes_or_runs or reads_more)


@dataclass
class CheckResult:
    report: Report
    notes: list[str] = field(default_factory=list)  # stderr lines printed before the report
    warnings: list[str] = field(default_factory=list)  # the run's own (cache, environment), after the notes
    diff: Optional[str] = None  # --diff: the unified diff; the report is not printed then
    files_changed: int = 0
    noqa_added: Optional[int] = None  # --add-noqa: directives written; the report is not printed then
    verified: Optional["VerifyReport"] = None
    replay: Optional["Replay"] = None
    replayed: bool = False
    savable: bool = False  # nothing warned: the report may be stored for a replay

    def remember(self, rendered: Rendered) -> None:
        """Store what was printed, for the next identical run to replay."""
        if self.replay is None:
            return
        if self.replayed:
            self.replay.save_replayed(rendered)
        elif self.savable:
            self.replay.save(self.report, rendered)


def run(request: CheckRequest) -> CheckResult:
    replay = _open_replay(request) if request.replayable else None
    if replay is not None:
        replayed = replay.load()
        if replayed is not None:
            from importguard.cache import early_parser

            early_parser.stop()  # nothing is parsed: its CPU is another run's
            return CheckResult(replayed, replay=replay, replayed=True)
    result = _analyse(request, replay)
    if request.confirm and result.report.findings:
        result.report, line = _confirmed(result.report, request)
        result.notes.append(line)
    return result


def _open_replay(request: CheckRequest) -> "Replay":
    from importguard.cache.directory import cache_directory
    from importguard.cache.replay import Replay

    return Replay(cache_directory(request.config, request.cache_dir), request.replay_options, request.config.exclude)


def _analyse(request: CheckRequest, replay: Optional["Replay"]) -> CheckResult:
    from importguard.cache.loader import open_loader
    from importguard.installed.reach import open_reach, verify_chains
    from importguard.engine import run_check

    config = request.config
    targets = list(request.paths)
    scope = targets
    if request.changed_only:  # git, through subprocess: imported only for this
        from importguard.changed import project_scope

        scope = project_scope(config)
    results = None
    if replay is not None or (request.changed_only and request.use_cache):
        # A plain check with the cache, or the pre-commit hook's (its report is not
        # replayed: it depends on the files given): reuse the last one's findings.
        from importguard.cache.directory import cache_directory
        from importguard.cache.results import ResultStore

        results = ResultStore(cache_directory(config, request.cache_dir), config, {
            "paths": [str(p.absolute()) for p in scope], "select": request.select, "ignore": request.ignore})
    notes: list[str] = []
    diff = None
    files_changed = 0
    with open_loader(config, cache_dir=request.cache_dir, use_cache=request.use_cache,
                        jobs=request.jobs) as collector, \
            open_reach(config, request.follow_installed, request.python, request.verify_install,
                       collector) as reach:
        def analyse() -> Report:
            found = run_check(scope, config, select=request.select, ignore=request.ignore,
                              collector=reach.collector, installed=reach.installed,
                              track_inputs=replay is not None, results=results)
            if not request.changed_only:
                return found
            from importguard.changed import only_touching

            return only_touching(found, targets, config)

        report = analyse()
        if request.fix or request.diff:
            from importguard.fix.apply import apply_fixes

            applied = apply_fixes(report, write=not request.diff, project_root=str(config.project_root))
            notes += applied.notes
            files_changed = applied.files_changed
            if request.diff:
                diff = applied.diff
            elif files_changed:
                report = analyse()  # what is left, at the lines as they are now
        noqa_added = None
        if request.add_noqa:
            from importguard.fix.add_noqa import add_noqa

            added = add_noqa(report.findings, project_root=str(config.project_root))
            notes += added.notes
            noqa_added = added.directives
            files_changed = added.files_changed
        verified = verify_chains(report.findings, reach) if request.verify_install else None
        if replay is not None and getattr(collector, "cache", None) is not None:
            replay.known_stats = collector.cache.stats
    warnings = [*collector.warnings, *reach.warnings]
    return CheckResult(
        report,
        notes=notes,
        warnings=warnings,
        diff=diff,
        files_changed=files_changed,
        noqa_added=noqa_added,
        verified=verified,
        replay=replay,
        savable=not warnings,
    )


def _confirmed(report: Report, request: CheckRequest) -> tuple[Report, str]:
    """The report with each IG001/IG002 finding's runtime verdict attached, and the
    line that sums it up."""
    from importguard.probe.confirm import confirm_findings

    config = request.config
    roots = dict.fromkeys([*config.src, *(_root_of(f) for f in report.findings if f.chain)])
    findings = confirm_findings(
        report.findings,
        python=request.python,
        sys_path=[r for r in roots if r is not None],
        sink_modules=config.sink_modules,
        timeout=request.timeout,
        jobs=request.jobs,
    )
    verdicts = [dict(f.extra)["confirmation"] for f in findings if "confirmation" in dict(f.extra)]
    confirmed = sum(1 for v in verdicts if v.get("confirmed") is True)
    line = (f"--confirm: {confirmed} of {len(verdicts)} probed findings confirmed in this environment "
            "(importing the module initialized the CUDA driver).")
    return replace(report, findings=tuple(findings)), line


def _root_of(finding) -> Optional[Path]:
    """The sys.path entry under which the finding's importer has its module name."""
    importer = finding.chain[0].importer
    path = Path(finding.path).absolute()
    depth = importer.count(".") + (1 if path.name == "__init__.py" else 0)
    return path.parents[depth] if depth < len(path.parents) else None
