"""Paths -> SourceFile (module name, package or not, source root), and module lookup.

A file's module name comes from the chain of `__init__.py` files above it, as Python
would import it with the directory above the top package on `sys.path`. Directories
without `__init__.py` (namespace packages) are named relative to a configured `src`
root when the file lies under one.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from operator import attrgetter
from pathlib import Path
from typing import Iterable, Iterator, Optional, Sequence

from importguard.cache.lookups import listed_without_links
from importguard.errors import DiscoveryError
from importguard.files.gitignore import git_ignored
from importguard.model import SourceFile



@dataclass(frozen=True)
class DiscoveredFiles:
    files: tuple[SourceFile, ...]
    # Files named explicitly or found under a path that could not be listed.
    unreadable: tuple[tuple[str, str], ...] = ()
    # Every directory listed: (directory, names taken, names excluded).
    listings: tuple[tuple[str, Optional[tuple[str, ...]], Optional[tuple[str, ...]]], ...] = ()  # None: unlistable
    # With respect-gitignore: the files git reads to decide what it ignores, present or
    # absent (a replay must notice when one changes): gitignore.ignore_files.
    ignore_files: tuple[str, ...] = ()


def _relative(path: Path, project_root: Path) -> str:
    try:
        return path.resolve().relative_to(project_root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def is_excluded(path: Path, project_root: Path, patterns: Sequence[str]) -> bool:
    """ruff-style: a pattern without a slash matches any path component; one with a
    slash matches the path relative to the project root."""
    relative = _relative(path, project_root)
    parts = relative.split("/")
    for pattern in patterns:
        pattern = pattern.rstrip("/")
        if "/" in pattern:
            if fnmatch.fnmatchcase(relative, pattern) or relative.startswith(pattern + "/"):
                return True
        elif any(fnmatch.fnmatchcase(part, pattern) for part in parts):
            return True
    return False


class _Excluder:
    """`is_excluded` for the entries of one walk, without resolving every path: the walk
    never enters an excluded directory, so below the top only an entry's own name and
    its relative path are left to match."""

    def __init__(self, top: Path, project_root: Path, patterns: Sequence[str]) -> None:
        top_relative = _relative(top, project_root)
        self.top_prefix = "" if top_relative == "." else top_relative + "/"
        cleaned = [p.rstrip("/") for p in patterns]
        self.path_patterns = [p for p in cleaned if "/" in p]
        names = [p for p in cleaned if "/" not in p]
        self.literal = {p for p in names if not any(c in p for c in "*?[")}
        globs = [fnmatch.translate(p) for p in names if p not in self.literal]
        self.glob = re.compile("|".join(globs)) if globs else None
        self.top_excluded = any(self.name_matches(part) for part in self.top_prefix.split("/") if part)

    def name_matches(self, name: str) -> bool:
        return name in self.literal or (self.glob is not None and self.glob.match(name) is not None)

    def excluded(self, relative_to_top: str, name: str) -> bool:
        if self.top_excluded or self.name_matches(name):
            return True
        relative = self.top_prefix + relative_to_top
        return any(
            fnmatch.fnmatchcase(relative, p) or relative.startswith(p + "/") for p in self.path_patterns
        )


_Packages = dict[str, tuple[tuple[str, ...], Path]]  # directory -> (package parts, root)


def module_for(path: Path, src_roots: Sequence[Path] = (), packages: Optional[_Packages] = None) -> SourceFile:
    """Name the module that `path` is when imported. `packages` memoises directories
    across the files of one discovery."""
    # Strings, not Path objects: this runs once per file of the tree on every run.
    # Normalised: `pkg/../pkg` and `..` must name modules as `pkg` does.
    directory, name = os.path.split(os.path.abspath(os.fspath(path)))
    return next(_modules_in(directory, (name,), src_roots, {} if packages is None else packages))


def _modules_in(directory: str, names: Iterable[str], src_roots: Sequence[Path],
                packages: _Packages) -> Iterator[SourceFile]:
    """module_for of each file `names` in the absolute, normalised `directory`: the
    package it is named from is worked out once for all of them."""
    prefix, root = packages[directory] if directory in packages else _package_of(Path(directory), src_roots, packages)
    package, within, where = ".".join(prefix), ".".join((*prefix, "")), str(root)
    joined = os.path.join(directory, "")  # + name: os.path.join for a name without a separator
    for name in names:
        if name == "__init__.py":
            yield SourceFile(joined + name, package, True, where)
        else:
            dot = name.rfind(".")  # _stem, inline: once per file of the tree
            yield SourceFile(joined + name, within + (name[:dot] if 0 < dot < len(name) - 1 else name), False, where)


def _stem(name: str) -> str:
    dot = name.rfind(".")
    return name[:dot] if 0 < dot < len(name) - 1 else name  # as PurePath.stem


def _package_of(directory: Path, src_roots: Sequence[Path], packages: _Packages) -> tuple[tuple[str, ...], Path]:
    """The dotted package a directory is, and the root it is named from."""
    if str(directory) in packages:
        return packages[str(directory)]
    if not src_roots:
        return _package_of_without_src(str(directory), packages)
    start = directory
    limit = max((src for src in src_roots if is_within(start, src)), key=lambda p: len(p.parts), default=None)
    candidates = [start, *start.parents]
    if limit is not None:
        candidates = candidates[: candidates.index(limit)]
    # The highest regular package above the file names it: directories without
    # `__init__.py` between it and the file are namespace portions of that package.
    highest = next((d for d in reversed(candidates) if (d / "__init__.py").is_file()), None)
    if limit is not None:
        root = limit  # everything under a configured source root is named from it
    elif highest is not None:
        root = highest.parent
    else:
        root = start
    parts = list(start.relative_to(root).parts)
    packages[str(start)] = (tuple(parts), root)
    return packages[str(start)]


def _package_of_without_src(directory: str, packages: _Packages) -> tuple[tuple[str, ...], Path]:
    """_package_of without configured source roots, on strings: it runs for every
    directory of the tree on every run. A directory below a regular package is named
    from the same root as its parent; one whose parent is in no package starts one if
    it has an `__init__.py`. So each directory is looked at once, from its nearest
    known ancestor down (no recursion: a tree may be deeper than Python's stack)."""
    pending = []
    while directory not in packages:
        parent = os.path.dirname(directory)
        if parent == directory:  # the file system's root
            packages[directory] = ((), Path(directory))
            break
        pending.append(directory)
        directory = parent
    for directory in reversed(pending):
        parent, name = os.path.split(directory)
        parent_parts, parent_root = packages[parent]
        if parent_parts:  # the parent is in a package: so is this directory
            packages[directory] = ((*parent_parts, name), parent_root)
        elif os.path.isfile(os.path.join(directory, "__init__.py")):
            grandparent, portion = os.path.split(parent)
            if _imports_itself_through(directory, name, portion):
                packages[directory] = ((portion, name), Path(grandparent))
            else:
                packages[directory] = ((name,), Path(parent))
        else:
            packages[directory] = ((), Path(directory))
    return packages[directory]


_INIT_READ_LIMIT = 1 << 20


def _imports_itself_through(directory: str, name: str, portion: str) -> bool:
    """Whether the package in `directory` (`name`), whose parent `portion` has no
    `__init__.py`, imports itself as `portion.name`: then `portion` is a namespace
    package (PEP 420; megatron-core's wheel ships `megatron/core/` and no
    `megatron/__init__.py`) and the package is `portion.name`, as its own absolute
    imports say. Read from the package's `__init__.py` text (bounded), before any
    collecting; the file is an input of the run like every checked file."""
    if not portion.isidentifier() or not name.isidentifier() or portion == name:
        return False  # `foo/foo/` is most often a checkout of `foo`, whose `foo.foo` is its own submodule
    try:
        with open(os.path.join(directory, "__init__.py"), "rb") as handle:
            text = handle.read(_INIT_READ_LIMIT)
    except OSError:
        return False
    return _self_import(portion, name).search(text) is not None


@lru_cache(maxsize=64)
def _self_import(portion: str, name: str) -> "re.Pattern[bytes]":
    """`import portion.name…`, `from portion.name… import`, `from portion import name`
    at the start of a line."""
    dotted = re.escape(f"{portion}.{name}".encode())
    return re.compile(rb"(?m)^[ \t]*(?:(?:import|from)[ \t]+" + dotted + rb"\b"
                      rb"|from[ \t]+" + re.escape(portion.encode()) + rb"[ \t]+import[ \t]+\(?[ \t]*"
                      + re.escape(name.encode()) + rb"\b)")


def _absolute(path: str) -> str:
    return path if os.path.isabs(path) else str(Path(path).absolute())


def is_within(path: Path, parent: Path) -> bool:
    try:
        path.relative_to(parent)
        return True
    except ValueError:
        return False


def discover(
    paths: Sequence[Path],
    project_root: Path,
    exclude: Sequence[str],
    src_roots: Sequence[Path] = (),
    exclude_package_data: bool = True,
    respect_gitignore: bool = False,
    refuse_duplicates: bool = True,
) -> DiscoveredFiles:
    """Expand PATHS to Python files. Explicit files are always taken; directories are
    walked, skipping excluded names (and, with `exclude_package_data`, package data
    directories: see `is_package_data`; with `respect_gitignore`, what git ignores:
    files/gitignore.py), without following a directory link twice. Two top-level packages of
    one name are an error (`refuse_duplicate_packages`) unless `refuse_duplicates` is
    off, for a caller that never looks a module up."""
    files: dict[str, SourceFile] = {}
    unreadable: list[tuple[str, str]] = []
    packages: _Packages = {}
    walked: list[tuple[str, Optional[list[str]], Optional[list[str]]]] = []
    ignore_files: set[str] = set()
    for given in paths:
        if not os.path.lexists(given):
            raise DiscoveryError(f"path does not exist: {given}")
        if given.is_dir():
            ignored = git_ignored(given) if respect_gitignore else None
            if ignored is not None:
                ignore_files.update(ignored.files)
            for directory, names, problems in _walk(given, project_root, exclude, walked, exclude_package_data,
                                                    ignored.paths if ignored is not None else frozenset()):
                unreadable.extend(problems)
                if names:
                    for source in _modules_in(os.path.abspath(directory), names, src_roots, packages):
                        files.setdefault(source.path, source)
        else:
            source = module_for(given, src_roots, packages)
            files.setdefault(source.path, source)
    ordered = tuple(sorted(files.values(), key=lambda s: s.path))
    if refuse_duplicates:
        refuse_duplicate_packages(ordered)
    listings = tuple((d, None if taken is None else tuple(taken), None if excluded is None else tuple(excluded))
                     for d, taken, excluded in walked)
    if respect_gitignore:
        # Every listed directory's own .gitignore counts, also one created later.
        ignore_files.update(os.path.join(d, ".gitignore") for d, _, _ in walked)
    return DiscoveredFiles(ordered, tuple(sorted(unreadable)), listings, tuple(sorted(ignore_files)))


def refuse_duplicate_packages(files: Iterable[SourceFile]) -> None:
    """DiscoveryError when two directories hold a top-level package of the same name
    (`check p1 p3`, both with `pkg/`) and one of them is a regular package: Python
    imports only that one, so an import of `pkg.x` could mean either and any chain
    through it could be wrong. Portions of one namespace package (no `__init__.py`
    anywhere, PEP 420) under several source roots are one package and are fine; so
    are plain top-level modules of one name (a `conftest.py` in two folders)."""
    roots: dict[str, dict[str, str]] = {}  # top-level name -> real root -> the root as given
    real: dict[str, str] = {}  # a root as given -> its real path: a few roots for thousands of files
    for source in files:
        if "." in source.module or source.is_package:
            resolved = real.get(source.root)
            if resolved is None:
                resolved = real[source.root] = os.path.realpath(source.root)
            roots.setdefault(source.module.split(".", 1)[0], {}).setdefault(resolved, source.root)
    for top, found in sorted(roots.items()):
        if len(found) < 2:
            continue
        places = sorted(os.path.join(root, top) for root in found.values())
        if any(os.path.isfile(os.path.join(place, "__init__.py")) for place in places):
            raise DiscoveryError(
                f"two packages named `{top}` in one run: {places[0]} and {places[1]}; "
                "an import of it could mean either, so check them in separate runs or exclude one"
            )


PACKAGE_DATA_NAMES = ("data",)


def is_package_data(name: str, directory_entries: Iterable[str], has_init: bool) -> bool:
    """A `data` directory without `__init__.py` directly inside a regular package is
    package data (setuptools' and hatch's convention), not a subpackage: what ships
    there (flashinfer's vendored copies of CUTLASS and CCCL) is nobody's module of
    that package. A path named on the command line is still walked."""
    return name in PACKAGE_DATA_NAMES and not has_init and "__init__.py" in directory_entries


def _walk(
    top: Path, project_root: Path, exclude: Sequence[str], walked: list[tuple[str, Optional[list[str]], Optional[list[str]]]],
    exclude_package_data: bool = True, ignored: frozenset[str] = frozenset(),
) -> Iterator[tuple[str, list[str], list[tuple[str, str]]]]:
    """For each directory listed: the directory (as walked from `top`), the names of
    its Python files, and (path, reason) for what cannot be read. Strings, not Path
    objects: this runs for every entry of the tree on every run. `ignored`: paths
    relative to `top` that git ignores (a directory's with a trailing slash)."""
    seen_dirs: set[tuple[int, int]] = set()
    excluder = _Excluder(top, project_root, exclude)
    excluded_name = excluder.name_matches if not (excluder.top_excluded or excluder.path_patterns) else None
    cwd = os.getcwd()
    stack = [(os.fspath(top), "")]
    while stack:
        directory, relative = stack.pop()
        absolute = directory if os.path.isabs(directory) else cwd if directory == "." else os.path.join(cwd, directory)
        try:
            stat = os.stat(directory)
        except OSError as error:
            walked.append((absolute, None, None))  # an input all the same: it must stay unlistable
            yield directory, [], [(directory, error.strerror or str(error))]
            continue
        key = (stat.st_dev, stat.st_ino)
        if key in seen_dirs:  # a directory link back into the tree: walked once already
            continue
        seen_dirs.add(key)
        try:
            entries = sorted(os.scandir(directory), key=_entry_name)
        except OSError as error:
            walked.append((absolute, None, None))
            yield directory, [], [(directory, f"cannot list directory: {error.strerror or error}")]
            continue
        taken: list[str] = []
        excluded: list[str] = []
        walked.append((absolute, taken, excluded))  # filled below
        python_files: list[str] = []
        problems: list[tuple[str, str]] = []
        for entry in entries:
            name = entry.name
            if excluded_name(name) if excluded_name is not None else excluder.excluded(relative + name, name):
                excluded.append(name)
                continue
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if ignored and (relative + name + "/" if is_dir else relative + name) in ignored:
                excluded.append(name)
                continue
            if is_dir:
                if exclude_package_data and name in PACKAGE_DATA_NAMES and is_package_data(
                        name, [e.name for e in entries], os.path.isfile(os.path.join(entry.path, "__init__.py"))):
                    excluded.append(name)
                    continue
                taken.append(name)
                # As Path(entry.path) spells it: top is a Path's string, so only "./" can differ.
                stack.append((name if directory == "." else entry.path, relative + name + "/"))
            elif name.endswith(".py"):
                taken.append(name)
                if entry.is_symlink() and not os.path.exists(name if directory == "." else entry.path):
                    problems.append((name if directory == "." else entry.path,
                                     "cannot read file: broken or looping symbolic link"))
                else:
                    python_files.append(name)
        if not any(map(_is_link, entries)):
            # A replay record stamps the directories walked; one that holds a link gets no
            # stamp, which this listing decides instead of another (cache/lookups.py).
            listed_without_links(absolute, stat)
        yield directory, python_files, problems


def _is_link(entry: os.DirEntry) -> bool:
    try:
        return entry.is_symlink()
    except OSError:
        return True  # not known to be none


_entry_name = attrgetter("name")


@dataclass
class ModuleResolver:
    """Finds a project module's file by name under the known roots, the way Python's
    path finder would, without importing anything. Results are memoised."""

    roots: list[Path]
    _memo: dict[str, Optional[SourceFile]] = field(default_factory=dict)
    # Every path probed and whether it was a file, for replay.py (lookups.py).
    probes: list[tuple[str, bool]] = field(default_factory=list)

    def add_roots(self, roots: Iterable[Path]) -> None:
        for root in roots:
            if root not in self.roots:
                self.roots.append(root)
                self._memo.clear()

    def find(self, module: str) -> Optional[SourceFile]:
        if module in self._memo:
            return self._memo[module]
        found = None
        parts = module.split(".")
        # os.path on strings: this runs for every import target the graph meets.
        for root in self.roots if all(parts) else ():
            base = os.path.join(root, *parts)
            init = os.path.join(base, "__init__.py")
            is_file = os.path.isfile(init)
            self.probes.append((init, is_file))
            if is_file:
                found = SourceFile(_absolute(init), module, True, str(root))
                break
            plain = base + ".py"
            is_file = os.path.isfile(plain)
            self.probes.append((plain, is_file))
            if is_file:
                found = SourceFile(_absolute(plain), module, False, str(root))
                break
        self._memo[module] = found
        return found


def display_path(path: str) -> str:
    """Relative to the working directory where possible, with forward slashes: how a
    path is shown to users (a report must not change with the checkout's location)."""
    return display_path_from(path, os.getcwd())


@lru_cache(maxsize=1 << 14)  # every hop of every chain repeats a few paths
def display_path_from(path: str, cwd: str) -> str:
    if _POSIX and path.startswith(cwd + "/") and _normalised(path) and not path.startswith("..", len(cwd) + 1):
        return path[len(cwd) + 1:]  # what relpath and as_posix make of it, without their cost
    try:
        relative = os.path.relpath(path, cwd)
    except ValueError:  # another drive on Windows
        return Path(path).as_posix()
    return Path(path if relative.startswith("..") else relative).as_posix()


_POSIX = os.sep == "/" and os.altsep is None


def _normalised(path: str) -> bool:
    """Whether normpath would leave this absolute POSIX path as it is."""
    return "//" not in path and "/./" not in path and "/../" not in path \
        and not path.endswith(("/", "/.", "/.."))
