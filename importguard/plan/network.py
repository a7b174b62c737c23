"""The eager graph between reported sites and the sinks, as a network of sites, and
the fix plan computed on it.

Nodes are modules (never cut: an edit happens at a site) and sites (cut: the import
moved into a function, or the call deferred). A module has an arc to each of its eager
sites and each sink call it makes; a site has an arc to every module executing it may
execute (graph.site_edges: the target and the parent packages that run first); a sink
module and a sink call lead to SINK. Every eager path counts, not only the shortest
chain a finding shows: a site is cleared only when nothing it reaches reaches a sink.

The network is the union over all findings, so a path that runs back through a
finding's own (already running) importer counts here though Python would not take it:
the cut may then be larger than needed, never too small.
"""

from __future__ import annotations

import sys
from collections import deque
from dataclasses import replace
from functools import lru_cache
from typing import Any, Container, Hashable, Iterable, Mapping, Optional, Sequence

from importguard.graph.imports import ImportGraph, importers_reaching
from importguard.model import Finding, ModuleFacts, Plan, PlanEdit
from importguard.plan.mincut import Uncuttable, min_vertex_cut
from importguard.summaries.rows import shipped_rows

SINK = ("sink",)
# An exact cut up to this many arcs (about a second of max-flow here); beyond it, greedy.
EXACT_LIMIT = 400_000
CHAIN_CODES = ("IG001", "IG002")
CALL_CODES = ("IG003",)

Node = Hashable


class Network:
    """The arcs between the nodes that reach SINK, each tail in the order its first arc
    was added and each tail's heads in the order they were (Builder.grow), and what
    each site node is."""

    def __init__(self) -> None:
        self.arcs: dict[Node, list[Node]] = {}
        self.sites: dict[Node, tuple[str, int, str, str]] = {}  # site -> (path, line, kind, what)


def _module(name: str) -> Node:
    return ("module", name)


def _arc(arcs: dict[Node, list[Node]], tail: Node, head: Node) -> None:
    heads = arcs.setdefault(tail, [])
    if head not in heads:
        heads.append(head)


def _reaching_sink(visited: list[tuple[str, Any]], started: dict[str, dict[tuple[int, int], list[Node]]]) -> set[str]:
    """The modules of `visited` (Builder.grow) that reach SINK: the sinks, those that
    make a sink call, and those with a site leading to one that does (an edge's target,
    or a head the site was given as a start node)."""
    alive: set[str] = set()
    importers: dict[str, list[str]] = {}
    for name, grown in visited:
        if grown is SINK:
            alive.add(name)
            continue
        path, calls, edges = grown[0], grown[1], grown[2]
        if calls:
            alive.add(name)
        here = started.get(path)
        for line, column, _, label, target in edges:
            importers.setdefault(label if target is None else target, []).append(name)
            for head in here.get((line, column), ()) if here else ():  # the site was a start node too
                if head is SINK:
                    alive.add(name)
                else:
                    importers.setdefault(head[1], []).append(name)
    return alive | importers_reaching(importers, alive)


# What growing the network found at one module, in the order it adds arcs: [its path,
# the sink calls it makes at import [line, column, name], its eager edges [line,
# column, kind, what the site imports or calls, target (None: that same module)], its
# other unguarded calls at import [line, name] (whether the model resolves them is
# decided when the plan is made: it depends on other modules' facts)];
# None for a module without facts. Compact: cache/results.py stores one per module.
Grown = Optional[list[Any]]
# What the findings of one file start from: [its reported import sites, in the order of
# its imports: [line, column, kind, what, the modules executing it executes]; its
# reported calls: [line, column, what]; the other modules whose facts decided them].
# Compact: cache/results.py stores one per file with findings.
Starts = list[Any]
_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ())) - {"builtins"}


class Builder:
    """Grows the network from start nodes along the graph's eager edges.

    `recorded`: what an earlier check grew at each module (`grown`, kept by
    cache/results.py); it is used for every module outside `fresh` instead of the facts,
    so a check after an edit decodes only the modules whose arcs may have changed. The
    arcs are added in the same order either way, so the network and the plan are the
    same. `defined`: whether the model knows a called name (`reach.defines`), from an
    earlier check where what that read did not change; `self.defined` is this one's,
    with the modules each answer read. `starts`: the Starts of the files whose findings
    an earlier check started from, where nothing they read changed (those files' facts
    are then not decoded); `self.starts` is this one's."""

    def __init__(self, graph: ImportGraph, recorded: Optional[dict[str, Grown]] = None,
                 fresh: Container[str] = frozenset(),
                 defined: Optional[dict[str, tuple[bool, frozenset[str]]]] = None,
                 starts: Optional[dict[str, Starts]] = None) -> None:
        self.graph = graph
        self.network = Network()
        self._done: set[str] = set()
        self._queue: deque[str] = deque()
        self._recorded = recorded or {}
        self._fresh = fresh
        self.grown: dict[str, Grown] = {}
        self._other_calls: list[tuple[str, int, str]] = []  # (path, line, name) of every grown module
        # The start nodes as they were made (site_node, call_node): node, what it is, heads.
        self._start_arcs: list[tuple[Node, tuple[str, int, str, str], list[Node]]] = []
        self._defined_before = defined or {}
        self.defined: dict[str, tuple[bool, frozenset[str]]] = {}
        self._starts_before = starts or {}
        self.starts: dict[str, Starts] = {}

    def starts_of(self, path: str, findings: Sequence[Finding],
                  facts_by_path: Mapping[str, ModuleFacts]) -> Optional[Starts]:
        """What `findings` (all of one file's) start from: recorded, or worked out from
        the file's facts (None without them)."""
        starts = self._starts_before.get(path)
        if starts is None:
            facts = facts_by_path.get(path)
            if facts is None:
                return None
            starts = _starts(self.graph, facts, findings)
        self.starts[path] = starts
        return starts

    def site_node(self, path: str, start: list[Any]) -> Node:
        """A reported import site (an entry of Starts): its node, with arcs to what
        executing it executes."""
        line, column, kind, what, targets = start
        node = ("site", path, line, column)
        self._start_arcs.append((node, (path, line, kind, what), [_module(target) for target in targets]))
        for target in targets:
            self._enqueue(target)
        return node

    def call_node(self, path: str, start: list[Any]) -> Node:
        line, column, what = start
        node = ("site", path, line, column)
        self._start_arcs.append((node, (path, line, "call", what), [SINK]))
        return node

    def module_node(self, name: str) -> Node:
        self._enqueue(name)
        return _module(name)

    def _enqueue(self, name: str) -> None:
        if name not in self._done:
            self._done.add(name)
            self._queue.append(name)

    def grow(self) -> Network:
        """The network from the start nodes along the eager edges, keeping only the
        nodes that reach SINK: what adding every arc and then dropping the others would
        leave, in the same order, without making the site nodes that reach none (four
        fifths of them on vLLM). A module reaches SINK when it is a sink, makes a sink
        call, or has a site that does; a site when one of its heads does."""
        graph = self.graph
        # The modules in the order of the search, each with what was grown there
        # (SINK: a sink module, never descended into, as the chain search does).
        visited: list[tuple[str, Any]] = []
        while self._queue:
            name = self._queue.popleft()
            if graph.module_sink(name) is not None:
                visited.append((name, SINK))
                continue
            if name in self._recorded and name not in self._fresh:
                grown = self._recorded[name]
            else:
                grown = self._grow_at(name)
            self.grown[name] = grown
            if grown is None:
                continue
            visited.append((name, grown))
            path, calls, edges, *rest = grown
            # A record written before the other calls were kept has none: the count is low.
            self._other_calls.extend((path, line, called) for line, called in (rest[0] if rest else ()))
            for edge in edges:
                self._enqueue(edge[3] if edge[4] is None else edge[4])
        # The heads each start node was given, by file and position.
        started: dict[str, dict[tuple[int, int], list[Node]]] = {}
        for node, _, heads in self._start_arcs:
            started.setdefault(node[1], {}).setdefault((node[2], node[3]), []).extend(heads)
        alive = _reaching_sink(visited, started)

        def reaches(heads: Iterable[Node]) -> bool:
            return any(head is SINK or head[1] in alive for head in heads)

        # The site nodes that reach SINK: a start node one of whose heads does, a module's
        # sink calls, and its sites one of whose heads (an edge's target, or what the site
        # was given as a start) does.
        alive_sites: set[Node] = {node for node, _, heads in self._start_arcs if reaches(heads)}
        for name, grown in visited:
            if grown is SINK or name not in alive:
                continue
            path, calls, edges = grown[0], grown[1], grown[2]
            here = started.get(path, {})
            alive_sites.update(("site", path, line, column) for line, column, _ in calls)
            alive_sites.update(("site", path, line, column) for line, column, _, label, target in edges
                               if (label if target is None else target) in alive
                               or (here and reaches(here.get((line, column), ()))))
        # The arcs in the order they were added, those between nodes that reach SINK only.
        network = self.network
        arcs, sites = network.arcs, network.sites
        for node, described, heads in self._start_arcs:
            if node in alive_sites:
                sites.setdefault(node, described)
            if heads and node in alive_sites:
                kept = arcs.setdefault(node, [])
                for head in heads:
                    if (head is SINK or head[1] in alive) and head not in kept:
                        kept.append(head)
        for name, grown in visited:
            node = _module(name)
            if grown is SINK:
                arcs[node] = [SINK]
                continue
            if name not in alive:
                continue
            path, calls, edges = grown[0], grown[1], grown[2]
            for line, column, called in calls:
                call_node = ("site", path, line, column)
                sites.setdefault(call_node, (path, line, "call", _call_what(name, called)))
                _arc(arcs, call_node, SINK)
                _arc(arcs, node, call_node)
            for line, column, kind, label, target in edges:
                site_node = ("site", path, line, column)
                module_heads = arcs.setdefault(node, [])
                if site_node not in alive_sites:
                    continue
                sites.setdefault(site_node, (path, line, kind, _site_what(name, kind, label)))
                if site_node not in module_heads:
                    module_heads.append(site_node)
                site_heads = arcs.setdefault(site_node, [])
                head = _module(label if target is None else target)
                if head[1] in alive and head not in site_heads:
                    site_heads.append(head)
        return network

    def _grow_at(self, name: str) -> Grown:
        graph = self.graph
        facts = graph.facts(name)
        if facts is None:
            return None
        # A call that reaches a sink through the functions it runs (and their imports) too.
        calls = [[call.line, call.column, call.name] for call in facts.calls if graph.call_reach(facts, call) is not None]
        others = [[call.line, call.name] for call in facts.calls
                  if not call.guarded and graph.call_sink(call.name) is None
                  and call.name.partition(".")[0] not in _STDLIB and "." in call.name]
        edges = []
        for edge in graph.eager_edges(name):
            site = edge.site
            imported = getattr(site, "module", None)
            kind = "import" if imported is not None else "call"
            label = imported if imported is not None else getattr(site, "name", edge.target)
            edges.append([site.line, site.column, kind, label, None if edge.target == label else edge.target])
        return [facts.path, calls, edges, others]

    def unresolved(self) -> tuple[PlanEdit, ...]:
        """The calls at import of the grown modules that the model cannot follow: no
        function or class of that name in a module it has facts of, no sink (under any
        condition), no summary row, not into a sink package."""
        reach = self.graph.reach
        summarised = summarised_calls()
        found = set()
        resolved: dict[str, bool] = {}  # by name: a tree calls the same names in many places
        for path, line, name in self._other_calls:
            known = resolved.get(name)
            if known is None:
                # A call into a sink package: that import is the finding already.
                known = resolved[name] = name in summarised or self.graph.module_sink(name) is not None \
                    or reach.known_sink_name(name) or self._defines(name)
            if not known:
                found.add((path, line, name))
        return tuple(PlanEdit(path, line, "unresolved", f"{name}()") for path, line, name in sorted(found))

    def _defines(self, name: str) -> bool:
        known = self.defined.get(name) or self._defined_before.get(name)
        if known is None:
            reach = self.graph.reach
            read = reach.begin()
            try:
                known = (reach.defines(name), frozenset(read))
            finally:
                reach.end()
        self.defined[name] = known
        return known[0]


@lru_cache(maxsize=None)
def summarised_calls() -> frozenset[str]:
    """The calls the shipped summaries have a row for, read once per process (they ship
    with importguard)."""
    return frozenset(row.name for row in shipped_rows() if row.kind == "call")


def _starts(graph: ImportGraph, facts: ModuleFacts, findings: Sequence[Finding]) -> Starts:
    """The Starts of one file's findings, from its facts."""
    wanted = {tuple(site) for f in findings if f.code in CHAIN_CODES for site in f.sites}
    sites = []
    read = set()
    deps = graph.reach.begin()  # what decides the edges besides this file's facts (the NVML check)
    try:
        for site in facts.imports:
            if (site.line, site.column) not in wanted:
                continue
            target = getattr(site, "module", None)
            kind = "import" if target is not None else "call"
            what = _site_what(facts.module, kind, target if target is not None else site.name)
            targets = [edge.target for edge in graph.site_edges(facts, site)]
            if "*" in getattr(site, "names", ()):
                read.add(site.module)  # its `__all__` decides what `*` imports
            sites.append([site.line, site.column, kind, what, targets])
    finally:
        graph.reach.end()
    read.update(deps)
    calls = []
    for finding in findings:
        if finding.code in CALL_CODES:
            call = next((c for c in facts.calls if (c.line, c.column) == (finding.line, finding.column)), None)
            if call is not None:
                calls.append([call.line, call.column, _call_what(facts.module, call.name)])
    read.discard(facts.module)
    return [sites, calls, sorted(read)]


def _call_what(module: str, called: str) -> str:
    return f"`{module}` calls `{called}()` at import"


def _site_what(module: str, kind: str, label: str) -> str:
    return f"`{module}` imports `{label}`" if kind == "import" else f"`{module}` calls `{label}()`"


def plan_for_findings(graph: ImportGraph, findings: Sequence[Finding], facts_by_path: Mapping[str, ModuleFacts],
                      exact_limit: Optional[int] = None, builder: Optional[Builder] = None) -> Optional[Plan]:
    """The plan that clears every IG001/IG002/IG003 finding; None when there is none.
    `builder`: one made with what an earlier check grew (its `grown` is then this one's)."""
    builder = Builder(graph) if builder is None else builder
    by_path: dict[str, list[Finding]] = {}
    for finding in findings:
        if finding.code in CHAIN_CODES or finding.code in CALL_CODES:
            by_path.setdefault(finding.path, []).append(finding)
    starts = {path: builder.starts_of(path, found, facts_by_path) for path, found in by_path.items()}
    sources: dict[Node, list[Finding]] = {}
    for finding in findings:
        start = starts.get(finding.path)
        if start is None:
            continue
        sites, calls, _ = start
        if finding.code in CHAIN_CODES:  # every site of the finding must be cut, its repeats too
            wanted = set(finding.sites)
            nodes = [builder.site_node(finding.path, s) for s in sites if (s[0], s[1]) in wanted]
        elif finding.code in CALL_CODES:
            call = next((c for c in calls if (c[0], c[1]) == (finding.line, finding.column)), None)
            nodes = [builder.call_node(finding.path, call)] if call is not None else []
        else:
            nodes = []
        for node in nodes:
            sources.setdefault(node, []).append(finding)
    if not sources:
        return None
    plan = _plan(builder.grow(), sources, exact_limit)
    return None if plan is None else replace(plan, unresolved=builder.unresolved())


def plan_for_module(graph: ImportGraph, module: str, exact_limit: Optional[int] = None) -> Optional[Plan]:
    """The plan that makes importing `module` (its parents first) reach no sink; None
    when it reaches none, or when a module on the way is a sink itself (no site to cut)."""
    from importguard.graph.imports import ancestors

    roots = [*ancestors(module), module]
    if any(graph.module_sink(root) is not None for root in roots):
        return None
    builder = Builder(graph)
    sources = {builder.module_node(root): [] for root in roots}
    plan = _plan(builder.grow(), sources, exact_limit)
    return None if plan is None else replace(plan, unresolved=builder.unresolved())


def _plan(network: Network, sources: dict[Node, list], exact_limit: Optional[int]) -> Optional[Plan]:
    exact_limit = EXACT_LIMIT if exact_limit is None else exact_limit
    arcs = network.arcs
    live = [s for s in sources if s in arcs]
    if not live:
        return None
    size = sum(len(heads) for heads in arcs.values())
    cuttable = set(network.sites)
    exact = size <= exact_limit
    method = "exact: a minimum vertex cut of the eager graph (max-flow, unit capacity per site)"
    cut: list = []
    if exact:
        try:
            cut = min_vertex_cut(arcs, live, SINK, cuttable)
        except Uncuttable:
            exact = False
            method = "greedy: some source reaches a sink through no site that can be edited"
    else:
        method = (f"greedy: the eager graph between the findings and the sinks has {size} arcs, "
                  f"over the {exact_limit} an exact cut is computed for; the plan may not be the smallest")
    if not exact:
        cut = greedy_cut(arcs, live, cuttable)
    # Sites that read the same on the same line (`f() if f() else g`) are one edit.
    same: dict[tuple, list[Node]] = {}
    for node in cut:
        same.setdefault(network.sites[node], []).append(node)
    group = {node: index for index, nodes in enumerate(same.values()) for node in nodes}
    # The findings that reach each edit without passing another planned edit.
    reaching: list[list[Node]] = [[] for _ in same]
    edits_reached = _edits_reached(arcs, [s for s in live if s not in group], group)
    for source in live:
        found = 1 << group[source] if source in group else edits_reached[source]
        index = 0
        while found:
            if found & 1:
                reaching[index].append(source)
            found >>= 1
            index += 1
    edits = [PlanEdit(path, line, kind, what, _count(sources, reaching[index]))
             for index, (path, line, kind, what) in enumerate(same)]
    edits.sort(key=lambda e: (-e.findings, e.path, e.line, e.what))
    cleared = len({id(f) for s in live for f in sources[s]})
    return Plan(tuple(edits), cleared, exact, method)


def _edits_reached(arcs: dict[Node, list[Node]], starts: Iterable[Node], edit_of: dict[Node, int]) -> dict[Node, int]:
    """For each node of `starts` and every node they reach without passing a cut node
    (`edit_of`: each cut node's edit): the edits (a bit each) whose cut nodes it reaches
    before any other cut node. Tarjan's strongly connected components, iteratively: the
    nodes of one component reach the same edits."""
    index: dict[Node, int] = {}
    low: dict[Node, int] = {}
    own: dict[Node, int] = {}  # the edits a node reaches through one arc or a finished component
    found: dict[Node, int] = {}  # a finished component's nodes: the edits they reach
    stack: list[Node] = []
    on_stack: set[Node] = set()
    for root in starts:
        if root in index:
            continue
        index[root] = low[root] = len(index)
        own[root] = 0
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(arcs.get(root, ())))]
        while work:
            node, heads = work[-1]
            for head in heads:
                if head in edit_of:
                    own[node] |= 1 << edit_of[head]
                elif head not in index:
                    index[head] = low[head] = len(index)
                    own[head] = 0
                    stack.append(head)
                    on_stack.add(head)
                    work.append((head, iter(arcs.get(head, ()))))
                    break
                elif head in on_stack:
                    low[node] = min(low[node], index[head])
                else:
                    own[node] |= found[head]
            else:
                work.pop()
                if low[node] == index[node]:  # the root of a component: it is finished
                    members = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        members.append(member)
                        if member == node:
                            break
                    reached = 0
                    for member in members:
                        reached |= own[member]
                    for member in members:
                        found[member] = reached
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                    if node in found:
                        own[parent] |= found[node]
    return found


def _count(sources: dict[Node, list], nodes: Iterable[Node]) -> int:
    """The findings at `nodes`, each once (one with repeats has a node per site), and
    one for each node without findings (a module the plan is for)."""
    nodes = list(nodes)
    return len({id(f) for s in nodes for f in sources[s]}) + sum(1 for s in nodes if not sources[s])


def greedy_cut(arcs: dict[Node, list[Node]], sources: Iterable[Node], cuttable: set) -> list:
    """Cut, one at a time, the site that lies on the most remaining shortest chains
    (nearest the sink on a tie), until no source reaches SINK."""
    reverse: dict[Node, list[Node]] = {}
    for tail, heads in arcs.items():
        for head in heads:
            reverse.setdefault(head, []).append(tail)
    cut: list = []
    blocked: set = set()
    remaining = list(dict.fromkeys(sources))
    while True:
        distance = _distances(reverse, frozenset(blocked))
        remaining = [s for s in remaining if s in distance]
        if not remaining:
            return cut
        counts: dict[Node, int] = {}
        for source in remaining:
            node = source
            while node != SINK:
                if node in cuttable:
                    counts[node] = counts.get(node, 0) + 1
                step = distance[node] - 1
                node = min((h for h in arcs.get(node, ()) if distance.get(h) == step and h not in blocked), key=repr)
        if not counts:
            return cut  # what is left reaches a sink through no site that can be edited
        best = min(counts, key=lambda n: (-counts[n], distance[n], repr(n)))
        cut.append(best)
        blocked.add(best)


def _distances(reverse: dict[Node, list[Node]], blocked: frozenset) -> dict[Node, int]:
    distance = {SINK: 0}
    queue = deque([SINK])
    while queue:
        node = queue.popleft()
        for tail in reverse.get(node, ()):
            if tail not in distance and tail not in blocked:
                distance[tail] = distance[node] + 1
                queue.append(tail)
    return distance
