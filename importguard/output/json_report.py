"""Report -> JSON.

JSON schema, version 1 (stable; fields are only ever added):
{"version": 1, "findings": [{"code", "name", "path", "line", "column", "message",
  "sink", "strength", "level", "chain": [{"importer", "imported", "path", "line", "via", "kind"}], "fix",
  "confirmation"?, "installed"?: [{"distribution", "version", "module"}]}],
  "verify_install"?: {verify-install's JSON, docs/verify-install.md}}
`path` is relative to the working directory; `line`/`column` are 1-based.
A hop's `kind` is "import" (`importer` imports `imported`) or "call" (code of module or
function `importer` calls `imported` at path:line); call hops follow the import hops.
`strength` is the sink's (model.STRENGTH_WORDS), `level` "error" or "warning" from it.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from importguard.model import Finding
from importguard.output.chain import finding_level

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
    }
    for key, value in finding.extra:
        data[key] = value
    return data


def format_json(findings: Iterable[Finding], **sections: Any) -> str:
    """`sections` are further top-level keys, e.g. check --verify-install's "verify_install"."""
    payload = {"version": JSON_VERSION, "findings": [finding_dict(f) for f in findings], **sections}
    return json.dumps(payload, indent=2, sort_keys=False) + "\n"
