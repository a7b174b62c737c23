"""Facts of installed modules, cached once per distribution.

Each distribution gets its own facts index under `DIRECTORY/NAME-VERSION/`, where
DIRECTORY is the user's library cache (`library_cache_directory`, shared by every
project that reads the same installed files, as the CLI does) or, when none is given,
`<cache-dir>/installed/`;
keyed by importguard's cache key plus the distribution's name and version; inside it an
entry is used only when the file's content hash still matches (cache.FactsCache). So a
site-packages tree is parsed once per cache directory, and an upgraded distribution
starts a fresh index. Files no dist-info claims, and every file
when the run has no cache, go to the project's collector.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from importguard.cache.store import FactsCache
from importguard.cache.loader import FactsLoader
from importguard.installed.interpreter import normalize_name
from importguard.installed.modules import InstalledModules
from importguard.model import ModuleFacts, SourceFile

Collector = Callable[[Sequence[SourceFile]], list[ModuleFacts]]


def library_cache_directory() -> Path:
    """The user's cache of installed libraries' facts, shared across projects:
    $IMPORTGUARD_LIBRARY_CACHE, else $XDG_CACHE_HOME/importguard/libraries, else
    ~/.cache/importguard/libraries. An entry is used only while its file's content hash
    matches, so torch is parsed once per version, not once per project."""
    explicit = os.environ.get("IMPORTGUARD_LIBRARY_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "importguard" / "libraries"


class InstalledLoader:
    def __init__(self, project: Collector, installed: InstalledModules, directory: Optional[Path] = None) -> None:
        self.project = project
        self.installed = installed
        self._directory = directory
        # Only a FactsLoader (the CLI's) has a cache and a worker pool to share.
        self._cache: Optional[FactsCache] = getattr(project, "cache", None)
        self._pool: Any = getattr(project, "pool", None)
        self._by_distribution: dict[tuple[str, str], FactsLoader] = {}

    def __call__(self, sources: Sequence[SourceFile]) -> list[ModuleFacts]:
        groups: dict[Optional[tuple[str, str]], list[SourceFile]] = {}
        for source in sources:
            groups.setdefault(self._distribution_of(source), []).append(source)
        found: dict[str, ModuleFacts] = {}
        for key, group in groups.items():
            collect = self.project if key is None else self._collector(key)
            for facts in collect(group):
                found[facts.path] = facts
        return [found[source.path] for source in sources]

    def _distribution_of(self, source: SourceFile) -> Optional[tuple[str, str]]:
        if self._cache is None or self._pool is None:
            return None
        origin = self.installed.source_origin(source)
        if origin is None or origin.name is None or origin.version is None:
            return None
        return normalize_name(origin.name), origin.version

    def _collector(self, key: tuple[str, str]) -> FactsLoader:
        if key not in self._by_distribution:
            assert self._cache is not None
            name, version = key
            root = self._directory if self._directory is not None else self._cache.directory / "installed"
            directory = root / _safe(f"{name}-{version}")
            cache = FactsCache(directory, {**self._cache.key, "distribution": name, "version": version})
            self._by_distribution[key] = FactsLoader(cache, self._pool)
        return self._by_distribution[key]

    def save(self) -> None:
        for collector in self._by_distribution.values():
            if collector.cache is not None:
                collector.cache.save()

    @property
    def warnings(self) -> list[str]:
        return [w for key in sorted(self._by_distribution) for w in self._by_distribution[key].warnings]


def _safe(name: str) -> str:
    """A directory name from a distribution name and version (PEP 440 allows `+` and `!`)."""
    return re.sub(r"[^A-Za-z0-9._+!-]", "_", name)
