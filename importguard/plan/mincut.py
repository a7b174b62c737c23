"""Minimum vertex cut with unit capacities on the cuttable nodes (max-flow, Dinic).

Plain data in, plain data out: nodes are hashable keys, `arcs` maps a node to the
nodes it leads to. Each cuttable node is split into in -> out with capacity 1; every
other arc and node has unbounded capacity, so the cut consists of cuttable nodes only.
Among the minimum cuts, the one nearest the sink is returned (the edit closest to the
root cause, not the 164 importers above it).
"""

from __future__ import annotations

from collections import deque
from typing import Hashable, Iterable, Mapping, Sequence

_INF = 1 << 60


class Uncuttable(Exception):
    """A source reaches the sink through no cuttable node."""


def min_vertex_cut(
    arcs: Mapping[Hashable, Iterable[Hashable]],
    sources: Sequence[Hashable],
    sink: Hashable,
    cuttable: set,
) -> list:
    """The smallest set of cuttable nodes that meets every path from a source to `sink`."""
    index: dict[Hashable, int] = {}

    def node_id(node: Hashable) -> int:
        if node not in index:
            index[node] = len(index)
        return index[node]

    for node in sources:
        node_id(node)
    for node, targets in arcs.items():
        node_id(node)
        for target in targets:
            node_id(target)
    node_id(sink)
    nodes = list(index)
    count = len(nodes)
    # in-half of node n is 2n, out-half 2n+1; 2*count is the super source.
    graph = _Network(2 * count + 1)
    for node, n in index.items():
        graph.add(2 * n, 2 * n + 1, 1 if node in cuttable else _INF)
    for node, targets in arcs.items():
        for target in targets:
            graph.add(2 * index[node] + 1, 2 * index[target], _INF)
    source = 2 * count
    for node in dict.fromkeys(sources):
        graph.add(source, 2 * index[node], _INF)
    target = 2 * index[sink]
    flow = graph.max_flow(source, target)
    if flow >= _INF:
        raise Uncuttable()
    near_sink = graph.reaching(target)
    cut = [nodes[n] for n in range(count)
           if nodes[n] in cuttable and 2 * n + 1 in near_sink and 2 * n not in near_sink]
    return cut


class _Network:
    def __init__(self, size: int) -> None:
        self.heads: list[list[int]] = [[] for _ in range(size)]  # arc indices leaving a node
        self.to: list[int] = []
        self.capacity: list[int] = []

    def add(self, tail: int, head: int, capacity: int) -> None:
        self.heads[tail].append(len(self.to))
        self.to.append(head)
        self.capacity.append(capacity)
        self.heads[head].append(len(self.to))  # the reverse arc is index ^ 1
        self.to.append(tail)
        self.capacity.append(0)

    def max_flow(self, source: int, sink: int) -> int:
        total = 0
        while True:
            level = self._levels(source, sink)
            if level[sink] < 0:
                return total
            pointer = [0] * len(self.heads)
            while True:
                pushed = self._augment(source, sink, level, pointer)
                if not pushed:
                    break
                total += pushed
                if total >= _INF:
                    return total

    # Locals, not attributes, in the loops below: they run over every arc of the
    # network in each phase, most of a fix plan's time on a big tree.
    def _levels(self, source: int, sink: int) -> list[int]:
        heads, to, capacity = self.heads, self.to, self.capacity
        level = [-1] * len(heads)
        level[source] = 0
        queue = deque([source])
        while queue:
            node = queue.popleft()
            next_level = level[node] + 1
            for arc in heads[node]:
                head = to[arc]
                if capacity[arc] > 0 and level[head] < 0:
                    level[head] = next_level
                    queue.append(head)
        return level

    def _augment(self, source: int, sink: int, level: list[int], pointer: list[int]) -> int:
        """One blocking-flow path, found by an iterative depth-first search."""
        heads, to, capacity = self.heads, self.to, self.capacity
        path: list[int] = []  # arcs from the source
        node = source
        while True:
            if node == sink:
                pushed = min(capacity[arc] for arc in path)
                for arc in path:
                    capacity[arc] -= pushed
                    capacity[arc ^ 1] += pushed
                return pushed
            leaving = heads[node]
            wanted = level[node] + 1
            advanced = False
            while pointer[node] < len(leaving):
                arc = leaving[pointer[node]]
                head = to[arc]
                if capacity[arc] > 0 and level[head] == wanted:
                    path.append(arc)
                    node = head
                    advanced = True
                    break
                pointer[node] += 1
            if advanced:
                continue
            if not path:
                return 0
            level[node] = -1  # dead end for this phase
            arc = path.pop()
            node = to[arc ^ 1]
            pointer[node] += 1

    def reaching(self, sink: int) -> set[int]:
        """Nodes that can still reach `sink` in the residual network."""
        seen = {sink}
        queue = deque([sink])
        while queue:
            node = queue.popleft()
            for arc in self.heads[node]:
                # arc leaves `node`; its reverse (arc ^ 1) enters `node` from self.to[arc].
                tail = self.to[arc]
                if self.capacity[arc ^ 1] > 0 and tail not in seen:
                    seen.add(tail)
                    queue.append(tail)
        return seen
