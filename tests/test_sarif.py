"""`--format sarif`, validated against the SARIF 2.1.0 JSON schema (vendored, see
tests/data/README.md), and `--format github` workflow commands."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES

from importguard.output.formats import formatter
from importguard.rules import ALL_RULES
from importguard.model import Finding, Hop

jsonschema = pytest.importorskip("jsonschema", reason="SARIF validation needs jsonschema: pip install -e '.[test]'")

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
EXAMPLE = FIXTURES / "example"


def check(fmt: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "importguard", "check", "--format", fmt, "."],
        cwd=EXAMPLE, capture_output=True, text=True, timeout=120,
    )


@pytest.fixture(scope="module")
def sarif() -> dict:
    result = check("sarif")
    assert result.returncode == 1, result.stderr
    return json.loads(result.stdout)


def validator() -> jsonschema.protocols.Validator:
    cls = jsonschema.validators.validator_for(SCHEMA)
    cls.check_schema(SCHEMA)
    return cls(SCHEMA)


def test_sarif_is_valid_against_the_2_1_0_schema(sarif: dict):
    errors = sorted(validator().iter_errors(sarif), key=lambda e: list(e.path))
    assert errors == [], "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_the_schema_check_is_not_vacuous(sarif: dict):
    broken = copy.deepcopy(sarif)
    broken["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    del broken["runs"][0]["tool"]["driver"]["name"]
    messages = {e.message for e in validator().iter_errors(broken)}
    assert "'name' is a required property" in messages
    assert any("less than the minimum of 1" in m for m in messages)


def test_sarif_carries_rules_locations_and_the_chain(sarif: dict):
    run = sarif["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [rule.code for rule in ALL_RULES]
    ig001 = rules[0]
    assert ig001["name"] == "init-imports-cuda-sink"
    assert ig001["help"]["markdown"].startswith("# IG001 `init-imports-cuda-sink`")
    assert ig001["fullDescription"]["text"].startswith("Reports every eager import site in a package's")

    by_rule = {result["ruleId"]: result for result in run["results"]}
    result = by_rule["IG001"]
    assert rules[result["ruleIndex"]]["id"] == "IG001"
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "vllm_mini/models/deepseek/ops/__init__.py", "uriBaseId": "%SRCROOT%"}
    assert location["region"] == {"startLine": 3, "startColumn": 1}
    flow = result["codeFlows"][0]["threadFlows"][0]["locations"]
    assert [(f["location"]["physicalLocation"]["artifactLocation"]["uri"], f["location"]["physicalLocation"]["region"]["startLine"]) for f in flow] == [
        ("vllm_mini/models/deepseek/ops/__init__.py", 3),
        ("vllm_mini/models/deepseek/ops/fused_moe.py", 1),
    ]
    assert flow[1]["location"]["message"]["text"].startswith("vllm_mini.models.deepseek.ops.fused_moe -> cutlass")
    assert len(result["partialFingerprints"]["importguardChain/v1"]) == 32


def test_sarif_is_deterministic(sarif: dict):
    assert json.loads(check("sarif").stdout) == sarif


def test_github_annotations_for_the_example():
    result = check("github")
    lines = result.stdout.splitlines()
    assert [line.split("::")[1].split(",title=")[0] for line in lines] == [
        "error file=vllm_mini/entrypoints/serve.py,line=3,col=1",
        "error file=vllm_mini/models/deepseek/ops/__init__.py,line=3,col=1",
    ]
    assert "title=IG001 init-imports-cuda-sink::eager import in package" in lines[1]
    assert "%0Avllm_mini.models.deepseek.ops -> vllm_mini.models.deepseek.ops.fused_moe (" in lines[1]


def test_github_escapes_data_and_properties():
    finding = Finding(
        code="IG001", name="init-imports-cuda-sink", path="odd,dir/a:b.py", line=2, column=5,
        message="100% eager\r\nnext", chain=(Hop("a", "b", "odd,dir/a:b.py", 2),), end_line=4,
    )
    assert formatter("github")([finding]) == (
        "::error file=odd%2Cdir/a%3Ab.py,line=2,col=5,endLine=4,title=IG001 init-imports-cuda-sink"
        "::100%25 eager%0D%0Anext%0Aa -> b (odd,dir/a:b.py:2)\n"
    )


def test_sarif_uris_are_escaped_and_absolute_paths_are_file_uris():
    findings = [
        Finding("IG003", "x", "dir with space/m.py", 1, 1, "m"),
        Finding("IG003", "x", "/abs/m.py", 1, 1, "m"),
    ]
    results = json.loads(formatter("sarif")(findings))["runs"][0]["results"]
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in results]
    assert uris == [{"uri": "dir%20with%20space/m.py", "uriBaseId": "%SRCROOT%"}, {"uri": "file:///abs/m.py"}]
    assert validator().is_valid(json.loads(formatter("sarif")(findings)))
