"""A distribution's RECORD (the wheel spec's list of installed files) and file hashing."""

from __future__ import annotations

import base64
import csv
import hashlib
import errno
import io
import os
import stat
import threading
from dataclasses import dataclass
from typing import Callable, Optional

from importguard.files.regular_file import FileTooLarge, NotRegularFile, kind_of, read_regular

_CHUNK = 1 << 20
_buffers = threading.local()  # one read buffer per thread: allocating 1 MiB per file is slow
# The wheel spec forbids md5 and sha1 in RECORD; shake_* digests need a length.
_ALGORITHMS = {
    name
    for name in hashlib.algorithms_guaranteed
    if name not in {"md5", "sha1"} and not name.startswith("shake_")
}


@dataclass(frozen=True)
class RecordEntry:
    """One RECORD row. `digest` is urlsafe base64 without padding; None when unhashed."""

    path: str
    algorithm: Optional[str]
    digest: Optional[str]
    size: Optional[int]
    line: int

    @property
    def recorded_hash(self) -> Optional[str]:
        """`algorithm=digest` as RECORD writes it."""
        return f"{self.algorithm}={self.digest}" if self.algorithm else None


@dataclass(frozen=True)
class BadRecordLine:
    line: int
    reason: str


@dataclass(frozen=True)
class Record:
    entries: tuple[RecordEntry, ...]
    bad_lines: tuple[BadRecordLine, ...]


class RecordError(Exception):
    """The RECORD file itself is missing or unreadable; str() says which."""


MAX_RECORD_BYTES = 64_000_000  # torch's RECORD is about 2 MB


def read_record(path: str) -> Record:
    try:
        data = read_regular(path, MAX_RECORD_BYTES)
    except FileNotFoundError:
        raise RecordError("RECORD is missing") from None
    except NotRegularFile as error:
        raise RecordError(f"RECORD is {error.strerror.removeprefix('not a regular file: ')}, not a regular file") from None
    except FileTooLarge as error:
        raise RecordError(f"RECORD is {error.size:,} bytes, over the {MAX_RECORD_BYTES:,} bytes read") from None
    except OSError as error:
        raise RecordError(f"RECORD cannot be read ({error.strerror or error})") from None
    return parse_record(data.decode("utf-8", errors="surrogateescape"))


def parse_record(text: str) -> Record:
    entries = []
    bad = []
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = []
    try:
        for row in reader:
            rows.append((reader.line_num, row))
    except csv.Error as error:
        bad.append(BadRecordLine(reader.line_num, f"not valid CSV ({error})"))
    for line, row in rows:
        if not row or not any(cell.strip() for cell in row):
            continue
        path = row[0]
        hash_field = row[1].strip() if len(row) > 1 else ""
        size_field = row[2].strip() if len(row) > 2 else ""
        if not path:
            bad.append(BadRecordLine(line, "empty path"))
            continue
        algorithm = digest = None
        if hash_field:
            algorithm, sep, digest = hash_field.partition("=")
            algorithm = algorithm.lower()
            if not sep or not digest:
                reason = f"{path}: hash {hash_field!r} is not ALGORITHM=DIGEST"
                bad.append(BadRecordLine(line, reason))
                continue
            if algorithm not in _ALGORITHMS:
                reason = f"{path}: unsupported hash algorithm {algorithm!r}"
                bad.append(BadRecordLine(line, reason))
                continue
            digest = digest.rstrip("=")
        size = None
        if size_field:
            try:
                size = int(size_field)
            except ValueError:
                bad.append(BadRecordLine(line, f"{path}: size {size_field!r} is not a number"))
                continue
        entries.append(RecordEntry(path, algorithm, digest, size, line))
    return Record(tuple(entries), tuple(sorted(bad, key=lambda b: b.line)))


def hash_file(
    path: str, algorithm: str = "sha256", on_chunk: Optional[Callable[[int], None]] = None
) -> str:
    """Digest of a file in RECORD's encoding (urlsafe base64, no padding), streamed in
    chunks. Raises OSError. `on_chunk(bytes_read)` reports progress."""
    hasher = hashlib.new(algorithm)
    buffer = getattr(_buffers, "buffer", None)
    if buffer is None:
        buffer = _buffers.buffer = bytearray(_CHUNK)
    view = memoryview(buffer)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        kind = os.fstat(fd).st_mode
    except OSError:
        os.close(fd)
        raise
    if not stat.S_ISREG(kind):  # replaced since it was checked: never read a pipe or device
        os.close(fd)
        raise NotRegularFile(errno.EINVAL, f"not a regular file: {kind_of(kind)}")
    with open(fd, "rb", buffering=0) as stream:
        while True:
            count = stream.readinto(buffer)
            if not count:
                break
            hasher.update(view[:count])
            if on_chunk is not None:
                on_chunk(count)
    return base64.urlsafe_b64encode(hasher.digest()).decode("ascii").rstrip("=")
