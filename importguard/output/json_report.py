"""Report -> JSON.

JSON schema, version 1 (stable; fields are only ever added):
{"version": 1, "findings": [{"code", "name", "path", "line", "column", "message",
  "sink", "chain": [{"importer", "imported", "path", "line", "via"}], "fix",
  "confirmation"?, "installed"?: [{"distribution", "version", "module"}]}],
  "verify_install"?: {verify-install's JSON, docs/verify-install.md}}
`path` is relative to the working directory; `line`/`column` are 1-based.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from importguard.model import Finding

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
        "chain": [
            {"importer": h.importer, "imported": h.imported, "path": h.path, "line": h.line, "via": h.via}
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
