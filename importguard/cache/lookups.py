"""What a run's directory lookups depended on, and whether that still holds.

A replay used to compare the mtime of every directory the run listed or looked a
module up in; any file created there (a redirected report, an editor's swap file, the
cache directory itself) changed it and cost the next run its replay. What the answer
really depended on is narrower:

- a module lookup (`a.b` under a root: `a/b/__init__.py`, then `a/b.py`) depends on
  one entry of one directory for each path it probed: the first missing component, or
  the file itself, in the deepest directory of the path that exists;
- a discovery walk depends, in each directory it listed, on the names that it took
  (Python files and subdirectories that are not excluded).

Each directory is recorded once, with those names and their state (absent, file,
directory) and, for walked directories, the names taken and those excluded. What
decides is that listing; the directory's stamp (mtime, ctime, inode) is only a
shortcut past it: the kernel sets a directory's ctime whenever an entry is added,
removed or renamed, and no call sets it back, so an mtime restored by `touch -r` or
`cp -a` still shows. A stamp that changed (or was too recent to prove anything) sends
the check to the recorded names one by one and to the walked listing, and only a
difference there counts. A directory holding a symbolic link gets no stamp: the link's
target can appear, change or vanish without the directory changing.

Standard library only: fast_replay.py runs this before anything else is imported.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing is not imported at replay time (fast_replay.py)
if TYPE_CHECKING:
    from typing import Any, Callable, Iterable, Optional

# A walked directory that could not be listed (or stat'ed): it must stay so.
UNLISTABLE = "unlistable"
# What a module lookup saw at one name: a file (`x.py`, `__init__.py` found), no file
# there (`x.py` not found), or no directory there (the package directory `a` missing).
FILE, NO_FILE, NO_DIRECTORY = 1, 0, 2

# One recorded directory:
# [path, stamp ([mtime_ns, ctime_ns, inode]) or None, {name: what the lookup saw},
#  [names taken, names excluded, exclude patterns without a slash] or None]
if TYPE_CHECKING:
    Lookup = list[Any]


def stamp(st: Any) -> list[int]:
    return [st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def _still(path: str, seen: int) -> bool:
    if seen == NO_DIRECTORY:
        return not os.path.isdir(path)
    return os.path.isfile(path) == (seen == FILE)


# Past this many names, one listing of the directory is cheaper than a stat per name
# (the working directory: every top-level name a tree imports was looked for there).
_LIST_PAST = 16


def _names_still(directory: str, names: dict[str, int]) -> bool:
    """Whether each name is still what the lookup saw there."""
    listed: Optional[set[str]] = None
    if len(names) > _LIST_PAST:
        try:
            # Case-folded: on a case-insensitive file system `Torch.py` answers for `torch.py`.
            listed = {entry.casefold() for entry in os.listdir(directory)}
        except OSError:
            pass
    for name, seen in names.items():
        if listed is not None and seen != FILE and name.casefold() not in listed:
            continue  # no entry of that name: still no file, still no directory
        if not _still(os.path.join(directory, name), seen):
            return False
    return True


def listing_unchanged(directory: str, taken: list[str], excluded: Iterable[str], name_patterns: Iterable[str]) -> bool:
    """Whether a discovery walk would take from `directory` what it took last time:
    the same Python files and subdirectories. Names it excluded last time, new names
    that an exclude pattern without a slash matches (`.venv`, `build`) and new
    directories without a Python file anywhere below (`__pycache__`, `notes/`) change
    nothing. A new name that only a pattern with a slash would exclude counts as a
    change: the run analyses again, never a stale replay."""
    skip = set(excluded)
    expected = set(taken)
    patterns = list(name_patterns)
    seen = 0
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                name = entry.name
                if name in expected:
                    seen += 1
                    continue
                if name in skip or (patterns and _matches_any(name, patterns)):
                    continue
                if name.endswith(".py"):
                    return False
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    is_dir = False
                if is_dir and _holds_python(entry.path):
                    return False
    except OSError:
        return False
    return seen == len(expected)


def _holds_python(directory: str) -> bool:
    for _, _, files in os.walk(directory):
        if any(name.endswith(".py") for name in files):
            return True
    return False


def _matches_any(name: str, patterns: list[str]) -> bool:
    from fnmatch import fnmatchcase

    return any(fnmatchcase(name, pattern) for pattern in patterns)


# Directories known to hold no symbolic link as long as their stamp is the one kept
# here (the kernel sets ctime on any change of an entry), so that taking their stamp
# again need not list them to look for links (_settled_stamp): those whose recorded
# stamp this process found unchanged (a recorded stamp proves no link then, else there
# would be none), and those a discovery walk listed without finding one, with the
# stamp taken before it listed them (listed_without_links).
_verified: dict[str, list[int]] = {}


def listed_without_links(directory: str, st: Any) -> None:
    """`directory`, stat'ed as `st` and then listed, held no symbolic link."""
    _verified[directory] = stamp(st)


def unchanged(lookups: list[Lookup], detail: Optional[Callable[[Any], Any]] = None) -> bool:
    """Whether every lookup would find what it found. Entries of a packed record
    (fast_replay.pack) are [path, stamp or None, offset], `detail(offset)` their
    [names, listing]."""
    stat_of = os.stat
    verified = _verified
    for directory, recorded, *seen in lookups:
        if recorded is not None:
            try:
                st = stat_of(directory)
            except OSError:
                return False
            if [st.st_mtime_ns, st.st_ctime_ns, st.st_ino] == recorded:
                verified[directory] = recorded
                continue
        if detail is not None:
            (offset,) = seen
            names, listing = detail(offset)
        else:
            names, listing = seen
        if not _names_still(directory, names):
            return False
        if listing == UNLISTABLE:
            if _listable(directory):
                return False
        elif listing is not None and not listing_unchanged(directory, *listing):
            return False
    return True


def _listable(directory: str) -> bool:
    try:
        with os.scandir(directory):
            return True
    except OSError:
        return False


def refreshed(verified: list[Lookup], started_ns: int, racy_ns: int) -> list[Lookup]:
    """A record just found unchanged (after `started_ns`), with each directory's stamp
    taken again where it is missing or outdated: a directory not changed since
    `racy_ns` before the check started held then what the check found in it. Without
    this, a directory too recent at the first check (a fresh clone) would be looked at
    name by name on every later run that reuses the record."""
    refreshed_record = []
    for directory, recorded, names, listing in verified:
        now = _settled_stamp(directory, started_ns, racy_ns)
        refreshed_record.append([directory, now if now is not None else recorded, names, listing])
    return refreshed_record


def _settled_stamp(directory: str, now_ns: int, racy_ns: int) -> Optional[list[int]]:
    """The directory's stamp, unless it changed within `racy_ns` of `now_ns` (it may
    change again within the same timestamp tick) or holds a symbolic link."""
    try:
        st = os.stat(directory)
        if now_ns - st.st_mtime_ns < racy_ns or now_ns - st.st_ctime_ns < racy_ns:
            return None
        if _verified.get(directory) == stamp(st):
            return stamp(st)
        with os.scandir(directory) as entries:
            if any(entry.is_symlink() for entry in entries):
                return None
    except OSError:
        return None
    return stamp(st)


class LookupLog:
    """Builds the record of one run: module probes (path, whether it was a file) and
    walked directories (names taken, names excluded), as the run saw them."""

    def __init__(self, exclude: Iterable[str] = ()) -> None:
        # Exclude patterns that match a name alone (discovery's rule for patterns
        # without a slash); the others are not evaluated here.
        self._name_patterns = sorted({p.rstrip("/") for p in exclude if "/" not in p.rstrip("/")})
        self._names: dict[str, dict[str, int]] = {}
        self._listings: dict[str, Any] = {}
        self._existing: dict[str, bool] = {}

    def walked(self, directory: str, taken: Optional[list[str]], excluded: list[str]) -> None:
        """`taken` None: the walk could not list the directory."""
        if taken is None:
            self._listings[directory] = UNLISTABLE
        else:
            self._listings[directory] = [sorted(taken), sorted(excluded), self._name_patterns]

    def probed(self, path: str, was_file: bool) -> bool:
        """Record a module probe; False when the tree no longer agrees with what the
        run saw (then nothing may be recorded)."""
        directory, name = os.path.split(path)
        seen = FILE if was_file else NO_FILE
        while not self._is_directory(directory):
            if was_file:
                return False
            parent, name = os.path.split(directory)
            if parent == directory:
                return True
            directory, seen = parent, NO_DIRECTORY
        self._names.setdefault(directory, {})[name] = seen
        return True

    def _is_directory(self, path: str) -> bool:
        known = self._existing.get(path)
        if known is None:
            known = self._existing[path] = os.path.isdir(path)
        return known

    def lookups(self, now_ns: int, racy_ns: int) -> list[Lookup]:
        """The record, with each directory's stamp as a shortcut where it is older
        than the run by more than `racy_ns` (a newer one may change again unseen)."""
        return [
            [directory, _settled_stamp(directory, now_ns, racy_ns), self._names.get(directory, {}),
             self._listings.get(directory)]
            for directory in sorted({*self._names, *self._listings})
        ]


def merged(*records: Iterable[Lookup]) -> list[Lookup]:
    """One record from several, each directory once: its names together, its stamp
    only where every record has the same one."""
    by_directory: dict[str, Lookup] = {}
    for record in records:
        for directory, recorded, names, listing in record:
            known = by_directory.get(directory)
            if known is None:
                by_directory[directory] = [directory, recorded, dict(names), listing]
                continue
            if known[1] != recorded:
                known[1] = None
            known[2].update(names)
            if listing is not None:
                known[3] = listing
    return [by_directory[d] for d in sorted(by_directory)]
