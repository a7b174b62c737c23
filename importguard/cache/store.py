"""ModuleFacts on disk, so an unchanged file is never parsed twice.

Layout: per cache key, two packed JSON files: the index `<cache-dir>/facts-<key>.json`
(path -> module, package-ness, content hash, stat, facts hash) and the facts
themselves, `<cache-dir>/factdata-<key>.json` (facts hash -> encoded facts), with the
facts collected since that file was last written in `factrecent-<key>.json` and the
index entries changed since the index was written in `factsdelta-<key>.json` (an edit
rewrites those small files; past `_RECENT_LIMIT` they are folded into the big ones). A check
whose stored findings still hold (incremental.py) needs only the index: on vLLM
(3,244 files) 0.8 MB that loads in 8 ms, against 3.8 MB and 60 ms for index and facts
together (marshal of the same data: 46 ms, and not safe to read from a checkout). The
facts file is read the first time a module's facts are decoded. One packed file per
kind, not one per module: loading flashinfer's index took 32 ms against 46 ms for one
file per module. JSON, not pickle: a hostile checkout that ships a cache must not be
able to run code; every entry's shape is checked where it is used.

The key is everything that can change facts: importguard's version, the source of the
collector itself (facts/collect.py, facts/skeleton.py and model.py, so an edited checkout never
reuses stale facts), LibCST's version, the interpreter version (LibCST picks its grammar
from it, and skeleton.py's `ast` is the interpreter's own parser),
the parser type, and the configuration that collection reads (`COLLECTION_SETTINGS`).
Different keys live in different files, so two importguard versions used side by side
do not evict each other. Inside an index, an entry is found by path and is used only
when the module name, package-ness and content hash match; the stat fields (mtime,
ctime, size, inode) are only a fast path that skips re-hashing.

Writes go to a temporary file and `os.replace`, so readers see the old or the new
file, never a torn one; the facts file is written before the index, and an index
entry whose facts hash is missing from the facts file is a miss (collected again),
never wrong facts. Two concurrent runs merge what they found and the last writer
wins. A corrupt or foreign index is ignored and rebuilt, with one warning.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Iterator, Optional, Union

from importguard import __version__
from importguard.facts import budget
from importguard.model import (
    CallSite,
    Execution,
    FunctionFacts,
    ImportSite,
    ModuleFacts,
    Problem,
    SiteKind,
    SourceFile,
    Suppression,
)
from importguard.regular_file import read_regular

# 4: facts in their own file, keyed by facts hash; 5: function facts, bindings, environ, notes;
# 6: the facts file read entry by entry (_PackedFacts)
FORMAT = 6
# A cache directory can come with a checkout: its files are read only when regular, and
# only up to this size (flashinfer's index is about 3 MB).
MAX_CACHE_FILE_BYTES = 512_000_000
DEFAULT_DIRECTORY = ".importguard_cache"
# Config fields collect.py reads. None today; a field added here joins the key.
COLLECTION_SETTINGS: tuple[str, ...] = ()
# The collector's own source; a test fails when collect.py imports a module not listed.
COLLECTOR_SOURCES = (  # under importguard/
    "facts/budget.py", "facts/collect.py", "facts/comments.py", "facts/cpython_verdict.py",
    "facts/function_calls.py", "facts/positions.py", "facts/skeleton.py", "model.py", "regular_file.py",
)
# A file modified this recently may be modified again within the same timestamp tick,
# so its stat is not trusted as a fast path next time ("racy git" problem).
_RACY_NS = 2_000_000_000
_KEEP_INDEXES = 4
_RECENT_LIMIT = 256  # facts kept apart before they are folded into the facts file

Stat = tuple[int, int, int, int]  # mtime_ns, ctime_ns, size, inode

try:  # hashlib's own import costs more than a warm run can spare
    from _blake2 import blake2b as _blake2b
except ImportError:  # pragma: no cover - not CPython
    from hashlib import blake2b as _blake2b


def file_stat(path: str) -> Optional[Stat]:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino)


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the whole importguard package


def own_sources() -> list[str]:
    """importguard's own Python files, sorted: an edit of them (an editable install)
    makes every stored answer another run's."""
    found = []
    for directory, subdirectories, files in os.walk(_PACKAGE):
        subdirectories[:] = [d for d in subdirectories if d != "__pycache__"]
        found.extend(os.path.join(directory, name) for name in files if name.endswith(".py"))
    return sorted(found)


def digest(data: bytes) -> str:
    return _blake2b(data, digest_size=16).hexdigest()


def trusted(stat: Optional[Stat], now_ns: int) -> Optional[Stat]:
    """`stat`, unless the file changed too recently for its timestamp to prove anything."""
    if stat is None or now_ns - stat[0] < _RACY_NS or now_ns - stat[1] < _RACY_NS:
        return None
    return stat


# ----------------------------------------------------------------------------- key


def cache_key(config: Any) -> dict[str, str]:
    here = Path(__file__).parent.parent
    collector = _blake2b(digest_size=16)
    for name in COLLECTOR_SOURCES:
        collector.update((here / name).read_bytes())
    settings = [(name, repr(getattr(config, name))) for name in COLLECTION_SETTINGS]
    return {
        "importguard": __version__,
        "collector": collector.hexdigest(),
        "libcst": _libcst_version(),
        "python": f"{sys.implementation.name}-{sys.version_info[0]}.{sys.version_info[1]}",
        "parser": os.environ.get("LIBCST_PARSER_TYPE", ""),
        "settings": digest(repr(settings).encode()),
    }


def _libcst_version() -> str:
    """LibCST's version without importing it (a warm run must not pay for that)."""
    import importlib.util

    spec = importlib.util.find_spec("libcst")
    if spec is None or not spec.submodule_search_locations:
        return "missing"
    version_file = Path(next(iter(spec.submodule_search_locations))) / "_version.py"
    try:
        return digest(version_file.read_bytes())
    except OSError:
        return "unknown"


def key_name(key: dict[str, str]) -> str:
    return digest(json.dumps(key, sort_keys=True).encode())[:16]


# ----------------------------------------------------------------------------- codec
# Flat lists, one per kind of site (8 or 5 values per site): JSON builds one list per
# module instead of one per site, which loads three times faster on real trees.

_EXECUTION = {e.value: e for e in Execution}
_KIND = {k.value: k for k in SiteKind}
_new = object.__new__


def encode(facts: ModuleFacts) -> list[Any]:
    imports: list[Any] = []
    for s in facts.imports:
        exact = all(n and "," not in n for n in s.names)  # () is exact: ""
        names: Any = ",".join(s.names) if exact else list(s.names)
        imports += (s.module, names, s.line, s.column, s.end_line, s.execution.value, s.kind.value,
                    int(s.conditional))
    return [
        imports,
        _encode_calls(facts.calls),
        facts.exports,
        [[s.line, s.codes, s.directive] for s in facts.suppressions],
        [[p.code, p.message, p.line, p.column] for p in facts.problems],
        [[f.name, f.line, _encode_calls(f.calls), int(f.is_class), list(f.bases), f.returns] for f in facts.functions],
        [value for pair in facts.bindings for value in pair],
        [list(entry) for entry in facts.environ],
        [list(note) for note in facts.notes],
        [value for pair in facts.instances for value in pair],
        [value for pair in facts.declared for value in pair],
        list(facts.qualnames),
    ]


def _encode_calls(calls: Any) -> list[Any]:
    flat: list[Any] = []
    for c in calls:
        flat += (c.name, c.line, c.column, c.end_line, int(c.conditional), int(c.guarded), c.device, c.context)
    return flat


class MalformedEntry(ValueError):
    """A cache entry whose shape is not what `encode` writes: a miss, never an answer."""


_SEQUENCE = (list, tuple)  # JSON gives lists; facts kept in memory may hold tuples


def _ints(*values: Any) -> bool:
    return all(type(v) is int for v in values)


def _rows(value: Any, width: int) -> bool:
    return type(value) in _SEQUENCE and all(type(row) in _SEQUENCE and len(row) == width for row in value)


def _decode_calls(flat_calls: Any) -> tuple[CallSite, ...]:
    if type(flat_calls) not in _SEQUENCE or len(flat_calls) % 8:
        raise MalformedEntry("call sites of the wrong length")
    flat = iter(flat_calls)
    sites = []
    for name, line, column, end_line, conditional, guarded, device, context in zip(*[flat] * 8):
        # Chained `is`: every field an int (a bool is not), spelled out for speed.
        if type(name) is not str or not (type(line) is type(column) is type(end_line) is type(conditional)
                                         is type(guarded) is int) \
                or type(device) is not str or type(context) is not str:
            raise MalformedEntry("call site fields of the wrong type")
        site = _new(CallSite)  # as for import sites below: __init__ of a frozen dataclass is slow
        site.__dict__.update(name=name, line=line, column=column, end_line=end_line, conditional=bool(conditional),
                             guarded=bool(guarded), device=device, context=context)
        sites.append(site)
    return tuple(sites)


def facts_hash(encoded: list[Any]) -> str:
    return digest(json.dumps(encoded, separators=(",", ":")).encode())


def decode(source: SourceFile, data: list[Any]) -> ModuleFacts:
    """The facts `encode` wrote. Every field is checked, since the hash only proves the
    file is unchanged, not that the entry is intact (a `calls` list of `[1]` would
    otherwise drop every call silently)."""
    if type(data) not in _SEQUENCE or len(data) != 12:
        raise MalformedEntry("not a list of twelve fields")
    (imports, calls, exports, suppressions, problems, functions, bindings, environ, notes, instances, declared,
     qualnames) = data
    if type(imports) not in _SEQUENCE or len(imports) % 8:
        raise MalformedEntry("import sites of the wrong length")
    sites = []
    flat = iter(imports)
    for module, names, line, column, end_line, execution, kind, conditional in zip(*[flat] * 8):
        if type(module) is not str or not (type(line) is type(column) is type(end_line) is type(conditional) is int):
            raise MalformedEntry("import site fields of the wrong type")
        if type(names) is str:
            names = tuple(names.split(",")) if names else ()
        elif type(names) in _SEQUENCE and all(type(n) is str for n in names):
            names = tuple(names)
        else:
            raise MalformedEntry("import names of the wrong type")
        # Frozen dataclasses block __setattr__; filling __dict__ skips what __init__
        # would repeat for each of tens of thousands of cached sites.
        site = _new(ImportSite)
        site.__dict__.update(
            module=module, names=names, line=line, column=column, end_line=end_line,
            execution=_EXECUTION[execution], kind=_KIND[kind], conditional=bool(conditional),
        )
        sites.append(site)
    if exports is not None and (type(exports) not in _SEQUENCE or not all(type(e) is str for e in exports)):
        raise MalformedEntry("exports of the wrong type")
    if type(suppressions) not in _SEQUENCE or not all(
        type(s) in _SEQUENCE and len(s) in (2, 3) and _ints(s[0]) and type(s[1]) in _SEQUENCE
        and all(type(c) is str for c in s[1]) and all(type(d) is str for d in s[2:])
        for s in suppressions
    ):
        raise MalformedEntry("suppressions of the wrong shape")
    if not _rows(problems, 4) or not all(
        type(p[0]) is str and type(p[1]) is str and _ints(p[2], p[3]) for p in problems
    ):
        raise MalformedEntry("problems of the wrong shape")
    if not _rows(functions, 6) or not all(
        type(f[0]) is str and _ints(f[1], f[3]) and type(f[4]) in _SEQUENCE and all(type(b) is str for b in f[4])
        and type(f[5]) is str for f in functions
    ):
        raise MalformedEntry("function facts of the wrong shape")
    if type(qualnames) not in _SEQUENCE or not all(type(q) is str for q in qualnames):
        raise MalformedEntry("qualified names of the wrong shape")
    for pairs_of in (bindings, instances, declared):
        if type(pairs_of) not in _SEQUENCE or len(pairs_of) % 2 or not all(type(b) is str for b in pairs_of):
            raise MalformedEntry("bindings of the wrong shape")
    if not _rows(environ, 3) or not all(type(k) is str and type(v) is str and _ints(n) for k, v, n in environ):
        raise MalformedEntry("environment settings of the wrong shape")
    if not _rows(notes, 2) or not all(_ints(n) and type(t) is str for n, t in notes):
        raise MalformedEntry("notes of the wrong shape")
    pairs = iter(bindings)
    instance_pairs = iter(instances)
    declared_pairs = iter(declared)
    return ModuleFacts(
        module=source.module,
        path=source.path,
        is_package=source.is_package,
        imports=tuple(sites),
        calls=_decode_calls(calls),
        exports=None if exports is None else tuple(exports),
        suppressions=tuple(Suppression(entry[0], tuple(entry[1]), *entry[2:]) for entry in suppressions),
        problems=tuple(Problem(code, message, line, col) for code, message, line, col in problems),
        functions=tuple(FunctionFacts(name, line, _decode_calls(c), bool(k), tuple(b), r)
                        for name, line, c, k, b, r in functions),
        bindings=tuple(zip(pairs, pairs)),
        environ=tuple((key, value, line) for key, value, line in environ),
        notes=tuple((line, text) for line, text in notes),
        instances=tuple(zip(instance_pairs, instance_pairs)),
        declared=tuple(zip(declared_pairs, declared_pairs)),
        qualnames=tuple(qualnames),
    )


# ----------------------------------------------------------------------------- store


class _PackedFacts:
    """The facts file's entries, each parsed when asked for; an entry whose bytes are
    not what its offsets promise is a miss (collected again), never an answer."""

    def __init__(self, raw: bytes, body: int, offsets: dict[str, Any]) -> None:
        self._raw = raw
        self._body = body
        self._offsets = offsets

    def get(self, hashed: str) -> Any:
        where = self._offsets.get(hashed)
        if type(where) not in _SEQUENCE or len(where) != 2 or not _ints(*where) or min(where) < 0:
            return None
        start = self._body + where[0]
        if start + where[1] > len(self._raw):
            return None
        try:
            return json.loads(self._raw[start:start + where[1]])
        except ValueError:
            return None

    def items(self) -> Iterator[tuple[str, Any]]:
        for hashed in self._offsets:
            found = self.get(hashed)
            if found is not None:
                yield hashed, found


class FactsCache:
    """Index entries are `path -> [module, is_package, digest, stat or None, facts
    hash]`; the facts file maps `facts hash -> encoded facts`. The facts hash is the
    digest of the encoded facts, whatever fields they hold: what incremental.py keys
    its stored findings on."""

    def __init__(self, directory: Path, key: dict[str, str]) -> None:
        self.directory = directory
        self.key = key
        self.path = directory / f"facts-{key_name(key)}.json"
        self.data_path = directory / f"factdata-{key_name(key)}.json"
        # Facts collected since the facts file was last written: an edit rewrites this
        # small file, not the big one (flashinfer's is several MB).
        self.recent_path = directory / f"factrecent-{key_name(key)}.json"
        # Index entries changed since the index was last written, the same way.
        self.delta_path = directory / f"factsdelta-{key_name(key)}.json"
        self.warnings: list[str] = []
        self._entries: dict[str, list[Any]] = {}
        self._changed: dict[str, list[Any]] = {}
        self._facts: Optional[Union[_PackedFacts, dict[str, Any]]] = None  # the facts file, once read
        self._new_facts: dict[str, Any] = {}
        self._recent: Optional[dict[str, Any]] = None
        self._corrupt_entries = 0
        self._entries = self._read()
        self._indexed = bool(self._entries)  # an index to add a delta to
        self._entries.update(self._read_delta())
        # path -> the stat this run took of it before trusting (or collecting) its facts:
        # replay.py records these instead of taking every stat again.
        self.stats: dict[str, Stat] = {}

    @classmethod
    def open(cls, directory: Path, config: Any) -> "FactsCache":
        return cls(directory, cache_key(config))

    # -- reading

    def _read(self) -> dict[str, list[Any]]:
        try:
            raw = read_regular(self.path, MAX_CACHE_FILE_BYTES)
        except (FileNotFoundError, NotADirectoryError):  # saving says what is wrong
            return {}
        except OSError as error:
            self._warn(f"cannot read cache {self.path}: {error.strerror or error}; rebuilding it")
            return {}
        try:
            data = json.loads(raw)
        except ValueError:
            self._warn(f"ignoring corrupt cache {self.path}; rebuilding it")
            return {}
        if not isinstance(data, dict) or not isinstance(data.get("entries"), dict):
            self._warn(f"ignoring corrupt cache {self.path}; rebuilding it")
            return {}
        if data.get("format") != FORMAT or data.get("key") != self.key:
            found = data.get("key") if isinstance(data.get("key"), dict) else {}
            version = found.get("importguard", "an unknown version")
            self._warn(
                f"ignoring cache {self.path} written by importguard {version} with other "
                "settings; rebuilding it"
            )
            return {}
        return data["entries"]

    def _warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def lookup(self, source: SourceFile) -> Optional[ModuleFacts]:
        entry = self._valid_entry(source)
        if entry is None:
            return None
        data = self._new_facts.get(entry[4])
        if data is None:
            data = self._read_recent().get(entry[4])
        if data is None:
            data = self._read_facts().get(entry[4])
        if data is None:
            return None  # the facts file lost it (another run pruned it): collect again
        try:
            return decode(source, data)
        except (ValueError, TypeError, KeyError, AttributeError):
            self._corrupt(source)
            return None

    def facts_hash(self, source: SourceFile) -> Optional[str]:
        """The hash of the facts cached for `source`, when they are still its facts;
        nothing is decoded."""
        entry = self._valid_entry(source)
        return None if entry is None else entry[4]

    def stored_hash(self, source: SourceFile) -> Optional[str]:
        """The facts hash this run stored for `source` (just collected), if any."""
        entry = self._changed.get(source.path)
        return None if entry is None or entry[0] != source.module else entry[4]

    def _valid_entry(self, source: SourceFile) -> Optional[list[Any]]:
        entry = self._entries.get(source.path)
        if entry is None:
            return None
        try:
            if type(entry) not in _SEQUENCE or len(entry) != 5:
                raise MalformedEntry("not a list of five fields")
            module, is_package, content, stat, hashed = entry
            if module != source.module or is_package != source.is_package or not isinstance(hashed, str):
                return None
            now = file_stat(source.path)
            if now is None:
                return None
            self.stats[source.path] = now
            if stat is None or list(now) != stat:
                try:
                    fresh = digest(read_regular(source.path, budget.MAX_SOURCE_BYTES))
                except OSError:
                    return None
                if fresh != content:
                    return None
                self._put(source, content, now, hashed)
                entry = self._entries[source.path]
            return entry
        except (ValueError, TypeError, KeyError, AttributeError):
            self._corrupt(source)
            return None

    def _corrupt(self, source: SourceFile) -> None:
        self._corrupt_entries += 1
        self._warn_corrupt_entries()
        self._entries.pop(source.path, None)
        self._changed.pop(source.path, None)  # never saved back

    def _warn_corrupt_entries(self) -> None:
        self.warnings = [w for w in self.warnings if not w.startswith("ignored ")]
        noun = "entry" if self._corrupt_entries == 1 else "entries"
        self.warnings.append(
            f"ignored {self._corrupt_entries} corrupt cache {noun} in {self.path}; rebuilt them"
        )

    # -- writing

    def store(self, source: SourceFile, content: str, stat: Optional[Stat], facts: ModuleFacts) -> None:
        encoded = encode(facts)
        hashed = facts_hash(encoded)
        self._new_facts[hashed] = encoded
        self._put(source, content, stat, hashed)

    def _put(self, source: SourceFile, content: str, stat: Optional[Stat], hashed: str) -> None:
        if stat is not None:
            self.stats[source.path] = tuple(stat)  # type: ignore[assignment]
        kept = trusted(stat, time.time_ns())
        entry = [source.module, source.is_package, content, None if kept is None else list(kept), hashed]
        self._entries[source.path] = entry
        self._changed[source.path] = entry

    def save(self) -> None:
        """Write what this run learned, merged into what is on disk now: into the small
        delta files while they stay small, else into the index and facts files."""
        if not self._changed and not self._corrupt_entries:
            return
        try:
            self._prepare_directory()
            delta = {**self._read_delta(), **self._changed}
            if self._indexed and len(delta) <= _RECENT_LIMIT and not self._corrupt_entries:
                self._save_recent_facts({e[4] for e in [*self._entries.values(), *delta.values()]
                                         if isinstance(e, list) and len(e) == 5})
                self._write_entries(self.delta_path, delta)
            else:
                on_disk = self._reread_quietly()
                on_disk.update(delta)
                entries = {p: e for p, e in on_disk.items() if p in self._changed or os.path.exists(p)}
                self._save_recent_facts({e[4] for e in entries.values() if isinstance(e, list) and len(e) == 5})
                self._write_entries(self.path, entries)
                self._write_entries(self.delta_path, {})
                self._indexed = True
            # Written: a long-lived caller (the language server) saves again only when
            # it learns something new.
            self._changed = {}
            self._corrupt_entries = 0
            self._prune()
        except OSError as error:
            self._warn(
                f"cannot write cache in {self.directory}: {error.strerror or error}; "
                "use --cache-dir or --no-cache"
            )

    def _write_entries(self, path: Path, entries: dict[str, Any]) -> None:
        payload = {"format": FORMAT, "key": self.key, "entries": entries}
        _atomic_write(path, json.dumps(payload, separators=(",", ":")).encode())

    def _read_delta(self) -> dict[str, Any]:
        try:
            data = json.loads(read_regular(self.delta_path, MAX_CACHE_FILE_BYTES))
        except (OSError, ValueError):
            return {}  # missing or unreadable: its entries are misses, collected again
        if isinstance(data, dict) and data.get("format") == FORMAT and data.get("key") == self.key \
                and isinstance(data.get("entries"), dict):
            return data["entries"]
        return {}

    def _save_recent_facts(self, used: set[str]) -> None:
        """The facts collected since the facts file was written (only those an index
        entry still `used`), folded into the facts file once they are many."""
        if not self._new_facts:
            return
        recent = {**self._read_recent(), **self._new_facts}
        recent = {h: recent[h] for h in sorted(used) if h in recent}
        if len(recent) > _RECENT_LIMIT:  # fold them into the facts file
            facts = {**dict(self._read_facts(quietly=True).items()), **recent}
            kept = {h: facts[h] for h in sorted(used) if h in facts}
            self._write_packed(kept)
            self._facts = kept
            recent = {}
        self._write_facts(self.recent_path, recent)
        self._recent, self._new_facts = recent, {}  # what the files now hold

    def _write_facts(self, path: Path, facts: dict[str, Any]) -> None:
        data = {"format": FORMAT, "key": self.key, "facts": facts}
        _atomic_write(path, json.dumps(data, separators=(",", ":")).encode())

    def _read_recent(self) -> dict[str, Any]:
        if self._recent is None:
            self._recent = {}
            try:
                data = json.loads(read_regular(self.recent_path, MAX_CACHE_FILE_BYTES))
                if isinstance(data, dict) and data.get("format") == FORMAT and data.get("key") == self.key \
                        and isinstance(data.get("facts"), dict):
                    self._recent = data["facts"]
            except (OSError, ValueError):
                pass  # missing or unreadable: its entries are misses, collected again
        return self._recent

    def _write_packed(self, facts: dict[str, Any]) -> None:
        """The facts file: a header line (format, key, where each entry lies after it),
        then the entries' JSON back to back, so a run parses only the entries it uses."""
        parts = []
        offsets = {}
        position = 0
        for hashed, encoded in facts.items():
            text = json.dumps(encoded, separators=(",", ":")).encode()
            offsets[hashed] = [position, len(text)]
            parts.append(text)
            position += len(text)
        header = json.dumps({"format": FORMAT, "key": self.key, "offsets": offsets}, separators=(",", ":"))
        _atomic_write(self.data_path, header.encode() + b"\n" + b"".join(parts))

    def _read_facts(self, quietly: bool = False) -> Union[_PackedFacts, dict[str, Any]]:
        """The facts file (hash -> encoded facts), read once; {} when missing, corrupt
        or foreign (each of its entries is then a miss)."""
        if self._facts is None:
            facts: Union[_PackedFacts, dict[str, Any]] = {}
            try:
                raw = read_regular(self.data_path, MAX_CACHE_FILE_BYTES)
                end = raw.find(b"\n")
                data = json.loads(raw[:end]) if end >= 0 else None
                if isinstance(data, dict) and data.get("format") == FORMAT and data.get("key") == self.key \
                        and isinstance(data.get("offsets"), dict):
                    facts = _PackedFacts(raw, end + 1, data["offsets"])
                elif not quietly:
                    self._warn(f"ignoring corrupt cache {self.data_path}; rebuilding it")
            except FileNotFoundError:
                pass
            except (OSError, ValueError) as error:
                if not quietly:
                    self._warn(f"ignoring unreadable cache {self.data_path} ({error}); rebuilding it")
            self._facts = facts
        return self._facts

    def _reread_quietly(self) -> dict[str, list[Any]]:
        try:
            data = json.loads(read_regular(self.path, MAX_CACHE_FILE_BYTES))
            if data.get("format") == FORMAT and data.get("key") == self.key:
                entries = data["entries"]
                if isinstance(entries, dict):
                    return entries
        except (OSError, ValueError, AttributeError, KeyError):
            pass
        return {}

    def _prepare_directory(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        for name, text in (
            (".gitignore", "# Created by importguard.\n*\n"),
            ("CACHEDIR.TAG", "Signature: 8a477f597d28d172789f06886806bc55\n# importguard facts cache\n"),
        ):
            target = self.directory / name
            if not target.exists():
                _atomic_write(target, text.encode())

    def _prune(self) -> None:
        """Keep the newest few indexes; older keys belong to other versions or settings."""
        for pattern, current in (("facts-*.json", self.path), ("factdata-*.json", self.data_path),
                                 ("factrecent-*.json", self.recent_path), ("factsdelta-*.json", self.delta_path)):
            indexes = []
            for candidate in self.directory.glob(pattern):
                try:
                    indexes.append((candidate.stat().st_mtime_ns, candidate))
                except OSError:
                    continue
            for _, stale in sorted(indexes, reverse=True)[_KEEP_INDEXES:]:
                if stale != current:
                    try:
                        stale.unlink()
                    except OSError:
                        pass


def _atomic_write(path: Path, data: bytes) -> None:
    """Write to a new file beside `path`, then rename it over `path`. Not tempfile: its
    import costs a replayed run more than the write itself. Mode 0666 less the umask (a
    CI cache shared between users stays readable)."""
    for _ in range(100):
        temporary = path.parent / f".tmp-{os.getpid()}-{os.urandom(6).hex()}.json"
        try:
            handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o666)
            break
        except FileExistsError:
            continue
    else:
        raise FileExistsError(f"no free temporary name in {path.parent}")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
