"""A site that is both a root cause (--statistics) and a fix-plan edit gives the same
two counts in both outputs: the findings whose shown chain ends there, and the findings
with any eager path through it (vLLM 0.33.0: 22 and 24 at flash_linear_attention's
utils.py:152, which the two outputs used to print one each)."""

from __future__ import annotations

from importguard.model import Finding, Hop, Plan, PlanEdit, Report
from importguard.output.plan_text import plan_text, statistics_text

CALL = Hop("pkg.utils", "torch.cuda.get_device_name", "pkg/utils.py", 5, "", "call")
DRIVER = Hop("pkg.drv", "cuda.bindings.driver", "pkg/drv.py", 1)


def finding(line: int, last: Hop) -> Finding:
    chain = (Hop("pkg", "pkg.x", "pkg/__init__.py", line), last)
    return Finding("IG001", "init-imports-cuda-sink", "pkg/__init__.py", line, 1, "m", sink=last.imported,
                   chain=chain, strength="initializer")


def test_both_outputs_give_both_counts_of_a_site():
    # Three findings show their chain ending at utils.py:5; a fourth shows a shorter
    # chain to the driver API but also reaches utils.py:5 (the plan's count is 4).
    findings = (finding(1, CALL), finding(2, CALL), finding(3, CALL), finding(4, DRIVER))
    plan = Plan((PlanEdit("pkg/utils.py", 5, "call", "`pkg.utils` calls `torch.cuda.get_device_name()` at import", 4),
                 PlanEdit("pkg/drv.py", 1, "import", "`pkg.drv` imports `cuda.bindings.driver`", 1)), 4, True, "exact")
    report = Report(findings, 3, plan=plan)
    planned = plan_text(report)
    assert "pkg/utils.py:5: defer the call" in planned
    assert "(on the paths of 4 findings; the root cause of 3)" in planned
    assert "`pkg.drv` imports `cuda.bindings.driver` (on the paths of 1 finding)\n" in planned  # the same count once
    stats = statistics_text(report)
    assert "3\tpkg/utils.py:5\t`pkg.utils` calls `torch.cuda.get_device_name` (on the paths of 4: the fix plan's count)" in stats
    assert "1\tpkg/drv.py:1\t`pkg.drv` imports `cuda.bindings.driver`\n" in stats
