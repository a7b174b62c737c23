"""Report -> JSON.

The JSON Schema is shipped as importguard/output/report.schema.json (package data;
tests/test_cli_json_schema.py validates real output against it). Version 1 (stable;
fields are only ever added):
{"version": 1, "findings": [{"code", "name", "path", "line", "column", "message",
  "sink", "strength", "level", "chain": [{"importer", "imported", "path", "line", "via", "kind"}], "fix",
  "repeats": [{"line", "column"}],
  "root_cause": {"path", "line", "what"} | null,
  "confirmation"?, "installed"?: [{"distribution", "version", "module"}]}],
  "root_causes": [{"path", "line", "what", "findings", "sites": [{"path", "line"}]}],
  "plan": {"edits": [{"path", "line", "kind", "what", "findings"}], "cleared", "exact",
           "method", "unresolved": [{"path", "line", "kind": "unresolved", "what", "findings": 0}]} | null,
  "verify_install"?: {verify-install's JSON, docs/verify-install.md}}
`path` is relative to the working directory; `line`/`column` are 1-based.
`root_cause` is where the chain enters its sink (the last hop), or the call itself for
IG003; null for the other codes. `root_causes` groups findings by it, most first.
`plan` is the fewest import or call sites whose change clears every IG001/IG002/IG003
finding (`kind`: "import" or "call"; `findings`: how many findings have an eager path
to the site that passes no other edit of the plan; `exact`: false when greedy, `method` says why;
`unresolved`: calls at import on the paths from the findings' sites that the model could not follow).
A hop's `kind` is "import" (`importer` imports `imported`) or "call" (code of module or
function `importer` calls `imported` at path:line); call hops follow the import hops.
`strength` is the sink's (model.STRENGTH_WORDS), `level` "error" or "warning" from it.
`repeats`: later eager imports of the same module in the file (IG001/IG002), which import
nothing new once the finding's own site ran; they are reported with it, and --fix rewrites them too.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from importguard.model import Finding, Report
from importguard.output.chain import finding_level
from importguard.output.printable import printable_data
from importguard.plan.causes import root_cause, root_causes

JSON_VERSION = 1


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
        "fix": finding.fix_text,
        "repeats": [{"line": line, "column": column} for line, column in finding.repeats],
    }
    cause = root_cause(finding)
    data["root_cause"] = None if cause is None else cause.to_dict()
    for key, value in finding.extra:
        data[key] = value
    return data


def format_json(findings: Iterable[Finding], **sections: Any) -> str:
    """`sections` are further top-level keys, e.g. check --verify-install's "verify_install"."""
    payload = {"version": JSON_VERSION, "findings": [finding_dict(f) for f in findings], **sections}
    return json.dumps(printable_data(payload), indent=2, sort_keys=False) + "\n"


def format_json_report(report: Report, **sections: Any) -> str:
    """The findings with the report's root causes and fix plan."""
    return format_json(
        report.findings,
        root_causes=[cause.to_dict() for cause in root_causes(report.findings)],
        plan=None if report.plan is None else report.plan.to_dict(),
        **sections,
    )


def statistics_json(report: Report) -> str:
    """--statistics with --output-format json."""
    counts: dict[str, dict[str, Any]] = {}
    for finding in report.findings:
        entry = counts.setdefault(finding.code, {"code": finding.code, "name": finding.name, "count": 0})
        entry["count"] += 1
    payload = {
        "version": JSON_VERSION,
        "statistics": sorted(counts.values(), key=lambda e: (-e["count"], e["code"])),
        "root_causes": [cause.to_dict() for cause in root_causes(report.findings)],
    }
    return json.dumps(printable_data(payload), indent=2) + "\n"
