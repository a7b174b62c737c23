"""Every module of a package, named from its files (never by importing it), and shards.

A package is given as a directory or as a dotted name looked up, the way Python's path
finder would, under the probe's source roots and then the target environment's
`sys.path`. Its files are walked by discovery, named relative to the sys.path entry
it was found under, and kept when each part of the name is an identifier. `__main__`
modules are left out: importing one runs the program.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from importguard.discovery import ModuleResolver, discover
from importguard.errors import UsageError


class PackageNotFound(UsageError):
    pass


@dataclass(frozen=True)
class PackageModules:
    package: str
    root: str  # the sys.path entry the package was found under
    modules: tuple[str, ...]  # sorted
    skipped: tuple[tuple[str, str], ...] = ()  # (file, why), sorted


def package_modules(target: str, roots: Sequence[Path], exclude: Sequence[str]) -> PackageModules:
    """The modules of `target` (a directory, or a dotted name found under `roots`)."""
    directory, root, package = _locate(target, roots)
    if directory is None:  # a plain module, not a package
        return PackageModules(package, root, (package,))
    found = discover([Path(directory)], Path(root), exclude, [Path(root)])
    modules, skipped = set(), []
    for source in found.files:
        name = source.module
        if not name or not all(part.isidentifier() for part in name.split(".")):
            skipped.append((source.path, "its module name is not a dotted name of identifiers"))
        elif name.split(".")[-1] == "__main__":
            skipped.append((source.path, "a __main__ module runs its program when imported"))
        elif name == package or name.startswith(package + "."):
            modules.add(name)
    skipped.extend((path, f"cannot be read: {why}") for path, why in found.unreadable)
    return PackageModules(package, root, tuple(sorted(modules)), tuple(sorted(skipped)))


def _locate(target: str, roots: Sequence[Path]) -> tuple[str | None, str, str]:
    """(package directory or None for a plain module, sys.path root, dotted name)."""
    if os.sep in target or target in (".", "..") or os.path.isdir(target):
        path = Path(target).absolute()
        if not path.is_dir():
            raise UsageError(f"{target} is not a directory or a module name")
        if not (path / "__init__.py").is_file():
            raise UsageError(f"{target} has no __init__.py: give the package directory, or its dotted name")
        parts = [path.name]
        parent = path.parent
        while (parent / "__init__.py").is_file():
            parts.insert(0, parent.name)
            parent = parent.parent
        name = ".".join(parts)
        if not all(part.isidentifier() for part in parts):
            raise UsageError(f"{target} is not importable: {name!r} is not a module name")
        return str(path), str(parent), name
    if not all(part.isidentifier() for part in target.split(".")):
        raise UsageError(f"{target!r} is not a module name (expected a dotted name like pkg.module) or a directory")
    source = ModuleResolver([Path(r) for r in roots]).find(target)
    if source is None:  # a namespace package: a directory without __init__.py
        for root in roots:
            candidate = os.path.join(root, *target.split("."))
            if os.path.isdir(candidate):
                return candidate, str(root), target
    if source is None:
        where = ", ".join(str(r) for r in roots) or "no directories"
        raise PackageNotFound(f"package {target!r} was not found as files under {where}")
    if source.is_package:
        return os.path.dirname(source.path), source.root, target
    return None, source.root, target


def shard(modules: Sequence[str], index: int, count: int) -> list[str]:
    """Shard `index` (1-based) of `count`: every count-th module of the sorted list,
    so each shard spreads over the whole package."""
    return list(sorted(modules)[index - 1 :: count])


def parse_shard(text: str) -> tuple[int, int]:
    """'2/4' -> (2, 4); UsageError unless 1 <= I <= N."""
    index, slash, count = text.partition("/")
    if not slash or not index.strip().isdigit() or not count.strip().isdigit():
        raise UsageError(f"--shard {text}: expected I/N, such as 1/4")
    i, n = int(index), int(count)
    if not 1 <= i <= n:
        raise UsageError(f"--shard {text}: I must be between 1 and N")
    return i, n
