"""`--format sarif`, validated against the SARIF 2.1.0 JSON schema (vendored, see
tests/data/README.md), and `--format github` workflow commands."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES, write_tree

import importguard
from importguard.output import links
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
    assert ig001["name"] == "InitImportsCudaSink"  # SARIF's advice: one Pascal-case identifier
    assert ig001["properties"]["slug"] == "init-imports-cuda-sink"
    assert ig001["help"]["markdown"].startswith("# IG001 `init-imports-cuda-sink`")
    assert ig001["fullDescription"]["text"].startswith("Reports every eager import site in a package's")

    by_rule = {result["ruleId"]: result for result in run["results"]}
    result = by_rule["IG001"]
    assert rules[result["ruleIndex"]]["id"] == "IG001"
    location = result["locations"][0]["physicalLocation"]
    prefix = _prefix()
    assert location["artifactLocation"] == {"uri": prefix + "vllm_mini/models/deepseek/ops/__init__.py", "uriBaseId": "%SRCROOT%"}
    assert location["region"] == {"startLine": 3, "startColumn": 1, "endLine": 3, "endColumn": 33,
                                  "snippet": {"text": "from .fused_moe import fused_moe"}}
    flow = result["codeFlows"][0]["threadFlows"][0]["locations"]
    assert [(f["location"]["physicalLocation"]["artifactLocation"]["uri"], f["location"]["physicalLocation"]["region"]["startLine"]) for f in flow] == [
        (prefix + "vllm_mini/models/deepseek/ops/__init__.py", 3),
        (prefix + "vllm_mini/models/deepseek/ops/fused_moe.py", 1),
    ]
    assert flow[1]["location"]["message"]["text"].startswith("vllm_mini.models.deepseek.ops.fused_moe -> cutlass")
    assert len(result["partialFingerprints"]["importguardSite/v1"]) == 32


def _prefix() -> str:
    """fixtures/example relative to the repository root (a git checkout), or nothing (an
    unpacked sdist, where the working directory is the root)."""
    from importguard.output.source import repository_root

    root = repository_root(EXAMPLE)
    return "" if root == EXAMPLE else EXAMPLE.relative_to(root).as_posix() + "/"


def test_sarif_is_deterministic(sarif: dict):
    assert json.loads(check("sarif").stdout) == sarif


def test_github_annotations_for_the_example():
    result = check("github")
    lines = result.stdout.splitlines()
    prefix = _prefix()
    assert [line.split("::")[1].split(",title=")[0] for line in lines] == [
        f"error file={prefix}vllm_mini/entrypoints/serve.py,line=3,col=1,endLine=3,endColumn=71",
        f"error file={prefix}vllm_mini/models/deepseek/ops/__init__.py,line=3,col=1,endLine=3,endColumn=33",
    ]
    assert "title=importguard (IG001)::eager import in package" in lines[1]
    assert "%0Avllm_mini.models.deepseek.ops -> vllm_mini.models.deepseek.ops.fused_moe (" in lines[1]


def test_github_escapes_data_and_properties(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    finding = Finding(
        code="IG001", name="init-imports-cuda-sink", path="odd,dir/a:b.py", line=2, column=5,
        message="100% eager\r\nnext", chain=(Hop("a", "b", "odd,dir/a:b.py", 2),), end_line=4,
    )
    assert formatter("github")([finding]) == (
        "::error file=odd%2Cdir/a%3Ab.py,line=2,col=5,endLine=4,title=importguard (IG001)"
        "::100%25 eager%0D%0Anext%0Aa -> b (odd,dir/a:b.py:2)\n"
    )


# ----------------------------------------------------------------------------- code scanning

SITES = {
    "pyproject.toml": "[tool.importguard]\n",
    "pkg/__init__.py": "from .gemm import gemm  # kernels\nfrom .gemx import gemm_out\n",
    "pkg/gemm.py": "import cutlass\n\n\ndef gemm(x):\n    return x\n",
    "pkg/gemx.py": "import cutlass\n\n\ndef gemm_out(x):\n    return x\n",
    "other/x.py": "X = 1\n",
}


def sarif_in(cwd: Path, *paths: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "importguard", "check", "--format", "sarif", "--no-cache", *paths],
                          cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    return json.loads(done.stdout)


def sites(log: dict) -> list[tuple[str, int, str]]:
    return [(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
             r["locations"][0]["physicalLocation"]["region"]["startLine"],
             r["partialFingerprints"]["importguardSite/v1"]) for r in log["runs"][0]["results"]]


def test_one_fingerprint_per_import_statement_that_survives_lines_moving(tmp_path: Path):
    root = write_tree(tmp_path, {**SITES, ".git/HEAD": "ref: refs/heads/main\n"})
    before = sites(sarif_in(root, "."))
    assert [(uri, line) for uri, line, _ in before] == [("pkg/__init__.py", 1), ("pkg/__init__.py", 2)]
    assert len({fingerprint for _, _, fingerprint in before}) == 2  # two statements

    init = root / "pkg" / "__init__.py"
    init.write_text('"""Ops."""\n\n# moved down\n' + init.read_text())
    after = sites(sarif_in(root, "."))
    assert [line for _, line, _ in after] == [4, 5]
    assert [f for _, _, f in after] == [f for _, _, f in before]

    # Two identical statements in two files get two fingerprints (the same module imported
    # again in one file is one finding: tests/test_repeated_imports.py).
    (root / "pkg" / "sub").mkdir()
    (root / "pkg" / "sub" / "__init__.py").write_text("from ..gemm import gemm\n")
    (root / "pkg" / "sub2").mkdir()
    (root / "pkg" / "sub2" / "__init__.py").write_text("from ..gemm import gemm\n")
    twins = [site for site in sites(sarif_in(root, ".")) if "/sub" in site[0]]
    assert len(twins) == 2 and len({f for _, _, f in twins}) == 2


def test_uris_are_relative_to_the_repository_root_wherever_the_run_starts(tmp_path: Path):
    root = write_tree(tmp_path / "repo", {**SITES, ".git/HEAD": "ref: refs/heads/main\n"})
    from_root = sarif_in(root, "pkg")
    from_other = sarif_in(root / "other", "../pkg")
    absolute = sarif_in(root / "other", str(root / "other" / ".." / "pkg"))
    for log in (from_root, from_other, absolute):
        run = log["runs"][0]
        assert run["originalUriBaseIds"] == {"%SRCROOT%": {"uri": root.as_uri() + "/"}}
        artifacts = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in run["results"]]
        assert artifacts == [{"uri": "pkg/__init__.py", "uriBaseId": "%SRCROOT%"}] * 2
        flows = [loc["location"]["physicalLocation"]["artifactLocation"]["uri"]
                 for r in run["results"] for loc in r["codeFlows"][0]["threadFlows"][0]["locations"]]
        assert flows == ["pkg/__init__.py", "pkg/gemm.py", "pkg/__init__.py", "pkg/gemx.py"]
    assert sites(from_root) == sites(from_other) == sites(absolute)


def test_regions_are_full_and_rules_link_to_their_docs(tmp_path: Path):
    root = write_tree(tmp_path, {**SITES, ".git/HEAD": "ref: refs/heads/main\n"})
    run = sarif_in(root, ".")["runs"][0]
    regions = [r["locations"][0]["physicalLocation"]["region"] for r in run["results"]]
    # The trailing comment is not part of the statement.
    assert [(g["startLine"], g["startColumn"], g["endLine"], g["endColumn"]) for g in regions] == [(1, 1, 1, 23), (2, 1, 2, 27)]
    driver = run["tool"]["driver"]
    assert "informationUri" not in driver  # importguard has no public home yet (output/links.py)
    # No dead link in code scanning: no helpUri without a public page, no file:// path
    # into the environment; the rule's docs are the help, as markdown and text.
    assert "helpUri" not in json.dumps(run) and str(Path(importguard.__file__).parent) not in json.dumps(run)
    for rule in driver["rules"]:
        doc = (Path(importguard.__file__).parent / "rules" / "docs" / f"{rule['id']}.md").read_text(encoding="utf-8")
        assert rule["help"] == {"text": doc, "markdown": doc} and doc.startswith(f"# {rule['id']} ")
    assert validator().is_valid({"version": "2.1.0", "runs": [run]})


def test_rules_link_to_their_page_once_there_is_a_public_home(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(links, "REPOSITORY", "https://example.org/importguard")
    rules = json.loads(formatter("sarif")([]))["runs"][0]["tool"]["driver"]["rules"]
    assert [rule["helpUri"] for rule in rules][0] == (
        f"https://example.org/importguard/blob/v{importguard.__version__}/docs/rules/IG001.md")


def test_sarif_uris_are_escaped_and_outside_paths_are_normalised_file_uris(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    findings = [
        Finding("IG003", "x", "dir with space/m.py", 1, 1, "m"),
        Finding("IG003", "x", "/abs/../abs/m.py", 1, 1, "m"),
    ]
    results = json.loads(formatter("sarif")(findings))["runs"][0]["results"]
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in results]
    assert uris == [{"uri": "dir%20with%20space/m.py", "uriBaseId": "%SRCROOT%"}, {"uri": "file:///abs/m.py"}]
    assert validator().is_valid(json.loads(formatter("sarif")(findings)))


@pytest.fixture(scope="session")
def multitool(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Microsoft's SARIF validator, installed from npm into pytest's cache once (into a
    temporary directory when the cache plugin is off)."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("sarif-multitool needs npm (Node.js), which is not installed")
    cache = getattr(request.config, "cache", None)
    prefix = Path(str(cache.mkdir("sarif-multitool"))) if cache is not None else tmp_path_factory.mktemp("multitool")
    found = sorted(prefix.glob("node_modules/@microsoft/sarif-multitool-*/Sarif.Multitool"))
    if not found:
        try:
            done = subprocess.run([npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund",
                                   "@microsoft/sarif-multitool@5"], capture_output=True, text=True, timeout=300)
        except subprocess.TimeoutExpired:
            pytest.skip("npm install @microsoft/sarif-multitool took over 300 s (no registry access?)")
        found = sorted(prefix.glob("node_modules/@microsoft/sarif-multitool-*/Sarif.Multitool"))
        if done.returncode != 0 or not found:
            pytest.skip(f"npm install @microsoft/sarif-multitool failed: {(done.stderr or done.stdout).strip()[-300:]}")
    tool = found[0]
    tool.chmod(tool.stat().st_mode | 0o100)  # its postinstall chmod, which npm may not run
    return tool


def test_sarif_multitool_validate_finds_no_error(multitool: Path, tmp_path: Path):
    root = write_tree(tmp_path / "repo", {**SITES, ".git/HEAD": "ref: refs/heads/main\n"})
    log = tmp_path / "importguard.sarif"
    log.write_text(json.dumps(sarif_in(root / "other", "../pkg")))
    out = tmp_path / "validation.sarif"
    done = subprocess.run([str(multitool), "validate", "--level", "Error;Warning", "--log", "ForceOverwrite",
                           "-o", str(out), str(log)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads(out.read_text())["runs"][0]["results"]
    found = sorted((r.get("level", "warning"), r["ruleId"]) for r in results)  # SARIF's default level
    # The one warning: no informationUri, since importguard has no public home yet.
    assert found == [("warning", "SARIF2005")], found
