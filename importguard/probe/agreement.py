"""The agreement report: for each module, the static verdict beside the runtime one.

Static verdict (from the eager import graph, `check`'s analysis): the module reaches a
sink that initializes the driver (`initializes`: a call sink, or a module sink such as
`cutlass`), only the driver API (`driver-api`: `cuda.bindings.driver`, whose import
alone initializes nothing), or no sink (`nothing`).
Runtime verdict (from the probe): `initialized`, `not-initialized` (a driver was
present and left uninitialized), or `unknown` (no driver here, the import failed,
timed out or crashed).

A disagreement is explained from what both sides recorded, and only as far as they
tell: for a static chain that did not initialize, the first hop whose module the
import never loaded (an import that raised ModuleNotFoundError: an optional
dependency missing; a conditional site: a branch not taken), or the sink that was
imported without initializing (the installed version does not); for a runtime
initialization without a static chain, the culprit and the nearest static facts (the
hop of the culprit's chain the graph has no eager edge for, the culprit's own calls at
import, or that it has no Python source to read).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

from importguard.graph.imports import Chain, ImportGraph
from importguard.probe.runner import (
    CLEAN,
    DRIVER_INITIALIZED,
    SINK_IMPORTED,
    ProbeResult,
)
from importguard.sinks import DRIVER_API_SINK_MODULES
from importguard.model import Hop, ModuleFacts

STATIC_INITIALIZES = "initializes"
STATIC_DRIVER_API = "driver-api"
STATIC_NOTHING = "nothing"

RUNTIME_INITIALIZED = "initialized"
RUNTIME_NOT_INITIALIZED = "not-initialized"
RUNTIME_UNKNOWN = "unknown"

AGREE = "agree"
RUNTIME_ONLY = "runtime-only"  # initialized at run time, no static chain to an initializing sink
STATIC_ONLY = "static-only"  # a static chain, but the driver stayed uninitialized
UNKNOWN = "unknown"
KINDS = (RUNTIME_ONLY, STATIC_ONLY, UNKNOWN, AGREE)  # the report's order


@dataclass(frozen=True)
class StaticVerdict:
    verdict: str
    chain: Optional[Chain] = None  # the shortest chain behind the verdict


@dataclass(frozen=True)
class Agreement:
    module: str
    static: StaticVerdict
    runtime: str
    result: ProbeResult
    kind: str
    reasons: tuple[str, ...] = field(default=())


def is_driver_api(sink_module: str) -> bool:
    return any(sink_module == m or sink_module.startswith(m + ".") for m in DRIVER_API_SINK_MODULES)


def static_verdict(graph: ImportGraph, module: str) -> StaticVerdict:
    chains = graph.chains_from_module(module)
    initializing = [c for c in chains if c.sink.call or not is_driver_api(_sink_name(graph, c))]
    if initializing:
        return StaticVerdict(STATIC_INITIALIZES, min(initializing, key=_chain_key))
    if chains:
        return StaticVerdict(STATIC_DRIVER_API, min(chains, key=_chain_key))
    return StaticVerdict(STATIC_NOTHING)


def _sink_name(graph: ImportGraph, chain: Chain) -> str:
    sink = graph.module_sink(chain.sink.module)
    return sink.module if sink is not None else chain.sink.module


def _chain_key(chain: Chain) -> tuple[int, list[str]]:
    return len(chain.hops), [hop.imported for hop in chain.hops]


def runtime_verdict(result: ProbeResult) -> str:
    if result.status == DRIVER_INITIALIZED:
        return RUNTIME_INITIALIZED
    if result.status in (CLEAN, SINK_IMPORTED) and result.driver.present:
        return RUNTIME_NOT_INITIALIZED
    return RUNTIME_UNKNOWN


def compare(
    modules: Sequence[str],
    results: Sequence[ProbeResult],
    graph: ImportGraph,
    facts_for: Callable[[str], Optional[ModuleFacts]],
    display: Callable[[str], str] = lambda path: path,
) -> list[Agreement]:
    """One Agreement per module, disagreements first, then unknowns, then agreements.
    `display` turns a file path into the form reasons quote."""
    rows = []
    for module, result in zip(modules, results):
        static = static_verdict(graph, module)
        runtime = runtime_verdict(result)
        kind, reasons = _judge(static, runtime, result, graph, facts_for, display)
        rows.append(Agreement(module, static, runtime, result, kind, tuple(reasons)))
    return sorted(rows, key=lambda row: (KINDS.index(row.kind), row.module))


def _judge(static, runtime, result, graph, facts_for, display) -> tuple[str, list[str]]:
    if runtime == RUNTIME_UNKNOWN:
        return UNKNOWN, [_unknown_reason(result)]
    initializes = static.verdict == STATIC_INITIALIZES
    if initializes == (runtime == RUNTIME_INITIALIZED):
        return AGREE, _culprit_check(static, result, graph)
    if initializes:
        return STATIC_ONLY, _why_static_only(static.chain, result, facts_for, display)
    return RUNTIME_ONLY, _why_runtime_only(static, result, graph, facts_for)


def _unknown_reason(result: ProbeResult) -> str:
    if result.status in (CLEAN, SINK_IMPORTED):
        return "no CUDA driver was present, so the runtime side could not be checked"
    first = (result.error or "").splitlines()[0] if result.error else "no details"
    return f"the probe could not judge it ({result.status}: {first})"


def _culprit_check(static: StaticVerdict, result: ProbeResult, graph: ImportGraph) -> list[str]:
    """Both sides say "initializes": do they blame the same module?"""
    culprit = result.culprit
    if static.chain is None or culprit is None or culprit.module is None:
        return []
    sink = static.chain.sink.module
    if culprit.module == sink or culprit.module.startswith(sink + "."):
        return []
    if static.chain.sink.call and sink in culprit.chain[:-1]:
        # The same event when the call `sink` makes at import imported the next module at run
        # time (`@torch.compile` imports torch._inductor.compile_fx, which initializes): no
        # import statement of `sink` names it.
        following = culprit.chain[culprit.chain.index(sink) + 1]
        if not any(edge.target == following for edge in graph.eager_edges(sink)):
            return []
    return [f"the verdicts agree, but the static chain ends at `{sink}` while the driver became "
            f"initialized while importing `{culprit.module}` (via `{' -> '.join(culprit.chain)}`)"]


# --- static chain, no initialization -------------------------------------------------


def _site_conditional(hop: Hop, facts_for) -> Optional[bool]:
    facts = facts_for(hop.importer)
    if facts is None:
        return None
    for site in facts.imports:
        if site.line <= hop.line <= max(site.line, site.end_line):
            return site.conditional
    return None


def _why_static_only(chain: Chain, result: ProbeResult, facts_for, display) -> list[str]:
    trace = result.trace
    if trace is None:
        return ["the probe recorded no import trace, so the hop that did not run cannot be named"]
    loaded = trace.modules_imported | {result.module}
    not_found = dict(trace.modules_not_found)
    versions = dict(trace.versions)
    for hop in chain.hops:
        if hop.imported in loaded:
            continue
        where = f"{display(hop.path)}:{hop.line}"
        if hop.imported in not_found or any(hop.imported.startswith(m + ".") for m in not_found):
            return [f"optional dependency missing: `{hop.importer}` imports `{hop.imported}` ({where}), "
                    "which raised ModuleNotFoundError here and was caught, so the chain stops there"]
        conditional = _site_conditional(hop, facts_for)
        if conditional:
            return [f"branch not taken: the import of `{hop.imported}` in `{hop.importer}` ({where}) is "
                    "conditional (if/try) and did not run here"]
        if hop.importer not in loaded:
            return [f"`{hop.importer}` itself was not imported at run time, so its import of "
                    f"`{hop.imported}` ({where}) never ran; an earlier hop's module stopped before it"]
        return [f"`{hop.importer}` was imported but never imported `{hop.imported}` ({where}), which the "
                "static analysis takes to be eager and unconditional: it cannot tell why (the module "
                "may have been replaced in sys.modules, or the import is guarded in a way the collector "
                "does not model)"]
    sink = chain.sink
    if sink.call:
        return [f"every hop ran and `{sink.module}` was imported, but its call `{sink.call}()` "
                f"({display(sink.path)}:{sink.line}) left the driver uninitialized: the call was not reached "
                "(a branch not taken inside the module) or does not initialize in this version or "
                "environment; the probe cannot tell which"]
    top = sink.module.split(".")[0]
    version = f" {top} {versions[top]}" if top in versions else ""
    return [f"every hop ran and the sink `{sink.module}` was imported (version{version or ' unknown'}), but the "
            "driver stayed uninitialized: this version no longer initializes it at import"]


# --- initialization, no static chain -------------------------------------------------


def _why_runtime_only(static: StaticVerdict, result: ProbeResult, graph: ImportGraph, facts_for) -> list[str]:
    culprit = result.culprit
    reasons = []
    if static.verdict == STATIC_DRIVER_API and static.chain is not None:
        reasons.append(f"static analysis reaches only the driver API (`{static.chain.sink.module}`)")
    if culprit is None or culprit.module is None:
        return reasons + ["the driver was already initialized when the probed import began "
                          "(interpreter startup: a .pth file or sitecustomize), which no chain of the module explains"]
    chain = culprit.chain
    reasons.append(f"culprit: `{culprit.module}`, reached via `{' -> '.join(chain)}`")
    missing = _first_unseen_edge(chain, graph)
    if missing is not None:
        importer, imported, facts = missing
        if facts is None:
            reasons.append(f"static analysis has no Python source for `{importer}` (an extension module, "
                           f"or outside the analysed roots), so it cannot see it import `{imported}`")
        else:
            reasons.append(f"static analysis has no eager edge `{importer} -> {imported}`: the import "
                           "happens in a function called at import time, through importlib or __import__, "
                           "or in code the collector marks deferred")
    facts = facts_for(culprit.module)
    if facts is None:
        reasons.append(f"`{culprit.module}` has no Python source under the analysed roots (an extension "
                       "module or outside them): static analysis cannot see what it runs")
    else:
        reaching = [call for call in facts.calls if graph.call_reach(facts, call) is not None]
        sinks = reaching
        calls = [f"{call.name}() (line {call.line})" for call in facts.calls if call not in reaching]
        if sinks or graph.module_sink(culprit.module) is not None:
            what = (f"calls the sink `{sinks[0].name}()` at import (line {sinks[0].line})" if sinks
                    else "is a configured sink module")
            reasons.append(f"`{culprit.module}` {what}: the static side knows this sink, but no eager "
                           f"chain from `{result.module}` reaches `{culprit.module}`")
        elif calls:
            shown = ", ".join(calls[:6]) + (f" and {len(calls) - 6} more" if len(calls) > 6 else "")
            reasons.append(f"`{culprit.module}` calls at import {shown}, none a configured call sink: one of them, "
                           "or a function it calls, initializes the driver (candidates for extend-sink-calls; "
                           "calls into the project's functions are followed already)")
        else:
            reasons.append(f"`{culprit.module}` makes no call of an imported name at import (the collector "
                           "records module-level calls through the module's own import aliases only): the "
                           "initialization is in a function it defines or calls, one helper away, which "
                           "static analysis follows once the calls-into-functions analysis lands, or in "
                           "code run from a decorator or class body")
    return reasons


def _first_unseen_edge(chain: Sequence[str], graph: ImportGraph):
    """The first hop (importer, imported, importer's facts) of the runtime chain for which
    the static graph has no eager edge (parents first, as the graph models them)."""
    for importer, imported in zip(chain, chain[1:]):
        targets = {edge.target for edge in graph.eager_edges(importer)}
        if imported in targets:
            continue
        if importer.startswith(imported + ".") or imported.startswith(importer + "."):
            continue  # a package and its own submodule: Python's parent-first rule, not an import site
        return importer, imported, graph.facts(importer)
    return None
