"""The eager import graph, sinks, and shortest chains.

Edges come from EAGER import sites only. Importing `a.b.c` executes `a` and `a.b`
first, so a site that imports `a.b.c` has an edge to each of them too, except to the
importer itself and its own ancestor packages (they are already running). A module
that is already in progress when a chain starts (the importer and its ancestors) is
never entered again, as Python would find it in `sys.modules`.

Facts are pulled on demand through `facts_for`, so only what a chain reaches is parsed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

from importguard.cache.codec import codec
from importguard.environment.profile import Profile
from importguard.graph.reach import CallReach, Reached
from importguard.model import (
    CONFIGURED,
    DRIVER_API,
    INITIALIZER,
    VERSION_DEPENDENT,
    CallSink,
    CallSite,
    Execution,
    Hop,
    ImportSite,
    ModuleFacts,
    ModuleSink,
    SinkHit,
    SiteKind,
)


# The strongest sink labels a finding: a measured initializer before a configured sink
# before the driver API imported without a call; the shortest chain only among equals.
STRENGTH_ORDER = {INITIALIZER: 0, CONFIGURED: 1, VERSION_DEPENDENT: 2, DRIVER_API: 3}


def strength_rank(hit: SinkHit) -> int:
    return STRENGTH_ORDER.get(hit.strength, STRENGTH_ORDER[CONFIGURED])


def ancestors(module: str) -> list[str]:
    """`a.b.c` -> ["a", "a.b"] (outermost first)."""
    return list(_ancestors(module))


@lru_cache(maxsize=1 << 16)
def _ancestors(module: str) -> tuple[str, ...]:
    parts = module.split(".")
    return tuple(".".join(parts[:i]) for i in range(1, len(parts)))


def importers_reaching(importers: Mapping[str, Iterable[str]], modules: Iterable[str]) -> set[str]:
    """Every module that reaches one of `modules` through `importers` (a module -> the
    modules with an edge to it); one of `modules` only where another leads to it."""
    found: set[str] = set()
    stack = list(modules)
    while stack:
        for importer in importers.get(stack.pop(), ()):
            if importer not in found:
                found.add(importer)
                stack.append(importer)
    return found


@dataclass(frozen=True, slots=True)
class Edge:
    importer: str
    target: str
    site: ImportSite
    path: str
    via: str = ""

    def hop(self) -> Hop:
        return Hop(self.importer, self.target, self.path, self.site.line, self.via)


@dataclass(frozen=True)
class Chain:
    hops: tuple[Hop, ...]
    sink: SinkHit

    def to_data(self) -> list[Any]:
        """Plain JSON data (cache/results.py keeps each search's chain), by the codec
        derived from the fields: a field added to a hop or a sink hit is kept too."""
        return codec(Chain).encode(self)

    @classmethod
    def from_data(cls, data: list[Any]) -> "Chain":
        """What `to_data` gave; MalformedEntry (a ValueError) for anything else."""
        return codec(Chain).decode(data)


# What one search from an import site found, and what that answer depends on:
# (the chain or None, the modules whose facts it read (`explicit`), the modules whose
# every reachable module it depends on (`roots`: the starts of a search that found no
# sink, the modules a search skipped as known to reach none)); see chain_from_site.
Search = tuple[Optional[Any], list[str], list[str]]


@dataclass
class _Trace:
    queried: list[str]  # modules whose sink and edges the search looked up
    skipped: set[str]  # modules skipped as known to reach no sink


class ImportGraph:
    def __init__(
        self,
        facts_for: Callable[[str], Optional[ModuleFacts]],
        is_known_module: Callable[[str], bool],
        sink_modules: Sequence[ModuleSink],
        sink_calls: Sequence[CallSink],
        prefetch: Callable[[Iterable[str]], None] = lambda modules: None,
        nvml_based_cuda_check: bool = False,
        profile: Profile = Profile(),
    ) -> None:
        self._facts_for = facts_for
        self._is_known = is_known_module
        self._sink_modules = tuple(sink_modules)
        self._sink_modules_named: dict[str, list[ModuleSink]] = {}  # by the module each names, in order
        for sink in self._sink_modules:
            self._sink_modules_named.setdefault(sink.module, []).append(sink)
        self._sink_calls = {sink.name: sink for sink in sink_calls}
        self._prefetch = prefetch
        self._edges: dict[str, tuple[Edge, ...]] = {}
        self._sinks: dict[str, Optional[SinkHit]] = {}
        self._module_sinks: dict[str, Optional[ModuleSink]] = {}
        self._worth: dict[str, bool] = {}
        self._prefetched: set[str] = set()  # each module is prefetched once, not per search
        self.profile = profile  # decides which conditional sites run (environment/profile.py)
        self.reach = CallReach(facts_for, sink_calls, nvml_based_cuda_check, profile)
        self.reach.follow_imports(self.chain_from_function_import, self.module_sink)
        self._sinks_computing: set[str] = set()  # sink_of re-entered through a function's import
        # (module, line) -> imported_before's answer and the modules it read
        self._imported_before: dict[tuple[str, int], tuple[frozenset[str], frozenset[str]]] = {}
        # importer -> modules from which a search that started at it (its ancestors
        # running) found no sink. A later search whose running modules include that
        # importer (the same package, or one below it) skips them: avoiding more
        # running modules cannot open a path to a sink, and a module that reaches no
        # sink lies on no chain, so the chains found are the same.
        self._sink_free: dict[str, set[str]] = {}
        # Modules that reach no sink at all, as an earlier check found them and its
        # answer still holds (cache/results.py, keep_sink_free): every search skips them.
        self._free_everywhere: set[str] = set()
        self._searched: dict[str, dict[str, None]] = {}  # importer -> targets of the sites searched from
        self._star_sources: dict[str, dict[str, None]] = {}  # importer -> packages it star-imports
        # module -> the modules whose facts its calls at import were followed into
        # (graph/reach.py), with or without an eager edge there.
        self._call_deps: dict[str, dict[str, None]] = {}
        self._touch = False  # see rebind
        # module -> (line, column) of a site -> what its search found and depended on:
        # `searches` as computed or kept by this check (chains as Chain), `_kept` as an
        # earlier check left them (chains as data; cache/results.py seeds it, keep_searches).
        self.searches: dict[str, dict[tuple[int, int], Search]] = {}
        self._kept: dict[str, dict[tuple[int, int], Search]] = {}

    # -- kept between checks (cache/graph_memory.py)

    def rebind(self, facts_for: Callable[[str], Optional[ModuleFacts]], is_known_module: Callable[[str], bool],
               prefetch: Callable[[Iterable[str]], None]) -> None:
        """Take a new check's facts and lookups; what was computed stays (see forget)."""
        self._facts_for = facts_for
        self._is_known = is_known_module
        self._prefetch = prefetch
        self._prefetched = set()
        self._searched = {}
        self.searches = {}
        self._kept = {}
        self.reach.rebind(facts_for)
        # A kept answer still reads the module's facts, so the caller learns every
        # module this check depended on (the language server re-analyses on its edits).
        self._touch = True
        self._read_now: set[str] = set()

    def forget(self, changed: set[str]) -> None:
        """Drop what depends on the facts of the `changed` modules: their eager edges and
        those of modules that star-import them, the sinks of modules whose calls at
        import read them, and every search's modules found to reach no sink."""
        if not changed:
            return
        stale = changed | {module for module, packages in self._star_sources.items() if packages.keys() & changed}
        for module in stale:
            self._edges.pop(module, None)
            self._star_sources.pop(module, None)
        for module in [m for m, deps in self._call_deps.items() if m in changed or deps.keys() & changed]:
            self._sinks.pop(module, None)
            self._edges.pop(module, None)  # an edge may have read them too (_quiet_under_nvml)
            self._call_deps.pop(module, None)
        for module in changed:
            self._sinks.pop(module, None)
        self._sink_free = {}
        self._free_everywhere = set()
        self._imported_before = {key: known for key, known in self._imported_before.items()
                                 if not known[1] & changed}
        self.reach.forget(changed)

    # -- nodes

    def facts(self, module: str) -> Optional[ModuleFacts]:
        return self._facts_for(module)

    def module_sink(self, module: str) -> Optional[ModuleSink]:
        if module not in self._module_sinks:
            # The most specific configured sink explains the module best: the first one
            # naming the longest of the module and its parents (ModuleSink.matches).
            found = None
            for name in (module, *reversed(_ancestors(module))):
                sinks = self._sink_modules_named.get(name)
                if sinks:
                    found = sinks[0]
                    break
            self._module_sinks[module] = found
        return self._module_sinks[module]

    def sink_of(self, module: str) -> Optional[SinkHit]:
        if module in self._sinks:
            self._touched(module, self._call_deps.get(module, ()))
            return self._sinks[module]
        hit: Optional[SinkHit] = None
        sink = self.module_sink(module)
        if sink is not None:
            hit = SinkHit(module, sink.reason, strength=sink.strength)
        else:
            if module in self._sinks_computing:
                # Its calls at import run a function whose import leads back here: Python
                # finds it in sys.modules. A cycle, as reach counts them (not memoised).
                self.reach.cut_cycle()
                return None
            facts = self._facts_for(module)
            cycles = self.reach.cycles
            self._sinks_computing.add(module)
            deps = self.reach.begin()
            try:
                hit = self._call_sink_hit(module, facts)
            finally:
                self.reach.end()
                self._sinks_computing.discard(module)
            self._depends(module, deps)
            if hit is None and self.reach.nested and self.reach.cycles != cycles:
                return None  # found inside a function's import that a cycle cut short: not kept
        self._sinks[module] = hit
        return hit

    def _call_sink_hit(self, module: str, facts: Optional[ModuleFacts]) -> Optional[SinkHit]:
        """The best sink a call `module` makes at import reaches (a plain one first)."""
        hit: Optional[SinkHit] = None
        if facts is None:
            return None
        for call in facts.calls:
            reached = self.reach.from_call(facts, call)
            if reached is None:
                continue
            sink_call = reached.sink
            # A call under a test the profile cannot decide runs on some paths of the import.
            some_paths = reached.conditional or self.profile.decide(call.conditional, call.condition) is None
            candidate = SinkHit(module, sink_call.reason, sink_call.name, facts.path, call.line,
                                sink_call.strength, reached.hops, some_paths)
            if hit is None or (candidate.conditional, len(candidate.calls)) < (hit.conditional, len(hit.calls)):
                hit = candidate
            if not hit.conditional:
                break
        return hit

    def call_sink(self, name: str) -> Optional[CallSink]:
        """The sink a call of `name` is by itself (no device argument, no functions
        followed); `call_reach` is the whole answer."""
        return self.reach.call_sink_for(CallSite(name, 0, 0, 0))

    def call_reach(self, facts: ModuleFacts, call: CallSite) -> Optional[Reached]:
        """What a call that runs at import in `facts` reaches, directly or through
        the functions it runs."""
        deps = self.reach.begin()
        try:
            return self.reach.from_call(facts, call)
        finally:
            self.reach.end()
            self._depends(facts.module, deps)

    def _depends(self, module: str, deps: set[str]) -> None:
        deps.discard(module)
        if deps:
            known = self._call_deps.setdefault(module, {})
            for dep in deps:
                known[dep] = None
        self._touched(module, deps)

    def _touched(self, module: str, deps: Iterable[str]) -> None:
        """On a kept graph, read the facts an answer depends on (see rebind)."""
        if self._touch:
            for read in (module, *deps):
                if read not in self._read_now:
                    self._read_now.add(read)
                    self._facts_for(read)

    def _worth_an_edge(self, module: str) -> bool:
        if module not in self._worth:
            self._worth[module] = self.module_sink(module) is not None or self._is_known(module)
        return self._worth[module]

    # -- edges

    def site_edges(self, facts: ModuleFacts, site: ImportSite) -> list[Edge]:
        """Every module that executing `site` may execute, in execution order."""
        if site.execution is not Execution.EAGER or self.profile.decide(site.conditional, site.condition) is False:
            return []
        importer = facts.module
        running = {importer, *_ancestors(importer)}
        targets = [(site.module, "")]
        if site.kind is SiteKind.FROM:
            targets += self._from_import_submodules(site, importer)
        edges: list[Edge] = []
        seen: set[str] = set()
        for target, why in targets:
            for parent in _ancestors(target):
                if parent not in running and parent not in seen and self._worth_an_edge(parent) \
                        and not self._quiet_under_nvml(facts, site, parent):
                    seen.add(parent)
                    edges.append(
                        Edge(importer, parent, site, facts.path, f"parent package of {target}, runs first")
                    )
            if target not in running and target not in seen and self._worth_an_edge(target) \
                    and not self._quiet_under_nvml(facts, site, target):
                seen.add(target)
                edges.append(Edge(importer, target, site, facts.path, why))
        return edges

    def _quiet_under_nvml(self, facts: ModuleFacts, site: ImportSite, module: str) -> bool:
        """A module sink whose only driver call is `torch.cuda.is_available()` (nvml_off),
        imported where PYTORCH_NVML_BASED_CUDA_CHECK=1 is already set: it initializes
        nothing (measured), so the import is no edge to a sink."""
        sink = self.module_sink(module)
        return sink is not None and sink.nvml_off and self.reach.nvml_check_set(facts, site.line)

    def _from_import_submodules(self, site: ImportSite, importer: str) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        names: Iterable[str] = site.names
        if "*" in site.names:
            # The importer's edges depend on the package's facts, with or without an
            # edge to it (none when the package is running: `from pkg import *` in pkg.sub).
            self._star_sources.setdefault(importer, {})[site.module] = None
            package = self._facts_for(site.module)
            # `from pkg import *` imports the submodules that pkg's `__all__` lists.
            names = package.exports if package is not None and package.exports else ()
            why = f"listed in {site.module}.__all__, imported by `*`"
        else:
            why = ""
        inside_sink = self.module_sink(site.module) is not None
        for name in names:
            candidate = f"{site.module}.{name}"
            # Under a sink package the package itself is the hop; a name imported from
            # it (`from cutlass.utils import SmemAllocator`) is no further sink.
            if self._is_known(candidate) or (not inside_sink and self.module_sink(candidate)):
                found.append((candidate, why))
        return found

    def eager_edges(self, module: str) -> tuple[Edge, ...]:
        if module in self._edges:
            self._touched(module, ())
            return self._edges[module]
        facts = self._facts_for(module)
        edges: list[Edge] = []
        if facts is not None:
            deps = self.reach.begin()  # the NVML check reads ancestors' facts (_quiet_under_nvml)
            try:
                for site in facts.imports:
                    edges.extend(self.site_edges(facts, site))
            finally:
                self.reach.end()
            self._depends(module, deps)
        result = tuple(edges)
        self._edges[module] = result
        return result

    def computed_targets(self) -> dict[str, list[str]]:
        """The modules each module's eager edges point to (and the packages it
        star-imports, whose `__all__` decided them, and the modules its calls at import
        were followed into), for every module whose edges this graph has computed or
        searched from so far (cache/results.py records them: every
        search result depends only on what these reach)."""
        targets = {module: dict.fromkeys(e.target for e in edges) for module, edges in self._edges.items()}
        for module, searched in self._searched.items():
            targets.setdefault(module, {}).update(searched)
        for module, packages in self._star_sources.items():
            targets.setdefault(module, {}).update(packages)
        for module, deps in self._call_deps.items():
            targets.setdefault(module, {}).update(deps)
        return {module: list(found) for module, found in targets.items()}

    def star_sources(self) -> dict[str, list[str]]:
        """The packages each module star-imports (their `__all__` decides its edges),
        for every module whose edges this graph has computed so far."""
        found = {module: [] for module in self._edges}
        found.update((module, list(packages)) for module, packages in self._star_sources.items())
        return found

    # -- chains

    def keep_searches(self, kept: dict[str, dict[tuple[int, int], Search]]) -> None:
        """Searches an earlier check made whose answers still hold (chains as data)."""
        self._kept = kept

    def keep_sink_free(self, modules: Iterable[str]) -> None:
        """Modules an earlier check found to reach no sink at all (sink_free_modules)
        that still reach none: nothing they reach changed."""
        self._free_everywhere = set(modules)

    def sink_free_modules(self) -> set[str]:
        """The modules known to reach no sink at all: those kept (keep_sink_free), and
        those this check found to be no sink whose every eager edge leads to such a
        module. A module whose edges were never computed is not known to be free."""
        kept = self._free_everywhere
        candidates = [m for m in self._edges if m not in kept and m in self._sinks and self._sinks[m] is None]
        free = {*kept, *candidates}
        importers: dict[str, list[str]] = {}
        doomed = []
        for module in candidates:
            for edge in self._edges[module]:
                if edge.target in free:
                    importers.setdefault(edge.target, []).append(module)
                else:
                    doomed.append(module)  # a sink, or a module not known to be free
        while doomed:
            module = doomed.pop()
            if module in free:
                free.discard(module)
                doomed.extend(importers.get(module, ()))
        return free

    def chain_from_site(self, facts: ModuleFacts, site: ImportSite) -> Optional[Chain]:
        """The chain from one import site to the strongest sink it reaches (STRENGTH_ORDER),
        the shortest among those, ties broken by name."""
        start = self.site_edges(facts, site)
        self._searched.setdefault(facts.module, {}).update(dict.fromkeys(e.target for e in start))
        where = (site.line, site.column)
        kept = self._kept.get(facts.module, {}).get(where)
        if kept is not None:
            chain = None if kept[0] is None else Chain.from_data(kept[0])
            found: Search = (chain, kept[1], kept[2])
        else:
            trace = _Trace([], set())
            chains = self._search(start, facts.module, first_only=True, trace=trace)
            chain = chains[0] if chains else None
            found = (chain, *self._depends_on(trace, chain is not None, start, facts.module))
        self.searches.setdefault(facts.module, {})[where] = found
        return chain

    def _depends_on(self, trace: _Trace, hit: bool, start: Sequence[Edge],
                    importer: str) -> tuple[list[str], list[str]]:
        """A search that stopped at a sink depends on what it looked up (the sinks and
        edges of the modules up to that level, and what those read) and on the modules
        it skipped reaching no sink; one that found none on all that its starts reach.
        Either depends on the packages the importer star-imports (they decide its starts)."""
        stars = self._star_sources.get(importer, {})
        if not hit:
            return sorted(stars), sorted({edge.target for edge in start})
        explicit = {*trace.queried, *stars}
        for module in trace.queried:
            explicit.update(self._call_deps.get(module, ()))
            explicit.update(self._star_sources.get(module, ()))
        return sorted(explicit), sorted(trace.skipped)

    def call_deps(self) -> dict[str, list[str]]:
        """The modules whose facts each module's calls at import read (graph/reach.py)."""
        return {module: list(deps) for module, deps in self._call_deps.items()}

    def chain_from_function_import(self, facts: ModuleFacts, site: ImportSite,
                                   defined_at: int) -> tuple[Optional[Chain], set[str]]:
        """The chain from an import that a function body of `facts` runs
        (FunctionFacts.imports; graph/reach.py asks when a call at import reaches that
        function, defined at line `defined_at`) to the strongest sink it reaches, as
        chain_from_site finds it, where Python would import something: not the function's
        module or its ancestors, and not what is imported already whenever the function
        runs (`imported_before`); and the modules whose facts the answer read (the
        modules it looked up and what their sinks and edges read), which the caller's
        answer depends on. Every module it reaches is looked up, none skipped as known
        to reach no sink, so that the modules read are all the answer depends on."""
        imported, read = self.imported_before(facts, defined_at)
        start = [edge for edge in self.site_edges(facts, site) if not self._loaded(edge.target, imported)]
        trace = _Trace([], set())
        chains = self._search(start, facts.module, first_only=True, trace=trace, skip_free=False, loaded=imported)
        read.update(trace.queried, self._star_sources.get(facts.module, ()))
        for module in trace.queried:
            read.update(self._call_deps.get(module, ()))
            read.update(self._star_sources.get(module, ()))
        return (chains[0] if chains else None), read

    def imported_before(self, facts: ModuleFacts, line: int) -> tuple[set[str], set[str]]:
        """The modules in sys.modules whenever code of `facts` defined at `line` runs:
        what the module's eager imports above that line import (they ran before the
        `def` did), with everything those modules import eagerly, where the
        environment profile says the site runs; and the modules whose edges that read."""
        key = (facts.module, line)
        known = self._imported_before.get(key)
        if known is None:
            loaded: set[str] = set()
            queue: list[str] = []
            deps = self.reach.begin()
            try:
                for site in facts.imports:
                    if site.line < line:
                        queue += [e.target for e in self.site_edges(facts, site) if self._runs(e.site)]
                while queue:
                    module = queue.pop()
                    if module in loaded:
                        continue
                    loaded.add(module)
                    if self.module_sink(module) is None:
                        queue += [e.target for e in self.eager_edges(module) if self._runs(e.site)]
            finally:
                self.reach.end()
            deps.update(loaded)
            known = self._imported_before[key] = (frozenset(loaded), frozenset(deps))
        return set(known[0]), set(known[1])

    def _runs(self, site: ImportSite) -> bool:
        return self.profile.decide(site.conditional, site.condition) is True

    def _loaded(self, module: str, imported: set[str]) -> bool:
        """Importing `module` runs nothing new: it is imported already, or it is inside
        a sink package that is (the package's import is the sink)."""
        if module in imported:
            return True
        sink = self.module_sink(module)
        return sink is not None and sink.module in imported

    def chains_from_module(self, module: str) -> list[Chain]:
        """One shortest chain to every sink reached by importing `module` from a fresh
        interpreter (its parent packages run first)."""
        roots = [*ancestors(module), module]
        chains = [Chain((), hit) for hit in map(self.sink_of, roots) if hit is not None]
        start = [edge for root in roots if self.module_sink(root) is None for edge in self.eager_edges(root)]
        chains += self._search(start, module, first_only=False)
        # One chain per configured sink (the first found is the shortest), not one per
        # submodule of a sink package that happens to be imported.
        by_sink: dict[tuple[str, str], Chain] = {}
        for chain in chains:
            sink = self.module_sink(chain.sink.module)
            key = (sink.module, "") if sink is not None and not chain.sink.call else (chain.sink.module, chain.sink.call)
            by_sink.setdefault(key, chain)
        return list(by_sink.values())

    def _search(self, start: Sequence[Edge], importer: str, first_only: bool,
                trace: Optional[_Trace] = None, skip_free: bool = True,
                loaded: frozenset[str] | set[str] = frozenset()) -> list[Chain]:
        """`skip_free`: skip the modules known to reach no sink, and remember the
        modules a search that found none visited. `loaded`: modules imported already
        (never entered, and no sink package among them is a sink again)."""
        running = {importer, *_ancestors(importer)}
        visited = set(running)
        known_free = [self._sink_free[m] for m in running if m in self._sink_free] if skip_free else []
        if self._free_everywhere and skip_free:
            known_free.append(self._free_everywhere)
        found: list[Chain] = []
        # first_only: the strongest hit so far, at its shallowest level; a weaker sink
        # found first does not end the search (a deeper initializer labels the finding).
        best: Optional[tuple[SinkHit, _Trail]] = None
        # Each entry keeps the edge that reached it and its predecessor's trail; hops
        # are built only for chains that end at a sink.
        frontier: list[tuple[str, _Trail]] = []
        for edge in start:
            if edge.target in visited:
                continue
            if any(edge.target in free for free in known_free):
                if trace is not None:
                    trace.skipped.add(edge.target)
                continue
            visited.add(edge.target)
            frontier.append((edge.target, (edge, None)))
        while frontier:
            fresh = [module for module, _ in frontier if module not in self._prefetched]
            if fresh:
                self._prefetched.update(fresh)
                self._prefetch(fresh)
            level_hits: list[tuple[SinkHit, _Trail]] = []
            next_frontier: list[tuple[str, _Trail]] = []
            for module, trail in frontier:
                if trace is not None:
                    trace.queried.append(module)
                hit = self.sink_of(module)
                if hit is not None:
                    level_hits.append((hit, trail))
                    if not hit.call:
                        continue  # never descend into a sink package
                for edge in self.eager_edges(module):
                    target = edge.target
                    if target not in visited:
                        visited.add(target)
                        if loaded and self._loaded(target, loaded):
                            continue
                        if not any(target in free for free in known_free):
                            next_frontier.append((target, (edge, trail)))
                        elif trace is not None:
                            trace.skipped.add(target)
            level_hits.sort(key=lambda pair: (strength_rank(pair[0]), pair[0].module, _targets(pair[1])))
            if first_only and level_hits:
                hit, trail = level_hits[0]
                if best is None or strength_rank(hit) < strength_rank(best[0]):
                    best = (hit, trail)
                if strength_rank(hit) == 0:
                    break  # nothing deeper is stronger
            else:
                found.extend(Chain(_hops(trail), hit) for hit, trail in level_hits)
            frontier = next_frontier
        if best is not None:
            return [Chain(_hops(best[1]), best[0])]
        if not found and skip_free:
            self._sink_free.setdefault(importer, set()).update(visited - running)
        return found


_Trail = Optional[tuple[Edge, "_Trail"]]


def _targets(trail: _Trail) -> list[str]:
    targets = []
    while trail is not None:
        edge, trail = trail
        targets.append(edge.target)
    targets.reverse()
    return targets


def _hops(trail: _Trail) -> tuple[Hop, ...]:
    hops = []
    while trail is not None:
        edge, trail = trail
        hops.append(edge.hop())
    return tuple(reversed(hops))
