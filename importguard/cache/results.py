"""Reuse the last check's findings for every module whose inputs did not change.

A check with the facts cache also stores what it computed, in one record,
`<cache-dir>/results-<key>.json` (the key: importguard's sources, the facts cache key,
the configuration, the rules selected, PATHS and the working directory):

- the reported modules, each with the hash of its facts (cache.py: the digest of the
  encoded facts, whatever fields they hold, so new kinds of facts need nothing here);
- the findings of each reported module (suppressions and per-file ignores applied),
  one list per reported module;
- the warnings, the files read and what the module lookups depended on (lookups.py);
- in the per-module sections (only a check after an edit reads them): every module whose
  eager edges the graph computed, with its facts hash, the modules its answers
  depend on (its edges' targets, the packages it star-imports, whose `__all__`
  decides its edges, and the modules its calls at import were followed into:
  graph/reach.py) and, apart, the packages it star-imports and the modules its calls read;
  each search from an import site (graph.chain_from_site): its chain and what it
  depended on; each module's `from pkg import name` (the lazy re-export hint; none
  from a module that is no package); what the fix plan's network grew at each
  module (plan/network.py); and what the plan starts from at each file with findings
  (its reported sites, what they execute, the modules that decided it), so that after
  an edit none of these needs every module's facts decoded.

The next check finds the facts hashes of the files it reports (from the facts cache,
parsing only what changed) and compares:

- all equal, the lookups unchanged: the stored findings are the answer; no facts are
  decoded and no graph is searched;
- the lookups unchanged, the facts of some modules changed (C): a module's findings
  depend on its own facts, on its searches, on what its calls at import read, and for
  a package on the `from package import name` of other modules (the lazy re-export
  hint). A search that stopped at a sink depends on the modules it looked up (and
  what their sinks and edges read) and on those it skipped as reaching no sink; one
  that found no sink on everything its starts reach. So a search still holds when
  none of C is among the first, and none of C is reached, over the stored edges, from
  the second (a module outside C has the edges it had, so what reaches C is found
  on them). The findings of C, of every module with a search that no longer holds or
  whose calls read one of C, and of the packages a changed module does or did
  `from package import name` of are computed again, on a graph that loads facts on
  demand and takes the searches that hold from the record; every other module's
  come from the record. The edges of C and of the modules that star-import one of C
  are computed again too, for the record. The fix plan is cut again on a network
  grown from the record outside those modules;
- otherwise (no record; a module lookup would now find another file, e.g. a module
  added, deleted or renamed where an import looks; a partial check whose chains left
  PATHS): everything is computed again, and recorded.

The record is JSON read with checks of its shape; any surprise means "no record".
The language server keeps its graph between analyses instead (cache/graph_memory.py).
"""

from __future__ import annotations

import itertools
import json
import os
import stat as stat_mode
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional, Sequence

from importguard import __version__
from importguard.cache import early_parser, lookups
from importguard.cache import store as cache
from importguard.cache.codec import codec
from importguard.cache.directory import prepare as prepare_cache_directory, prunable
from importguard.cache.store import _atomic_write, digest, key_name
from importguard.cache.version import FORMAT
from importguard.config import Config
from importguard.engine import (
    Collector,
    FactsByPath,
    FactsStore,
    _warnings,
    build_graph,
    findings_of_files,
    finish,
    probed_files,
    unreadable_findings,
    with_inputs,
)
from importguard.model import Finding, ModuleFacts, Plan, Report
from importguard.rules import Rule
from importguard.rules._lazy_blockers import names_imported

_KEEP = 8


class ResultStore:
    """Where the record of the last check lives: `results-<key>.json` in the cache
    directory (and in memory, for a second check in the same run: --fix analyses again).

    One file, three JSON lines: the header (what a check that reuses everything reads:
    the reported modules, their findings, warnings, plan, files read and lookups), the
    per-module sections (_PER_MODULE: only a check after an edit reads them), and, when
    a check after an edit changed a few of their thousands of entries, those changes
    (_Delta) after the sections as they were last written, copied as they were read
    rather than encoded again. Written whole, to a temporary name then renamed."""

    def __init__(self, directory: Path, config: Config, options: dict[str, Any]) -> None:
        self.directory = directory
        self.key = {
            "format": FORMAT,
            "importguard": __version__,
            "sources": _own_sources_digest(),
            "facts": cache.cache_key(config),
            "config": repr(config),
            "cwd": os.getcwd(),
            **{name: repr(value) for name, value in sorted(options.items())},
        }
        self.path = directory / f"results-{key_name(self.key)}.json"
        # The header line as last read, of a file of this stat: its sections are read
        # and parsed only on demand (load_partial), from the same file.
        self._header: Optional[tuple[int, os.stat_result]] = None  # (its length in bytes, the file's stat)
        # The sections as last written (decoded, and their bytes where they were kept):
        # the next delta's base.
        self._base: Optional[tuple[dict[str, Any], Optional[bytes]]] = None
        self.started = time.time_ns()  # lookups made after this are recorded; see start()
        self.memory: Optional[dict[str, Any]] = None
        self.last_reuse = ""  # "all", "some" or "none": how the last check went (tests, bench)

    def check(self, paths: Sequence[Path], config: Config, discovered: Any, resolver: Any, rules: Sequence[Rule],
              collector: Collector, track_inputs: bool) -> Report:
        """engine.run_check hands its discovery here (engine does not import this module)."""
        return check_incrementally(paths, config, discovered, resolver, rules, collector, self, track_inputs)

    def start(self) -> None:
        """Call before a check begins: a directory changed since may have changed
        after the check looked into it, so its mtime proves nothing."""
        self.started = time.time_ns()

    def load(self) -> Optional[dict[str, Any]]:
        """The header of the record, if it is one of this key and shape."""
        if self.memory is not None:
            return self.memory
        self._header = None
        try:
            line, stat = _read_first_line(self.path, cache.MAX_CACHE_FILE_BYTES)
            text = line.decode("utf-8")
            record, end = _scan(text, 0)
        except (OSError, ValueError, StopIteration):
            return None
        if text[end:] != "\n" or not _well_formed(record, self.key):
            return None
        self._header = (len(line), stat)
        return record

    def load_partial(self, record: dict[str, Any]) -> Optional[dict[str, Any]]:
        """The per-module sections of the record load() read, with the delta after
        them applied, or None when they are not of the shape written or not written
        with this header (each line carries the token of the write it belongs to)."""
        if all(name in record for name in _PER_MODULE):
            return record  # kept in memory whole
        if self._header is None:
            return None
        try:
            raw = _read_after(self.path, *self._header)
            text = raw.decode("utf-8")
            base, end = _scan(text, 0)
            if not _sections_well_formed(base, _PER_MODULE):
                return None
            # Their bytes, for the next save to copy (JSON as written is ASCII: a
            # character is a byte).
            self._base = (base, raw[:end] if len(raw) == len(text) else text[:end].encode())
            if end == len(text):
                return base if base.get("token") == record.get("token") else None
            if text[end:end + 1] != "\n":
                return None
            delta, _ = _scan(text, end + 1)
        except (OSError, ValueError, StopIteration):
            return None
        if not _sections_well_formed(delta, ("set", "drop")) or delta.get("token") != record.get("token") \
                or delta.get("base") != base.get("token"):
            return None
        applied = _Delta(delta["set"], delta["drop"]).applied_to(base)
        return applied if applied is not None and _sections_well_formed(applied, _PER_MODULE) else None

    def save(self, record: dict[str, Any]) -> None:
        self.memory = record
        token = os.urandom(8).hex()
        header = {name: value for name, value in record.items() if name not in _PER_MODULE}
        sections = {name: record[name] for name in _PER_MODULE}
        parts: Iterable[bytes] = [_dumps({**header, "token": token}).encode(), b"\n"]
        delta = None if self._base is None or self._base[1] is None else _Delta.between(self._base[0], sections)
        if delta is not None and delta.small(sections):
            delta_line = _dumps({"token": token, "base": self._base[0]["token"], **delta.data()})  # type: ignore[index]
            parts = [*parts, self._base[1], b"\n", delta_line.encode()]  # type: ignore[list-item]
        else:
            parts = itertools.chain(parts, _encoded_sections(token, sections))
            # Their text is not kept (on vLLM 4 MB a copy of the tree): a later save of
            # this run writes them whole again instead of a delta.
            self._base = ({"token": token, **sections}, None)
        try:
            prepare_cache_directory(self.directory)
            _atomic_write(self.path, parts)
            _prune(self.directory)
        except OSError:
            pass  # the facts cache warns about an unwritable directory; this only costs speed


def _read_first_line(path: Path, limit: int) -> tuple[bytes, os.stat_result]:
    """The file's first line, newline included (or all of it, without one), and its
    stat: as read_regular reads a file (a regular file only, no pipe waited on, none
    larger than `limit`), but not past the line. A check whose findings are all stored
    reads the header alone, a quarter of the record."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        stat = os.fstat(fd)
        if not stat_mode.S_ISREG(stat.st_mode):
            raise OSError(f"{path} is not a regular file")
        if stat.st_size > limit:
            raise OSError(f"{path} is larger than {limit} bytes")
        chunks = []
        while True:
            chunk = os.read(fd, _CHUNK)
            end = chunk.find(b"\n")
            if end >= 0:
                chunks.append(chunk[:end + 1])
                return b"".join(chunks), stat
            if not chunk:
                return b"".join(chunks), stat
            chunks.append(chunk)
    finally:
        os.close(fd)


def _read_after(path: Path, offset: int, stat: os.stat_result) -> bytes:
    """What follows the first `offset` bytes of the file whose header was read, while
    it is still that file (same inode, size and mtime): one rewritten meanwhile is
    another record (each line also carries its write's token)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        now = os.fstat(fd)
        if (now.st_ino, now.st_dev, now.st_size, now.st_mtime_ns) != (stat.st_ino, stat.st_dev, stat.st_size,
                                                                        stat.st_mtime_ns):
            raise OSError(f"{path} changed since its header was read")
        with os.fdopen(os.dup(fd), "rb") as handle:
            handle.seek(offset)
            return handle.read(now.st_size - offset)
    finally:
        os.close(fd)


_CHUNK = 1 << 20


def _encoded_sections(token: str, sections: dict[str, Any]) -> Iterator[bytes]:
    """The line `_dumps({"token": token, **sections})` gives, one section at a time, so
    that the text of all of them is never in memory at once."""
    yield b'{"token":' + _dumps(token).encode()
    for name, value in sections.items():
        yield b"," + _dumps(name).encode() + b":"
        yield _dumps(value).encode()
    yield b"}"


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), check_circular=False)


_scan = json.JSONDecoder().raw_decode  # one JSON value at an offset: (value, end)


def _sections_well_formed(data: Any, sections: Sequence[str]) -> bool:
    """Each of `sections` a dict; the per-module ones also hold entries of the shape
    _save writes (a dropped field is a record of another shape, never an answer)."""
    if not isinstance(data, dict) or not all(isinstance(data.get(name), dict) for name in sections):
        return False
    if "modules" in sections:
        # Plain loops and `type(...) is`: JSON gives exact types, and this runs over every
        # entry of the record on each check after an edit.
        for entry in data["modules"].values():
            if type(entry) is not list or len(entry) != 5:
                return False
            path, hashed, targets, stars, calls = entry
            if type(path) is not str or type(hashed) is not str or type(targets) is not list \
                    or type(stars) is not list or type(calls) is not list:
                return False
        for found in data["from_imports"].values():
            if type(found) is not list:
                return False
            for entry in found:
                if type(entry) is not list or len(entry) != 3:
                    return False
        for entry in data["defined"].values():
            if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], bool)
                    and isinstance(entry[1], list)):
                return False
        if not all(map(_starts_well_formed, data["starts"].values())):
            return False
    return True


def _starts_well_formed(starts: Any) -> bool:
    """plan/network.py's Starts: [[line, column, kind, what, [module...]]...],
    [[line, column, what]...], [module...]]."""
    if not (isinstance(starts, list) and len(starts) == 3 and all(isinstance(part, list) for part in starts)):
        return False
    sites, calls, read = starts
    return all(isinstance(entry, list) and len(entry) == 5 and type(entry[0]) is int and type(entry[1]) is int
               and isinstance(entry[2], str) and isinstance(entry[3], str) and isinstance(entry[4], list)
               and all(isinstance(target, str) for target in entry[4]) for entry in sites) \
        and all(isinstance(entry, list) and len(entry) == 3 and type(entry[0]) is int and type(entry[1]) is int
                and isinstance(entry[2], str) for entry in calls) \
        and all(isinstance(module, str) for module in read)


class _Delta:
    """The entries of each per-module section set or dropped since the sections were
    last written whole. Past _DELTA_SHARE of their entries they are written whole again."""

    def __init__(self, changed: dict[str, dict[str, Any]], dropped: dict[str, Any]) -> None:
        self.changed = changed
        self.dropped = dropped

    @classmethod
    def between(cls, base: dict[str, Any], now: dict[str, Any]) -> "_Delta":
        changed = {}
        dropped = {}
        for name in _PER_MODULE:
            old, new = base[name], now[name]
            changed[name] = {key: value for key, value in new.items() if key not in old or old[key] != value}
            dropped[name] = [key for key in old if key not in new]
        return cls(changed, dropped)

    def small(self, now: dict[str, Any]) -> bool:
        size = sum(len(entries) for entries in self.changed.values()) + sum(map(len, self.dropped.values()))
        return size * _DELTA_SHARE <= sum(len(now[name]) for name in _PER_MODULE)

    def data(self) -> dict[str, Any]:
        return {"set": self.changed, "drop": self.dropped}

    def applied_to(self, base: dict[str, Any]) -> Optional[dict[str, Any]]:
        """`base` with these changes, or None when they are of another shape."""
        applied: dict[str, Any] = {}
        for name in _PER_MODULE:
            changed, dropped = self.changed.get(name), self.dropped.get(name)
            if not isinstance(changed, dict) or not isinstance(dropped, list):
                return None
            entries = {**base[name], **changed}
            for key in dropped:
                if not isinstance(key, str):
                    return None
                entries.pop(key, None)
            applied[name] = entries
        return applied


_DELTA_SHARE = 8


# What each module's answers depend on, what each of its searches found and depended
# on, its `from pkg import name` (the lazy re-export hint; every reported module has an
# entry), what the fix plan's network grew at it (plan/network.py's Builder), and the
# modules that reach no sink; whether each name called at import on the plan's network
# is known to the model (the plan's unresolved calls), with the modules that read; and
# what the plan starts from at each file with findings (plan/network.py's Starts).
_PER_MODULE = ("modules", "searches", "from_imports", "arcs", "plain", "free", "defined", "starts")


def _own_sources_digest() -> str:
    """importguard's own code: another graph or rule never reuses these findings."""
    parts = []
    for path in cache.own_sources():
        try:
            stat = os.stat(path)
        except OSError:
            continue
        parts.append(f"{path}:{stat.st_mtime_ns}:{stat.st_size}")
    return digest("\n".join(parts).encode())


def _well_formed(record: Any, key: dict[str, Any]) -> bool:
    """A header of this key whose sections have their types, with the findings of
    every reported module (a list each, in the order of `reported`)."""
    if not isinstance(record, dict) or record.get("key") != key:
        return False
    shapes = {"reported": list, "findings": list, "warnings": list, "read": list,
              "lookups": list, "outside": list}
    if not all(isinstance(record.get(name), kind) for name, kind in shapes.items()):
        return False
    return len(record["findings"]) == len(record["reported"]) and all(
        isinstance(found, list) for found in record["findings"])


def _prune(directory: Path) -> None:
    try:
        records = sorted((p for p in directory.glob("results-*.json") if prunable(p)), key=lambda p: p.stat().st_mtime_ns)
    except OSError:
        return
    for stale in records[:-_KEEP]:
        try:
            stale.unlink()
        except OSError:
            pass


# ----------------------------------------------------------------------------- check


def check_incrementally(
    paths: Sequence[Path],
    config: Config,
    discovered: Any,
    resolver: Any,
    rules: Sequence[Rule],
    collector: Collector,
    results: ResultStore,
    track_inputs: bool,
) -> Report:
    loaded: dict[str, Any] = {}

    def load_records() -> None:
        """While edited files are parsed in another process: what a check after an
        edit reads, and the modules it computes with (a check whose findings are all
        stored imports neither)."""
        record = loaded["record"] = results.load()
        try:
            if record is not None and not record["warnings"]:
                loaded["partial"] = results.load_partial(record)
            if record is not None:
                loaded["lookups hold"] = _lookups_hold(record, results)
        except (LookupError, TypeError, ValueError, AttributeError):
            pass  # a record of another shape: found out below
        import importguard.graph.imports  # noqa: F401
        from importguard.plan.network import summarised_calls

        # What the check computes with whatever the parsed files say, worked out now
        # rather than after the wait: the codecs of the facts it decodes and of the
        # findings and plan it decodes and stores, the calls the summaries have rows
        # for, and the files above the tree that the replay record lists.
        for kind in (ModuleFacts, Finding, Plan):
            codec(kind)
        summarised_calls()
        if track_inputs:
            loaded["probed"] = probed_files(paths, discovered)

    hashes_of = getattr(collector, "facts_hashes", None)
    hashes = hashes_of(discovered.files, load_records) if hashes_of is not None else None
    if hashes is None:  # no facts cache, or a file whose facts cannot be cached
        results.last_reuse = "none"
        return _full(paths, config, discovered, resolver, rules, collector, results, track_inputs, None)
    reported = [[s.path, s.module, s.is_package, h] for s, h in zip(discovered.files, hashes)]
    record = loaded["record"] if "record" in loaded else results.load()
    try:
        if record is not None and (loaded["lookups hold"] if "lookups hold" in loaded
                                   else _lookups_hold(record, results)):
            if reported == record["reported"] and _outside_unchanged(record["outside"], resolver, collector):
                results.last_reuse = "all"
                early_parser.stop()  # nothing is parsed from here on: its CPU is another run's
                return _replayed(record, paths, discovered, config, rules, reported, results, track_inputs)
            if record["warnings"] or _renamed(reported, record["reported"]):
                # A file named as another module than before (its package's own imports
                # decide whether its parent is a namespace portion: discovery.py): what
                # the record keeps per file was worked out under the old names.
                partial = None
            else:
                partial = loaded["partial"] if "partial" in loaded else results.load_partial(record)
            if partial is not None:
                results.last_reuse = "some"
                return _partial({**record, **partial}, paths, config, discovered, resolver, rules, collector,
                                results, track_inputs, reported, loaded.get("probed"))
    except (LookupError, TypeError, ValueError, AttributeError):
        pass  # a record this version cannot use: compute everything
    results.last_reuse = "none"
    return _full(paths, config, discovered, resolver, rules, collector, results, track_inputs, reported)


def _lookups_hold(record: dict[str, Any], results: ResultStore) -> bool:
    """Whether every module lookup the record depended on would find what it found; if
    so, the record's directory stamps are taken again where missing or outdated."""
    if not lookups.unchanged(record["lookups"]):
        return False
    record["lookups"] = lookups.refreshed(record["lookups"], results.started, cache._RACY_NS)
    return True


def _renamed(reported: list[Any], before: list[Any]) -> bool:
    """Whether a file reported both times is another module now."""
    names = {path: module for path, module, _, _ in before}
    return any(names.get(path, module) != module for path, module, _, _ in reported)


def _outside_unchanged(outside: list[Any], resolver: Any, collector: Any) -> bool:
    """Modules the last check loaded outside PATHS (its chains left them) still have
    the facts it used."""
    for module, path, hashed in outside:
        source = resolver.find(module)
        if source is None or source.path != path:
            return False
        now = collector.facts_hashes([source])
        if now is None or now[0] != hashed:
            return False
    return True


def _replayed(record: dict[str, Any], paths: Sequence[Path], discovered: Any, config: Config,
              rules: Sequence[Rule], reported: list[Any], results: ResultStore, track_inputs: bool) -> Report:
    kept = [codec(Finding).decode(f) for found in record["findings"] for f in found]
    kept += unreadable_findings(discovered.unreadable, rules, config)
    plan = None if record["plan"] is None else codec(Plan).decode(record["plan"])
    report = finish(kept, len(reported), record["warnings"], None, None, plan=plan)
    if track_inputs:
        report = with_inputs(report, paths, discovered, config, record["read"], (), record["lookups"])
    return report


def _full(paths: Sequence[Path], config: Config, discovered: Any, resolver: Any, rules: Sequence[Rule],
          collector: Collector, results: ResultStore, track_inputs: bool,
          reported: Optional[list[Any]]) -> Report:
    from importguard.plan.network import Builder

    store = FactsStore(resolver, collector)
    files = discovered.files
    store.prepare(files)
    graph = build_graph(config, store)
    kept, imported = findings_of_files(config, graph, store, files, rules)
    warnings = _warnings(store, {s.path for s in files})
    builder = Builder(graph)
    report = finish([*kept, *unreadable_findings(discovered.unreadable, rules, config)], len(files), warnings,
                    resolver, None, plan_inputs=(graph, FactsByPath(store, files)), plan_builder=builder)
    if reported is not None:
        targets = graph.computed_targets()
        _save(results, reported, store, targets, graph.star_sources(), graph.call_deps(), _searches_data(graph),
              _by_path(kept), warnings, resolver.probes, (), plan=report.plan,
              from_imports=imported, arcs=builder.grown, plain=_plain(reported), free=graph.sink_free_modules(),
              defined=builder.defined, starts=builder.starts)
    if track_inputs:
        report = with_inputs(report, paths, discovered, config, store.read, resolver.probes)
    return report


def _partial(record: dict[str, Any], paths: Sequence[Path], config: Config, discovered: Any, resolver: Any,
             rules: Sequence[Rule], collector: Collector, results: ResultStore, track_inputs: bool,
             reported: list[Any], probed: Optional[set[str]] = None) -> Report:
    from importguard.plan.network import Builder

    old_modules: dict[str, list[Any]] = record["modules"]
    if any(is_package and module in record["plain"] for _, module, is_package, _ in reported):
        # A package now where the record kept no one's `from module import name`,
        # since a plain module had that name: no reuse.
        raise ValueError("a plain module became a package")
    now = {module: (path, hashed) for path, module, _, hashed in reported}
    before = {module: (path, hashed) for path, module, _, hashed in record["reported"]}
    # Modules outside PATHS that the last check's chains loaded: changed when their
    # file or facts did. (Only a record without warnings gets here: problems of such
    # modules are warned about, and which of them a reused search loaded is not kept.)
    for module, path, hashed in record["outside"]:
        before[module] = (path, hashed)
        source = resolver.find(module)
        current = collector.facts_hashes([source]) if source is not None else None  # type: ignore[attr-defined]
        if source is not None and current is not None:
            now.setdefault(module, (source.path, current[0]))
    changed = {m for m in now.keys() | before.keys() if now.get(m) != before.get(m)}

    store = FactsStore(resolver, collector)  # facts decoded only where they are needed
    graph = build_graph(config, store)
    # The edges of the changed modules and of those that star-import one are computed
    # now, so that the record keeps their targets as they are, searched through or not.
    for module in changed | {m for m, entry in old_modules.items() if not changed.isdisjoint(entry[3])}:
        if module in now:
            graph.eager_edges(module)
    # A package's lazy re-export hint names the first `from package import name`
    # elsewhere: a changed module's, before or now, may change it.
    hinted: set[str] = set()
    reported_before = {module for _, module, _, _ in record["reported"]}
    for module in changed & reported_before:
        hinted.update(entry[0] for entry in record["from_imports"][before[module][0]])
    for facts in store.each([s for s in discovered.files if s.module in changed]):
        hinted.update(entry[0] for entry in names_imported(facts))
    packages = {module for _, module, is_package, _ in reported if is_package}
    # A search's answer holds while nothing it read changed and nothing its roots reach
    # did; a module with a search that does not hold is checked again, reusing the rest.
    reaching = changed | _reaching(old_modules, changed)
    kept_searches: dict[str, dict[tuple[int, int], Any]] = {}
    stale: set[str] = set()
    for module, searches in record["searches"].items():
        if module in changed:
            continue
        holding = kept_searches[module] = {}
        for line, column, chain, explicit, roots in searches:
            if changed.isdisjoint(explicit) and reaching.isdisjoint(roots):
                holding[(line, column)] = (chain, explicit, roots)
            else:
                stale.add(module)
    calls_changed = {m for m, entry in old_modules.items() if not changed.isdisjoint(entry[4])}
    again = changed | (hinted & packages) | stale | calls_changed
    graph.keep_searches(kept_searches)
    # A module that reached no sink still reaches none when nothing it reaches changed:
    # a search skips it instead of decoding everything below it again.
    graph.keep_sink_free(m for m in record["free"] if m in old_modules and m not in reaching)

    # The lazy re-export hint looks at every module's `from pkg import name`: the
    # record's, where the facts did not change.
    subset = [s for s in discovered.files if s.module in again]
    fresh = {s.path for s in subset}
    kept, imported = findings_of_files(config, graph, store, subset, rules,
                                       [(module, path) for path, module, _, _ in reported],
                                       {path: record["from_imports"][path] for path, _, _, _ in reported
                                        if path not in fresh}, _plain(reported))
    for path, _, _, _ in reported:
        if path not in imported:
            imported[path] = record["from_imports"][path]
    by_path = _by_path(kept)
    findings_before = {path: found for (path, _, _, _), found in zip(record["reported"], record["findings"])}
    for path, module, _, _ in reported:
        if module not in again:
            by_path[path] = [codec(Finding).decode(f) for f in findings_before[path]]
    # Recorded edges: those computed now (every changed module's, every search's), and
    # the old ones of the rest. An old entry of a module computed again but not
    # searched through may be out of date (a star import of a changed module), but no
    # finding depends on it: what reaches it was computed again on fresh edges.
    targets = {m: entry[2] for m, entry in old_modules.items() if m in now}
    targets.update(graph.computed_targets())
    stars = {m: entry[3] for m, entry in old_modules.items() if m in now}
    stars.update(graph.star_sources())
    calls = {m: entry[4] for m, entry in old_modules.items() if m in now}
    calls.update(graph.call_deps())
    searches = {m: found for m, found in record["searches"].items() if m not in again}
    searches.update(_searches_data(graph))
    warnings = _warnings(store, {s.path: None for s in discovered.files})  # type: ignore[misc]
    read = sorted({*record["read"], *(path for path, _ in now.values()), *store.read})
    kept_outside = [entry for entry in record["outside"] if entry[0] not in changed]
    all_kept = [f for found in by_path.values() for f in found]
    # The plan is cut again, since an edit anywhere on a chain can change it; its network
    # is grown from the record where a module's arcs cannot have changed (outside `again`).
    with_findings = {f.path for f in all_kept}
    facts_by_path = FactsByPath(store, [s for s in discovered.files if s.path in with_findings])
    # Whether a called name is known holds while none of the modules that answer read changed.
    defined = {name: (known, frozenset(read)) for name, (known, read) in record["defined"].items()
               if changed.isdisjoint(read)}
    # What a file's findings start from holds while its findings do and nothing else it read changed.
    modules_of = {path: module for path, module, _, _ in reported}
    starts = {path: found for path, found in record["starts"].items()
              if path in modules_of and modules_of[path] not in again and changed.isdisjoint(found[2])}
    builder = Builder(graph, record["arcs"], fresh=again, defined=defined, starts=starts)
    report = finish([*all_kept, *unreadable_findings(discovered.unreadable, rules, config)], len(reported), warnings,
                    resolver, None, plan_inputs=(graph, facts_by_path), plan_builder=builder)
    arcs = {module: grown for module, grown in record["arcs"].items() if module not in again}
    arcs.update(builder.grown)
    read = sorted({*read, *store.read})  # with the facts the plan decoded
    _save(results, reported, store, targets, stars, calls, searches, by_path, warnings, resolver.probes,
          record["lookups"], read,
          kept_outside, plan=report.plan, from_imports=imported, arcs=arcs,
          plain={**record["plain"], **_plain(reported)}, free=graph.sink_free_modules(),
          defined={**defined, **builder.defined}, starts=builder.starts)
    if track_inputs:
        report = with_inputs(report, paths, discovered, config, read, resolver.probes, record["lookups"], probed)
    return report


def _plain(reported: list[Any]) -> dict[str, None]:
    return {module: None for _, module, is_package, _ in reported if not is_package}


def _searches_data(graph: Any) -> dict[str, list[Any]]:
    """Each module's searches as the record keeps them: [line, column, chain, explicit, roots]."""
    return {module: [[line, column, None if chain is None else chain.to_data(), explicit, roots]
                     for (line, column), (chain, explicit, roots) in sorted(found.items())]
            for module, found in graph.searches.items()}


def _reaching(modules: dict[str, list[Any]], changed: set[str]) -> set[str]:
    """Every module that reaches one of `changed` over the recorded edges."""
    from importguard.graph.imports import importers_reaching

    importers: dict[str, list[str]] = defaultdict(list)
    for module, entry in modules.items():
        for target in entry[2]:
            importers[target].append(module)
    return importers_reaching(importers, changed)


def _by_path(findings: Iterable[Finding]) -> dict[str, list[Finding]]:
    grouped: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        grouped[finding.path].append(finding)
    return grouped


def _save(results: ResultStore, reported: list[Any], store: FactsStore, targets: dict[str, list[str]],
          stars: dict[str, list[str]], calls: dict[str, list[str]], searches: dict[str, list[Any]],
          by_path: dict[str, list[Finding]], warnings: Sequence[str], probes: Sequence[tuple[str, bool]],
          earlier: Sequence[Any], read: Optional[list[str]] = None, kept_outside: Sequence[Any] = (),
          plan: Optional[Plan] = None, from_imports: Optional[dict[str, list[Any]]] = None,
          arcs: Optional[dict[str, Any]] = None, plain: Optional[dict[str, None]] = None,
          free: Iterable[str] = (), defined: Optional[dict[str, tuple[bool, frozenset[str]]]] = None,
          starts: Optional[dict[str, Any]] = None) -> None:
    """`kept_outside`: modules outside PATHS loaded by the findings reused from the
    last record (module, path, facts hash). `from_imports`: path -> names_imported.
    `arcs`: what the plan's network grew at each module (plan/network.py's Builder).
    `plain`: the modules whose names `from_imports` left out, in this record or one it
    carries entries from. `free`: the modules known to reach no sink (graph/imports.py).
    `starts`: what the plan started from at each file with findings (plan/network.py)."""
    reported_paths = {path for path, _, _, _ in reported}
    if not reported_paths.issuperset(path for path, found in by_path.items() if found):
        return  # a finding outside the reported modules: the record keeps each module's
    hashes = {module: (path, hashed) for path, module, _, hashed in reported}
    outside_by_module = {entry[0]: list(entry) for entry in kept_outside}
    collector = store.collector
    for path, module in store.read.items():
        if path in reported_paths:
            continue
        source = store.resolver.find(module)
        hashed = collector.facts_hashes([source]) if source is not None and hasattr(collector, "facts_hashes") else None
        if hashed is None:
            return  # facts that cannot be keyed: record nothing
        outside_by_module[module] = [module, path, hashed[0]]
    outside = sorted(outside_by_module.values())
    hashes.update({module: (path, hashed) for module, path, hashed in outside})
    modules: dict[str, list[Any]] = {}
    for module, module_targets in targets.items():
        if module in hashes:
            path, hashed = hashes[module]
            modules[module] = [path, hashed, module_targets, stars.get(module, []), calls.get(module, [])]
    log = lookups.LookupLog()
    for path, was_file in probes:
        if not log.probed(path, was_file):
            return  # the tree changed while the check ran: record nothing
    record = {
        "key": results.key,
        "reported": reported,
        "modules": modules,
        "outside": outside,
        "findings": [[codec(Finding).encode(f) for f in by_path.get(path, ())] for path, _, _, _ in reported],
        "warnings": list(warnings),
        "plan": None if plan is None else codec(Plan).encode(plan),
        "searches": dict(sorted(searches.items())),
        "from_imports": {path: (from_imports or {}).get(path, []) for path in sorted(reported_paths)},
        "arcs": dict(sorted((arcs or {}).items())),
        "plain": dict(sorted((plain or {}).items())),
        "free": {module: None for module in sorted(free) if module in modules},
        "defined": {name: [known, sorted(read)] for name, (known, read) in sorted((defined or {}).items())},
        "starts": dict(sorted((starts or {}).items())),
        "read": sorted(read if read is not None else store.read),
        "lookups": lookups.merged(log.lookups(results.started, cache._RACY_NS), earlier),
    }
    results.save(record)
