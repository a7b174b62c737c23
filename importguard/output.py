"""Report -> text. Findings go to stdout; the summary goes to stderr (see cli).

JSON schema, version 1 (stable; fields are only ever added):
{"version": 1, "findings": [{"code", "name", "path", "line", "column", "message",
  "sink", "strength", "level", "chain": [{"importer", "imported", "path", "line", "via", "kind"}], "fix",
  "confirmation"?, "installed"?: [{"distribution", "version", "module"}]}],
  "verify_install"?: {verify-install's JSON, docs/verify-install.md}}
`path` is relative to the working directory; `line`/`column` are 1-based.
A hop's `kind` is "import" (`importer` imports `imported`) or "call" (code of module or
function `importer` calls `imported` at path:line); call hops follow the import hops.
`strength` is the sink's (types.STRENGTH_WORDS), `level` "error" or "warning" from it.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Iterable

from importguard.types import DRIVER_API, Finding, Hop

JSON_VERSION = 1


def format_text(findings: Iterable[Finding]) -> str:
    return "".join(f"{_head(f)}\n" for f in findings)


def format_full(findings: Iterable[Finding]) -> str:
    blocks = []
    for finding in findings:
        lines = [_head(finding)]
        for hop in finding.chain:
            lines.append(f"    {hop_text(hop)}")
        confirmation = dict(finding.extra).get("confirmation")
        if confirmation:
            lines.append(f"    confirmation: {confirmation.get('summary', confirmation)}")
        if finding.fix:
            lines.append(f"    fix: {finding.fix}")
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def hop_text(hop: Hop) -> str:
    via = f", {hop.via}" if hop.via else ""
    if hop.kind == "call":
        return f"{hop.path}:{hop.line} {hop.imported}() (called by {hop.importer}{via})"
    return f"{hop.importer} -> {hop.imported} ({hop.path}:{hop.line}{via})"


def finding_level(finding: Finding) -> str:
    """"warning" when the chain ends at the driver API imported without a call, else
    "error": the SARIF level and the LSP severity."""
    return "warning" if finding.strength == DRIVER_API else "error"


def finding_dict(finding: Finding) -> dict[str, Any]:
    data: dict[str, Any] = {
        "code": finding.code,
        "name": finding.name,
        "path": finding.path,
        "line": finding.line,
        "column": finding.column,
        "message": finding.message,
        "sink": finding.sink,
        "strength": finding.strength,
        "level": finding_level(finding),
        "chain": [
            {"importer": h.importer, "imported": h.imported, "path": h.path, "line": h.line, "via": h.via,
             "kind": h.kind}
            for h in finding.chain
        ],
        "fix": finding.fix,
    }
    for key, value in finding.extra:
        data[key] = value
    return data


def format_json(findings: Iterable[Finding], **sections: Any) -> str:
    """`sections` are further top-level keys, e.g. check --verify-install's "verify_install"."""
    payload = {"version": JSON_VERSION, "findings": [finding_dict(f) for f in findings], **sections}
    return json.dumps(payload, indent=2, sort_keys=False) + "\n"


def _head(finding: Finding) -> str:
    return f"{finding.path}:{finding.line}:{finding.column}: {finding.code} {finding.message}"


def format_sarif(findings: Iterable[Finding]) -> str:
    from importguard.output_ci import format_sarif as sarif  # loads the rule docs

    return sarif(findings)


def format_github(findings: Iterable[Finding]) -> str:
    from importguard.output_ci import format_github as github

    return github(findings)


FORMATTERS: dict[str, Callable[[Iterable[Finding]], str]] = {
    "text": format_text,
    "full": format_full,
    "json": format_json,
    "sarif": format_sarif,
    "github": format_github,
}


def summary(count: int, files: int) -> str:
    noun = "finding" if count == 1 else "findings"
    file_noun = "file" if files == 1 else "files"
    return f"Found {count} {noun} in {files} {file_noun} checked." if count else f"All checks passed ({files} {file_noun} checked)."
