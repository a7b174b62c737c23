"""Is any edit of the fix plan redundant once each finding's own running modules are
taken into account? The plan is a cut of the union network (plan/network.py), where a
path may run back through a finding's importer or its parent packages, which Python
would not execute again. This drops, one at a time, every edit that no finding needs
under its own semantics, and prints how many could go.

    cd TREE && python bench/plan_redundancy.py PACKAGE      # reads only
"""

from __future__ import annotations

import sys
import time
from collections import deque
from pathlib import Path

import importguard.engine as engine
import importguard.plan.network as network
from importguard.cache.loader import open_loader
from importguard.config import load_config
from importguard.graph.imports import ancestors


def main(package: str) -> None:
    captured = {}
    real = network._plan

    def grab(net, sources, limit):
        captured.update(net=net, sources=sources)
        captured["plan"] = real(net, sources, limit)
        return captured["plan"]

    network._plan = grab
    config = load_config(None, Path("."))
    with open_loader(config, cache_dir=None, use_cache=True, jobs=None) as collector:
        engine.run_check([Path(package)], config, collector=collector)
    net, sources, plan = captured["net"], captured["sources"], captured["plan"]
    arcs = net.pruned()
    planned = {(e.path, e.line) for e in plan.edits}
    cut = {n for n, (path, line, _, _) in net.sites.items() if (path, line) in planned}

    def still_reaches(source, blocked) -> bool:
        chain = sources[source][0].chain
        importer = chain[0].importer if chain else None
        running = {("module", m) for m in ((importer, *ancestors(importer)) if importer else ())}
        seen, queue = {source}, deque([source])
        while queue:
            node = queue.popleft()
            if node == network.SINK:
                return True
            for head in arcs.get(node, ()):
                if head not in seen and head not in blocked and head not in running:
                    seen.add(head)
                    queue.append(head)
        return False

    started = time.time()
    dropped = 0
    for edit in sorted(cut, key=repr):
        trial = cut - {edit}
        if not any(s not in trial and still_reaches(s, trial) for s in sources if s in arcs):
            cut, dropped = trial, dropped + 1
    print(f"{package}: {len(plan.edits)} edits, {dropped} redundant under each finding's own semantics "
          f"({time.time() - started:.0f} s)")


if __name__ == "__main__":
    main(sys.argv[1])
