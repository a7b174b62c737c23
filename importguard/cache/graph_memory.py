"""The module resolver and the graph's per-module answers, kept between the checks of a
long-lived caller (the language server), so a check after an edit does not resolve
every import and compute every module's eager edges again.

Kept while the configuration and the roots stay the same and every module lookup the
resolver made would find what it found (lookups.py: the directories' entries, not their
mtimes alone). Each check hands its facts over (`open`); a module whose facts are
another object than the graph saw last time has changed, and the graph forgets what
depended on it (`ImportGraph.forget`). What the answers of a check are does not depend
on what was kept: the tests compare every check with one on a fresh graph.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from importguard.cache import lookups
from importguard.discovery import ModuleResolver
from importguard.graph.imports import ImportGraph
from importguard.model import ModuleFacts

_RACY_NS = 2_000_000_000  # as the caches: a directory changed this recently proves nothing by its stamp


@dataclass
class _Kept:
    key: tuple[Any, ...]
    resolver: ModuleResolver
    graph: ImportGraph
    seen: dict[str, ModuleFacts] = field(default_factory=dict)  # module -> the facts the graph used
    log: lookups.LookupLog = field(default_factory=lookups.LookupLog)
    probes_logged: int = 0  # resolver.probes already in `log`
    lookups: list[Any] = field(default_factory=list)  # `log` as of the end of the last check


class GraphMemory:
    def __init__(self) -> None:
        self._kept: Optional[_Kept] = None
        self.last_kept = False  # whether the last `open` kept the graph (tests)

    def open(self, key: tuple[Any, ...], roots: Sequence[Path], facts_for: Callable[[str], Optional[ModuleFacts]],
             make_graph: Callable[[ModuleResolver], ImportGraph],
             rebind: Callable[[ModuleResolver, ImportGraph], None]) -> tuple[ModuleResolver, ImportGraph]:
        """The resolver and graph for a check: kept ones when still valid (rebound to
        this check's facts with `rebind`, then told what changed), else new ones.
        `facts_for(module)`: this check's facts of a module."""
        kept = self._kept
        self.last_kept = False
        if kept is not None and kept.key == key and lookups.unchanged(kept.lookups):
            rebind(kept.resolver, kept.graph)
            changed = {module for module, facts in kept.seen.items() if facts_for(module) is not facts}
            kept.graph.forget(changed)
            self.last_kept = True
            return kept.resolver, kept.graph
        resolver = ModuleResolver(list(roots))
        graph = make_graph(resolver)
        self._kept = _Kept(key, resolver, graph)
        return resolver, graph

    def close(self, resolver: ModuleResolver, facts: Sequence[ModuleFacts]) -> None:
        """After the check: the facts it used, and the lookups made since the last one.
        A lookup the tree no longer agrees with (changed while the check ran) means
        nothing is kept."""
        kept = self._kept
        if kept is None or kept.resolver is not resolver:
            return
        kept.seen.update((f.module, f) for f in facts)
        started = time.time_ns()
        for path, was_file in resolver.probes[kept.probes_logged:]:
            if not kept.log.probed(path, was_file):
                self._kept = None
                return
        kept.probes_logged = len(resolver.probes)
        kept.lookups = kept.log.lookups(started, _RACY_NS)
