from __future__ import annotations

from typing import ClassVar, Iterable, Sequence

from importguard.model import Finding, ModuleFacts, Suppression
from importguard.rules.base import Case, Project, Rule


class UnusedSuppression(Rule):
    """## What it does
    Reports a suppression comment that suppresses nothing: a `# noqa: IG001` on a line
    with no IG001 finding, an `# importguard: ignore[...]` or a file-level
    `# importguard: noqa` with nothing left to ignore. A directive naming several codes
    is reported for the codes it does not use.

    ## Why is this bad?
    A stale suppression hides the next real finding on that line: after a refactor
    moved the import, the comment stays and silences whatever comes there later.

    ## Known problems
    Off by default, as ruff's RUF100: it runs only when `select` names it (`--select
    IG903`, or a prefix such as `IG9` or `ALL`). Codes of other tools (`# noqa: E402`)
    and bare `# noqa` comments, which other linters share, are never judged. Only the
    codes of rules that ran are judged; with `IG903` selected, every default rule runs
    to learn what each comment suppresses.

    ## Example
    ```python
    import os  # noqa: IG001
    ```

    ## Use instead
    ```python
    import os
    ```

    ## Options
    `select`.

    ## References
    - ruff's RUF100 (unused-noqa)
    """

    code = "IG903"
    name = "unused-suppression"
    summary = "A suppression comment suppresses nothing"
    fix = "remove the comment, or the codes it does not use"
    opt_in: ClassVar[bool] = True

    VALID = (
        Case({"pkg/__init__.py": "from .gemm import gemm  # noqa: IG001\n", "pkg/gemm.py": "import cutlass\n"}),
        Case({"pkg/__init__.py": "import os  # noqa: E402\nimport sys  # noqa\n"}),
        Case({"pkg/__init__.py": "# importguard: noqa\nfrom .gemm import gemm\n", "pkg/gemm.py": "import cutlass\n"}),
    )
    INVALID = (
        Case({"pkg/__init__.py": "import os  # noqa: IG001\n"}, expect=(("pkg/__init__.py", 1),)),
        Case(
            {"pkg/__init__.py": "from .gemm import gemm  # noqa: IG001, IG003\n", "pkg/gemm.py": "import cutlass\n"},
            expect=(("pkg/__init__.py", 1),),
        ),
        Case({"pkg/__init__.py": '"""Doc."""\n# importguard: noqa\nimport os\n'}, expect=(("pkg/__init__.py", 2),)),
        Case({"m.py": "import os  # importguard: ignore\n"}, expect=(("m.py", 1),)),
    )

    def check(self, project: Project) -> Iterable[Finding]:
        return ()  # judged after the other rules ran: see `unused`

    def unused(self, reported: Sequence[ModuleFacts], findings: Sequence[Finding],
               judged: Sequence[str], suppresses) -> list[Finding]:
        """The directives in `reported` that suppress none of `findings`; only codes in
        `judged` (the rules that ran) are looked at."""
        by_path: dict[str, list[Finding]] = {}
        for finding in findings:
            by_path.setdefault(finding.path, []).append(finding)
        found = []
        for facts in reported:
            mine = by_path.get(facts.path, [])
            for suppression in facts.suppressions:
                message = self._unused_message(suppression, mine, judged, suppresses)
                if message:
                    found.append(Finding(self.code, self.name, facts.path, suppression.line, 1,
                                         f"{message}; {self.fix}", fix=self.fix))
        return found

    def _unused_message(self, suppression: Suppression, findings: Sequence[Finding],
                        judged: Sequence[str], suppresses) -> str:
        spelled = {"noqa": "`# noqa`", "ignore": "`# importguard: ignore`", "file": "file-level `# importguard: noqa`"}
        directive = spelled[suppression.directive]
        if not suppression.codes:
            if suppression.directive == "noqa":
                return ""  # a bare `# noqa` is shared with other linters
            if any(suppresses(suppression, f) for f in findings):
                return ""
            return f"{directive} suppresses no finding"
        unused = [code for code in suppression.codes
                  if code.startswith("IG") and code in judged
                  and not any(f.code == code and suppresses(suppression, f) for f in findings)]
        if not unused:
            return ""
        return f"{directive} for {', '.join(unused)} suppresses no finding"

