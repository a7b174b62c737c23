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
from typing import Any, Container, Hashable, Iterable, Mapping, Optional, Sequence

from importguard.graph.imports import ImportGraph
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
    def __init__(self) -> None:
        self.arcs: dict[Node, list[Node]] = {}
        self.sites: dict[Node, tuple[str, int, str, str]] = {}  # site -> (path, line, kind, what)

    def arc(self, tail: Node, head: Node) -> None:
        targets = self.arcs.setdefault(tail, [])
        if head not in targets:
            targets.append(head)

    def site(self, path: str, line: int, column: int, kind: str, what: str) -> Node:
        node = ("site", path, line, column)
        self.sites.setdefault(node, (path, line, kind, what))
        return node

    def pruned(self) -> dict[Node, list[Node]]:
        """Only the arcs between nodes that can reach SINK."""
        reverse: dict[Node, list[Node]] = {}
        for tail, heads in self.arcs.items():
            for head in heads:
                reverse.setdefault(head, []).append(tail)
        alive = _reach(SINK, reverse)
        return {tail: [h for h in heads if h in alive] for tail, heads in self.arcs.items() if tail in alive}


def _module(name: str) -> Node:
    return ("module", name)


def _reach(start: Node, arcs: dict[Node, list[Node]], blocked: frozenset = frozenset()) -> set:
    seen = {start}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for head in arcs.get(node, ()):
            if head not in seen and head not in blocked:
                seen.add(head)
                queue.append(head)
    return seen


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
        node = self.network.site(path, line, column, kind, what)
        for target in targets:
            self.network.arc(node, _module(target))
            self._enqueue(target)
        return node

    def call_node(self, path: str, start: list[Any]) -> Node:
        line, column, what = start
        node = self.network.site(path, line, column, "call", what)
        self.network.arc(node, SINK)
        return node

    def module_node(self, name: str) -> Node:
        self._enqueue(name)
        return _module(name)

    def _enqueue(self, name: str) -> None:
        if name not in self._done:
            self._done.add(name)
            self._queue.append(name)

    def grow(self) -> Network:
        graph = self.graph
        network = self.network
        while self._queue:
            name = self._queue.popleft()
            node = _module(name)
            if graph.module_sink(name) is not None:
                network.arc(node, SINK)
                continue  # never descend into a sink package, as the chain search
            if name in self._recorded and name not in self._fresh:
                grown = self._recorded[name]
            else:
                grown = self._grow_at(name)
            self.grown[name] = grown
            if grown is None:
                continue
            path, calls, edges, *rest = grown
            # A record written before the other calls were kept has none: the count is low.
            self._other_calls.extend((path, line, called) for line, called in (rest[0] if rest else ()))
            for line, column, called in calls:
                call_node = network.site(path, line, column, "call", _call_what(name, called))
                network.arc(call_node, SINK)
                network.arc(node, call_node)
            for line, column, kind, label, target in edges:
                site_node = network.site(path, line, column, kind, _site_what(name, kind, label))
                network.arc(node, site_node)
                target = label if target is None else target
                network.arc(site_node, _module(target))
                self._enqueue(target)
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
        summarised = {row.name for row in shipped_rows() if row.kind == "call"}
        found = set()
        for path, line, name in self._other_calls:
            # A call into a sink package: that import is the finding already.
            if name in summarised or self.graph.module_sink(name) is not None or reach.known_sink_name(name) \
                    or self._defines(name):
                continue
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
    arcs = network.pruned()
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
