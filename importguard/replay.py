"""Replay the last report when nothing it depended on has changed.

A warm run with the facts cache still rebuilds the graph and searches it; on trees of
a few thousand files that costs more than the whole budget of a no-change run. So a
run records what decided its report: every file it read (with its stat), every
directory it listed or probed for a module (a file added or removed there changes the
directory's mtime), the `__init__.py`/`pyproject.toml` it looked for above the tree
(present or absent), importguard's own sources, and the options. The next run with the
same options re-stats those paths, and only when every one is unchanged prints the
stored report instead of analysing.

Only plain `check` runs are recorded: not --fix/--diff (they write), --confirm (runs
code), --follow-installed/--verify-install (read another environment), --changed-only.
A path changed after the run started, or in the two seconds before (its mtime may
change again within the same tick), is not trusted, so such a run is not recorded.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Optional

from importguard import __version__
from importguard import cache
from importguard.cache import _atomic_write, digest, file_stat, trusted
from importguard.types import Finding, Hop, Report

FORMAT = 1
_KEEP = 8
_OWN_SOURCES = Path(__file__).parent


class Replay:
    def __init__(self, directory: Path, options: dict[str, Any]) -> None:
        self.directory = directory
        key = {"format": FORMAT, "importguard": __version__, "python": sys.version, "cwd": os.getcwd(), **options}
        # Paths changed after this moment may have been read before the change.
        self.started = time.time_ns()
        self.path = directory / f"replay-{digest(json.dumps(key, sort_keys=True, default=str).encode())[:16]}.json"

    def load(self) -> Optional[Report]:
        try:
            record = json.loads(self.path.read_bytes())
            if record.get("format") != FORMAT:
                return None
            stat_of = os.stat
            for path, recorded in record["files"]:
                try:
                    st = stat_of(path)
                except OSError:
                    if recorded is None:
                        continue  # looked for, absent then and now
                    return None
                if recorded != [st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino]:
                    return None
            for path, mtime in record["directories"]:
                if _mtime(path) != mtime:
                    return None
            return Report(
                tuple(_decode(f) for f in record["findings"]),
                record["files_checked"],
                tuple(record["warnings"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None  # no record, or one this version cannot read: analyse instead

    def save(self, report: Report) -> None:
        if not report.consulted_files and not report.consulted_directories:
            return
        now = self.started
        own = [str(p) for p in sorted(_OWN_SOURCES.rglob("*.py"))] + _libcst_version_file()
        files = []
        for path in (*report.consulted_files, *own):
            stat = file_stat(path)
            if stat is None:
                files.append((path, None))  # looked for and absent: must stay absent
            elif trusted(stat, now) is None:
                return
            else:
                files.append((path, list(stat)))
        directories = []
        for path in report.consulted_directories:
            mtime = _mtime(path)
            if mtime is None or now - mtime < cache._RACY_NS:
                return
            directories.append((path, mtime))
        record = {
            "format": FORMAT,
            "files": files,
            "directories": directories,
            "findings": [_encode(f) for f in report.findings],
            "files_checked": report.files_checked,
            "warnings": list(report.warnings),
        }
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            _atomic_write(self.path, json.dumps(record).encode())
            self._prune()
        except OSError:
            pass  # an unwritable cache only costs the next run its shortcut

    def _prune(self) -> None:
        records = sorted(self.directory.glob("replay-*.json"), key=lambda p: p.stat().st_mtime_ns)
        for stale in records[:-_KEEP]:
            stale.unlink(missing_ok=True)


def _libcst_version_file() -> list[str]:
    """LibCST's version file, so an upgrade (which may parse differently) is a change."""
    import importlib.util

    spec = importlib.util.find_spec("libcst")
    if spec is None or not spec.submodule_search_locations:
        return []
    return [os.path.join(next(iter(spec.submodule_search_locations)), "_version.py")]


def _mtime(path: str) -> Optional[int]:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def _encode(finding: Finding) -> list[Any]:
    return [
        finding.code, finding.name, finding.path, finding.line, finding.column, finding.message,
        finding.fix, finding.sink, finding.end_line,
        [[h.importer, h.imported, h.path, h.line, h.via] for h in finding.chain],
    ]


def _decode(data: list[Any]) -> Finding:
    code, name, path, line, column, message, fix, sink, end_line, chain = data
    return Finding(
        code=code, name=name, path=path, line=line, column=column, message=message,
        fix=fix, sink=sink, end_line=end_line, chain=tuple(Hop(*hop) for hop in chain),
    )
