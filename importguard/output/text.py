"""Report -> text (`text`: one line per finding; `full`: with the chain and the fix).
Findings go to stdout; the summary goes to stderr (see cli)."""

from __future__ import annotations

from typing import Iterable

from importguard.model import Finding
from importguard.output.chain import hop_text


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
            lines.append(f"    fix: {finding.fix_text}")
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def _head(finding: Finding) -> str:
    return f"{finding.path}:{finding.line}:{finding.column}: {finding.code} {finding.message}"


def summary(count: int, files: int) -> str:
    noun = "finding" if count == 1 else "findings"
    file_noun = "file" if files == 1 else "files"
    return f"Found {count} {noun} in {files} {file_noun} checked." if count else f"All checks passed ({files} {file_noun} checked)."
