"""Read a replay record before importing anything else (the first half of replay.py).

A no-change run through click imports click, the config loader and the data types
(about 30 ms on this box, most of a warm run). So the console script (entry.py) looks
for the run's replay record with nothing but the standard library, and prints what the
record says was printed when every input of the run is unchanged; otherwise it runs the
normal CLI, which reads the same record (replay.py) or analyses.

One record per way of asking: its key is the command line, the working directory
relative to the project (the cache directory's parent), importguard and Python
versions, the environment (sys.prefix, so a venv with another LibCST is another key),
LIBCST_PARSER_TYPE and what `--color auto` decides on. The record lives in the cache
directory named by `--cache-dir`, else in the nearest `.importguard_cache` at or above
the working directory: a check run from a package subdirectory finds the project's.
A record only proves itself: it holds its key and every input it depends on.
"""

from __future__ import annotations

import os
import sys
import zlib

from importguard import __version__
from importguard.cache.version import FORMAT

# Neither typing, hashlib nor json (with re and enum): together most of this module's
# import time, paid on every replay (annotations are strings here, never evaluated).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Optional

DEFAULT_DIRECTORY = ".importguard_cache"

# The command line of this process when it came through entry.py; None under a test
# runner's CliRunner, whose sys.argv is not the command that was run.
invocation: Optional[list[str]] = None
# The record try_replay found of another tree (some input changed): the CLI need not
# read it again to find the same (replay.py).
outdated: Optional[str] = None


def lookup_directory(argv: list[str], cwd: str) -> str:
    """The cache directory a replay of `argv` is looked for in: `--cache-dir`, else the
    nearest `.importguard_cache` at or above `cwd` (the project's, from a subdirectory),
    else `cwd`'s."""
    for index, argument in enumerate(argv):
        if argument == "--cache-dir" and index + 1 < len(argv):
            return os.path.abspath(os.path.join(cwd, argv[index + 1]))
        if argument.startswith("--cache-dir="):
            return os.path.abspath(os.path.join(cwd, argument.partition("=")[2]))
    directory = cwd
    while True:
        candidate = os.path.join(directory, DEFAULT_DIRECTORY)
        if os.path.isdir(candidate):
            return candidate
        parent = os.path.dirname(directory)
        if parent == directory:
            return os.path.join(cwd, DEFAULT_DIRECTORY)
        directory = parent


def _isatty() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def replay_key(words: list[Any], cwd: str, directory: str) -> str:
    """Everything the printed output depends on besides the inputs the record lists
    (repr, not JSON: the json module is not imported here). `words`: the command line,
    or, for a check run in process, its options. The working directory counts relative
    to the project (`directory`'s parent): paths are printed relative to it."""
    return repr([
        FORMAT, __version__, sys.version, sys.prefix, os.path.relpath(cwd, os.path.dirname(directory)), words,
        os.environ.get("LIBCST_PARSER_TYPE", ""),
        # What `--color auto` decides on: the same command on a terminal is another record.
        os.environ.get("NO_COLOR", ""), os.environ.get("FORCE_COLOR", ""), os.environ.get("TERM", ""),
        _isatty(),
    ])


def replay_path(directory: str, key: str) -> str:
    """Where the record of `key` lives. Its name is a CRC of the key, so two keys may
    share a file: the record holds its key, and another key's is a miss."""
    encoded = key.encode()
    return os.path.join(directory, f"replay-{zlib.crc32(encoded):08x}{zlib.adler32(encoded):08x}.json")


def inputs_unchanged(record: dict[str, Any], detail: Any = None) -> bool:
    """Every recorded file has the same stat, and every directory lookup would find
    what it found (lookups.py; `detail` reads a packed record's entries). `files`:
    {directory: [name, mtime_ns, ctime_ns, size, inode, name, ...]}, flat, as that is
    what a replay reads fastest."""
    for directory, entries in record["files"].items():
        if not _stats_unchanged(directory, entries):
            return False
    from importguard.cache import lookups

    return lookups.unchanged(record["lookups"], detail)


# Relative to an open directory the kernel resolves one name, not the whole path
# (a tenth of a replay's stat time on a deep tree).
_RELATIVE = os.stat in os.supports_dir_fd and hasattr(os, "O_DIRECTORY")


def _stats_unchanged(directory: str, entries: list[Any]) -> bool:
    if _RELATIVE:
        try:
            fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return False
        try:
            for at in range(0, len(entries), 5):
                st = os.stat(entries[at], dir_fd=fd)
                if (st.st_mtime_ns != entries[at + 1] or st.st_ctime_ns != entries[at + 2]
                        or st.st_size != entries[at + 3] or st.st_ino != entries[at + 4]):
                    return False
        except OSError:
            return False
        finally:
            os.close(fd)
        return True
    prefix = directory + os.sep
    for at in range(0, len(entries), 5):
        try:
            st = os.stat(prefix + entries[at])
        except OSError:
            return False
        if (st.st_mtime_ns != entries[at + 1] or st.st_ctime_ns != entries[at + 2]
                or st.st_size != entries[at + 3] or st.st_ino != entries[at + 4]):
            return False
    return True


def recorded_files(record: dict[str, Any]) -> list[str]:
    """The paths of a record's files."""
    return [directory + os.sep + name for directory, entries in record["files"].items() for name in entries[::5]]


class _Decoding:
    """What CPython's C JSON scanner asks of its decoder: json.loads's defaults."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}.__getitem__


def _scanner() -> Any:
    """CPython's C JSON scanner, as json.loads uses it: importing the json package
    (re, enum) would cost a replay a fifth of its time. None without the accelerator."""
    try:
        from _json import make_scanner
    except ImportError:
        return None
    return make_scanner(_Decoding())


def pack(record: dict[str, Any], dumps: Any) -> bytes:
    """The record as stored: a JSON header line, then the names and listing of each
    directory lookup and the report (findings and plan), one JSON value after another.
    The header's lookups are [path, stamp or None, offset] and its "report" an offset:
    a replay scans an entry only where its directory's stamp changed (they are most of
    the record on a big tree), and the report only where no printed output is kept."""
    details = []
    entries = []
    offset = 0
    for directory, stamp, names, listing in record["lookups"]:
        encoded = dumps([names, listing])
        entries.append([directory, stamp, offset])
        details.append(encoded)
        offset += len(encoded)
    header = {**record, "lookups": entries}
    if "report" in record:
        details.append(dumps(record["report"]))
        header["report"] = offset
    return (dumps(header) + "\n" + "".join(details)).encode()


def unpack(data: bytes) -> tuple[dict[str, Any], Any]:
    """The header of a pack()ed record and a reader of its lookups' entries."""
    text = data.decode("utf-8")
    scan = _scanner()
    if scan is None:  # an interpreter without CPython's accelerator
        import json

        end = text.index("\n")
        header, scan = json.loads(text[:end]), json.JSONDecoder().raw_decode
    else:
        try:
            header, end = scan(text, 0)
        except StopIteration:
            raise ValueError("a record that is not JSON") from None
    if not isinstance(header, dict) or text[end:end + 1] != "\n":
        raise ValueError("a record without its header line")
    base = end + 1

    def detail(offset: int) -> Any:
        if not isinstance(offset, int) or offset < 0:
            raise ValueError("a lookup without its entry")
        try:
            return scan(text, base + offset)[0]
        except StopIteration:
            raise ValueError("a lookup entry that is not JSON") from None

    return header, detail


def _read_regular(path: str) -> bytes:
    """The file's bytes when it is a regular file: a named pipe in a shipped cache
    directory must not hang the run (files/regular_file.py, inlined: nothing else is imported)."""
    import stat

    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{path} is not a regular file")
        with os.fdopen(os.dup(fd), "rb") as handle:
            return handle.read()
    finally:
        os.close(fd)


def try_replay(argv: list[str]) -> Optional[int]:
    """Print the stored output of this exact invocation and return its exit code, or
    None (having printed nothing) when there is no valid record."""
    if not argv or argv[0] != "check":
        return None
    try:
        cwd = os.getcwd()
        directory = lookup_directory(argv, cwd)
        key = replay_key(argv, cwd, directory)
        path = replay_path(directory, key)
        record, detail = unpack(_read_regular(path))
        if record.get("format") != FORMAT or record.get("key") != key or record.get("output") is None:
            return None
        if not inputs_unchanged(record, detail):
            global outdated
            outdated = path
            return None
        chunks, code = record["output"]
        streams = {"stdout": sys.stdout, "stderr": sys.stderr}
        encoded = [
            (streams[name], text.encode(streams[name].encoding or "utf-8")) for name, text in chunks
        ]
        code = int(code)
    except (OSError, ValueError, KeyError, TypeError, IndexError, UnicodeEncodeError, AttributeError):
        return None
    for stream, data in encoded:
        _write(stream, data)
    return code


def _write(stream: Any, data: bytes) -> None:
    stream.flush()
    buffer = getattr(stream, "buffer", None)
    if buffer is not None:
        buffer.write(data)
        buffer.flush()
    else:
        stream.write(data.decode(stream.encoding or "utf-8"))
        stream.flush()
