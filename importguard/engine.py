"""Orchestration: discover, collect on demand, build the graph, run rules, then
suppress, dedupe and sort into a Report. No printing here."""

from __future__ import annotations

import fnmatch
import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Optional, Sequence

from importguard.config import Config
from importguard.discovery import ModuleResolver, discover, display_path
from importguard.graph.imports import Chain, ImportGraph
from importguard.rules import ALL_RULES, Project, Rule
from importguard.selection import Selection, check_selectors, selected_codes
from importguard.rules.ig903_unused_suppression import UnusedSuppression
from importguard.model import Report, Finding, Hop, ModuleFacts, Plan, SourceFile, Suppression
from importguard.cache.graph_memory import GraphMemory
from importguard.plan.network import Builder, plan_for_findings, plan_for_module

if TYPE_CHECKING:
    from importguard.installed.modules import InstalledModules

Collector = Callable[[Sequence[SourceFile]], list[ModuleFacts]]


def collect_serially(sources: Sequence[SourceFile]) -> list[ModuleFacts]:
    from importguard.facts.collect import collect_file  # libcst only when something is parsed

    return [collect_file(source) for source in sources]


class FactsStore:
    """Facts of project modules, collected the first time something asks for them."""

    def __init__(self, resolver: ModuleResolver, collector: Collector = collect_serially) -> None:
        self.resolver = resolver
        self.collector = collector
        self.by_path: dict[str, ModuleFacts] = {}

    def for_sources(self, sources: Sequence[SourceFile]) -> list[ModuleFacts]:
        missing = [s for s in sources if s.path not in self.by_path]
        if missing:
            # The same file may be asked for twice in one batch; collect it once.
            unique = list({s.path: s for s in missing}.values())
            for facts in self.collector(unique):
                self.by_path[facts.path] = facts
        return [self.by_path[s.path] for s in sources]

    def for_module(self, module: str) -> Optional[ModuleFacts]:
        source = self.resolver.find(module)
        if source is None:
            return None
        return self.for_sources([source])[0]

    def prefetch(self, modules: Iterable[str]) -> None:
        sources = [s for s in map(self.resolver.find, modules) if s is not None]
        self.for_sources(sources)


def build_graph(config: Config, store: FactsStore) -> ImportGraph:
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
    reported = tuple(store.for_sources(discovered.files))
    kept = findings_of(Project(config, reported, graph), rules)
    kept += unreadable_findings(discovered.unreadable, rules, config)
    report = finish(kept, len(reported), _warnings(store, {f.path: f for f in reported}), resolver, installed,
                    plan_inputs=(graph, {f.path: f for f in reported}) if plan else None)
    if track_inputs and installed is None:
        report = with_inputs(report, paths, discovered, config, store.by_path, resolver.probes)
    if memory is not None and installed is None:
        memory.close(resolver, list(store.by_path.values()))
    return report


def _kept_graph(memory: GraphMemory, config: Config, roots: Sequence[Path],
                collector: Collector) -> tuple[FactsStore, ImportGraph]:
    stores: list[FactsStore] = []  # this check's, made by whichever of the two below runs

    def make_graph(resolver: ModuleResolver) -> ImportGraph:
        stores.append(FactsStore(resolver, collector))
        return build_graph(config, stores[-1])

    def rebind(resolver: ModuleResolver, graph: ImportGraph) -> None:
        stores.append(FactsStore(resolver, collector))
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


def unreadable_findings(unreadable: Iterable[tuple[str, str]], rules: Sequence[Rule], config: Config) -> list[Finding]:
    return [f for f in _unreadable_paths(unreadable, rules) if not _ignored_for_file(f, config)]


def finish(kept: Iterable[Finding], files_checked: int, warnings: Iterable[str], resolver: Any,
           installed: Optional["InstalledModules"],
           plan_inputs: Optional[tuple[ImportGraph, dict[str, ModuleFacts]]] = None,
           plan: Optional[Plan] = None, plan_builder: Optional[Builder] = None) -> Report:
    """The report: findings unique, marked with their installed distributions, in
    display paths and order; the fix plan computed on `plan_inputs` (the graph and the
    facts of the files with findings; `plan_builder` grows its network), or `plan` as
    computed before (display paths)."""
    unique = {(f.path, f.line, f.column, f.code, f.message): f for f in kept}
    marked = unique.values() if installed is None else map(resolver.finding, unique.values())
    ordered = sorted((display(f) for f in marked), key=lambda f: f.sort_key)
    if plan_inputs is not None:
        graph, facts_by_path = plan_inputs
        plan = display_plan(plan_for_findings(graph, sorted(unique.values(), key=lambda f: f.sort_key), facts_by_path,
                                              builder=plan_builder))
    return Report(tuple(ordered), files_checked, tuple(warnings), plan)


def with_inputs(report: Report, paths: Sequence[Path], discovered: Any, config: Config, read: Iterable[str],
                probes: Sequence[tuple[str, bool]], lookups: tuple[Any, ...] = ()) -> Report:
    """The report with what decided it, for replay.py: `read` the files whose facts
    were used, `probes` the module lookups made, `lookups` those recorded earlier
    (lookups.py) and found unchanged."""
    probed = _probed_files(paths, discovered)
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


def _probed_files(paths: Sequence[Path], discovered: Any) -> set[str]:
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


def _warnings(store: FactsStore, reported: dict[str, ModuleFacts]) -> list[str]:
    return list(_problem_warnings(store, reported))


def _problem_warnings(store: FactsStore, reported: dict[str, ModuleFacts]) -> Iterable[str]:
    for path, facts in sorted(store.by_path.items()):
        if path in reported:
            for line, text in facts.notes:
                yield f"{display_path(path)}:{line}: note: {text}"
            continue
        for problem in facts.problems:
            yield (
                f"{display_path(path)}:{problem.line}:{problem.column}: {problem.code} "
                f"{problem.message}; imports of `{facts.module}` are not followed"
            )


def display_plan(plan: Optional[Plan]) -> Optional[Plan]:
    if plan is None:
        return None
    return replace(plan, edits=tuple(replace(edit, path=display_path(edit.path)) for edit in plan.edits),
                   unresolved=tuple(replace(call, path=display_path(call.path)) for call in plan.unresolved))


def display_hop(hop: Hop) -> Hop:
    return hop.at_path(display_path(hop.path))


def display(finding: Finding) -> Finding:
    return replace(
        finding,
        path=display_path(finding.path),
        chain=tuple(display_hop(h) for h in finding.chain),
    )


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
    plan = display_plan(plan_for_module(graph, module)) if chains else None
    if installed is not None:
        chains = [replace(chain, hops=resolver.hops(chain.hops)) for chain in chains]
    return facts, chains, plan
