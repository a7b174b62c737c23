"""Read a file only when it is a regular file, and only up to a size.

A named pipe called `x.py` would block `open` and `read` forever, and a link to
`/dev/zero` never ends; both are refused before a byte is read. The file is opened
non-blocking (so a pipe without a writer does not block the open) and checked with
`fstat` on the open descriptor, so a swap between the check and the read changes
nothing.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import Optional, Union

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class NotRegularFile(OSError):
    """`strerror` says what the file is instead."""


class FileTooLarge(OSError):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__(errno.EFBIG, f"file is {size:,} bytes, over the {limit:,} bytes read")
        self.size = size
        self.limit = limit


def kind_of(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def read_regular(path: Union[str, os.PathLike], limit: Optional[int] = None) -> bytes:
    """The file's bytes; NotRegularFile, FileTooLarge or another OSError otherwise."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(errno.EINVAL, f"not a regular file: {kind_of(st.st_mode)}")
        if limit is not None and st.st_size > limit:
            raise FileTooLarge(st.st_size, limit)
        left = limit + 1 if limit is not None else -1
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(left) if left >= 0 else handle.read()
        if limit is not None and len(data) > limit:  # grew since fstat
            raise FileTooLarge(len(data), limit)
        return data
    finally:
        os.close(fd)


def is_regular(path: Union[str, os.PathLike]) -> bool:
    """Whether `path` (links followed) is a regular file, without opening it."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False
