"""Root causes and the fix plan: the plan, applied to the files, leaves no finding;
computed on the whole eager graph, not only on the shortest chains shown."""

from __future__ import annotations

import itertools
import json
import random
import sys

import pytest

from importguard.plan.causes import root_causes
from importguard.plan.mincut import min_vertex_cut
from importguard.plan.network import plan_for_findings

from conftest import REPO, check_tree, write_tree

sys.path.insert(0, str(REPO / "bench"))
from apply_plan import wrap  # noqa: E402  (the same mechanical edit the real-tree script makes)

CODES = ("IG001", "IG002", "IG003")

# sglang's shape, small: many package `__init__` files re-export layers whose kernels
# import one utility module that calls torch.cuda.get_device_name() at import; a second
# sink (cutlass) reached by two paths, of which the reported chain shows one; a
# `cuda-free` entry point; a test module calling CUDA at import.
SHAPED = {
    "pyproject.toml": '[tool.importguard]\ncuda-free = ["app.entry"]\n',
    "app/__init__.py": "from app import layers\nfrom app.entry import main\n",
    "app/entry.py": "import os\nfrom app.layers import attention\n\ndef main():\n    pass\n",
    "app/layers/__init__.py": "from .attention import attend\nfrom .moe import route\nfrom .gemm import gemm\n",
    "app/layers/attention/__init__.py": "from .fla import chunk\nfrom .fla import delta\n\ndef attend():\n    pass\n",
    "app/layers/attention/fla/__init__.py": "from .chunk import run\nfrom .delta import run2\n",
    "app/layers/attention/fla/chunk.py": "from app.layers.attention.fla.utils import helper\n\ndef run():\n    pass\n",
    "app/layers/attention/fla/delta.py": "from app.layers.attention.fla import utils\n\ndef run2():\n    pass\n",
    "app/layers/attention/fla/utils.py": (
        "import torch\n\nDEVICE = torch.cuda.get_device_name()\n"
        "if torch.cuda.get_device_capability()[0] >= 9:\n    FAST = True\n\ndef helper():\n    pass\n"
    ),
    "app/layers/moe/__init__.py": "from .router import route\n",
    "app/layers/moe/router.py": "from app.layers.attention.fla.chunk import run\n\ndef route():\n    pass\n",
    "app/layers/gemm/__init__.py": "from .combo import gemm\n",
    "app/layers/gemm/combo.py": "from .short import gemm\nfrom .long import gemm_long\n",
    "app/layers/gemm/short.py": "import cutlass\n\ndef gemm():\n    pass\n",
    "app/layers/gemm/long.py": "from app.layers.gemm import helper_a\n\ndef gemm_long():\n    pass\n",
    "app/layers/gemm/helper_a.py": "from app.layers.gemm.helper_b import x\n",
    "app/layers/gemm/helper_b.py": "import cutlass.cute as cute\nx = 1\n",
    "app/tests/__init__.py": "",
    "app/tests/test_kernel.py": "import torch\n\nif not torch.cuda.is_available():\n    raise SystemExit\n",
}


def chain_findings(report):
    return [f for f in report.findings if f.code in CODES]


def apply(root, plan):
    by_file = {}
    for edit in plan.edits:
        by_file.setdefault(edit.path, []).append(edit.line)
    for path, lines in by_file.items():
        wrap(root / path, lines)


def test_the_plan_applied_to_the_files_leaves_no_finding(tmp_path):
    root = write_tree(tmp_path, SHAPED)
    before = check_tree(root)
    assert len(chain_findings(before)) >= 10
    plan = before.plan
    assert plan is not None and plan.exact
    assert plan.cleared == len(chain_findings(before))
    # Fewer edits than findings, and no more than root causes (chains end in their call
    # hops, so the utility's calls are root causes already): the utility's call, the
    # cutlass imports and the test module's call.
    assert len(plan.edits) <= len(root_causes(before.findings)) < len(chain_findings(before))
    apply(root, plan)
    after = check_tree(root)
    assert chain_findings(after) == [], [f.message for f in after.findings]


def test_clearing_needs_every_eager_path_not_only_the_shortest_chain(tmp_path):
    """app.layers.gemm.combo reaches cutlass through short.py (the chain shown) and
    through long -> helper_a -> helper_b: editing the root causes of the chains shown is not
    enough; the plan, cut on the graph, is."""
    root = write_tree(tmp_path, SHAPED)
    before = check_tree(root)
    causes = {(c.cause.path, c.cause.line) for c in root_causes(before.findings)}
    assert ("app/layers/gemm/helper_b.py", 1) not in causes
    naive = root / "naive"
    write_tree(naive, SHAPED)
    by_file = {}
    for path, line in causes:
        by_file.setdefault(path, []).append(line)
    for path, lines in by_file.items():
        wrap(naive / path, lines)
    left = chain_findings(check_tree(naive))
    assert left and all("cutlass" in f.message for f in left)
    planned = {(e.path, e.line) for e in before.plan.edits}
    assert ("app/layers/gemm/helper_b.py", 1) in planned or any(p.startswith("app/layers/gemm/__init__") for p, _ in planned)


def test_greedy_fallback_still_clears_and_says_so(tmp_path, monkeypatch):
    import importguard.plan.network as network

    monkeypatch.setattr(network, "EXACT_LIMIT", 0)
    root = write_tree(tmp_path, SHAPED)
    before = check_tree(root)
    assert before.plan is not None and not before.plan.exact
    assert before.plan.method.startswith("greedy: the eager graph")
    apply(root, before.plan)
    assert chain_findings(check_tree(root)) == []


def test_root_cause_of_a_chain_is_its_last_hop_and_of_a_call_the_call(tmp_path):
    root = write_tree(tmp_path, SHAPED)
    report = check_tree(root)
    top = root_causes(report.findings)[0]
    # The utility's first import-time call, where every chain through fla ends.
    assert (top.cause.path, top.cause.line) == ("app/layers/attention/fla/utils.py", 3)
    assert top.findings == sum(c.findings for c in root_causes(report.findings) if c.cause == top.cause)
    call = next(f for f in report.findings if f.code == "IG003" and f.path == "app/tests/test_kernel.py")
    (cause,) = [c for c in root_causes([call])]
    assert (cause.cause.path, cause.cause.line, cause.findings) == ("app/tests/test_kernel.py", 3, 1)
    assert "torch.cuda.is_available" in cause.cause.what


def brute_force(arcs, sources, sink, cuttable):
    nodes = sorted(cuttable)
    for size in range(len(nodes) + 1):
        for cut in itertools.combinations(nodes, size):
            blocked = set(cut)
            seen = set()
            stack = [s for s in sources if s not in blocked]
            while stack:
                node = stack.pop()
                if node in seen:
                    continue
                seen.add(node)
                stack += [h for h in arcs.get(node, ()) if h not in blocked]
            if sink not in seen:
                return size
    return None


@pytest.mark.parametrize("seed", range(40))
def test_min_vertex_cut_is_minimum_on_random_graphs(seed):
    rng = random.Random(seed)
    nodes = list(range(9))
    arcs = {n: rng.sample(nodes + ["T"], rng.randint(0, 3)) for n in nodes}
    arcs = {n: [h for h in hs if h != n] for n, hs in arcs.items()}
    cuttable = set(rng.sample(nodes, 6))
    sources = [n for n in rng.sample(nodes, 3) if n in cuttable] or [sorted(cuttable)[0]]
    expected = brute_force(arcs, sources, "T", cuttable)
    cut = min_vertex_cut(arcs, sources, "T", cuttable)
    assert len(cut) == expected
    assert brute_force({n: [h for h in hs if h not in cut] for n, hs in arcs.items() if n not in cut},
                       [s for s in sources if s not in cut], "T", cuttable - set(cut)) == 0


def test_no_plan_without_chain_or_call_findings(tmp_path):
    root = write_tree(tmp_path, {"pkg/__init__.py": "import os\n", "pkg/broken.py": "def f(:\n"})
    report = check_tree(root)
    assert [f.code for f in report.findings] == ["IG900"]
    assert report.plan is None
    assert plan_for_findings(None, [], {}) is None


def test_changed_only_drops_the_whole_project_plan(tmp_path, monkeypatch):
    from pathlib import Path

    from importguard.changed import only_touching
    from importguard.config import load_config

    root = write_tree(tmp_path, SHAPED)
    report = check_tree(root)
    assert report.plan is not None
    monkeypatch.chdir(root)
    kept = only_touching(report, [Path("app/tests/test_kernel.py")], load_config(None, root))
    assert [f.path for f in kept.findings] == ["app/tests/test_kernel.py"] and kept.plan is None


def test_greedy_cut_stops_when_nothing_left_can_be_cut():
    from importguard.plan.network import SINK, greedy_cut

    arcs = {"s": ["m"], "m": [SINK], "t": [SINK]}
    assert greedy_cut(arcs, ["s", "t"], {"s"}) == ["s"]


def _every_arc_then_pruned(builder_grown, sinks, start_ops):
    """The network as the plan grew it before it kept only what reaches SINK as it went:
    every arc added, in order, then those between nodes that reach SINK kept."""
    from collections import deque

    from importguard.plan.network import SINK

    arcs, sites = {}, {}

    def arc(tail, head):
        heads = arcs.setdefault(tail, [])
        if head not in heads:
            heads.append(head)

    done, queue = set(), deque()

    def enqueue(name):
        if name not in done:
            done.add(name)
            queue.append(name)

    for op in start_ops:
        if op[0] == "site":
            _, path, line, column, kind, what, targets = op
            node = ("site", path, line, column)
            sites.setdefault(node, (path, line, kind, what))
            for target in targets:
                arc(node, ("module", target))
                enqueue(target)
        elif op[0] == "call":
            _, path, line, column, what = op
            node = ("site", path, line, column)
            sites.setdefault(node, (path, line, "call", what))
            arc(node, SINK)
        else:
            enqueue(op[1])
    while queue:
        name = queue.popleft()
        node = ("module", name)
        if name in sinks:
            arc(node, SINK)
            continue
        grown = builder_grown.get(name)
        if grown is None:
            continue
        path, calls, edges, _ = grown
        for line, column, called in calls:
            call_node = ("site", path, line, column)
            sites.setdefault(call_node, (path, line, "call", f"`{name}` calls `{called}()` at import"))
            arc(call_node, SINK)
            arc(node, call_node)
        for line, column, kind, label, target in edges:
            site_node = ("site", path, line, column)
            what = f"`{name}` imports `{label}`" if kind == "import" else f"`{name}` calls `{label}()`"
            sites.setdefault(site_node, (path, line, kind, what))
            arc(node, site_node)
            target = label if target is None else target
            arc(site_node, ("module", target))
            enqueue(target)
    reverse = {}
    for tail, heads in arcs.items():
        for head in heads:
            reverse.setdefault(head, []).append(tail)
    alive, stack = {SINK}, [SINK]
    while stack:
        for tail in reverse.get(stack.pop(), ()):
            if tail not in alive:
                alive.add(tail)
                stack.append(tail)
    pruned = {tail: [h for h in heads if h in alive] for tail, heads in arcs.items() if tail in alive}
    return pruned, {node: sites[node] for node in pruned if node in sites}


@pytest.mark.parametrize("seed", range(300))
def test_the_network_keeps_what_reaches_a_sink_in_the_order_every_arc_was_added(seed):
    """Builder.grow makes only the nodes that reach SINK: the arcs, their order and each
    site's description must be those of adding every arc and then dropping the rest,
    whatever coincides (a start site that is also an edge site or a sink call, a site
    with several targets, modules without facts, sink modules)."""
    from importguard.plan.network import Builder

    rng = random.Random(seed)
    names = [f"m{i}" for i in range(rng.randint(1, 14))]
    sinks = {name for name in names if rng.random() < 0.15}
    grown = {}
    for name in names:
        if rng.random() < 0.1:
            continue  # no facts
        path = f"/{name}.py"
        positions = [(rng.randint(1, 4), rng.randint(0, 1)) for _ in range(rng.randint(0, 6))]
        edges = []
        for line, column in positions:
            target = rng.choice(names)
            kind = rng.choice(("import", "import", "call"))
            label, recorded_target = (target, None) if rng.random() < 0.6 else (f"{target}.x", target)
            edges.append([line, column, kind, label, recorded_target])
        calls = [[line, column, "torch.cuda.init"] for line, column in
                 rng.sample(positions + [(9, 0)], k=min(len(positions) + 1, rng.choice((0, 0, 0, 1))))]
        grown[name] = [path, calls, edges, []]
    start_ops = []
    for _ in range(rng.randint(1, 5)):
        name = rng.choice(names)
        line, column = rng.randint(1, 4), rng.randint(0, 1)
        roll = rng.random()
        if roll < 0.6:
            targets = rng.sample(names, k=rng.randint(0, min(3, len(names))))
            start_ops.append(("site", f"/{name}.py", line, column, "import", f"start {name}", targets))
        elif roll < 0.8:
            start_ops.append(("call", f"/{name}.py", line, column, f"call {name}"))
        else:
            start_ops.append(("module", name))

    class Graph:
        def module_sink(self, name):
            return "sink" if name in sinks else None

    builder = Builder(Graph(), recorded=grown)
    builder._grow_at = lambda name: None  # every module's is recorded (None: no facts)
    for op in start_ops:
        if op[0] == "site":
            _, path, line, column, kind, what, targets = op
            builder.site_node(path, [line, column, kind, what, targets])
        elif op[0] == "call":
            _, path, line, column, what = op
            builder.call_node(path, [line, column, what])
        else:
            builder.module_node(op[1])
    network = builder.grow()
    expected_arcs, expected_sites = _every_arc_then_pruned(grown, sinks, start_ops)
    assert list(network.arcs.items()) == list(expected_arcs.items())
    assert {node: network.sites[node] for node in network.arcs if node in network.sites} == expected_sites


# ----------------------------------------------------------------------------- unresolved calls

UNRESOLVED = {
    "pyproject.toml": '[tool.importguard]\ncuda-free = ["app.entry"]\n',
    "app/__init__.py": "",
    "app/entry.py": "import app.layer\n",
    "app/layer.py": (
        "import torch\nimport somelib\nfrom app.platform import current_platform, helper\n"
        "import app.kernel\n"
        "X = somelib.probe_gpu()\n"                       # a library without source: unresolved
        "Y = current_platform.is_arch_supported()\n"      # a method of a module-level object: unresolved
        "Z = helper()\n"                                  # a project function: resolved
        "torch.cuda.manual_seed(0)\n"                     # a measured summary row: resolved
        "torch.library.define(\"x\")\n"                    # no sink, no summary, no source: unresolved
    ),
    "app/platform.py": "class Platform:\n    pass\ncurrent_platform = Platform()\ndef helper():\n    return 1\n",
    "app/kernel.py": "import cutlass\nF = cutlass.Float32(1)\n",  # into a sink package: not counted
}


def test_the_plan_names_the_unresolved_calls_on_its_paths(tmp_path):
    root = write_tree(tmp_path, UNRESOLVED)
    report = check_tree(root)
    assert [f.code for f in report.findings] == ["IG002"]
    assert report.plan is not None and len(report.plan.edits) == 1
    assert [(e.path, e.line, e.what) for e in report.plan.unresolved] == [
        ("app/layer.py", 5, "somelib.probe_gpu()"),
        ("app/layer.py", 6, "app.platform.current_platform.is_arch_supported()"),
        ("app/layer.py", 9, "torch.library.define()"),
    ]
    from importguard.output.plan_text import plan_text
    text = plan_text(report)
    assert "3 unresolved calls at import remain on these paths (into app 1, somelib 1, torch 1)" in text
    assert "app/layer.py:5 somelib.probe_gpu()" in text
    from importguard.cache.codec import codec
    from importguard.model import Plan
    assert codec(Plan).decode(json.loads(json.dumps(codec(Plan).encode(report.plan)))) == report.plan


def test_a_plan_without_unresolved_calls_says_nothing_of_them(tmp_path):
    files = dict(UNRESOLVED)
    files["app/layer.py"] = "import app.kernel\nfrom app.platform import helper\nZ = helper()\n"
    report = check_tree(write_tree(tmp_path, files))
    assert report.plan is not None and report.plan.unresolved == ()
    from importguard.output.plan_text import plan_text
    assert "unresolved" not in plan_text(report)


def test_two_calls_of_one_function_on_one_line_are_one_edit(tmp_path):
    """sglang's fla/utils.py: `device = f() if f() != "hip" else "cuda"`, each call
    reaching the driver: one line to change, so one edit of the plan."""
    files = {
        "app/__init__.py": "from app import utils\n",
        "app/utils.py": ("import torch\n\ndef f():\n    return torch.cuda.get_device_name()\n\n"
                         'device = f() if f() != "hip" else "cuda"\n'),
        "app/layer.py": "from app.utils import device\n",
    }
    report = check_tree(write_tree(tmp_path, files))
    assert report.plan is not None and chain_findings(report)
    edits = [(e.path, e.line) for e in report.plan.edits]
    assert edits.count(("app/utils.py", 6)) == 1, report.plan.edits
    edit = next(e for e in report.plan.edits if e.line == 6)
    assert edit.findings == report.plan.cleared


def _edits_reached_by_search(arcs, starts, edit_of):
    """What each start reaches, by definition: a search back from each edit's cut nodes
    that passes no other edit's (how the plan counted them before)."""
    reverse = {}
    for tail, heads in arcs.items():
        for head in heads:
            reverse.setdefault(head, []).append(tail)
    found = {start: 0 for start in starts}
    for edit in set(edit_of.values()):
        blocked = {node for node, other in edit_of.items() if other != edit}
        seen = [node for node, other in edit_of.items() if other == edit]
        queue = list(seen)
        seen = set(seen)
        while queue:
            for tail in reverse.get(queue.pop(), ()):
                if tail not in seen and tail not in blocked:
                    seen.add(tail)
                    queue.append(tail)
        for start in starts:
            if start in seen:
                found[start] |= 1 << edit
    return found


@pytest.mark.parametrize("seed", range(40))
def test_the_findings_an_edit_clears_are_those_that_reach_it_before_any_other(seed):
    """The plan counts, for each edit, the findings that reach it without passing
    another edit; one pass over the network's components gives what a search per edit
    gives, cycles (packages importing each other) included."""
    from importguard.plan.network import _edits_reached

    rng = random.Random(seed)
    nodes = list(range(30))
    arcs = {node: sorted(rng.sample(nodes, rng.randint(0, 4))) for node in nodes}
    cut = rng.sample(nodes, rng.randint(1, 8))
    edit_of = {node: rng.randrange(len(cut)) for node in cut}  # some edits have two nodes
    starts = [node for node in rng.sample(nodes, 10) if node not in edit_of]
    found = _edits_reached(arcs, starts, edit_of)
    assert {start: found[start] for start in starts} == _edits_reached_by_search(arcs, starts, edit_of)


@pytest.mark.parametrize("seed", range(200))
def test_a_module_s_sink_is_the_first_naming_its_longest_matching_name(seed):
    """graph.module_sink looks the module and its parents up by name: the answer is the
    one the scan of every configured sink gave, the first of the most specific ones."""
    from importguard.graph.imports import ImportGraph
    from importguard.model import ModuleSink

    rng = random.Random(seed)
    parts = ["a", "b", "c", ""]
    names = {".".join(rng.choice(parts) for _ in range(rng.randint(1, 4))) for _ in range(30)}
    sinks = [ModuleSink(rng.choice(sorted(names)), f"reason {i}") for i in range(rng.randint(0, 8))]
    graph = ImportGraph(facts_for=lambda module: None, is_known_module=lambda module: False,
                        sink_modules=sinks, sink_calls=())
    for name in sorted(names):
        matches = [sink for sink in sinks if sink.matches(name)]
        expected = max(matches, key=lambda sink: len(sink.module)) if matches else None
        assert graph.module_sink(name) is expected
