"""`--output-format json` against the JSON Schema shipped with the package
(importguard/output/report.schema.json), on real output of every shape."""

from __future__ import annotations

import copy
import json
from importlib import resources

import pytest

from conftest import FIXTURES, write_tree
from test_cli import run
from test_cli_concise import TREE

jsonschema = pytest.importorskip("jsonschema")


def schema() -> dict:
    return json.loads(resources.files("importguard").joinpath("output/report.schema.json").read_text(encoding="utf-8"))


def validator():
    cls = jsonschema.validators.validator_for(schema())
    cls.check_schema(schema())
    return cls(schema(), format_checker=cls.FORMAT_CHECKER)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> dict[str, dict]:
    root = write_tree(tmp_path_factory.mktemp("tree"), TREE)  # IG001/2/3 and IG900, all strengths
    versioned = write_tree(tmp_path_factory.mktemp("versioned"), {  # no version pinned; a repeated import
        "pkg/__init__.py": "from .ops import a\nfrom .ops import b\n", "pkg/ops.py": "import cutlass\na = b = 1\n"})
    found = {}
    for name, cwd, args in [("example", FIXTURES / "example", ()), ("rules", root, ()), ("versioned", versioned, ()),
                            ("statistics", root, ("--statistics",)), ("clean", root, ("--select", "IG002", "app/cfg.py"))]:
        done = run("check", "--no-cache", "--output-format", "json", *args, cwd=cwd)
        assert done.returncode in (0, 1), done.stderr
        found[name] = json.loads(done.stdout)
    return found


def test_real_output_of_every_shape_is_valid(outputs):
    check = validator()
    for name, data in outputs.items():
        errors = [e.message for e in check.iter_errors(data)]
        assert errors == [], name
    rules = outputs["rules"]
    assert {f["code"] for f in rules["findings"]} == {"IG001", "IG002", "IG003", "IG900"}
    assert {f["strength"] for f in rules["findings"]} == {"initializer", "driver-api", "configured", ""}
    assert outputs["clean"]["findings"] == [] and outputs["clean"]["plan"] is None
    assert [(f["strength"], f["repeats"]) for f in outputs["versioned"]["findings"]] == [
        ("version-dependent", [{"line": 2, "column": 1}])]
    assert outputs["example"]["plan"]["edits"]


@pytest.mark.parametrize("breaks", [
    lambda d: d.pop("plan"),
    lambda d: d["findings"][0].update(line=0),
    lambda d: d["findings"][0].update(level="fatal"),
    lambda d: d["findings"][0]["chain"][0].pop("importer"),
    lambda d: d["root_causes"][0].update(findings="2"),
    lambda d: d.update(version=2),
])
def test_the_schema_check_is_not_vacuous(outputs, breaks):
    data = copy.deepcopy(outputs["example"])
    breaks(data)
    assert not validator().is_valid(data)
