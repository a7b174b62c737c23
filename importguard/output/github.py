"""Report -> GitHub Actions workflow commands (annotations on the pull request diff).

`::error file=…,line=…,col=…,endLine=…,endColumn=…,title=importguard (IG001)::message`;
`file` is relative to the repository root (output/source.py), wherever the run starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from importguard.model import Finding
from importguard.output.chain import hop_text
from importguard.output.source import region, repository_path, repository_root


def format_github(findings: Iterable[Finding]) -> str:
    """`::error file=…,line=…,col=…,endLine=…,endColumn=…,title=importguard (IG001)::message`
    per finding, the chain on the following lines of the message (GitHub shows them in
    the annotation)."""
    root = repository_root(Path.cwd())
    lines = []
    for finding in findings:
        site = region(finding.path, finding.line, finding.column, finding.end_line)
        properties = {
            # GitHub resolves `file` against the checkout, wherever the run started.
            "file": repository_path(finding.path, root),
            "line": str(site["startLine"]),
            "col": str(site["startColumn"]),
            "endLine": str(site["endLine"]),
        }
        if "endColumn" in site:
            properties["endColumn"] = str(site["endColumn"])
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
