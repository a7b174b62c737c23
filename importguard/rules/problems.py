"""Shared body of the rules that report problems found while reading a file."""

from __future__ import annotations

from typing import Iterable

from importguard.rules.base import Project, Rule
from importguard.model import Finding


class ProblemRule(Rule):
    fix: str

    def check(self, project: Project) -> Iterable[Finding]:
        for facts in project.reported:
            for problem in facts.problems:
                if problem.code == self.code:
                    yield Finding(
                        code=self.code,
                        name=self.name,
                        path=facts.path,
                        line=problem.line,
                        column=problem.column,
                        message=f"{problem.message}; {self.fix}",
                        fix=self.fix,
                    )
