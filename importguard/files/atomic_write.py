"""Every file importguard writes goes through `write_atomically`.

The bytes go to a new temporary file in the same directory, are flushed to disk
(`fsync`; cache files skip it, see `write_cache_file`), and the temporary file is
renamed over the target (`os.replace`, atomic on one file system). A reader sees the
old file or the new one, never a torn one; on any error (a full disk, a read-only
directory, an interrupt) the original is untouched and the temporary file is removed. Not `tempfile`: its import costs a replayed run more
than the write itself.

A file that is there and is not a regular one (a device such as /dev/null, a terminal,
a FIFO or a pipe such as /dev/stdout) is never replaced: the bytes are written into it,
as the shell's `>` does. Renaming over /dev/null as root would put a regular file in
its place for every process on the machine.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import Iterable, Union

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def write_atomically(path: Union[str, os.PathLike], data: Union[bytes, Iterable[bytes]], *, keep_mode: bool = False,
                     follow_links: bool = False, durable: bool = True) -> None:
    """Replace `path` with `data` (bytes, or chunks of them written one after the other,
    so that a large file need not be joined in memory first). New files get mode 0666 less the umask (a CI cache
    shared between users stays readable); with `keep_mode`, an existing file keeps its
    permission bits (a source file rewritten by `--fix` stays executable if it was).
    A link at `path` is replaced by the file, unless `follow_links` (for a caller that
    checked where it leads): then the file it leads to is replaced and it stays a link.
    `durable=False` skips the fsync (see `write_cache_file`)."""
    if _is_special(path, follow_links):
        _write_into(path, data)
        return
    path = os.path.realpath(path) if follow_links else os.fspath(path)
    directory = os.path.dirname(path) or "."
    mode = None
    if keep_mode:
        try:
            mode = stat.S_IMODE(os.stat(path).st_mode)
        except FileNotFoundError:
            pass
    for _ in range(100):
        temporary = os.path.join(directory, f".importguard-tmp-{os.getpid()}-{os.urandom(6).hex()}")
        try:
            fd = os.open(temporary, _FLAGS, 0o666)
            break
        except FileExistsError:
            continue
    else:
        raise FileExistsError(f"no free temporary name in {directory}")
    try:
        for chunk in (data,) if isinstance(data, (bytes, bytearray)) else data:
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view):]
        if mode is not None:
            os.fchmod(fd, mode)
        if durable:
            os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(temporary, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def _is_special(path: Union[str, os.PathLike], follow_links: bool) -> bool:
    """Whether `path` is there and is neither a regular file, a directory nor (unless
    `follow_links`) a link, which are replaced as the module says."""
    try:
        mode = (os.stat if follow_links else os.lstat)(path).st_mode
    except OSError:  # not there (or not reachable): the rename finds out what it can do
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode))


def _write_into(path: Union[str, os.PathLike], data: Union[bytes, Iterable[bytes]]) -> None:
    """Write into a device or FIFO as it is. Opened without blocking, so that a FIFO
    nothing reads from is an error (ENXIO), not a run that waits for ever; the writes
    then block as usual."""
    try:
        fd = os.open(path, os.O_WRONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        if error.errno == errno.ENXIO:
            raise OSError(error.errno, "nothing reads from it (a FIFO or socket with no reader)") from None
        raise
    try:
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        for chunk in (data,) if isinstance(data, (bytes, bytearray)) else data:
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def write_cache_file(path: Union[str, os.PathLike], data: Union[bytes, Iterable[bytes]]) -> None:
    """A cache file: atomic (readers see the old or the new file) but not flushed to
    disk. One torn or lost by a power cut is found invalid and rebuilt, and the fsync
    cost 5-7 ms a file here (800 KB, ext4), on every run that writes the cache."""
    write_atomically(path, data, durable=False)
