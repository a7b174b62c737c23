"""Installed modules of the target environment: module name -> file, and the distribution
that installed it. Reads directory listings and dist-info files; imports nothing.

Lookup follows Python's path finder: along sys.path, the first directory holding the
top-level name decides (a package directory with `__init__.py`, then an extension
module, then a `.py` file); directories without `__init__.py` are namespace portions,
merged across sys.path. Not followed: the standard library (it never reaches CUDA),
sink modules (a sink package is never parsed), compiled modules (no source), and, when
`follow` names distributions or packages, everything else.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass, replace
from typing import Iterable, Optional, Sequence, Union

from importguard.installed.interpreter import (
    EnvironmentPaths,
    InstalledDistribution,
    iter_distributions,
    normalize_name,
)
from importguard.installed.record import RecordError, read_record
from importguard.model import Finding, Hop, ModuleSink, SourceFile

# When the target did not report its suffixes: what CPython uses on any platform.
_FALLBACK_SUFFIXES = (".so", ".pyd")


@dataclass(frozen=True)
class Origin:
    """Where an installed module comes from: a distribution, or only a sys.path directory
    when no dist-info claims the file."""

    directory: str
    name: Optional[str] = None
    version: Optional[str] = None

    @property
    def label(self) -> str:
        if self.name is None:
            return f"installed: {self.directory} (no distribution claims it)"
        return f"installed: {self.name} {self.version}"


@dataclass(frozen=True)
class _Located:
    source: Optional[SourceFile]  # None: a compiled module
    directory: str  # the sys.path entry it was found under


class InstalledModules:
    """Finds installed modules by name; `find` answers only for those to follow."""

    def __init__(
        self,
        paths: EnvironmentPaths,
        follow: Union[bool, Sequence[str]] = True,
        sink_modules: Sequence[ModuleSink] = (),
    ) -> None:
        self.paths = paths
        self.follow_all = follow is True
        self.follow_names = frozenset() if isinstance(follow, bool) else frozenset(
            normalize_name(name) for name in follow
        )
        self.following = bool(follow)
        self.sink_modules = tuple(sink_modules)
        self.stdlib = frozenset(paths.stdlib_module_names)
        self.suffixes = paths.extension_suffixes or _FALLBACK_SUFFIXES
        self.directories = search_directories(paths)
        self._listings: dict[str, dict[str, set[str]]] = {}
        self._located: dict[str, Optional[_Located]] = {}
        self._found: dict[str, Optional[SourceFile]] = {}
        self._distributions: dict[str, _Distributions] = {}

    # -- lookup

    def find(self, module: str) -> Optional[SourceFile]:
        """The file to collect facts from, for a module to follow; else None."""
        if module not in self._found:
            self._found[module] = self._find(module)
        return self._found[module]

    def _find(self, module: str) -> Optional[SourceFile]:
        if not self.following or self.is_stdlib(module) or self.is_sink(module):
            return None
        located = self.locate(module)
        if located is None or located.source is None:
            return None
        return located.source if self._wanted(module, located) else None

    def is_stdlib(self, module: str) -> bool:
        return module.partition(".")[0] in self.stdlib

    def is_sink(self, module: str) -> bool:
        return any(sink.matches(module) for sink in self.sink_modules)

    def _wanted(self, module: str, located: _Located) -> bool:
        if self.follow_all:
            return True
        parts = module.split(".")
        if any(normalize_name(".".join(parts[:i])) in self.follow_names for i in range(1, len(parts) + 1)):
            return True
        owner = self.origin_of(located)
        return owner.name is not None and normalize_name(owner.name) in self.follow_names

    def locate(self, module: str) -> Optional[_Located]:
        """Where `module` is installed, whether it is followed or not."""
        if module not in self._located:
            parts = module.split(".")
            self._located[module] = (
                self._search(parts, 0, [(d, d) for d in self.directories]) if all(parts) else None
            )
        return self._located[module]

    def _search(self, parts: list[str], index: int, portions: list[tuple[str, str]]) -> Optional[_Located]:
        """Find parts[index] in `portions` ((directory, its sys.path entry) pairs)."""
        name = parts[index]
        last = index == len(parts) - 1
        namespace: list[tuple[str, str]] = []
        for directory, entry in portions:
            names = self._listing(directory).get(name)
            if not names:
                continue
            base = os.path.join(directory, name)
            module = ".".join(parts[: index + 1])
            if name in names and os.path.isfile(os.path.join(base, "__init__.py")):
                if last:
                    init = os.path.join(base, "__init__.py")
                    return _Located(SourceFile(os.path.abspath(init), module, True, entry), entry)
                return self._search(parts, index + 1, [(base, entry)])
            if any(name + suffix in names for suffix in self.suffixes):
                return _Located(None, entry) if last else None
            if name + ".py" in names:
                plain = os.path.abspath(base + ".py")
                return _Located(SourceFile(plain, module, False, entry), entry) if last else None
            if name in names and os.path.isdir(base):
                namespace.append((base, entry))
        if namespace and not last:
            return self._search(parts, index + 1, namespace)
        return None  # not installed, or a namespace package (importing one runs nothing)

    def _listing(self, directory: str) -> dict[str, set[str]]:
        """Entry names of a directory by the part before their first dot."""
        if directory not in self._listings:
            listing: dict[str, set[str]] = {}
            try:
                names = os.listdir(directory)
            except OSError:
                names = []
            for entry in names:
                listing.setdefault(entry.partition(".")[0], set()).add(entry)
            self._listings[directory] = listing
        return self._listings[directory]

    # -- ownership

    def origin(self, module: str) -> Optional[Origin]:
        """Where an installed module comes from; None when it is not installed."""
        located = self.locate(module)
        return None if located is None else self.origin_of(located)

    def origin_of(self, located: _Located) -> Origin:
        if located.source is None:
            return Origin(located.directory)
        distributions = self._distributions.get(located.directory)
        if distributions is None:
            distributions = _Distributions(self.paths, located.directory)
            self._distributions[located.directory] = distributions
        relative = os.path.relpath(located.source.path, located.directory).replace(os.sep, "/")
        owner = distributions.owner(relative)
        if owner is None:
            return Origin(located.directory)
        return Origin(located.directory, owner.name, owner.version)

    def source_origin(self, source: SourceFile) -> Optional[Origin]:
        """The origin of a file `find` returned; None for any other file."""
        if self._found.get(source.module) != source:
            return None
        return self.origin(source.module)


def search_directories(paths: EnvironmentPaths) -> tuple[str, ...]:
    """The target's sys.path directories, without the standard library's and without
    entries that name the current directory (an artifact of how it was started)."""
    stdlib = {os.path.realpath(d) for d in paths.stdlib_dirs}
    stdlib |= {os.path.join(d, "lib-dynload") for d in stdlib}
    seen: set[str] = set()
    result = []
    for entry in paths.sys_path:
        if not entry or entry == ".":
            continue
        real = os.path.realpath(entry)
        if real in stdlib or real in seen or not os.path.isdir(real):
            continue
        seen.add(real)
        result.append(os.path.abspath(entry))
    return tuple(result)


class _Distributions:
    """The distributions of one sys.path directory, and which one installed a file:
    the one whose RECORD lists it; failing that, the only one whose top-level names
    include the file's first path component."""

    def __init__(self, paths: EnvironmentPaths, directory: str) -> None:
        self.all = tuple(iter_distributions(paths, [directory]))
        self._files: dict[str, frozenset[str]] = {}
        self._top_level: dict[str, Optional[frozenset[str]]] = {}

    def owner(self, relative: str) -> Optional[InstalledDistribution]:
        top = relative.split("/")[0].partition(".")[0]
        declared = [d for d in self.all if top in (self.top_level(d) or ())]
        undeclared = [d for d in self.all if self.top_level(d) is None]
        for dist in (*declared, *undeclared):
            if relative in self.files(dist):
                return dist
        return declared[0] if len(declared) == 1 else None

    def top_level(self, dist: InstalledDistribution) -> Optional[frozenset[str]]:
        """top_level.txt, which setuptools writes; None when the wheel has none."""
        if dist.dist_info not in self._top_level:
            try:
                with open(os.path.join(dist.dist_info, "top_level.txt"), encoding="utf-8") as stream:
                    names = frozenset(line.strip().split("/")[0] for line in stream if line.strip())
            except (OSError, UnicodeDecodeError):
                names = None
            self._top_level[dist.dist_info] = names
        return self._top_level[dist.dist_info]

    def files(self, dist: InstalledDistribution) -> frozenset[str]:
        if dist.dist_info not in self._files:
            try:
                entries: Iterable[str] = (e.path for e in read_record(dist.replay_path).entries)
            except RecordError:
                entries = ()
            self._files[dist.dist_info] = frozenset(
                posixpath.normpath(path.replace("\\", "/")) for path in entries
            )
        return self._files[dist.dist_info]


class WithInstalled:
    """A project resolver, then the installed modules: what the engine's FactsStore asks.
    Also marks where chains leave the project."""

    def __init__(self, project: object, installed: InstalledModules) -> None:
        self.project = project
        self.installed = installed

    def find(self, module: str) -> Optional[SourceFile]:
        found = self.project.find(module)  # type: ignore[attr-defined]
        return found if found is not None else self.installed.find(module)

    def origin(self, module: str) -> Optional[Origin]:
        if self.project.find(module) is not None:  # type: ignore[attr-defined]
            return None
        return self.installed.origin(module)

    def hops(self, hops: Sequence[Hop]) -> tuple[Hop, ...]:
        """Each hop that enters another distribution says which, in its `via`."""
        marked = []
        for hop in hops:
            if hop.kind == "call":  # names a function, not a module
                marked.append(hop)
                continue
            into = self.origin(hop.imported)
            if into is not None and into != self.origin(hop.importer):
                hop = replace(hop, via=f"{hop.via}; {into.label}" if hop.via else into.label)
            marked.append(hop)
        return tuple(marked)

    def finding(self, finding: Finding) -> Finding:
        """Marked hops, and the distributions on the chain under extra["installed"]."""
        if not finding.chain:
            return finding
        distributions: dict[tuple[str, str], dict[str, str]] = {}
        for hop in finding.chain:
            origin = self.origin(hop.imported) if hop.kind == "import" else None
            if origin is not None and origin.name is not None and origin.version is not None:
                entry = {"distribution": origin.name, "version": origin.version, "module": hop.imported}
                distributions.setdefault((origin.name, origin.version), entry)
        extra = finding.extra + ((("installed", list(distributions.values())),) if distributions else ())
        return replace(finding, chain=self.hops(finding.chain), extra=extra)
