"""Every rule's own VALID and INVALID example projects (the Fixit way)."""

from __future__ import annotations

import pytest

from importguard.rules import ALL_RULES

from conftest import check_tree, write_tree

CASES = [
    pytest.param(rule, case, id=f"{rule.code}-{kind}-{index}")
    for rule in ALL_RULES
    for kind, cases in (("valid", rule.VALID), ("invalid", rule.INVALID))
    for index, case in enumerate(cases)
]


def test_every_rule_has_examples():
    for rule in ALL_RULES:
        assert rule.VALID and rule.INVALID, rule.code


@pytest.mark.parametrize("rule, case", CASES)
def test_rule_case(tmp_path, rule, case):
    root = write_tree(tmp_path, case.files)
    report = check_tree(root, select=[rule.code])
    found = sorted((f.path, f.line) for f in report.findings)
    assert found == sorted(case.expect)
    assert all(f.code == rule.code for f in report.findings)
