"""Report -> text, named as ruff names its formats: `concise` (one line per finding;
`text` is its old name), `full` (with the chain and the fix) and `grouped` (findings
under their file). Findings go to stdout; the summary goes to stderr (see cli)."""

from __future__ import annotations

from itertools import groupby
from typing import Iterable

from importguard.model import Finding
from importguard.output.chain import hop_text
from importguard.output.style import PLAIN, Style


def format_text(findings: Iterable[Finding], style: Style = PLAIN) -> str:
    return "".join(f"{_head(f, style)}\n" for f in findings)


format_concise = format_text


def format_full(findings: Iterable[Finding], style: Style = PLAIN) -> str:
    blocks = []
    for finding in findings:
        lines = [_head(finding, style)]
        for hop in finding.chain:
            lines.append(f"    {hop_text(hop)}")
        confirmation = dict(finding.extra).get("confirmation")
        if confirmation:
            lines.append(f"    confirmation: {confirmation.get('summary', confirmation)}")
        if finding.fix:
            lines.append(f"    {style('fix', 'green')}: {finding.fix_text}")
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def format_grouped(findings: Iterable[Finding], style: Style = PLAIN) -> str:
    """ruff's `grouped`: the file once, then `line:col code message` under it."""
    blocks = []
    for path, found in groupby(findings, key=lambda f: f.path):
        lines = [f"{style(path, 'bold')}:"]
        lines += [f"  {f.line}:{f.column} {style(f.code, 'bold', 'red')} {f.message}" for f in found]
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def _head(finding: Finding, style: Style) -> str:
    if not style.enabled:
        return f"{finding.path}:{finding.line}:{finding.column}: {finding.code} {finding.message}"
    colon = style(":", "cyan")
    return (f"{style(finding.path, 'bold')}{colon}{finding.line}{colon}{finding.column}{colon} "
            f"{style(finding.code, 'bold', 'red')} {finding.message}")


def summary(count: int, files: int) -> str:
    noun = "finding" if count == 1 else "findings"
    file_noun = "file" if files == 1 else "files"
    return f"Found {count} {noun} in {files} {file_noun} checked." if count else f"All checks passed ({files} {file_noun} checked)."
