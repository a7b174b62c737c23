"""`importguard summaries generate`: summary rows derived from an installed library's
source by importguard's own analysis, nothing imported or run.

For a module row, the eager import graph from that module (its parent packages first)
through the library's files; for a call row, the function's body followed call by call
(graph/reach.py) into whatever it runs, the library's other modules included. The sinks are
importguard's hand-written ones and the summaries of *other* libraries: the library's
own rows never feed the analysis that checks them. Calls on some paths only are
followed (a library's functions branch on the platform), and a row found only that way
says so in its condition.

Names: those given, else the names of the library's shipped rows, else every module of
the library's top-level package and every public function those modules define.
A shipped row keeps its measurement; the analysis goes into its `analysis` column, and a
measured effect that the analysis contradicts is reported as a disagreement.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Optional, Sequence

from importguard import __version__
from importguard.config import Config
from importguard.discovery import ModuleResolver
from importguard.environment.profile import Profile
from importguard.engine import FactsStore, build_graph
from importguard.errors import UsageError
from importguard.graph.imports import Chain, ImportGraph, strength_rank
from importguard.installed.interpreter import target_paths
from importguard.installed.modules import InstalledModules, WithInstalled
from importguard.model import DRIVER_API, Hop
from importguard.graph.reach import Reached
from importguard.sinks import HAND_WRITTEN_SINK_CALLS, HAND_WRITTEN_SINK_MODULES
from importguard.summaries.rows import (
    DRIVER,
    INITIALIZES,
    NOTHING,
    SummaryRow,
    call_sinks,
    library_of,
    module_sinks,
    shipped_rows,
)


ON_SOME_PATHS = "on some paths through the library only (branches the analysis does not decide)"


@dataclass(frozen=True)
class Generated:
    library: str
    version: str  # "torch 2.11.0", or the library alone when no distribution claims it
    rows: tuple[SummaryRow, ...]
    disagreements: tuple[str, ...]  # a measured row the analysis contradicts, in words


def generate(library: str, python: Optional[str] = None, names: Sequence[str] = (),
             collector: Optional[object] = None) -> Generated:
    if not library.isidentifier():
        raise UsageError(f"{library!r} is not a top-level package name")
    others = [row for row in shipped_rows() if library_of(row.name) != library]
    sink_modules = (*HAND_WRITTEN_SINK_MODULES, *module_sinks(others))
    sink_calls = (*HAND_WRITTEN_SINK_CALLS, *call_sinks(others))
    installed = InstalledModules(target_paths(python), True, sink_modules)
    top = installed.find(library)
    if top is None:
        raise UsageError(f"{library!r} is not installed (with Python source) in the target environment")
    origin = installed.origin(library)
    version = f"{origin.name} {origin.version}" if origin is not None and origin.name else library
    base = origin.directory if origin is not None else str(Path(top.path).parent)
    config = Config(project_root=Path(base), sink_modules=sink_modules, sink_calls=sink_calls,
                    environment=Profile(undecided_calls="follow"))
    store = FactsStore(WithInstalled(ModuleResolver([]), installed))  # type: ignore[arg-type]
    graph = build_graph(config, store)
    shipped = [row for row in shipped_rows() if library_of(row.name) == library]
    wanted = _wanted(library, names, shipped, top.path, store)
    analysis = _Analysis(graph, base, version)
    rows: list[SummaryRow] = []
    disagreements: list[str] = []
    for kind, name in wanted:
        found = analysis.row(kind, name)
        measured = [row for row in shipped if (row.kind, row.name) == (kind, name)]
        if not measured:
            rows.append(found)
            continue
        for row in measured:
            rows.append(replace(row, analysis=found.analysis))
            if row.when:
                continue  # the analysis does not see keyword values: nothing to contradict
            if (row.effect == NOTHING) != (found.effect == NOTHING):
                disagreements.append(f"{kind} {name}: measured {row.effect}, analysis {found.effect}")
    return Generated(library, version, tuple(rows), tuple(disagreements))


def _wanted(library: str, names: Sequence[str], shipped: Sequence[SummaryRow], top: str,
            store: FactsStore) -> list[tuple[str, str]]:
    if names:
        wanted = []
        for name in names:
            if library_of(name) != library:
                raise UsageError(f"{name!r} is not in {library!r}")
            # A module of the library is an import row; anything else a call row.
            wanted.append(("import" if store.resolver.find(name) is not None else "call", name))
        return wanted
    if shipped:
        return list(dict.fromkeys((row.kind, row.name) for row in shipped))
    modules = _package_modules(library, top)
    wanted: dict[tuple[str, str], None] = dict.fromkeys(("import", module) for module in modules)
    for module in modules:
        facts = store.for_module(module)
        if facts is None:
            continue
        for function in facts.functions:
            if "." not in function.name and not function.name.startswith("_") and not function.is_class:
                wanted[("call", f"{module}.{function.name}")] = None  # a def in each branch: one row
    return list(wanted)


def _package_modules(library: str, top: str) -> list[str]:
    """Every module under the library's package directory (a single-file module is itself)."""
    if os.path.basename(top) != "__init__.py":
        return [library]
    root = os.path.dirname(top)
    found = []
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = sorted(d for d in subdirectories if d.isidentifier()
                                   and os.path.isfile(os.path.join(directory, d, "__init__.py")))
        parts = [library, *Path(os.path.relpath(directory, root)).parts]
        parts = [p for p in parts if p != "."]
        for file in sorted(files):
            stem, suffix = os.path.splitext(file)
            if suffix == ".py" and stem.isidentifier():
                found.append(".".join(parts if stem == "__init__" else [*parts, stem]))
    return sorted(found)


class _Analysis:
    def __init__(self, graph: ImportGraph, base: str, version: str) -> None:
        self.graph = graph
        self.base = base
        self.version = version

    def row(self, kind: str, name: str) -> SummaryRow:
        if kind == "import":
            chains = self.graph.chains_from_module(name)
            if not chains:
                return self._row(kind, name, NOTHING, "", "reaches no sink through eager imports")
            chain = min(chains, key=lambda c: (strength_rank(c.sink), c.sink.conditional,
                                                len(c.hops) + len(c.sink.calls), c.sink.module, c.sink.call))
            effect = DRIVER if chain.sink.strength == DRIVER_API else INITIALIZES
            condition = ON_SOME_PATHS if chain.sink.conditional else ""
            return self._row(kind, name, effect, condition, self._chain_text(chain))
        sink = self.graph.call_sink(name)
        if sink is not None:  # a hand-written sink (sinks.py): its own measurement
            effect = DRIVER if sink.strength == DRIVER_API else INITIALIZES
            return self._row(kind, name, effect, "", "is a hand-written sink of importguard/sinks.py")
        reached = self.graph.reach.function(name)
        if reached is None:
            if not self.graph.reach.resolve(name):
                return self._row(kind, name, NOTHING, "", "no function of that name was found in the source")
            return self._row(kind, name, NOTHING, "", "its body reaches no sink call")
        effect = DRIVER if reached.sink.strength == DRIVER_API else INITIALIZES
        condition = ON_SOME_PATHS if reached.conditional else ""
        return self._row(kind, name, effect, condition, self._calls_text(reached))

    def _row(self, kind: str, name: str, effect: str, condition: str, what: str) -> SummaryRow:
        analysis = f"importguard {__version__}, static analysis of {self.version}: {what}"
        return SummaryRow(name, kind, effect, condition=condition, versions=(), analysis=analysis)

    def _where(self, hop: Hop) -> str:
        path = hop.path
        if os.path.isabs(path) and path.startswith(self.base + os.sep):
            path = os.path.relpath(path, self.base)
        return f"{path.replace(os.sep, '/')}:{hop.line}"

    def _chain_text(self, chain: Chain) -> str:
        steps = [f"{self._where(hop)} imports {hop.imported}" for hop in chain.hops]
        steps += [f"{self._where(hop)} {hop.imported}()" for hop in chain.sink.calls]
        if chain.sink.call and not chain.sink.calls:
            steps.append(f"{self._where(Hop('', '', chain.sink.path, chain.sink.line))} {chain.sink.call}()")
        target = f"`{chain.sink.call}()`" if chain.sink.call else f"`{chain.sink.module}`"
        return f"reaches {target}: " + (" -> ".join(steps) if steps else "it is that sink")

    def _calls_text(self, reached: Reached) -> str:
        steps = " -> ".join(f"{self._where(hop)} {hop.imported}()" if hop.kind == "call"
                            else f"{self._where(hop)} imports {hop.imported}" for hop in reached.hops)
        return f"reaches {reached.sink_words}: {steps}"
