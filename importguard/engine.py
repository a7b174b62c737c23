"""Orchestration: discover, collect on demand, build the graph, run rules, then
suppress, dedupe and sort into a Report. No printing here."""

from __future__ import annotations

import fnmatch
import os
from collections import OrderedDict
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Container, Iterable, Iterator, Mapping, Optional, Sequence

from importguard.config import Config
from importguard.discovery import ModuleResolver, discover, display_path, display_path_from
from importguard.rules import ALL_RULES, Project, Rule
from importguard.selection import Selection, check_selectors, selected_codes
from importguard.rules.ig903_unused_suppression import UnusedSuppression
from importguard.model import Report, Finding, Hop, ModuleFacts, Plan, Problem, SourceFile, Suppression
from importguard.rules._lazy_blockers import Index, index_of, names_imported

if TYPE_CHECKING:
    # Imported where used: a check whose findings are all stored builds no graph and no plan.
    from importguard.cache.graph_memory import GraphMemory
    from importguard.graph.imports import Chain, ImportGraph
    from importguard.plan.network import Builder
    from importguard.installed.modules import InstalledModules

Collector = Callable[[Sequence[SourceFile]], list[ModuleFacts]]


def collect_serially(sources: Sequence[SourceFile]) -> list[ModuleFacts]:
    from importguard.facts.collect import collect_file  # libcst only when something is parsed

    return [collect_file(source) for source in sources]


# Decoded facts a store keeps when its collector reads them back (FactsLoader.read_back):
# a search reads a module's facts again soon after the first time, a rule pass a
# batch's (_BATCH) many times. vLLM's modules average 15 kB decoded.
_RECENT = 1024
_BATCH = 256  # reported modules whose facts the rules hold at once


class FactsStore:
    """Facts of project modules, collected the first time something asks for them.

    When the collector can read facts back (FactsLoader.read_back) and `keep_all` is
    not asked for, only the _RECENT most recently used stay decoded and the others are
    decoded again when asked for, so that memory does not grow with the facts of the
    tree; otherwise every module's are kept. What the report needs of every module
    read (its notes and problems, for the warnings) is kept apart, in `remarks`."""

    def __init__(self, resolver: ModuleResolver, collector: Collector = collect_serially,
                 keep_all: bool = False) -> None:
        self.resolver = resolver
        self.collector = collector
        self._read_back: Optional[Callable[[SourceFile], Optional[ModuleFacts]]] = \
            None if keep_all else getattr(collector, "read_back", None)
        self.read: dict[str, str] = {}  # path -> module, for every file whose facts were asked for
        # path -> (module, notes, problems) of every file read that has either
        self.remarks: dict[str, tuple[str, tuple[tuple[int, str], ...], tuple[Problem, ...]]] = {}
        self._decoded: OrderedDict[str, ModuleFacts] = OrderedDict()
        new_check = getattr(collector, "new_check", None)
        if new_check is not None:
            new_check()

    def for_sources(self, sources: Sequence[SourceFile]) -> list[ModuleFacts]:
        found: dict[str, ModuleFacts] = {}
        missing = []
        for source in sources:
            facts = self._recalled(source)
            if facts is None:
                missing.append(source)
            else:
                found[source.path] = facts
        if missing:
            # The same file may be asked for twice in one batch; collect it once.
            unique = list({s.path: s for s in missing}.values())
            for facts in self.collector(unique):
                self._remember(facts)
                found[facts.path] = facts
        return [found[s.path] for s in sources]

    def each(self, sources: Sequence[SourceFile]) -> Iterator[ModuleFacts]:
        """The facts of `sources` one after the other, collected a batch at a time."""
        for start in range(0, len(sources), _BATCH):
            yield from self.for_sources(sources[start:start + _BATCH])

    def for_module(self, module: str) -> Optional[ModuleFacts]:
        source = self.resolver.find(module)
        if source is None:
            return None
        return self.for_sources([source])[0]

    def prepare(self, sources: Sequence[SourceFile]) -> None:
        """Collect the facts of `sources` not collected yet, in one batch; decoded only
        where they cannot be read back."""
        if self._read_back is None:
            self.for_sources(sources)
        else:
            self.collector.store([s for s in sources if s.path not in self._decoded])  # type: ignore[attr-defined]

    def prefetch(self, modules: Iterable[str]) -> None:
        """The facts of `modules` (the graph's next level of search), collected in one
        batch; each counts as read (`read`, `remarks`), whether the graph uses it or not."""
        sources = [s for s in map(self.resolver.find, modules) if s is not None]
        self.prepare(sources)
        for _ in self.each([s for s in sources if s.path not in self.read]):
            pass

    def kept(self) -> list[ModuleFacts]:
        """The facts of every file read, from a store that keeps them all (`keep_all`)."""
        if self._read_back is not None:
            raise RuntimeError("a store that reads facts back keeps only some")
        return list(self._decoded.values())

    def _recalled(self, source: SourceFile) -> Optional[ModuleFacts]:
        facts = self._decoded.get(source.path)
        if facts is not None:
            self._decoded.move_to_end(source.path)
        elif self._read_back is not None:
            facts = self._read_back(source)
            if facts is not None:
                self._remember(facts)
        return facts

    def _remember(self, facts: ModuleFacts) -> None:
        path = facts.path
        if path not in self.read:
            self.read[path] = facts.module
            if facts.notes or facts.problems:
                self.remarks[path] = (facts.module, facts.notes, facts.problems)
        self._decoded[path] = facts
        if self._read_back is not None and len(self._decoded) > _RECENT:
            self._decoded.popitem(last=False)


class FactsByPath(Mapping[str, ModuleFacts]):
    """The facts of `sources` by path, decoded by `store` when looked up (the fix plan
    looks up those of the files with findings)."""

    def __init__(self, store: FactsStore, sources: Iterable[SourceFile]) -> None:
        self._store = store
        self._sources = {source.path: source for source in sources}

    def __getitem__(self, path: str) -> ModuleFacts:
        return self._store.for_sources([self._sources[path]])[0]

    def __iter__(self) -> Iterator[str]:
        return iter(self._sources)

    def __len__(self) -> int:
        return len(self._sources)


def build_graph(config: Config, store: FactsStore) -> ImportGraph:
    from importguard.graph.imports import ImportGraph

    return ImportGraph(
        facts_for=store.for_module,
        is_known_module=lambda module: store.resolver.find(module) is not None,
        sink_modules=config.environment.sink_modules(config.sink_modules),
        sink_calls=config.sink_calls,
        prefetch=store.prefetch,
        nvml_based_cuda_check=config.nvml_based_cuda_check or config.environment.nvml_check(),
        profile=config.environment,
    )


def selected_rules(select: Sequence[str], ignore: Sequence[str], extend_select: Sequence[str] = ()) -> list[Rule]:
    """ruff-style prefixes (selection.py): `select` (default: all but the opt-in ones)
    plus `extend_select`, less `ignore`; the more specific selector wins."""
    check_selectors((*select, *extend_select, *ignore), [rule.code for rule in ALL_RULES], "rule selection")
    layer = Selection(tuple(select) or None, tuple(extend_select), tuple(ignore))
    chosen = selected_codes([(rule.code, rule.opt_in) for rule in ALL_RULES], [layer])
    return [rule() for rule in ALL_RULES if rule.code in chosen]


def _with_defaults(rules: Sequence[Rule]) -> list[Rule]:
    have = {rule.code for rule in rules}
    return [*rules, *(rule for rule in selected_rules((), ()) if rule.code not in have)]


def run_check(
    paths: Sequence[Path],
    config: Config,
    *,
    select: Optional[Sequence[str]] = None,
    ignore: Optional[Sequence[str]] = None,
    collector: Collector = collect_serially,
    installed: Optional["InstalledModules"] = None,
    track_inputs: bool = False,
    results: Any = None,
    memory: Optional[GraphMemory] = None,
    plan: bool = True,
) -> Report:
    """`results`: the store of the last check's findings (incremental.ResultStore);
    modules whose inputs did not change are then not searched again. `memory`: the
    resolver and graph kept from the last check of a long-lived caller. `plan=False`:
    no fix plan (the language server shows none)."""
    discovered = discover(paths, config.project_root, config.exclude, config.src, config.exclude_package_data,
                          config.respect_gitignore)
    roots = _unique([*map(Path, dict.fromkeys(s.root for s in discovered.files)), *config.src])
    rules = selected_rules(select if select is not None else config.select,
                           ignore if ignore is not None else config.ignore,
                           config.extend_select if select is None else ())
    if results is not None and installed is None:
        return results.check(paths, config, discovered, ModuleResolver(roots), rules, collector, track_inputs)
    if memory is not None and installed is None:
        store, graph = _kept_graph(memory, config, roots, collector)
        resolver = store.resolver
    else:
        resolver = _with_installed(ModuleResolver(roots), installed)
        store = FactsStore(resolver, collector)
        graph = build_graph(config, store)
    reported = discovered.files
    store.prepare(reported)
    kept, _ = findings_of_files(config, graph, store, reported, rules)
    kept += unreadable_findings(discovered.unreadable, rules, config)
    report = finish(kept, len(reported), _warnings(store, {s.path for s in reported}), resolver, installed,
                    plan_inputs=(graph, FactsByPath(store, reported)) if plan else None)
    if track_inputs and installed is None:
        report = with_inputs(report, paths, discovered, config, store.read, resolver.probes)
    if memory is not None and installed is None:
        memory.close(resolver, store.kept())
    return report


def _kept_graph(memory: GraphMemory, config: Config, roots: Sequence[Path],
                collector: Collector) -> tuple[FactsStore, ImportGraph]:
    stores: list[FactsStore] = []  # this check's, made by whichever of the two below runs

    def make_graph(resolver: ModuleResolver) -> ImportGraph:
        stores.append(FactsStore(resolver, collector, keep_all=True))
        return build_graph(config, stores[-1])

    def rebind(resolver: ModuleResolver, graph: ImportGraph) -> None:
        stores.append(FactsStore(resolver, collector, keep_all=True))
        graph.rebind(stores[-1].for_module, lambda module: resolver.find(module) is not None, stores[-1].prefetch)

    def current(module: str) -> Optional[ModuleFacts]:
        """This check's facts of a module, not counted as read (collector.quietly)."""
        source = stores[-1].resolver.find(module)
        return None if source is None else quietly([source])[0]

    quietly = getattr(collector, "quietly", collector)
    key = (repr(config), *map(str, roots))
    _, graph = memory.open(key, roots, current, make_graph, rebind)
    return stores[-1], graph


def findings_of(project: Project, rules: Sequence[Rule]) -> list[Finding]:
    """What the rules report on `project.reported`, less suppressed and per-file
    ignored findings, one per (path, line, column, code, message); paths as collected."""
    unused = next((rule for rule in rules if isinstance(rule, UnusedSuppression)), None)
    # To judge a suppression, the rules it names must have run: with IG903, all do.
    running = rules if unused is None else _with_defaults(rules)
    findings: list[Finding] = []
    for rule in running:
        findings.extend(rule.check(project))
    if unused is not None:
        judged = [rule.code for rule in running if rule.code != unused.code]
        findings.extend(unused.unused(project.reported, findings, judged, suppresses))
        codes = {rule.code for rule in rules}
        findings = [f for f in findings if f.code in codes]
    facts_by_path = {facts.path: facts for facts in project.reported}
    kept = [
        f
        for f in findings
        if not _suppressed(f, facts_by_path.get(f.path)) and not _ignored_for_file(f, project.config)
    ]
    return list({(f.path, f.line, f.column, f.code, f.message): f for f in kept}.values())


def findings_of_files(config: Config, graph: ImportGraph, store: FactsStore, sources: Sequence[SourceFile],
                      rules: Sequence[Rule], reported: Optional[Sequence[tuple[str, str]]] = None,
                      imported_elsewhere: Optional[dict[str, Any]] = None,
                      plain: Optional[Container[str]] = None) -> tuple[list[Finding], dict[str, Any]]:
    """findings_of on the files `sources`, a batch of their facts decoded at a time
    (_BATCH): the modules that are no package first, then the packages, whose lazy
    re-export hint looks up every reported module's `from package import name`.
    `reported`: (module, path) of every reported module in report order, when
    `sources` are only some of them, `imported_elsewhere` the names_imported of the
    others (path -> names), and `plain` the reported modules that are no package.
    Gives the findings and the names_imported of `sources`, less the names imported
    from a `plain` module (the hint asks only about packages; cache/results.py keeps these)."""
    imported: dict[str, Any] = {}
    found: list[Finding] = []
    plain = {s.module for s in sources if not s.is_package} if plain is None else plain

    def imported_by(facts: ModuleFacts) -> list[tuple[str, str, int]]:
        return [entry for entry in names_imported(facts) if entry[0] not in plain]  # type: ignore[operator]

    def check(batch: Sequence[SourceFile], blockers: Optional[Index]) -> None:
        facts = tuple(store.for_sources(batch))
        imported.update((f.path, imported_by(f)) for f in facts)
        # No module that is no package looks at `blockers` (rules/_chain_rule.py).
        found.extend(findings_of(Project(config, facts, graph, blockers=blockers), rules))

    for batch in _batches([s for s in sources if not s.is_package]):
        check(batch, None)
    packages = [s for s in sources if s.is_package]
    if packages:
        for facts in store.each(packages):
            imported[facts.path] = imported_by(facts)
        names = {**(imported_elsewhere or {}), **imported}
        order = reported if reported is not None else [(s.module, s.path) for s in sources]
        blockers = index_of((module, path, names[path]) for module, path in order)
        for batch in _batches(packages):
            check(batch, blockers)
    return found, imported


def _batches(sources: Sequence[SourceFile]) -> Iterator[Sequence[SourceFile]]:
    for start in range(0, len(sources), _BATCH):
        yield sources[start:start + _BATCH]


def unreadable_findings(unreadable: Iterable[tuple[str, str]], rules: Sequence[Rule], config: Config) -> list[Finding]:
    return [f for f in _unreadable_paths(unreadable, rules) if not _ignored_for_file(f, config)]


def finish(kept: Iterable[Finding], files_checked: int, warnings: Iterable[str], resolver: Any,
           installed: Optional["InstalledModules"],
           plan_inputs: Optional[tuple[ImportGraph, Mapping[str, ModuleFacts]]] = None,
           plan: Optional[Plan] = None, plan_builder: Optional[Builder] = None) -> Report:
    """The report: findings unique, marked with their installed distributions, in
    display paths and order; the fix plan computed on `plan_inputs` (the graph and the
    facts of the files with findings; `plan_builder` grows its network), or `plan` as
    computed before (display paths)."""
    unique = {(f.path, f.line, f.column, f.code, f.message): f for f in kept}
    marked = unique.values() if installed is None else map(resolver.finding, unique.values())
    ordered = sorted(displayed(marked), key=lambda f: f.sort_key)
    if plan_inputs is not None:
        from importguard.plan.network import plan_for_findings

        graph, facts_by_path = plan_inputs
        plan = display_plan(plan_for_findings(graph, sorted(unique.values(), key=lambda f: f.sort_key), facts_by_path,
                                              builder=plan_builder))
    return Report(tuple(ordered), files_checked, tuple(warnings), plan)


def with_inputs(report: Report, paths: Sequence[Path], discovered: Any, config: Config, read: Iterable[str],
                probes: Sequence[tuple[str, bool]], lookups: tuple[Any, ...] = (),
                probed: Optional[Iterable[str]] = None) -> Report:
    """The report with what decided it, for replay.py: `read` the files whose facts
    were used, `probes` the module lookups made, `lookups` those recorded earlier
    (lookups.py) and found unchanged; `probed`: probed_files(paths, discovered) when
    already worked out."""
    probed = probed_files(paths, discovered) if probed is None else set(probed)
    probed.update(discovered.ignore_files)
    if config.config_file is not None:
        probed.add(str(config.config_file))
    return replace(
        report,
        consulted_files=tuple(sorted({*read, *probed})),
        consulted_probes=tuple(probes),
        consulted_listings=discovered.listings,
        consulted_lookups=tuple(lookups),
    )


def probed_files(paths: Sequence[Path], discovered: Any) -> set[str]:
    """The `__init__.py` / `pyproject.toml` this run looked for above the files it
    found (module names and the config come from those), present or absent. The
    directories it listed and the module lookups it made are recorded apart
    (`consulted_listings`, `consulted_probes`; see lookups.py)."""
    starts = {os.path.dirname(s.path) for s in discovered.files}
    starts.update(str(Path(p).absolute()) for p in paths)
    ancestors: set[str] = set()
    for start in starts:
        while start not in ancestors:  # strings: a tree has hundreds of directories
            ancestors.add(start)
            parent = os.path.dirname(start)
            if parent == start:
                break
            start = parent
    return {os.path.join(a, name) for a in ancestors for name in ("__init__.py", "pyproject.toml")}


def _with_installed(resolver: ModuleResolver, installed: Optional["InstalledModules"]) -> Any:
    """The project's modules, then (with --follow-installed) the environment's:
    a ModuleResolver, or a WithInstalled when `installed` is given."""
    if installed is None:
        return resolver
    from importguard.installed.modules import WithInstalled

    return WithInstalled(resolver, installed)


def _unique(paths: Iterable[Path]) -> list[Path]:
    return list(dict.fromkeys(p.absolute() for p in paths))


def _unreadable_paths(unreadable: Iterable[tuple[str, str]], rules: Sequence[Rule]) -> list[Finding]:
    if not any(rule.code == "IG901" for rule in rules):
        return []
    fix = "make the file readable, or exclude it"
    return [
        Finding("IG901", "unreadable-file", path, 1, 1, f"{reason}; {fix}", fix=fix)
        for path, reason in unreadable
    ]


def _suppressed(finding: Finding, facts: Optional[ModuleFacts]) -> bool:
    if facts is None:
        return False
    return any(suppresses(s, finding) for s in facts.suppressions)


def suppresses(suppression: Suppression, finding: Finding) -> bool:
    last = max(finding.line, finding.end_line)
    if not suppression.codes and finding.code == UnusedSuppression.code:
        return False  # a blanket directive would hide the report that it is unused
    on_line = suppression.directive == "file" or finding.line <= suppression.line <= last
    return on_line and (not suppression.codes or finding.code in suppression.codes)


def _ignored_for_file(finding: Finding, config: Config) -> bool:
    path = Path(finding.path)
    try:
        relative = path.absolute().relative_to(config.project_root).as_posix()
    except ValueError:
        relative = path.as_posix()
    for pattern, codes in config.per_file_ignores:
        matched = fnmatch.fnmatchcase(relative, pattern) or (
            "/" not in pattern and fnmatch.fnmatchcase(path.name, pattern)
        )
        if matched and any(finding.code.startswith(c) or c == "ALL" for c in codes):
            return True
    return False


def _warnings(store: FactsStore, reported: Container[str]) -> list[str]:
    """The notes of the `reported` files read, and the problems of the others."""
    return list(_problem_warnings(store, reported))


def _problem_warnings(store: FactsStore, reported: Container[str]) -> Iterable[str]:
    for path, (module, notes, problems) in sorted(store.remarks.items()):
        if path in reported:
            for line, text in notes:
                yield f"{display_path(path)}:{line}: note: {text}"
            continue
        for problem in problems:
            yield (
                f"{display_path(path)}:{problem.line}:{problem.column}: {problem.code} "
                f"{problem.message}; imports of `{module}` are not followed"
            )


def display_plan(plan: Optional[Plan]) -> Optional[Plan]:
    if plan is None:
        return None
    return replace(plan, edits=tuple(replace(edit, path=display_path(edit.path)) for edit in plan.edits),
                   unresolved=tuple(replace(call, path=display_path(call.path)) for call in plan.unresolved))


def display_hop(hop: Hop) -> Hop:
    return hop.at_path(display_path(hop.path))


def display(finding: Finding) -> Finding:
    return displayed((finding,))[0]


def displayed(findings: Iterable[Finding]) -> list[Finding]:
    """Each finding with its path and its hops' paths as display_path spells them. A
    report repeats a few hundred paths and a thousand hops over its findings: each is
    spelt once, and the copies are made as the codec makes decoded facts (cache/codec.py:
    a frozen dataclass's __init__ or `replace` costs a report of thousands of hops
    milliseconds)."""
    cwd = os.getcwd()
    paths: dict[str, str] = {}
    hops: dict[Hop, Hop] = {}
    new = object.__new__
    shown = []
    for finding in findings:
        chain = []
        for hop in finding.chain:
            shown_hop = hops.get(hop)
            if shown_hop is None:
                path = paths.get(hop.path)
                if path is None:
                    path = paths[hop.path] = display_path_from(hop.path, cwd)
                shown_hop = hops[hop] = hop.at_path(path)
            chain.append(shown_hop)
        path = paths.get(finding.path)
        if path is None:
            path = paths[finding.path] = display_path_from(finding.path, cwd)
        copy = new(Finding)
        copy.__dict__.update(finding.__dict__, path=path, chain=tuple(chain))
        shown.append(copy)
    return shown


def explanation(
    module: str,
    config: Config,
    roots: Sequence[Path],
    installed: Optional["InstalledModules"] = None,
    collector: Collector = collect_serially,
) -> tuple[Optional[ModuleFacts], list[Chain], Optional[Plan]]:
    """Every eager chain from importing `module` (parents first) to each sink, and the
    fewest sites whose change leaves it reaching none."""
    resolver = _with_installed(ModuleResolver(_unique([*config.src, *roots])), installed)
    store = FactsStore(resolver, collector)
    graph = build_graph(config, store)
    facts = store.for_module(module)
    chains = graph.chains_from_module(module)
    if chains:
        from importguard.plan.network import plan_for_module

        plan = display_plan(plan_for_module(graph, module))
    else:
        plan = None
    if installed is not None:
        chains = [replace(chain, hops=resolver.hops(chain.hops)) for chain in chains]
    return facts, chains, plan
