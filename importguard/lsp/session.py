"""What the language server knows about a workspace between requests, without any LSP:
facts of files on disk (the on-disk facts cache first, then memory), facts of editor
buffers, and which files each analysis read.

`Session.analyse(path, text)` runs the engine for one open file: the file itself from its
buffer, every other module from disk. Facts of a disk file stay in memory while its stat
stays the same (a file changed in the last two seconds goes back to the facts cache,
which compares its content hash), so the analysis after an edit re-collects only the
edited file. The facts cache is read on the first analysis and written after it (`save`). The first analysis of a file whose buffer is
the file on disk replays its last findings when nothing they depended on has changed
(cache/replay.py, as `check` does), and `warm` then loads the facts for the first edit.

The engine is one callable (`Session.engine`): by default run_check with the resolver
and graph kept between analyses (KeptGraphEngine); `check_engine` computes everything.
Not thread-safe: the server calls a Session from one worker thread only.
"""

from __future__ import annotations

import os
import time
import tokenize
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Optional, Sequence

from importguard.cache.directory import cache_directory
from importguard.cache.fast_replay import recorded_files
from importguard.cache.replay import Replay
from importguard.cache.store import FactsCache, digest, file_stat, trusted
from importguard.config import Config, load_config
from importguard.errors import ImportguardError
from importguard.model import Finding, ModuleFacts, Report, SourceFile

if TYPE_CHECKING:  # imported by the first analysis that is not replayed
    from importguard.cache.loader import FactsLoader
    from importguard.engine import Collector

# message -> None: what an analysis is doing now (Session.analyse), which an editor shows
# as work-done progress with this title, at most every REPORT_EVERY_S
Progress = Callable[[str], None]
PROGRESS_TITLE = "importguard"
REPORT_EVERY_S = 0.2
# (paths, config, collector, track_inputs) -> Report; track_inputs as in run_check
Engine = Callable[[Sequence[Path], Config, "Collector", bool], Report]
# A buffer over budget.INLINE_MAX_BYTES is parsed in a worker stopped after this long (a
# 3 MB file of `x = 1` takes LibCST about a minute and 4 GB).
EDITOR_TIME_BUDGET_SECONDS = 10.0


def check_engine(paths: Sequence[Path], config: Config, collector: "Collector", track_inputs: bool) -> Report:
    from importguard.engine import run_check

    return run_check(paths, config, collector=collector, track_inputs=track_inputs)


class KeptGraphEngine:
    """run_check with the module resolver and the graph kept from one analysis to the
    next (cache/graph_memory.py): after an edit, only what depends on the edited file's facts
    is computed again. The server's default engine."""

    def __init__(self) -> None:
        from importguard.cache.graph_memory import GraphMemory

        self.memory = GraphMemory()

    def __call__(self, paths: Sequence[Path], config: Config, collector: "Collector", track_inputs: bool) -> Report:
        from importguard.engine import run_check

        # No fix plan: the server shows diagnostics and code actions, never the plan.
        return run_check(paths, config, collector=collector, track_inputs=track_inputs, memory=self.memory,
                         plan=False)


@dataclass(frozen=True)
class Analysis:
    findings: tuple[Finding, ...]  # of the analysed file only
    consulted: frozenset[str]  # absolute paths of every module whose facts were read
    config_error: Optional[str] = None  # the config could not be read; defaults were used
    parsed: int = 0  # files parsed from disk (neither in memory nor in the facts cache)
    seconds: float = 0.0
    replayed: bool = False  # the last findings for this file, nothing they depended on changed
    error: Optional[str] = None  # the analysis failed (an internal error): no findings to trust

    def summary(self, path: str) -> dict[str, object]:
        return {"path": path, "findings": len(self.findings), "files_read": len(self.consulted),
                "parsed_from_disk": self.parsed, "replayed": self.replayed, "seconds": round(self.seconds, 3)}


@dataclass(frozen=True)
class _Known:
    stat: tuple[int, int, int, int]
    facts: ModuleFacts


class Session:
    def __init__(self, *, use_cache: bool = True, jobs: Optional[int] = None, engine: Optional[Engine] = None) -> None:
        self.use_cache = use_cache
        self.jobs = jobs if jobs is not None else os.cpu_count() or 1
        self.engine = engine if engine is not None else KeptGraphEngine()
        self._disk: dict[str, _Known] = {}
        self._buffers: dict[tuple[str, str], ModuleFacts] = {}  # (path, content hash)
        self._caches: dict[Path, FactsCache] = {}
        self._analysed: set[str] = set()  # paths analysed at least once (replay only the first time)
        self.collected = 0  # files parsed from disk so far (facts cache misses)
        self.warnings: list[str] = []  # from the facts cache, shown once each

    # -- the one entry point

    def analyse(self, path: str, text: str, progress: Optional[Progress] = None) -> Analysis:
        """Findings of the file at `path` whose buffer holds `text`. `progress(message)`
        is told when an analysis that is not a replay starts, and after each batch of
        facts it reads (what an editor shows while a cold analysis runs)."""
        started = time.perf_counter()
        path = os.path.abspath(path)
        config, config_error = self.config_for(path)
        on_disk = self.use_cache and _same_as_disk(path, text)
        replay = Replay(cache_directory(config), {"command": "lsp", "path": path}) if on_disk else None
        if replay is not None and path not in self._analysed:
            # The buffer is the file on disk and nothing the last analysis of it read
            # has changed since: its findings, without loading any facts.
            replayed = replay.load()
            if replayed is not None and replay.loaded is not None:
                self._analysed.add(path)
                consulted = frozenset(p for p in recorded_files(replay.loaded) if p.endswith(".py"))
                return Analysis(self._own(replayed, path), consulted, config_error, 0,
                                time.perf_counter() - started, replayed=True)
        from importguard.cache.loader import FactsLoader
        from importguard.cache.pool import WorkerPool

        self._analysed.add(path)
        consulted: set[str] = set()
        cache = self._cache(config)
        pool = WorkerPool(self.jobs)
        disk = FactsLoader(cache, pool)

        def quietly(sources: Sequence[SourceFile]) -> list[ModuleFacts]:
            return [self._buffer(source, text) if source.path == path and not on_disk else self._known(source)
                    for source in sources]

        def collect(sources: Sequence[SourceFile]) -> list[ModuleFacts]:
            consulted.update(s.path for s in sources)
            facts = quietly(sources)
            if progress is not None:
                progress(_read_so_far(len(consulted), disk.collected))
            return facts

        # A kept graph (KeptGraphEngine) finds out what changed without reading it.
        collect.quietly = quietly  # type: ignore[attr-defined]

        self._from_disk = disk
        if progress is not None:
            progress(f"analysing {os.path.basename(path)}")
        try:
            report = self.engine([Path(path)], config, collect, replay is not None)
        finally:
            pool.close()
            self._from_disk = None
        if replay is not None:
            replay.save(report)
        for warning in cache.warnings if cache is not None else ():
            if warning not in self.warnings:
                self.warnings.append(warning)
        self.collected += disk.collected
        return Analysis(self._own(report, path), frozenset(consulted), config_error, disk.collected,
                        time.perf_counter() - started)

    def warm(self, path: str) -> Optional[Analysis]:
        """Load the facts an analysis of `path` needs into memory (after a replayed
        first analysis, so that the first edit does not wait for them)."""
        try:
            with open(path, "rb") as handle:
                text = handle.read().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        self._analysed.add(os.path.abspath(path))
        return self.analyse(path, text)

    def save(self) -> None:
        """Write what analyses collected into the facts caches (off the critical path:
        the server calls this after publishing)."""
        for cache in self._caches.values():
            cache.save()
            for warning in cache.warnings:
                if warning not in self.warnings:
                    self.warnings.append(warning)

    @staticmethod
    def _own(report: Report, path: str) -> tuple[Finding, ...]:
        return tuple(f for f in report.findings if os.path.abspath(f.path) == path)

    # -- configuration

    def config_for(self, path: str) -> tuple[Config, Optional[str]]:
        """The file's config; a broken one is reported and replaced by the defaults,
        rooted where the broken pyproject.toml is, so linting goes on."""
        try:
            return load_config(None, Path(path), rule_codes=_rule_codes), None
        except ImportguardError as error:
            return Config(project_root=_nearest_project(Path(path))), str(error)

    # -- facts

    def forget(self, paths: Iterable[str]) -> None:
        """Files changed on disk: drop what is known of them (a stat check would catch
        most changes anyway; this also covers a change within one timestamp tick)."""
        for path in paths:
            self._disk.pop(os.path.abspath(path), None)

    def _cache(self, config: Config) -> Optional[FactsCache]:
        if not self.use_cache:
            return None
        directory = cache_directory(config)
        if directory not in self._caches:
            self._caches[directory] = FactsCache.open(directory, config)
        return self._caches[directory]

    def _known(self, source: SourceFile) -> ModuleFacts:
        """Facts of a file on disk: from memory while its stat is unchanged (and old
        enough to prove it), else from the facts cache (which compares the content
        hash), else parsed."""
        stat = file_stat(source.path)
        known = self._disk.get(source.path)
        if (
            known is not None
            and stat == known.stat
            and known.facts.module == source.module
            and known.facts.is_package == source.is_package
            and trusted(stat, time.time_ns()) is not None
        ):
            return known.facts
        assert self._from_disk is not None
        facts = self._from_disk([source])[0]
        if stat is not None:
            self._disk[source.path] = _Known(stat, facts)
        return facts

    def _buffer(self, source: SourceFile, text: str) -> ModuleFacts:
        from importguard.cache.pool import collect_bounded  # libcst only when a buffer is parsed

        data = encode_buffer(text)
        key = (source.path, digest(data))
        facts = self._buffers.get(key)
        if facts is None or facts.module != source.module or facts.is_package != source.is_package:
            # A big buffer is parsed in a worker under the budgets, one over the size cap
            # not at all: a 30 MB buffer once drove the server to 24 GB.
            facts = collect_bounded(source, data, EDITOR_TIME_BUDGET_SECONDS)
            # Only the latest version of each buffer is worth keeping.
            for old in [k for k in self._buffers if k[0] == source.path]:
                del self._buffers[old]
            self._buffers[key] = facts
        return facts

    _from_disk: Optional["FactsLoader"] = None


def _read_so_far(files: int, parsed: int) -> str:
    read = f"{files} file{'s' if files != 1 else ''} read"
    return f"{read}, {parsed} parsed" if parsed else read


def encode_buffer(text: str) -> bytes:
    """The buffer as the bytes it will be saved as: its `# coding:` cookie, else UTF-8."""
    data = text.encode("utf-8")
    try:
        encoding, _ = tokenize.detect_encoding(BytesIO(data).readline)
        return text.encode(encoding)
    except (SyntaxError, LookupError, UnicodeEncodeError):
        return data


def _same_as_disk(path: str, text: str) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read() == encode_buffer(text)
    except OSError:
        return False


def _nearest_project(start: Path) -> Path:
    """The directory of the nearest pyproject.toml at or above `start`, else the
    working directory (as `load_config` does without a config file)."""
    directory = (start if start.is_dir() else start.parent).absolute()
    for candidate in (directory, *directory.parents):
        if (candidate / "pyproject.toml").is_file():
            return candidate
    return Path.cwd()


def _rule_codes() -> list[str]:
    """Every rule selector of a config must name a rule (as `importguard check` checks)."""
    from importguard.rules import ALL_RULES

    return [rule.code for rule in ALL_RULES]
