"""A finding as an LSP `Diagnostic`, in its JSON form (no pygls, no lsprotocol): the
early start (early.py) publishes it as it is, the server structures it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from pygls.uris import from_fs_path  # pygls' small URI module: what the server's URIs come from

from importguard.output.links import rule_doc_uri
from importguard.model import Finding
from importguard.output.chain import finding_level, hop_text

SOURCE = "importguard"
ERROR, WARNING = 1, 2  # DiagnosticSeverity
LOG = 4  # MessageType.Log


def _range(start_line: int, start_column: int, end_line: int, end_column: int) -> dict[str, Any]:
    return {"start": {"line": start_line, "character": start_column},
            "end": {"line": end_line, "character": end_column}}


def diagnostic_json(finding: Finding, lines: Sequence[str]) -> dict[str, Any]:
    """`lines`: the document's lines with their ends (the site's last line sets the end column)."""
    start_line = finding.line - 1
    end_line = max(finding.end_line, finding.line) - 1
    end_text = lines[end_line] if end_line < len(lines) else ""
    related = [
        {"location": {"uri": from_fs_path(str(Path(hop.path).absolute())) or "",
                      "range": _range(hop.line - 1, 0, hop.line, 0)},
         "message": hop_text(hop)}
        for hop in finding.chain
    ]
    result: dict[str, Any] = {
        "range": _range(start_line, finding.column - 1, end_line, len(end_text.rstrip("\r\n"))),
        "severity": ERROR if finding_level(finding) == "error" else WARNING,
        "code": finding.code,
        "codeDescription": {"href": rule_doc_uri(finding.code)},
        "source": SOURCE,
        "message": finding.message,
    }
    if related:
        result["relatedInformation"] = related
    result["data"] = {
        "code": finding.code,
        "line": finding.line,
        "column": finding.column,
        "end_line": max(finding.end_line, finding.line),
        "package": finding.chain[0].importer if finding.chain else "",
        "repeats": [list(site) for site in finding.repeats],
    }
    return result
