"""The cache directory importguard writes in: where it is (`cache_directory`, the one
rule), and only one it created itself.

A checkout can ship `.importguard_cache` as a symbolic link (to `~`, to another
project's cache) or point `cache-dir` at a directory full of other files. Before any
cache write or prune, `prepare` creates the directory or checks that it is a real
directory (not a link) that carries importguard's `CACHEDIR.TAG` or holds only names
importguard writes; otherwise it raises `NotOurCacheDirectory`, an OSError that every writer already
treats as an unwritable cache (one warning, the run goes on without writing). Pruning
deletes only `prunable` files: regular files, never a link or anything else.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from importguard.cache.fast_replay import DEFAULT_DIRECTORY
from importguard.files.atomic_write import write_cache_file

if TYPE_CHECKING:
    from importguard.config import Config

TAG_NAME = "CACHEDIR.TAG"
TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# importguard facts cache\n"
_MARKERS = ((TAG_NAME, TAG), (".gitignore", "# Created by importguard.\n*\n"))
# What a directory importguard created can hold before its tag is written (another run
# may be creating it at this moment): the markers, temporary files, cache records.
_OUR_NAMES = re.compile(r"(?:\.gitignore|CACHEDIR\.TAG|\.importguard-tmp-.*|\.tmp-.*|[a-z]+-\w+\.json|[a-z]+-\w+\.sqlite(?:-journal)?)\Z")


def cache_directory(config: "Config", given: Optional[Path] = None) -> Path:
    """`--cache-dir`, else the config's `cache-dir`, else `.importguard_cache` in the
    project root. (The console script, which reads no config, looks for a replay in
    the nearest `.importguard_cache` at or above the working directory instead:
    fast_replay.lookup_directory; a record is written for it only where both agree.)"""
    if given is not None:
        return given.absolute()
    return config.cache_dir or config.project_root / DEFAULT_DIRECTORY


class NotOurCacheDirectory(OSError):
    """`strerror` says why importguard does not write there."""


def prepare(directory: Path) -> None:
    """Make `directory` ready for cache files, or raise NotOurCacheDirectory."""
    try:
        found = os.lstat(directory)
    except FileNotFoundError:
        directory.mkdir(parents=True, exist_ok=True)
        found = os.lstat(directory)
    if stat.S_ISLNK(found.st_mode):
        raise NotOurCacheDirectory(errno.ELOOP, "it is a symbolic link, which importguard never writes through")
    if not stat.S_ISDIR(found.st_mode):
        raise NotOurCacheDirectory(errno.ENOTDIR, "it is not a directory")
    if not _tagged(directory):
        if not all(_OUR_NAMES.match(entry.name) for entry in os.scandir(directory)):
            raise NotOurCacheDirectory(
                errno.EEXIST, f"it holds other files and no importguard {TAG_NAME}, so importguard did not create it"
            )
    for name, text in _MARKERS:
        if not os.path.lexists(directory / name):
            write_cache_file(directory / name, text.encode())


def prunable(path: Path) -> bool:
    """Whether pruning may delete `path`: a regular file (links are never followed)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _tagged(directory: Path) -> bool:
    tag = directory / TAG_NAME
    try:
        if not stat.S_ISREG(os.lstat(tag).st_mode):
            return False
        with open(tag, "rb") as handle:
            return handle.read(len(TAG) + 1) == TAG.encode()
    except OSError:
        return False
