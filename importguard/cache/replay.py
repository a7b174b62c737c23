"""Replay the last report when nothing it depended on has changed.

A warm run with the facts cache still rebuilds the graph and searches it; on trees of
a few thousand files that costs more than the whole budget of a no-change run. So a
run records what decided its report: every file it read (with its stat), what each
directory lookup depended on (lookups.py: the entries a module lookup probed and the
names a walk took, so an unrelated file written into one of those directories changes
nothing), the `__init__.py`/`pyproject.toml` it looked for above the tree (present or
absent), importguard's own sources, and the options. The next run with the same
options checks those, and only when every one is unchanged prints the stored report
instead of analysing.

Only plain `check` runs are recorded: not --fix/--diff (they write), --confirm (runs
code), --follow-installed/--verify-install (read another environment), --changed-only.
A file changed after the run started, or in the two seconds before (its mtime may
change again within the same tick), is not trusted, so such a run is not recorded; a
directory that recent is recorded without its mtime shortcut.
A run started from the console script also stores what it printed for fast_replay.py,
which replays that exact command line before click is even imported.
"""

from __future__ import annotations

import json
import os
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any, Optional

from importguard import __version__
from importguard.cache import fast_replay
from importguard.cache import store as cache
from importguard.cache.directory import prepare as prepare_cache_directory, prunable
from importguard.cache.store import _atomic_write, digest, file_stat, trusted
from importguard.cache.fast_replay import inputs_unchanged
from importguard.cache.lookups import LookupLog, merged
from importguard.cache.codec import codec
from importguard.model import Finding, Plan, Report
from importguard.files.regular_file import read_regular

FORMAT = 6  # 2: findings stored; 3: the fix plan; 4: directory lookups (lookups.py), not mtimes;
# 5: files by directory, their stats flat (fast_replay.inputs_unchanged); 6: findings and plan by codec.py
_KEEP = 8


class Replay:
    def __init__(self, directory: Path, options: dict[str, Any], exclude: tuple[str, ...] = ()) -> None:
        self.directory = directory
        self.exclude = exclude  # the config's, for a new name in a walked directory
        self.cwd = os.getcwd()
        key = {"format": FORMAT, "importguard": __version__, "python": sys.version, "prefix": sys.prefix,
               "cwd": self.cwd, **options}
        self.loaded: Optional[dict[str, Any]] = None  # the record load() accepted
        # Stats the run already took (the facts cache's, before reading each file);
        # taken again for the files not in it.
        self.known_stats: dict[str, Any] = {}
        # Paths changed after this moment may have been read before the change.
        self.started = time.time_ns()
        self.path = directory / f"replay-{digest(json.dumps(key, sort_keys=True, default=str).encode())[:16]}.json"

    def load(self) -> Optional[Report]:
        try:
            record = json.loads(read_regular(self.path, cache.MAX_CACHE_FILE_BYTES))
            if record.get("format") != FORMAT or not inputs_unchanged(record):
                return None
            self.loaded = record
            return Report(
                tuple(codec(Finding).decode(f) for f in record["findings"]),
                record["files_checked"],
                tuple(record["warnings"]),
                None if record["plan"] is None else codec(Plan).decode(record["plan"]),
            )
        except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
            return None  # no record, or one this version cannot read: analyse instead

    def save(self, report: Report, rendered: Optional[tuple[list[tuple[str, str]], int]] = None) -> None:
        """`rendered`: what the run prints ((stream, text) pairs, exit code), stored for
        fast_replay.py too when the command line came through entry.py."""
        if not report.consulted_files and not report.consulted_listings:
            return
        now = self.started
        own = cache.own_sources() + _libcst_version_file()
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
                directory, name = os.path.split(path)
                files.setdefault(directory, []).extend((name, *stat))
        lookups = self._lookups(report, absent)
        if lookups is None:
            return
        record = {
            "format": FORMAT,
            "files": files,
            "lookups": lookups,
            "findings": [codec(Finding).encode(f) for f in report.findings],
            "files_checked": report.files_checked,
            "warnings": list(report.warnings),
            "plan": None if report.plan is None else codec(Plan).encode(report.plan),
        }
        try:
            prepare_cache_directory(self.directory)
            _atomic_write(self.path, json.dumps(record, separators=(",", ":"), check_circular=False).encode())
            self._save_fast(record, rendered)
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
        """After printing a replayed report, keep what was printed for fast_replay.py
        (e.g. the same check in another --format): its inputs were just found unchanged."""
        if self.loaded is None:
            return
        try:
            prepare_cache_directory(self.directory)
            self._save_fast(self.loaded, rendered)
        except OSError:
            pass

    def _save_fast(self, record: dict[str, Any], rendered: Optional[tuple[list[tuple[str, str]], int]]) -> None:
        argv = fast_replay.invocation
        if rendered is None or argv is None:
            return
        key = fast_replay.replay_key(argv, self.cwd)
        path = Path(fast_replay.replay_path(argv, self.cwd, key))
        if os.path.abspath(path.parent) != os.path.abspath(self.directory):
            return  # fast_replay would not look here; never write anywhere else
        # What was printed replaces the findings and the plan: most of the record, read on every replay.
        fast = {k: v for k, v in record.items() if k not in ("findings", "plan")}
        dumps = partial(json.dumps, separators=(",", ":"), check_circular=False)
        _atomic_write(path, fast_replay.pack({**fast, "format": fast_replay.FORMAT, "key": key, "output": rendered},
                                             dumps))

    def _prune(self) -> None:
        for pattern in ("replay-*.json", "fast-*.json"):
            records = sorted((p for p in self.directory.glob(pattern) if prunable(p)), key=lambda p: p.stat().st_mtime_ns)
            for stale in records[:-_KEEP]:
                stale.unlink(missing_ok=True)


def _libcst_version_file() -> list[str]:
    """LibCST's version file, so an upgrade (which may parse differently) is a change."""
    import importlib.util

    spec = importlib.util.find_spec("libcst")
    if spec is None or not spec.submodule_search_locations:
        return []
    return [os.path.join(next(iter(spec.submodule_search_locations)), "_version.py")]


