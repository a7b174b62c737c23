"""A module imported again later in the same file runs nothing new: flashinfer's
`__init__.py` imports `.activation` four times in a row, and only the first line loads
it. Such repeats are one finding at the first site, naming the others; the fix plan and
--fix treat every site of it."""

from __future__ import annotations

import json
from dataclasses import replace

from conftest import check_tree, write_tree
from test_cli import run

from importguard.fix.lazy_reexport import fix_findings

OPS = "import cutlass\n\ndef a():\n    pass\n\ndef b():\n    pass\n\ndef c():\n    pass\n"


def findings(tmp_path, init: str):
    report = check_tree(write_tree(tmp_path, {"pkg/__init__.py": init, "pkg/ops.py": OPS}))
    return report, [(f.code, f.line, f.repeats) for f in report.findings if f.code == "IG001"]


def test_repeats_of_an_unconditional_import_are_one_finding(tmp_path):
    report, found = findings(tmp_path, "from .ops import a\nfrom .ops import b\nimport os\nfrom .ops import (\n    c,\n)\n")
    assert found == [("IG001", 1, ((2, 1), (4, 1)))]
    finding = report.findings[0]
    assert "(and again at lines 2, 4) reaches `cutlass`" in finding.message
    assert finding.sites == ((1, 1), (2, 1), (4, 1))
    assert report.plan is not None and report.plan.cleared == 1
    assert [edit.findings for edit in report.plan.edits] == [1]


def test_an_import_of_another_submodule_is_not_a_repeat(tmp_path):
    report = check_tree(write_tree(tmp_path, {
        "pkg/__init__.py": "from .ops import a\nfrom .more import d\n",
        "pkg/ops.py": OPS,
        "pkg/more.py": "import cutlass\n\ndef d():\n    pass\n",
    }))
    assert [(f.line, f.repeats) for f in report.findings] == [(1, ()), (2, ())]


def test_a_conditional_first_import_does_not_hide_a_later_one(tmp_path):
    _, found = findings(tmp_path, "import sys\nif sys.flags.dev_mode:\n    from .ops import a\nfrom .ops import b\n")
    assert [(line, repeats) for _, line, repeats in found] == [(3, ()), (4, ())]


def test_an_unconditional_first_import_covers_a_later_conditional_one(tmp_path):
    _, found = findings(tmp_path, "import sys\nfrom .ops import a\nif sys.flags.dev_mode:\n    from .ops import b\n")
    assert [(line, repeats) for _, line, repeats in found] == [(2, ((4, 5),))]


def test_suppressing_the_first_site_suppresses_its_repeats(tmp_path):
    _, found = findings(tmp_path, "from .ops import a  # noqa: IG001\nfrom .ops import b\n")
    assert found == []


def test_the_plan_must_cut_every_site_when_it_cuts_at_the_package(tmp_path):
    # A second importer of pkg.ops keeps the deeper edit the cheaper one: one edit, and
    # it clears the one finding with repeats plus the other module's.
    report = check_tree(write_tree(tmp_path, {
        "pyproject.toml": '[tool.importguard]\ncuda-free = ["app.*"]\n',
        "pkg/__init__.py": "from .ops import a\nfrom .ops import b\n",
        "pkg/ops.py": OPS,
        "app/__init__.py": "",
        "app/serve.py": "import pkg.ops\n",
    }))
    assert sorted((f.path, f.line) for f in report.findings) == [("app/serve.py", 1), ("pkg/__init__.py", 1)]
    assert report.plan.cleared == 2
    assert [(e.path, e.line, e.findings) for e in report.plan.edits] == [("pkg/ops.py", 1, 2)]


def test_fix_rewrites_the_repeats_as_if_each_were_reported(tmp_path, monkeypatch):
    report, found = findings(tmp_path, "from .ops import a as a\nimport os\nfrom .ops import b as b\n")
    assert [line for _, line, _ in found] == [1]
    grouped = report.findings[0]
    apart = [replace(grouped, repeats=()), replace(grouped, line=3, column=1, repeats=())]
    monkeypatch.chdir(tmp_path)  # finding paths are relative to the working directory
    (with_repeats,), (separately,) = fix_findings([grouped]), fix_findings(apart)
    assert with_repeats.notes == () and with_repeats.lines == (1, 3)
    assert with_repeats.after == separately.after and with_repeats.after != with_repeats.before


def test_json_lists_the_repeats_and_cached_output_equals_no_cache(tmp_path):
    write_tree(tmp_path, {"pkg/__init__.py": "from .ops import a\nfrom .ops import b\n", "pkg/ops.py": OPS})
    cold = run("check", "--no-cache", "--output-format", "json", cwd=tmp_path)
    data = json.loads(cold.stdout)
    assert [f["repeats"] for f in data["findings"]] == [[{"line": 2, "column": 1}]]
    for _ in range(2):
        assert run("check", "--output-format", "json", cwd=tmp_path).stdout == cold.stdout


def test_fix_still_refuses_a_name_bound_two_ways(tmp_path, monkeypatch):
    write_tree(tmp_path, {"pkg/__init__.py": "from .ops import a\nfrom .more import a\n", "pkg/ops.py": OPS,
                          "pkg/more.py": "import cutlass\n\ndef a():\n    pass\n"})
    report = check_tree(tmp_path)
    monkeypatch.chdir(tmp_path)
    (fix,) = fix_findings(report.findings)
    assert fix.lines == (1,) and fix.notes == ("pkg/__init__.py:2: `a` is bound more than once; not rewritten",)


def test_repeats_after_a_conditional_first_import_go_with_the_first_unconditional_one(tmp_path):
    _, found = findings(tmp_path, "import sys\nif sys.flags.dev_mode:\n    from .ops import a\nfrom .ops import b\n"
                                  "from .ops import c\n")
    assert [(line, repeats) for _, line, repeats in found] == [(3, ()), (4, ((5, 1),))]
