"""The fix plan and the statistics as text: what follows the findings in the human
formats, and what `--statistics` prints instead of them.

A site counts findings two ways, and both outputs give both for the same site: as a
root cause (plan/causes.py: the findings whose shown chain ends there; each finding has
one) and as a plan edit (plan/network.py: the findings with any eager path through it;
a finding may need several). On vLLM 0.33.0, `flash_linear_attention/ops/utils.py:152`
ends the shown chain of 22 findings, and 24 reach it: two `muse_spark` findings show
their shorter chain to `cuda.bindings.driver` but also import that module."""

from __future__ import annotations

from collections import Counter
from typing import Optional

from importguard.model import Plan, PlanEdit, Report
from importguard.output.style import PLAIN, Style
from importguard.plan.causes import root_causes

UNRESOLVED_SHOWN = 3  # unresolved calls named after the plan


def edit_text(edit: PlanEdit, counted: bool = True, caused: Optional[dict[tuple[str, int], int]] = None) -> str:
    """`caused`: how many findings each root-cause site is the root cause of."""
    action = ("defer the call (into the function that needs it)" if edit.kind == "call"
              else "move the import into the function that uses it, or make it lazy")
    noun = "finding" if edit.findings == 1 else "findings"
    cause = (caused or {}).get((edit.path, edit.line))
    also = f"; the root cause of {cause}" if cause is not None and cause != edit.findings else ""
    count = f" (on the paths of {edit.findings} {noun}{also})" if counted else ""
    return f"{edit.path}:{edit.line}: {action}: {edit.what}{count}"


def plan_lines(plan: Plan, style: Style = PLAIN, counted: bool = True, limit: Optional[int] = None,
               caused: Optional[dict[tuple[str, int], int]] = None) -> list[str]:
    shown = plan.edits if limit is None else plan.edits[:limit]
    lines = [f"  {style(str(number), 'bold')}. {edit_text(edit, counted, caused)}" for number, edit in enumerate(shown, 1)]
    if len(shown) < len(plan.edits):
        more = len(plan.edits) - len(shown)
        lines.append(f"  … and {more} more {'edit' if more == 1 else 'edits'} "
                     "(--output-format full or json lists them all)")
    if not plan.exact:
        lines.append(f"  ({plan.method})")
    if plan.unresolved:
        count = len(plan.unresolved)
        examples = ", ".join(f"{e.path}:{e.line} {e.what}" for e in plan.unresolved[:UNRESOLVED_SHOWN])
        examples += ", …" if count > UNRESOLVED_SHOWN else ""
        by_root = Counter(e.what.partition(".")[0] for e in plan.unresolved)
        into = ", ".join(f"{root} {n}" for root, n in sorted(by_root.items(), key=lambda item: (-item[1], item[0]))[:5])
        lines.append(f"  {_plural(count, 'unresolved call')} at import remain on these paths (into {into}): "
                     f"importguard could not follow {'it' if count == 1 else 'them'} (no source read, no summary), "
                     f"so the plan clears only what it sees: {examples}")
    return lines


SHORT_PLAN = 10  # edits listed by the concise and grouped formats


def plan_text(report: Report, style: Style = PLAIN, limit: Optional[int] = None) -> str:
    """`182 findings, 19 root causes; these 18 edits clear 182 of them (...):` and
    the edits (the first `limit`), one a line; "" without a plan."""
    plan = report.plan
    if plan is None or not plan.edits:
        return ""
    count = len(report.findings)
    causes = root_causes(report.findings)
    kind = "the fewest" if plan.exact else "greedy, maybe not the fewest"
    edits = "this edit clears" if len(plan.edits) == 1 else f"these {len(plan.edits)} edits clear"
    head = (f"{_plural(count, 'finding')}, {_plural(len(causes), 'root cause')}; {edits} "
            f"{plan.cleared} of them ({kind}):")
    caused = {(c.cause.path, c.cause.line): c.findings for c in causes}
    return "\n".join([style(head, "bold"), *plan_lines(plan, style, limit=limit, caused=caused)]) + "\n"


def statistics_text(report: Report, style: Style = PLAIN) -> str:
    """Per code (as ruff's --statistics), then per root cause."""
    names = {f.code: f.name for f in report.findings}
    counts = Counter(f.code for f in report.findings)
    width = len(str(max(counts.values(), default=0)))
    lines = [f"{n:>{width}}\t{style(code, 'bold', 'red')}\t{names[code]}"
             for code, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]
    causes = root_causes(report.findings)
    if causes:
        lines.append("")
        lines.append(f"{_plural(len(causes), 'root cause')}:")
        width = len(str(causes[0].findings))
        reach = {(e.path, e.line): e.findings for e in report.plan.edits} if report.plan is not None else {}
        for c in causes:
            paths = reach.get((c.cause.path, c.cause.line))
            also = f" (on the paths of {paths}: the fix plan's count)" if paths is not None and paths != c.findings else ""
            lines.append(f"{c.findings:>{width}}\t{c.cause.path}:{c.cause.line}\t{c.cause.what}{also}")
    return "\n".join(lines) + "\n" if lines else ""


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def explain_plan_text(plan: Optional[Plan], module: str) -> str:
    if plan is None or not plan.edits:
        return ""
    edits = "this edit leaves" if len(plan.edits) == 1 else f"these {len(plan.edits)} edits leave"
    kind = "the fewest" if plan.exact else "greedy, maybe not the fewest"
    head = f"fix plan: {edits} importing `{module}` reaching no CUDA sink ({kind}):"
    return "\n".join([head, *plan_lines(plan, counted=False)]) + "\n"
