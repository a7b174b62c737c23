"""Report -> SARIF 2.1.0 (GitHub code scanning and other SARIF viewers).

One run; `tool.driver.rules` lists every rule with its documentation (from the
rule docstrings, as `importguard rule` prints it); each result has the site as its
location and the chain as a codeFlow, one threadFlow location per hop. Paths are
relative to the working directory (run from the repository root for code scanning).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import re
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import quote

from importguard import __version__
from importguard.output.chain import hop_text
from importguard.rule_docs import rule_markdown
from importguard.rules import ALL_RULES, Rule
from importguard.model import Finding, Hop

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://pypi.org/project/importguard/"


def format_sarif(findings: Iterable[Finding]) -> str:
    rules = list(ALL_RULES)
    index = {rule.code: number for number, rule in enumerate(rules)}
    results = [_result(finding, index) for finding in findings]
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "importguard",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": [_rule(rule) for rule in rules],
                    }
                },
                # Our columns count characters, not UTF-16 code units (SARIF's default).
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2) + "\n"


def _rule(rule: type[Rule]) -> dict[str, Any]:
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": _section(rule, "What it does") or rule.summary},
        "help": {"text": rule_markdown(rule), "markdown": rule_markdown(rule)},
        "defaultConfiguration": {"level": "error"},
        "properties": {"tags": ["imports", "cuda", "fork-safety"], "precision": "high"},
    }


def _section(rule: type[Rule], title: str) -> str:
    doc = inspect.cleandoc(rule.__doc__ or "")
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", doc, re.M | re.S)
    return " ".join(match.group(1).split()) if match else ""


def _uri(path: str) -> dict[str, str]:
    if Path(path).is_absolute():
        return {"uri": Path(path).as_uri()}
    return {"uri": quote(Path(path).as_posix()), "uriBaseId": "%SRCROOT%"}


def _physical(path: str, line: int, column: int = 0) -> dict[str, Any]:
    region: dict[str, int] = {"startLine": max(line, 1)}
    if column:
        region["startColumn"] = column
    return {"physicalLocation": {"artifactLocation": _uri(path), "region": region}}


def _result(finding: Finding, index: dict[str, int]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.code,
        "level": "error",
        "message": {"text": finding.message},
        "locations": [_physical(finding.path, finding.line, finding.column)],
        # Stable across line moves, so code scanning tracks the same chain as one alert.
        "partialFingerprints": {"importguardChain/v1": _fingerprint(finding)},
    }
    if finding.code in index:
        result["ruleIndex"] = index[finding.code]
    if finding.chain:
        result["codeFlows"] = [
            {
                "message": {"text": f"import chain to `{finding.sink}`"},
                "threadFlows": [{"locations": [_flow_location(hop, n) for n, hop in enumerate(finding.chain)]}],
            }
        ]
    extra = dict(finding.extra)
    if extra:
        result["properties"] = {key: extra[key] for key in sorted(extra)}
    return result


def _flow_location(hop: Hop, order: int) -> dict[str, Any]:
    location = _physical(hop.path, hop.line)
    location["message"] = {"text": hop_text(hop)}
    return {"location": location, "executionOrder": order + 1}


def _fingerprint(finding: Finding) -> str:
    modules = [hop.importer for hop in finding.chain[:1]] + [hop.imported for hop in finding.chain]
    key = "\0".join([finding.code, finding.path, finding.sink or "", *modules])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
