"""Replay the last report when nothing it depended on has changed.

A warm run with the facts cache still rebuilds the graph and searches it; on trees of
a few thousand files that costs more than the whole budget of a no-change run. So a
run records what decided its report: every file it read (with its stat), what each
directory lookup depended on (lookups.py: the entries a module lookup probed and the
names a walk took, so an unrelated file written into one of those directories changes
nothing), the `__init__.py`/`pyproject.toml` it looked for above the tree (present or
absent), importguard's own sources, and the options. The next run asked the same way
checks those, and only when every one is unchanged prints the stored report instead of
analysing.

One kind of record, `replay-<checksum of its key>.json` in the cache directory, read
two ways: by the console script before click is imported (fast_replay.py: the key is
the command line and the working directory relative to the project, and the record
keeps what was printed), and here, by the CLI when that found nothing to print (a
record in a cache directory the console script does not look in, the config's
`cache-dir`, or written by a check run in process, which is keyed by its options
instead of a command line: such a record keeps the report instead).

Only plain `check` runs are recorded: not --fix/--diff (they write), --confirm (runs
code), --follow-installed/--verify-install (read another environment), --changed-only.
A file changed after the run started, or in the two seconds before (its mtime may
change again within the same tick), is not trusted, so such a run is not recorded; a
directory that recent is recorded without its mtime shortcut.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Optional

from importguard.cache import fast_replay
from importguard.cache import store as cache
from importguard.cache.directory import prepare as prepare_cache_directory, prunable
from importguard.cache.store import _atomic_write, file_stat, trusted
from importguard.cache.fast_replay import inputs_unchanged
from importguard.cache.lookups import LookupLog, merged
from importguard.cache.codec import codec
from importguard.cache.version import FORMAT
from importguard.model import Finding, Plan, Report
from importguard.files.regular_file import read_regular

_KEEP = 8
_dumps = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode  # as json.dumps with these, built once


class Replay:
    def __init__(self, directory: Path, options: dict[str, Any], exclude: tuple[str, ...] = ()) -> None:
        self.directory = directory
        self.exclude = exclude  # the config's, for a new name in a walked directory
        cwd = os.getcwd()
        # The command line of a `check` that came through the console script (the key
        # fast_replay.py looks for); otherwise (in process, the language server's one
        # record per file) the options.
        argv = fast_replay.invocation
        self.invocation = argv if argv and argv[0] == "check" else None
        words = self.invocation if self.invocation is not None else ["in process", repr(sorted(options.items()))]
        self.key = fast_replay.replay_key(words, cwd, os.path.abspath(directory))
        self.path = Path(fast_replay.replay_path(str(directory), self.key))
        self.loaded: Optional[dict[str, Any]] = None  # the record load() accepted, unpacked
        # Stats the run already took (the facts cache's, before reading each file);
        # taken again for the files not in it.
        self.known_stats: dict[str, Any] = {}
        # Paths changed after this moment may have been read before the change.
        self.started = time.time_ns()

    def load(self) -> Optional[Report]:
        if fast_replay.outdated == str(self.path):
            return None  # the console script just found an input of it changed
        try:
            header, detail = fast_replay.unpack(read_regular(self.path, cache.MAX_CACHE_FILE_BYTES))
            if header.get("format") != FORMAT or header.get("key") != self.key \
                    or not inputs_unchanged(header, detail):
                return None
            findings, plan = detail(header["report"])
            report = Report(
                tuple(codec(Finding).decode(f) for f in findings),
                header["files_checked"],
                tuple(header["warnings"]),
                None if plan is None else codec(Plan).decode(plan),
            )
            header["lookups"] = [[path, stamp, *detail(offset)] for path, stamp, offset in header["lookups"]]
            self.loaded = {**header, "report": [findings, plan]}
            return report
        except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
            return None  # no record, or one this version cannot read: analyse instead

    def save(self, report: Report, rendered: Optional[tuple[list[tuple[str, str]], int]] = None) -> None:
        """`rendered`: what the run prints ((stream, text) pairs, exit code), kept for
        fast_replay.py when the command line came through the console script."""
        if not report.consulted_files and not report.consulted_listings:
            return
        now = self.started
        own = (*cache.own_sources(), *_libcst_version_file())
        files: dict[str, list[Any]] = {}
        absent = []
        known = self.known_stats
        for path in (*report.consulted_files, *own):
            stat = known.get(path) or file_stat(path)
            if stat is None:
                # Looked for and absent: must stay absent. A name in a directory
                # (lookups.py) costs a replay nothing while the directory is unchanged.
                absent.append(path)
            elif trusted(stat, now) is None:
                return
            else:
                directory, name = _split(path)
                entries = files.get(directory)
                if entries is None:
                    entries = files[directory] = []
                entries += (name, *stat)
        lookups = self._lookups(report, absent)
        if lookups is None:
            return
        record = {
            "format": FORMAT,
            "key": self.key,
            "files": files,
            "lookups": lookups,
            "files_checked": report.files_checked,
            "warnings": list(report.warnings),
            "output": self._output(rendered),
        }
        if record["output"] is None:
            # Only the CLI replays a record without printed output (load()); one with
            # it is printed by the console script, and its report (most of the record
            # on a big tree) would only cost each write and each replay's read.
            record["report"] = [[codec(Finding).encode(f) for f in report.findings],
                                None if report.plan is None else codec(Plan).encode(report.plan)]
        self._write(record)

    def _output(self, rendered: Optional[tuple[list[tuple[str, str]], int]]) -> Any:
        """What was printed, where the console script can replay it: a record in the
        directory it looks in (fast_replay.lookup_directory), under its command line."""
        if rendered is None or self.invocation is None:
            return None
        looked_in = fast_replay.lookup_directory(self.invocation, os.getcwd())
        if os.path.abspath(looked_in) != os.path.abspath(self.directory):
            return None
        return rendered

    def _write(self, record: dict[str, Any]) -> None:
        try:
            prepare_cache_directory(self.directory)
            _atomic_write(self.path, fast_replay.pack(record, _dumps))
            self._prune()
        except OSError:
            pass  # an unwritable cache only costs the next run its shortcut

    def _lookups(self, report: Report, absent: list[str]) -> Optional[list[Any]]:
        """What the run's directory lookups depended on (with the `absent` files it
        looked for), or None when the tree no longer agrees with what the run saw."""
        log = LookupLog(self.exclude)
        cache_parent, cache_name = os.path.split(os.path.abspath(self.directory))
        for directory, taken, excluded in report.consulted_listings:
            if directory == cache_parent and cache_name not in taken:
                # This run may have created it; it holds no modules to find.
                excluded = (*excluded, cache_name)
            log.walked(directory, None if taken is None else list(taken), list(excluded or ()))
        for path, was_file in (*report.consulted_probes, *((path, False) for path in absent)):
            if not log.probed(path, was_file):
                return None
        return merged(log.lookups(self.started, cache._RACY_NS), report.consulted_lookups)

    def save_replayed(self, rendered: tuple[list[tuple[str, str]], int]) -> None:
        """After printing a replayed report, keep what was printed in its record, for
        fast_replay.py: its inputs were just found unchanged."""
        if self.loaded is None or self.loaded.get("output") is not None:
            return
        output = self._output(rendered)
        if output is not None:
            self._write({**{name: value for name, value in self.loaded.items() if name != "report"}, "output": output})

    def _prune(self) -> None:
        records = sorted((p for p in self.directory.glob("replay-*.json") if prunable(p)),
                         key=lambda p: p.stat().st_mtime_ns)
        for stale in records[:-_KEEP]:
            stale.unlink(missing_ok=True)


def _split_posix(path: str) -> tuple[str, str]:
    """os.path.split of an absolute, normalised POSIX path, without its general case
    (thousands of recorded files a run)."""
    directory, _, name = path.rpartition("/")
    return directory or "/", name


_split = os.path.split if os.sep != "/" or os.altsep else _split_posix


def _libcst_version_file() -> list[str]:
    """LibCST's version file, so an upgrade (which may parse differently) is a change."""
    import importlib.util

    spec = importlib.util.find_spec("libcst")
    if spec is None or not spec.submodule_search_locations:
        return []
    return [os.path.join(next(iter(spec.submodule_search_locations)), "_version.py")]


