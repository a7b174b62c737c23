"""Report -> SARIF 2.1.0 (GitHub code scanning and other SARIF viewers).

One run; `tool.driver.rules` lists every rule with its documentation (from the rule
docstrings, as `importguard rule` prints it; a link to it once there is a public page); each result has the site
as its location, with a full region, and the chain as a codeFlow, one threadFlow
location per hop. URIs are relative to the repository root under `%SRCROOT%`
(output/source.py), wherever the run starts. A result's fingerprint names its site by
the text of the import statement, not its line, so it survives lines moving above it,
and two statements with the same chain keep two fingerprints.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import re
from pathlib import Path
from typing import Any, Iterable

from importguard import __version__
from importguard.output.links import information_uri, rule_doc_uri
from importguard.model import Finding, Hop
from importguard.output.chain import finding_level, hop_text
from importguard.output.printable import printable_data
from importguard.output.source import SRCROOT, artifact, region, repository_root, source_lines, with_snippet
from importguard.rules.documentation import rule_markdown
from importguard.rules import ALL_RULES, Rule

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT = "importguardSite/v1"


def format_sarif(findings: Iterable[Finding]) -> str:
    root = repository_root(Path.cwd())
    rules = list(ALL_RULES)
    index = {rule.code: number for number, rule in enumerate(rules)}
    seen: dict[str, int] = {}
    results = [_result(finding, index, root, seen) for finding in findings]
    driver: dict[str, Any] = {"name": "importguard", "version": __version__, "semanticVersion": __version__}
    home = information_uri()
    if home:
        driver["informationUri"] = home
    driver["rules"] = [_rule(rule) for rule in rules]
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": driver},
                "originalUriBaseIds": {SRCROOT: {"uri": root.as_uri().rstrip("/") + "/"}},
                # Our columns count characters, not UTF-16 code units (SARIF's default).
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return json.dumps(printable_data(log), indent=2) + "\n"


def pascal_case(name: str) -> str:
    """SARIF's advice for `rule.name`: one Pascal-case identifier."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[-_\s]+", name) if part)


def _rule(rule: type[Rule]) -> dict[str, Any]:
    """The rule's documentation travels in `help` (code scanning renders `markdown`);
    `helpUri` only where a public page exists: a file:// path into the user's
    environment is a dead link on GitHub (output/links.py)."""
    described: dict[str, Any] = {
        "id": rule.code,
        "name": pascal_case(rule.name),
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": _section(rule, "What it does") or rule.summary},
        "help": {"text": rule_markdown(rule), "markdown": rule_markdown(rule)},
    }
    if information_uri():
        described["helpUri"] = rule_doc_uri(rule.code)
    described["defaultConfiguration"] = {"level": "error"}
    described["properties"] = {"tags": ["imports", "cuda", "fork-safety"], "precision": "high", "slug": rule.name}
    return described


def _section(rule: type[Rule], title: str) -> str:
    doc = inspect.cleandoc(rule.__doc__ or "")
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", doc, re.M | re.S)
    return " ".join(match.group(1).split()) if match else ""


def _physical(path: str, site: dict[str, int], root: Path) -> dict[str, Any]:
    return {"physicalLocation": {"artifactLocation": artifact(path, root), "region": site}}


def _result(finding: Finding, index: dict[str, int], root: Path, seen: dict[str, int]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.code,
        "level": finding_level(finding),
        "message": {"text": finding.message},
        "locations": [_physical(finding.path, with_snippet(finding.path, _site(finding)), root)],
        "partialFingerprints": {FINGERPRINT: _fingerprint(finding, root, seen)},
    }
    if finding.code in index:
        result["ruleIndex"] = index[finding.code]
    if finding.chain:
        result["codeFlows"] = [
            {
                "message": {"text": f"{_flow_words(finding)} to `{finding.sink}`"},
                "threadFlows": [{"locations": [_flow_location(hop, n, root) for n, hop in enumerate(finding.chain)]}],
            }
        ]
    extra = dict(finding.extra)
    if extra:
        result["properties"] = {key: extra[key] for key in sorted(extra)}
    return result


def _flow_words(finding: Finding) -> str:
    kinds = {hop.kind for hop in finding.chain}
    return {frozenset({"call"}): "call chain", frozenset({"import"}): "import chain"}.get(
        frozenset(kinds), "import and call chain"
    )


def _site(finding: Finding) -> dict[str, int]:
    return region(finding.path, finding.line, finding.column, finding.end_line)


def _flow_location(hop: Hop, order: int, root: Path) -> dict[str, Any]:
    lines = source_lines(hop.path)
    text = lines[hop.line - 1] if 0 < hop.line <= len(lines) else ""
    column = len(text) - len(text.lstrip()) + 1
    location = _physical(hop.path, region(hop.path, hop.line, column, hop.line), root)
    location["message"] = {"text": hop_text(hop)}
    return {"location": location, "executionOrder": order + 1}


def _fingerprint(finding: Finding, root: Path, seen: dict[str, int]) -> str:
    """The rule, file, chain and the statement's own text (whitespace collapsed), plus
    how many earlier results had all of these the same: no line number, so moving the
    statement keeps it; two statements never share one."""
    uri = artifact(finding.path, root)["uri"]
    modules = [hop.importer for hop in finding.chain[:1]] + [hop.imported for hop in finding.chain]
    lines = source_lines(finding.path)
    last = max(finding.end_line, finding.line)
    statement = " ".join(" ".join(lines[finding.line - 1 : last]).split()) if last <= len(lines) else f"line {finding.line}"
    key = "\0".join([finding.code, uri, finding.sink or "", *modules, statement])
    occurrence = seen.get(key, 0)
    seen[key] = occurrence + 1
    return hashlib.sha256(f"{key}\0{occurrence}".encode("utf-8", "surrogateescape")).hexdigest()[:32]
