"""CI formats: SARIF 2.1.0 (GitHub code scanning and other SARIF viewers) and GitHub
Actions workflow commands (annotations on the pull request diff).

SARIF: one run; `tool.driver.rules` lists every rule with its documentation (from the
rule docstrings, as `importguard rule` prints it) and a link to it; each result has the
site as its location, with a full region, and the chain as a codeFlow, one threadFlow
location per hop. URIs are relative to the repository root (the nearest directory above
the working directory with a `.git`, else the working directory) under `%SRCROOT%`,
wherever the run starts and however the paths were spelled; a file outside it gets an
absolute, normalised `file:` URI. A result's fingerprint names its site by the text of
the import statement, not its line, so it survives lines moving above it, and two
statements with the same chain keep two fingerprints.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import re
import tokenize
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import quote

from importguard import __version__
from importguard.links import information_uri, rule_doc_uri
from importguard.output import hop_text
from importguard.rule_docs import rule_markdown
from importguard.rules import ALL_RULES, Rule
from importguard.types import Finding, Hop

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"
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
    return json.dumps(log, indent=2) + "\n"


def repository_root(start: Path) -> Path:
    """The nearest directory at or above `start` with a `.git` (a directory, or the file
    of a worktree or submodule), else `start`. No git command runs."""
    start = Path(os.path.normpath(start.absolute()))
    for candidate in (start, *start.parents):
        if (candidate / ".git").exists():
            return candidate
    return start


def pascal_case(name: str) -> str:
    """SARIF's advice for `rule.name`: one Pascal-case identifier."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[-_\s]+", name) if part)


def _rule(rule: type[Rule]) -> dict[str, Any]:
    return {
        "id": rule.code,
        "name": pascal_case(rule.name),
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": _section(rule, "What it does") or rule.summary},
        "help": {"text": rule_markdown(rule), "markdown": rule_markdown(rule)},
        "helpUri": rule_doc_uri(rule.code),
        "defaultConfiguration": {"level": "error"},
        "properties": {"tags": ["imports", "cuda", "fork-safety"], "precision": "high", "slug": rule.name},
    }


def _section(rule: type[Rule], title: str) -> str:
    doc = inspect.cleandoc(rule.__doc__ or "")
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", doc, re.M | re.S)
    return " ".join(match.group(1).split()) if match else ""


def _artifact(path: str, root: Path) -> dict[str, str]:
    absolute = Path(os.path.normpath(Path(path).absolute()))
    try:
        relative = absolute.relative_to(root)
    except ValueError:
        return {"uri": absolute.as_uri()}
    return {"uri": quote(relative.as_posix()), "uriBaseId": SRCROOT}


def _region(path: str, line: int, column: int, end_line: int) -> dict[str, int]:
    """startLine/startColumn to the end of the statement's last line (its trailing
    comment excluded); without the file's text, the lines alone."""
    end_line = max(end_line, line, 1)
    region = {"startLine": max(line, 1), "startColumn": max(column, 1), "endLine": end_line}
    lines = source_lines(path)
    if end_line <= len(lines):
        region["endColumn"] = max(code_end(lines[end_line - 1]) + 1, region["startColumn"] + 1 if end_line == line else 1)
    return region


def _snippet(path: str, region: dict[str, int]) -> dict[str, Any]:
    lines = source_lines(path)
    if region["endLine"] > len(lines):
        return region
    text = "\n".join(lines[region["startLine"] - 1 : region["endLine"]])
    return {**region, "snippet": {"text": text}}


def _physical(path: str, region: dict[str, int], root: Path) -> dict[str, Any]:
    return {"physicalLocation": {"artifactLocation": _artifact(path, root), "region": region}}


def _result(finding: Finding, index: dict[str, int], root: Path, seen: dict[str, int]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.code,
        "level": "error",
        "message": {"text": finding.message},
        "locations": [_physical(finding.path, _snippet(finding.path, _region(finding.path, finding.line, finding.column, finding.end_line)), root)],
        "partialFingerprints": {FINGERPRINT: _fingerprint(finding, root, seen)},
    }
    if finding.code in index:
        result["ruleIndex"] = index[finding.code]
    if finding.chain:
        result["codeFlows"] = [
            {
                "message": {"text": f"import chain to `{finding.sink}`"},
                "threadFlows": [{"locations": [_flow_location(hop, n, root) for n, hop in enumerate(finding.chain)]}],
            }
        ]
    extra = dict(finding.extra)
    if extra:
        result["properties"] = {key: extra[key] for key in sorted(extra)}
    return result


def _flow_location(hop: Hop, order: int, root: Path) -> dict[str, Any]:
    lines = source_lines(hop.path)
    text = lines[hop.line - 1] if 0 < hop.line <= len(lines) else ""
    column = len(text) - len(text.lstrip()) + 1
    location = _physical(hop.path, _region(hop.path, hop.line, column, hop.line), root)
    location["message"] = {"text": hop_text(hop)}
    return {"location": location, "executionOrder": order + 1}


def _fingerprint(finding: Finding, root: Path, seen: dict[str, int]) -> str:
    """The rule, file, chain and the statement's own text (whitespace collapsed), plus
    how many earlier results had all of these the same: no line number, so moving the
    statement keeps it; two statements never share one."""
    artifact = _artifact(finding.path, root)["uri"]
    modules = [hop.importer for hop in finding.chain[:1]] + [hop.imported for hop in finding.chain]
    lines = source_lines(finding.path)
    last = max(finding.end_line, finding.line)
    statement = " ".join(" ".join(lines[finding.line - 1 : last]).split()) if last <= len(lines) else f"line {finding.line}"
    key = "\0".join([finding.code, artifact, finding.sink or "", *modules, statement])
    occurrence = seen.get(key, 0)
    seen[key] = occurrence + 1
    return hashlib.sha256(f"{key}\0{occurrence}".encode("utf-8")).hexdigest()[:32]


@lru_cache(maxsize=256)
def source_lines(path: str) -> tuple[str, ...]:
    """The file's lines without line ends (decoded as Python does), or () when it
    cannot be read."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return ()
    try:
        encoding, _ = tokenize.detect_encoding(iter(data.splitlines(keepends=True)).__next__)
        text = data.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError):
        text = data.decode("utf-8", errors="replace")
    return tuple(text.splitlines())


def code_end(line: str) -> int:
    """Characters of `line` before its trailing comment and whitespace."""
    try:
        tokens = list(tokenize.generate_tokens(iter([line + "\n"]).__next__))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return len(line.rstrip())
    for token in tokens:
        if token.type == tokenize.COMMENT:
            return len(line[: token.start[1]].rstrip())
    return len(line.rstrip())


# ----------------------------------------------------------------------------- github


def format_github(findings: Iterable[Finding]) -> str:
    """`::error file=…,line=…,col=…,endLine=…,endColumn=…,title=importguard (IG001)::message`
    per finding, the chain on the following lines of the message (GitHub shows them in
    the annotation)."""
    root = repository_root(Path.cwd())
    lines = []
    for finding in findings:
        region = _region(finding.path, finding.line, finding.column, finding.end_line)
        artifact = _artifact(finding.path, root)
        properties = {
            # GitHub resolves `file` against the checkout, wherever the run started.
            "file": artifact["uri"] if "uriBaseId" not in artifact else Path(os.path.normpath(Path(finding.path).absolute())).relative_to(root).as_posix(),
            "line": str(region["startLine"]),
            "col": str(region["startColumn"]),
            "endLine": str(region["endLine"]),
        }
        if "endColumn" in region:
            properties["endColumn"] = str(region["endColumn"])
        properties["title"] = f"importguard ({finding.code})"
        message = "\n".join([finding.message, *(hop_text(hop) for hop in finding.chain)])
        rendered = ",".join(f"{key}={_escape_property(value)}" for key, value in properties.items())
        lines.append(f"::error {rendered}::{_escape_data(message)}\n")
    return "".join(lines)


def _escape_data(text: str) -> str:
    # As @actions/core escapes command data.
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")
