"""Paths -> SourceFile (module name, package or not, source root), and module lookup.

A file's module name comes from the chain of `__init__.py` files above it, as Python
would import it with the directory above the top package on `sys.path`. Directories
without `__init__.py` (namespace packages) are named relative to a configured `src`
root when the file lies under one.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Optional, Sequence

from importguard.errors import DiscoveryError
from importguard.types import SourceFile

DEFAULT_EXCLUDE = (
    ".bzr", ".direnv", ".eggs", ".git", ".hg", ".importguard_cache", ".mypy_cache",
    ".nox", ".pants.d", ".pytest_cache", ".ruff_cache", ".svn", ".tox", ".venv",
    "__pypackages__", "_build", "buck-out", "build", "dist", "node_modules",
    "site-packages", "venv",
)


@dataclass(frozen=True)
class DiscoveredFiles:
    files: tuple[SourceFile, ...]
    # Files named explicitly or found under a path that could not be listed.
    unreadable: tuple[tuple[str, str], ...] = ()


def is_excluded(path: Path, project_root: Path, patterns: Sequence[str]) -> bool:
    """ruff-style: a pattern without a slash matches any path component; one with a
    slash matches the path relative to the project root."""
    try:
        relative = path.resolve().relative_to(project_root.resolve()).as_posix()
    except ValueError:
        relative = path.as_posix()
    parts = relative.split("/")
    for pattern in patterns:
        pattern = pattern.rstrip("/")
        if "/" in pattern:
            if fnmatch.fnmatchcase(relative, pattern) or relative.startswith(pattern + "/"):
                return True
        elif any(fnmatch.fnmatchcase(part, pattern) for part in parts):
            return True
    return False


def module_for(path: Path, src_roots: Sequence[Path] = ()) -> SourceFile:
    """Name the module that `path` is when imported."""
    path = path.absolute()
    is_package = path.name == "__init__.py"
    directory = path.parent
    parts: list[str] = [] if is_package else [path.stem]
    while (directory / "__init__.py").is_file():
        parts.insert(0, directory.name)
        parent = directory.parent
        if parent == directory:
            break
        directory = parent
    root = directory
    for src in sorted(src_roots, key=lambda p: len(p.parts), reverse=True):
        if _is_within(directory, src) and directory != src:
            # A namespace package under a configured source root.
            extra = directory.relative_to(src).parts
            parts = [*extra, *parts]
            root = src
            break
    return SourceFile(str(path), ".".join(parts), is_package, str(root))


def _is_within(path: Path, parent: Path) -> bool:
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
) -> DiscoveredFiles:
    """Expand PATHS to Python files. Explicit files are always taken; directories are
    walked, skipping excluded names, without following a directory link twice."""
    files: dict[str, SourceFile] = {}
    unreadable: list[tuple[str, str]] = []
    for given in paths:
        if not os.path.lexists(given):
            raise DiscoveryError(f"path does not exist: {given}")
        if given.is_dir():
            for found, error in _walk(given, project_root, exclude):
                if error:
                    unreadable.append((str(found), error))
                else:
                    source = module_for(found, src_roots)
                    files.setdefault(source.path, source)
        else:
            source = module_for(given, src_roots)
            files.setdefault(source.path, source)
    ordered = tuple(sorted(files.values(), key=lambda s: s.path))
    return DiscoveredFiles(ordered, tuple(sorted(unreadable)))


def _walk(top: Path, project_root: Path, exclude: Sequence[str]) -> Iterator[tuple[Path, str]]:
    seen_dirs: set[tuple[int, int]] = set()
    stack = [top]
    while stack:
        directory = stack.pop()
        try:
            stat = directory.stat()
        except OSError as error:
            yield directory, error.strerror or str(error)
            continue
        key = (stat.st_dev, stat.st_ino)
        if key in seen_dirs:  # a directory link back into the tree: walked once already
            continue
        seen_dirs.add(key)
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as error:
            yield directory, f"cannot list directory: {error.strerror or error}"
            continue
        for entry in entries:
            path = Path(entry.path)
            if is_excluded(path, project_root, exclude):
                continue
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                stack.append(path)
            elif entry.name.endswith(".py"):
                if entry.is_symlink() and not os.path.exists(entry.path):
                    yield path, "cannot read file: broken or looping symbolic link"
                else:
                    yield path, ""


@dataclass
class ModuleResolver:
    """Finds a project module's file by name under the known roots, the way Python's
    path finder would, without importing anything. Results are memoised."""

    roots: list[Path]
    _memo: dict[str, Optional[SourceFile]] = field(default_factory=dict)

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
        for root in self.roots:
            base = root.joinpath(*parts)
            init = base / "__init__.py"
            if init.is_file():
                found = SourceFile(str(init.absolute()), module, True, str(root))
                break
            plain = base.with_name(base.name + ".py")
            if plain.is_file():
                found = SourceFile(str(plain.absolute()), module, False, str(root))
                break
        self._memo[module] = found
        return found

    def is_namespace(self, module: str) -> bool:
        """A directory with no `__init__.py` under a root: importing it runs nothing."""
        parts = module.split(".")
        return any(root.joinpath(*parts).is_dir() for root in self.roots)

    def exists(self, module: str) -> bool:
        return self.find(module) is not None or self.is_namespace(module)
