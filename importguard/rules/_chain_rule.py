"""Shared body of the rules that report eager import sites whose chain reaches a sink."""

from __future__ import annotations

from dataclasses import replace
from typing import Iterable

from importguard.rules._lazy_blockers import blocker_hint, eager_from_imports
from importguard.rules.base import Project, Rule, chain_text, condition_words, sink_text
from importguard.model import Execution, Finding, ImportSite, ModuleFacts


class ChainRule(Rule):
    problem: str  # how the message starts, e.g. "eager import in package `__init__`"
    fix: str

    def applies_to(self, facts: ModuleFacts, project: Project) -> bool:
        raise NotImplementedError

    def check(self, project: Project) -> Iterable[Finding]:
        blockers = project.blockers
        for facts in project.reported:
            if not self.applies_to(facts, project):
                continue
            first: dict[str, ImportSite] = {}  # imported module -> the site whose repeats come next
            repeats: dict[ImportSite, list[ImportSite]] = {}
            chains = {}
            for site in facts.imports:
                if site.execution is not Execution.EAGER:
                    continue
                chain = project.graph.chain_from_site(facts, site)
                if chain is None:
                    continue
                imported = chain.hops[0].imported if chain.hops else ""
                earlier = first.get(imported) if imported else None
                if earlier is not None and _runs_first(earlier, site):
                    repeats[earlier].append(site)
                    continue
                if imported and (earlier is None or not site.conditional):
                    first[imported] = site
                repeats[site] = []
                chains[site] = chain
            for site, chain in chains.items():
                again = repeats[site]
                words = condition_words(project, site.conditional, site.condition)
                condition = f" ({words}, but eager when it runs)" if words else ""
                if again:
                    lines = ", ".join(str(s.line) for s in again)
                    condition += f" (and again at line{'s' if len(again) > 1 else ''} {lines})"
                blocker = ""
                if facts.is_package:
                    blockers = eager_from_imports(project.reported) if blockers is None else blockers
                    blocker = blocker_hint(blockers, facts, site) or ""
                finding = Finding(
                    code=self.code,
                    name=self.name,
                    path=facts.path,
                    line=site.line,
                    column=site.column,
                    end_line=site.end_line,
                    message="",
                    fix=self.fix,
                    blocker=blocker,
                    sink=chain.sink.module,
                    chain=(*chain.hops, *chain.sink.calls),
                    strength=chain.sink.strength,
                    repeats=tuple((s.line, s.column) for s in again),
                )
                message = (
                    f"{self.problem}{condition} reaches {sink_text(chain)}: "
                    f"{chain_text(chain)}; {finding.fix_text}"
                )
                yield replace(finding, message=message)


def _runs_first(earlier: ImportSite, later: ImportSite) -> bool:
    """Whether `earlier` has imported the module whenever `later` runs, so that `later`
    imports nothing new: it is unconditional, or under the same known branch tests."""
    return not earlier.conditional or (later.conditional and earlier.condition != "" and earlier.condition == later.condition)
