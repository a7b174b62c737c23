"""ModuleFacts on disk, so an unchanged file is never parsed twice.

One file per cache key, `<cache-dir>/facts-<key>.sqlite`, an SQLite database with three
tables: `files` (path relative to the project root -> module, package-ness, content
hash, stat, facts hash), `facts` (facts hash -> the facts' JSON, as codec.py encodes
them) and `meta` (format and key). Facts are stored by content: two files with the
same facts share one row. A worker sends the facts' JSON and its hash; the main process
stores those bytes as they are (no decode and encode again), a few megabytes at a time
while collection goes on, so no run holds the encoded facts of the whole tree; a row is
read back, by its hash, only when its facts are asked for. A check whose stored findings
still hold (cache/results.py) reads only the `files` table.

Why SQLite (the stdlib's `sqlite3`): one file, whose transactions make every write
all-or-nothing (a killed run or a full disk leaves the last committed state, which a
later run reads), that two runs share safely (its locks let one write at a time, and each
write is one short transaction), and whose rows are read one by one without loading the
rest. One packed
JSON file per kind, as before, had to be rewritten whole (or kept apart in delta files)
and read whole. A database that ships with a checkout is only data: it is opened only
when it is a regular file of bounded size, with `trusted_schema=OFF` (and SQLite's
defensive mode where Python offers it), its schema must be exactly ours (no view or
trigger), and every value read is type-checked; a file that fails is ignored with one
warning and replaced when the run saves.

The key is everything that can change facts: importguard's version, the source of the
collector itself (facts/collect.py, facts/skeleton.py and model.py, so an edited checkout never
reuses stale facts), LibCST's version, the interpreter version (LibCST picks its grammar
from it, and skeleton.py's `ast` is the interpreter's own parser),
the parser type, and the configuration that collection reads (`COLLECTION_SETTINGS`).
Different keys live in different files, so two importguard versions used side by side
do not evict each other. An entry is found by path and is used only when the module
name, package-ness and content hash match; the stat fields (mtime, ctime, size, inode)
are only a fast path that skips re-hashing. An entry whose facts row is missing (another
run dropped it), malformed, or not what its hash says is a miss: the file is collected
again. A run's last write drops the facts no entry names (and, after many changes, the
entries of files that are gone).
"""

from __future__ import annotations

import errno
import functools
import json
import os
import stat as stat_mode
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from importguard import __version__
from importguard.cache.codec import MalformedEntry, codec, schema
from importguard.model import ModuleFacts, SourceFile
from importguard.files.atomic_write import write_cache_file as _atomic_write  # noqa: F401 - replay.py and results.py write through it
from importguard.cache.directory import prepare as prepare_cache_directory, prunable
from importguard.cache.version import FORMAT
from importguard.files.regular_file import read_regular

if TYPE_CHECKING:
    import sqlite3

# A cache directory can come with a checkout: its files are read only when regular, and
# only up to this size (vLLM's facts take about 25 MB).
MAX_CACHE_FILE_BYTES = 512_000_000
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
# A save that wrote more entries than this also drops the entries of files that are gone.
_SWEEP_AFTER = 256
# Collected facts wait in memory until this many bytes of them, then go to the file.
_FLUSH_BYTES = 4_000_000
_MAX_FACTS_BYTES = 64_000_000  # one file's facts, as read back
_BUSY_SECONDS = 30.0  # how long a write waits for another run's

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


@functools.lru_cache(maxsize=None)
def own_sources() -> tuple[str, ...]:
    """importguard's own Python files, sorted: an edit of them (an editable install)
    makes every stored answer another run's. Listed once a process: the results record
    and the replay record both ask, and a process runs the code it imported anyway."""
    found = []
    for directory, subdirectories, files in os.walk(_PACKAGE):
        subdirectories[:] = [d for d in subdirectories if d != "__pycache__"]
        found.extend(os.path.join(directory, name) for name in files if name.endswith(".py"))
    return tuple(sorted(found))


def digest(data: bytes) -> str:
    return _blake2b(data, digest_size=16).hexdigest()


def trusted(stat: Optional[Stat], now_ns: int) -> Optional[Stat]:
    """`stat`, unless the file changed too recently for its timestamp to prove anything."""
    if stat is None or now_ns - stat[0] < _RACY_NS or now_ns - stat[1] < _RACY_NS:
        return None
    return stat


# ----------------------------------------------------------------------------- key


def cache_key(config: Any) -> dict[str, str]:
    settings = [(name, repr(getattr(config, name))) for name in COLLECTION_SETTINGS]
    collector, libcst, schema_digest = _installed_key()
    return {
        "importguard": __version__,
        "collector": collector,
        "libcst": libcst,
        "python": f"{sys.implementation.name}-{sys.version_info[0]}.{sys.version_info[1]}",
        "parser": os.environ.get("LIBCST_PARSER_TYPE", ""),
        "settings": digest(repr(settings).encode()),
        "schema": schema_digest,
    }


@functools.lru_cache(maxsize=None)
def _installed_key() -> tuple[str, str, str]:
    """The parts of the key that only the installation decides (the collector's source,
    LibCST, the layout of the facts), worked out once a run: the facts cache and the
    results record both ask."""
    here = Path(__file__).parent.parent
    collector = _blake2b(digest_size=16)
    for name in COLLECTOR_SOURCES:
        collector.update((here / name).read_bytes())
    return collector.hexdigest(), _libcst_version(), digest(schema(ModuleFacts).encode())


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


def facts_json(encoded: list[Any]) -> bytes:
    """What the store keeps of facts `encode` gave: compact JSON, hashed as it is."""
    return json.dumps(encoded, separators=(",", ":")).encode()


def facts_hash(encoded: list[Any]) -> str:
    return digest(facts_json(encoded))


# ----------------------------------------------------------------------------- store

_SCHEMA = (
    "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE files (name TEXT PRIMARY KEY, module TEXT NOT NULL, is_package INTEGER NOT NULL, "
    "content TEXT NOT NULL, mtime INTEGER, ctime INTEGER, size INTEGER, inode INTEGER, facts TEXT NOT NULL)",
    "CREATE TABLE facts (hash TEXT PRIMARY KEY, data BLOB NOT NULL)",
    "CREATE INDEX files_by_facts ON files (facts)",
)
_COLUMNS = "name, module, is_package, content, mtime, ctime, size, inode, facts"
_UNNAMED = "NOT EXISTS (SELECT 1 FROM files WHERE files.facts = facts.hash)"  # facts no entry names
# A row of `files` as read: (name, module, is_package 0/1, content hash, mtime, ctime,
# size, inode (None when the stat was too fresh to trust), facts hash).
Entry = tuple[Any, ...]
_EXPECTED_SCHEMA: Optional[list[tuple[Any, ...]]] = None
_SCHEMA_QUERY = "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"


class _Foreign(Exception):
    """The file is not a cache this version wrote with this key: `args[0]` says why."""


def _connect(path: str, mode: str) -> "sqlite3.Connection":
    """A connection that treats the file as untrusted data."""
    import sqlite3

    quoted = path.replace("%", "%25").replace("?", "%3f").replace("#", "%23")
    db = sqlite3.connect(f"file:{quoted}?mode={mode}", uri=True, timeout=_BUSY_SECONDS,
                         isolation_level=None, check_same_thread=False)
    setconfig = getattr(db, "setconfig", None)  # Python 3.12+
    if setconfig is not None:
        setconfig(sqlite3.SQLITE_DBCONFIG_DEFENSIVE, True)
    db.execute("PRAGMA trusted_schema=OFF")
    db.execute("PRAGMA cell_size_check=ON")
    db.execute("PRAGMA mmap_size=0")
    # No fsync, as for every cache file: a write lost to a power cut is collected again,
    # and a row whose bytes are not what their hash says is a miss (FactsCache.lookup).
    db.execute("PRAGMA synchronous=OFF")
    return db


def _expected_schema() -> list[tuple[Any, ...]]:
    global _EXPECTED_SCHEMA
    if _EXPECTED_SCHEMA is None:
        db = _connect(":memory:", "memory")
        for statement in _SCHEMA:
            db.execute(statement)
        _EXPECTED_SCHEMA = db.execute(_SCHEMA_QUERY).fetchall()
        db.close()
    return _EXPECTED_SCHEMA


class FactsCache:
    """Entries are `path -> (path, module, is_package, digest, mtime, ctime, size, inode,
    facts hash)` (the stat fields None when untrusted);
    the facts hash is the digest of the facts' JSON, whatever fields they hold: what
    cache/results.py keys its stored findings on."""

    def __init__(self, directory: Path, key: dict[str, str], base: Optional[Path] = None) -> None:
        self.directory = directory
        self.key = key
        # Entries name the files under `base` (the project root) relative to it, so a
        # moved checkout, a worktree or a CI runner restoring the cache reuses them.
        self._base = None if base is None else os.path.join(os.path.abspath(base), "")
        self.path = directory / f"facts-{key_name(key)}.sqlite"
        self.warnings: list[str] = []
        self._db: Optional["sqlite3.Connection"] = None
        self._replace = False  # the file on disk is not ours to update: written anew on save
        self._lock = threading.Lock()  # the language server may save from another thread
        self._entries: dict[str, Entry] = {}
        self._changed: dict[str, Entry] = {}  # entries this run stored (since its last save)
        self._unsaved: dict[str, Entry] = {}  # entries not written yet
        self._unsaved_facts: dict[str, bytes] = {}  # facts hash -> JSON, not written yet
        self._unsaved_bytes = 0
        self._dropped: set[str] = set()  # names of corrupt entries, deleted on save
        self._written = 0  # entries written since the last save
        # The facts hashes of the entries this run replaced since its last save: the only
        # facts its save can leave unnamed. Every row is looked at instead (`_sweep_all`)
        # after a dropped corrupt entry, many entries written, or a write before the final
        # one: that big run also sweeps what a run killed after such a write left.
        self._replaced: set[Any] = set()
        self._sweep_all = False
        self._failed = False  # a write failed: the run goes on without writing
        self._corrupt_entries = 0
        self._entries = self._read()
        # path -> the stat this run took of it before trusting (or collecting) its facts:
        # replay.py records these instead of taking every stat again.
        self.stats: dict[str, Stat] = {}

    @classmethod
    def open(cls, directory: Path, config: Any) -> "FactsCache":
        return cls(directory, cache_key(config), config.project_root)

    def _name(self, path: str) -> str:
        """The name of a file in the cache: relative to the base where it lies below it."""
        base = self._base
        if base is None:
            return path
        if path.startswith(base):  # absolute, below the base: the common case, first
            return path[len(base):]
        if not os.path.isabs(path):
            path = os.path.abspath(path)
        return path[len(base):] if path.startswith(base) else path

    def _path(self, name: str) -> str:
        return name if self._base is None or os.path.isabs(name) else self._base + name

    # -- reading

    def _read(self) -> dict[str, Entry]:
        import sqlite3

        try:
            found = os.lstat(self.path)
        except (FileNotFoundError, NotADirectoryError):
            return {}  # saving says what is wrong
        except OSError as error:
            self._warn(f"cannot read cache {self.path}: {error.strerror or error}; rebuilding it")
            return {}
        try:
            if not stat_mode.S_ISREG(found.st_mode) or not _regular_or_absent(self._journal()):
                raise _Foreign("is not a regular file")
            if found.st_size > MAX_CACHE_FILE_BYTES:
                raise _Foreign(f"is larger than {MAX_CACHE_FILE_BYTES} bytes")
            self._db = _connect(str(self.path), "rw")
            self._check(self._db)
            rows = self._db.execute(f"SELECT {_COLUMNS} FROM files").fetchall()
        except _Foreign as foreign:
            self._drop(foreign.args[0])
            return {}
        except sqlite3.OperationalError as error:  # locked past the timeout, or I/O: not corrupt
            self._close()
            self._warn(f"cannot read cache {self.path}: {error}")
            return {}
        except (sqlite3.Error, OSError):
            self._drop("corrupt")
            return {}
        # The rows as they are: _valid_entry compares each value with what it must be.
        return {row[0]: row for row in rows}

    def _journal(self) -> Path:
        return self.path.with_name(self.path.name + "-journal")

    def _check(self, db: "sqlite3.Connection") -> None:
        """Raise _Foreign unless `db` holds exactly our tables, this format and this key."""
        if db.execute(_SCHEMA_QUERY).fetchall() != _expected_schema():
            raise _Foreign("corrupt")
        meta = dict(db.execute("SELECT name, value FROM meta WHERE name IN ('format', 'key')").fetchall())
        try:
            key = json.loads(meta.get("key", "null"))
        except (TypeError, ValueError):
            raise _Foreign("corrupt") from None
        if meta.get("format") != str(FORMAT) or key != self.key:
            version = key.get("importguard", "an unknown version") if isinstance(key, dict) else "an unknown version"
            raise _Foreign(f"written by importguard {version} with other settings")

    def _close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _drop(self, why: str) -> None:
        """Forget the file on disk; the next save writes a new one in its place."""
        self._close()
        self._replace = True
        if why == "corrupt":
            self._warn(f"ignoring corrupt cache {self.path}; rebuilding it")
        else:
            self._warn(f"ignoring cache {self.path} {why}; rebuilding it")

    def _warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def lookup(self, source: SourceFile) -> Optional[ModuleFacts]:
        entry = self._valid_entry(source)
        return None if entry is None else self.facts(source, entry[8])

    def facts(self, source: SourceFile, hashed: str) -> Optional[ModuleFacts]:
        """The facts stored under `hashed`, decoded as `source`'s; None when they are
        not there (another run dropped them: collect again) or not what their hash says."""
        data = self._facts_data(hashed)
        if data is None:
            return None
        try:
            if digest(data) != hashed:
                raise MalformedEntry("facts: not what their hash says")
            return decode(source, json.loads(data))
        except (ValueError, TypeError, KeyError, AttributeError):
            self._corrupt(source)
            return None

    def _facts_data(self, hashed: str) -> Optional[bytes]:
        data = self._unsaved_facts.get(hashed)
        if data is not None or self._db is None:
            return data
        import sqlite3

        try:
            with self._lock:
                row = self._db.execute("SELECT data FROM facts WHERE hash = ?", (hashed,)).fetchone()
        except sqlite3.Error:
            return None
        if row is None or type(row[0]) is not bytes or len(row[0]) > _MAX_FACTS_BYTES:
            return None
        return row[0]

    def facts_hash(self, source: SourceFile) -> Optional[str]:
        """The hash of the facts cached for `source`, when they are still its facts;
        nothing is decoded."""
        entry = self._valid_entry(source)
        return None if entry is None else entry[8]

    def stored_hash(self, source: SourceFile) -> Optional[str]:
        """The facts hash this run stored for `source` (just collected), if any."""
        entry = self._changed.get(self._name(source.path))
        return None if entry is None or entry[1] != source.module else entry[8]

    def _valid_entry(self, source: SourceFile) -> Optional[Entry]:
        name = self._name(source.path)
        entry = self._entries.get(name)
        if entry is None:
            return None
        try:
            _, module, is_package, content, mtime, ctime, size, inode, hashed = entry
            if module != source.module or type(is_package) is not int or is_package != source.is_package \
                    or type(hashed) is not str:
                return None
            try:  # file_stat, inline: once per file of the tree on every check
                st = os.stat(source.path)
            except OSError:
                return None
            now = self.stats[source.path] = (st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino)
            if (mtime, ctime, size, inode) != now:  # never equal when the stat was not kept (None)
                try:
                    from importguard.facts import budget  # only for a file whose stat changed

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
        name = self._name(source.path)
        self._entries.pop(name, None)
        self._sweep_all = True  # its facts hash is not known
        self._changed.pop(name, None)  # never saved back
        self._unsaved.pop(name, None)
        self._dropped.add(name)

    def _warn_corrupt_entries(self) -> None:
        self.warnings = [w for w in self.warnings if not w.startswith("ignored ")]
        noun = "entry" if self._corrupt_entries == 1 else "entries"
        self.warnings.append(
            f"ignored {self._corrupt_entries} corrupt cache {noun} in {self.path}; rebuilt them"
        )

    # -- writing

    def store(self, source: SourceFile, content: str, stat: Optional[Stat], facts: ModuleFacts) -> None:
        data = facts_json(encode(facts))
        self.store_data(source, content, stat, data, digest(data))

    def store_data(self, source: SourceFile, content: str, stat: Optional[Stat], data: bytes, hashed: str) -> None:
        """Store facts as a worker sent them: `data` is `facts_json(encode(facts))`,
        `hashed` its digest. They go to the file once a few megabytes of them wait."""
        if hashed not in self._unsaved_facts:
            self._unsaved_facts[hashed] = data
            self._unsaved_bytes += len(data)
        self._put(source, content, stat, hashed)
        if self._unsaved_bytes >= _FLUSH_BYTES:
            self._write(final=False)

    def _put(self, source: SourceFile, content: str, stat: Optional[Stat], hashed: str) -> None:
        if stat is not None:
            self.stats[source.path] = tuple(stat)  # type: ignore[assignment]
        kept = trusted(stat, time.time_ns())
        name = self._name(source.path)
        entry = (name, source.module, int(source.is_package), content, *(kept or (None,) * 4), hashed)
        previous = self._entries.get(name)
        if previous is not None and previous[-1] != hashed:
            self._replaced.add(previous[-1])
        self._entries[name] = entry
        self._changed[name] = entry
        self._unsaved[name] = entry

    def save(self) -> None:
        """Write what this run learned and has not written yet, in one transaction."""
        if self._unsaved or self._unsaved_facts or self._dropped or self._replaced or self._sweep_all:
            self._write(final=True)
        if not self._failed:
            # Written: a long-lived caller (the language server) saves again only when
            # it learns something new.
            self._changed = {}
            self._corrupt_entries = 0
        self._failed = False  # a later save (the language server's) tries again

    def _write(self, final: bool) -> None:
        """Write the waiting entries and facts in one transaction; on the final write of
        a run, also drop the facts no entry names any more (and, after many changes,
        the entries of files that are gone)."""
        import sqlite3

        # After a failed write, the facts stay here unwritten: the loader reads them back.
        if self._failed:
            self._unsaved, self._unsaved_bytes = {}, 0
            return
        try:
            with self._lock:
                db = self._open_for_writing()
                db.execute("BEGIN IMMEDIATE")
                try:
                    db.executemany("INSERT OR REPLACE INTO facts (hash, data) VALUES (?, ?)",
                                   self._unsaved_facts.items())
                    db.executemany(f"INSERT OR REPLACE INTO files ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                   self._unsaved.values())
                    db.executemany("DELETE FROM files WHERE name = ?",
                                   [(name,) for name in self._dropped if name not in self._unsaved])
                    self._written += len(self._unsaved)
                    if final:
                        if self._written > _SWEEP_AFTER:
                            gone = [(name,) for (name,) in db.execute("SELECT name FROM files")
                                    if not isinstance(name, str) or not os.path.exists(self._path(name))]
                            db.executemany("DELETE FROM files WHERE name = ?", gone)
                            self._sweep_all = True
                        if self._sweep_all:
                            db.execute(f"DELETE FROM facts WHERE {_UNNAMED}")
                        else:  # a few rows by their key, not a scan of every row
                            db.executemany(f"DELETE FROM facts WHERE hash = ? AND {_UNNAMED}",
                                           [(hashed,) for hashed in self._replaced])
                    db.execute("COMMIT")
                except BaseException:
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                    raise
            self._unsaved, self._unsaved_facts, self._unsaved_bytes = {}, {}, 0
            self._dropped = set()
            if final:
                self._written = 0
                self._replaced, self._sweep_all = set(), False
                self._prune()
            else:
                self._sweep_all = True
        except (OSError, sqlite3.Error) as error:
            self._failed = True
            self._unsaved, self._unsaved_bytes = {}, 0
            reason = getattr(error, "strerror", None) or str(error)
            self._warn(f"cannot write cache in {self.directory}: {reason}; use --cache-dir or --no-cache")

    def _open_for_writing(self, raced: bool = False) -> "sqlite3.Connection":
        # Before every write, as the directory may have been replaced by a link meanwhile:
        # never through a link, only into a directory importguard made.
        prepare_cache_directory(self.directory)
        if self._db is not None and not self._replace:
            return self._db
        if not self._replace and os.path.lexists(self.path):
            try:
                self._db = _connect(str(self.path), "rw")
                self._check(self._db)
                return self._db
            except _Foreign:
                self._replace = True  # appeared since (another version, or garbage): replaced below
        self._close()
        # A new file, made under a temporary name and renamed into place: another run
        # sees the old file or this one, never one without its tables.
        temporary = self.directory / f".importguard-tmp-{os.getpid()}-{threading.get_ident()}.sqlite"
        try:
            temporary.unlink()
        except FileNotFoundError:
            pass
        db = _connect(str(temporary), "rwc")
        try:
            db.execute("PRAGMA journal_mode=DELETE")
            db.execute("BEGIN IMMEDIATE")
            for statement in _SCHEMA:
                db.execute(statement)
            db.executemany("INSERT INTO meta VALUES (?, ?)",
                           [("format", str(FORMAT)), ("key", json.dumps(self.key, sort_keys=True))])
            db.execute("COMMIT")
            db.close()
            published = self._publish(temporary)
        except BaseException:
            db.close()
            try:
                temporary.unlink()
            except OSError:
                pass
            raise
        self._replace = False
        if not published:  # another run made the file since this one looked: use it as found
            if raced:
                raise OSError(errno.EEXIST, "another run keeps replacing the cache file")
            return self._open_for_writing(raced=True)
        self._db = _connect(str(self.path), "rw")
        return self._db

    def _publish(self, temporary: Path) -> bool:
        """Put the new file in place; False where another run made one there first. A
        file this run replaces (foreign or corrupt) is renamed over; a missing one is
        linked into place, so that two first runs never swap one file for another under
        the run that already writes in it (its writes would fail: "attempt to write a
        readonly database")."""
        if self._replace:
            os.replace(temporary, self.path)
            return True
        try:
            os.link(temporary, self.path)
        except FileExistsError:
            return False
        except OSError:  # a file system without hard links
            os.replace(temporary, self.path)
            return True
        finally:
            temporary.unlink(missing_ok=True)
        return True

    def _prune(self) -> None:
        """Keep the newest few files; older keys belong to other versions or settings.
        The four kinds of JSON file the facts were kept in before (format 7) go."""
        files = []
        for candidate in self.directory.glob("facts-*.sqlite"):
            if not prunable(candidate):
                continue
            try:
                files.append((candidate.stat().st_mtime_ns, candidate))
            except OSError:
                continue
        stale = [path for _, path in sorted(files, reverse=True)[_KEEP_INDEXES:] if path != self.path]
        for pattern in ("facts-*.json", "factdata-*.json", "factrecent-*.json", "factsdelta-*.json"):
            stale.extend(self.directory.glob(pattern))
        for path in stale:
            if prunable(path):
                try:
                    path.unlink()
                except OSError:
                    pass


def _regular_or_absent(path: Path) -> bool:
    try:
        return stat_mode.S_ISREG(os.lstat(path).st_mode)
    except FileNotFoundError:
        return True


