"""Report -> GitHub Actions workflow commands (annotations on the pull request diff)."""

from __future__ import annotations

from typing import Iterable

from importguard.model import Finding
from importguard.output.chain import hop_text


def format_github(findings: Iterable[Finding]) -> str:
    """`::error file=…,line=…,col=…,title=IG001 name::message` per finding, the chain on
    the following lines of the message (GitHub shows them in the annotation)."""
    lines = []
    for finding in findings:
        properties = {
            "file": finding.path,
            "line": str(finding.line),
            "col": str(finding.column),
        }
        if finding.end_line > finding.line:
            properties["endLine"] = str(finding.end_line)
        properties["title"] = f"{finding.code} {finding.name}"
        message = "\n".join([finding.message, *(hop_text(hop) for hop in finding.chain)])
        rendered = ",".join(f"{key}={_escape_property(value)}" for key, value in properties.items())
        lines.append(f"::error {rendered}::{_escape_data(message)}\n")
    return "".join(lines)


def _escape_data(text: str) -> str:
    # As @actions/core escapes command data.
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")
