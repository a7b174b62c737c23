"""ModuleFacts on disk, so an unchanged file is never parsed twice.

Layout: per cache key, two packed JSON files: the index `<cache-dir>/facts-<key>.json`
(path -> module, package-ness, content hash, stat, facts hash) and the facts
themselves, `<cache-dir>/factdata-<key>.json` (facts hash -> encoded facts), with the
facts collected since that file was last written in `factrecent-<key>.json` and the
index entries changed since the index was written in `factsdelta-<key>.json` (an edit
rewrites those small files; past `_RECENT_LIMIT` they are folded into the big ones). A check
whose stored findings still hold (cache/results.py) needs only the index: on vLLM
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
from importguard.cache.codec import MalformedEntry, codec, schema
from importguard.model import ModuleFacts, SourceFile
from importguard.files.atomic_write import write_cache_file as _atomic_write  # one writer for every file
from importguard.cache.directory import prepare as prepare_cache_directory, prunable
from importguard.files.regular_file import read_regular

# 4: facts in their own file, keyed by facts hash; 5: function facts, bindings, environ, notes;
# 6: the facts file read entry by entry (_PackedFacts); 7: the layout derived from the
# dataclasses (codec.py), whose schema is part of the key; index entries relative to the project root
FORMAT = 7
# A cache directory can come with a checkout: its files are read only when regular, and
# only up to this size (flashinfer's index is about 3 MB).
MAX_CACHE_FILE_BYTES = 512_000_000
DEFAULT_DIRECTORY = ".importguard_cache"
# Config fields collect.py reads. None today; a field added here joins the key.
COLLECTION_SETTINGS: tuple[str, ...] = ()
# The collector's own source; a test fails when collect.py imports a module not listed.
COLLECTOR_SOURCES = (  # under importguard/
    "cache/codec.py", "facts/budget.py", "facts/collect.py", "facts/comments.py", "facts/conditions.py", "facts/cpython_verdict.py",
    "facts/function_calls.py", "facts/positions.py", "facts/skeleton.py", "model.py", "files/regular_file.py",
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
        "schema": digest(schema(ModuleFacts).encode()),
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
# codec.py derives the layout from ModuleFacts' fields. The fields that say which file
# the facts are of (module, path, package-ness) come from the index entry, not the
# facts file: facts are stored by content, and two files with the same content share them.

IDENTITY_FIELDS = ("module", "path", "is_package")  # ModuleFacts' first fields (a test checks)
_IDENTITY = len(IDENTITY_FIELDS)
_SEQUENCE = (list, tuple)


def encode(facts: ModuleFacts) -> list[Any]:
    return codec(ModuleFacts).encode(facts)[_IDENTITY:]


def without_identity(encoded: list[Any]) -> list[Any]:
    """What `encode` gives, from what the whole facts' codec gave (a worker's result)."""
    return encoded[_IDENTITY:]


def decode(source: SourceFile, data: Any) -> ModuleFacts:
    """The facts `encode` wrote, every value's type checked (MalformedEntry if not):
    the hash only proves the file is unchanged, not that the entry is intact."""
    if type(data) not in _SEQUENCE:
        raise MalformedEntry("facts: not a list")
    return codec(ModuleFacts).decode([source.module, source.path, source.is_package, *data])


def facts_hash(encoded: list[Any]) -> str:
    return digest(json.dumps(encoded, separators=(",", ":")).encode())


def _ints(*values: Any) -> bool:
    return all(type(v) is int for v in values)


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
    digest of the encoded facts, whatever fields they hold: what cache/results.py keys
    its stored findings on."""

    def __init__(self, directory: Path, key: dict[str, str], base: Optional[Path] = None) -> None:
        self.directory = directory
        self.key = key
        # Index entries name the files under `base` (the project root) relative to it,
        # so a moved checkout, a worktree or a CI runner restoring the cache reuses them.
        self._base = None if base is None else os.path.join(os.path.abspath(base), "")
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
        return cls(directory, cache_key(config), config.project_root)

    def _name(self, path: str) -> str:
        """The index's name of a file: relative to the base where it lies below it."""
        base = self._base
        if base is None:
            return path
        if not os.path.isabs(path):
            path = os.path.abspath(path)
        return path[len(base):] if path.startswith(base) else path

    def _path(self, name: str) -> str:
        return name if self._base is None or os.path.isabs(name) else self._base + name

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
        entry = self._changed.get(self._name(source.path))
        return None if entry is None or entry[0] != source.module else entry[4]

    def _valid_entry(self, source: SourceFile) -> Optional[list[Any]]:
        name = self._name(source.path)
        entry = self._entries.get(name)
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
                entry = self._entries[name]
            return entry
        except (ValueError, TypeError, KeyError, AttributeError):
            self._corrupt(source)
            return None

    def _corrupt(self, source: SourceFile) -> None:
        self._corrupt_entries += 1
        self._warn_corrupt_entries()
        self._entries.pop(self._name(source.path), None)
        self._changed.pop(self._name(source.path), None)  # never saved back

    def _warn_corrupt_entries(self) -> None:
        self.warnings = [w for w in self.warnings if not w.startswith("ignored ")]
        noun = "entry" if self._corrupt_entries == 1 else "entries"
        self.warnings.append(
            f"ignored {self._corrupt_entries} corrupt cache {noun} in {self.path}; rebuilt them"
        )

    # -- writing

    def store(self, source: SourceFile, content: str, stat: Optional[Stat], facts: ModuleFacts) -> None:
        self.store_encoded(source, content, stat, encode(facts))

    def store_encoded(self, source: SourceFile, content: str, stat: Optional[Stat], encoded: list[Any]) -> None:
        """Store facts as `encode` gave them (a worker encoded them: no round trip here)."""
        hashed = facts_hash(encoded)
        self._new_facts[hashed] = encoded
        self._put(source, content, stat, hashed)

    def _put(self, source: SourceFile, content: str, stat: Optional[Stat], hashed: str) -> None:
        if stat is not None:
            self.stats[source.path] = tuple(stat)  # type: ignore[assignment]
        kept = trusted(stat, time.time_ns())
        entry = [source.module, source.is_package, content, None if kept is None else list(kept), hashed]
        name = self._name(source.path)
        self._entries[name] = entry
        self._changed[name] = entry

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
                entries = {p: e for p, e in on_disk.items() if p in self._changed or os.path.exists(self._path(p))}
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
        prepare_cache_directory(self.directory)  # never through a link, only into our own directory

    def _prune(self) -> None:
        """Keep the newest few indexes; older keys belong to other versions or settings."""
        for pattern, current in (("facts-*.json", self.path), ("factdata-*.json", self.data_path),
                                 ("factrecent-*.json", self.recent_path), ("factsdelta-*.json", self.delta_path)):
            indexes = []
            for candidate in self.directory.glob(pattern):
                if not prunable(candidate):
                    continue
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
