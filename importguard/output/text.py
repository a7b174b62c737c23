"""Report -> text, named as ruff names its formats: `concise` (one short line per
finding, the problem and the sink it reaches; `text` is its old name), `full` (the whole
message, then the chain and the fix) and `grouped` (whole messages under their file).
Findings go to stdout; the summary goes to stderr (see cli)."""

from __future__ import annotations

import re
from itertools import groupby
from typing import Iterable

from importguard.model import CONFIGURED, DRIVER_API, INITIALIZER, VERSION_DEPENDENT, Finding
from importguard.output.chain import hop_text
from importguard.output.style import PLAIN, Style


def format_text(findings: Iterable[Finding], style: Style = PLAIN) -> str:
    return "".join(f"{_head(f, style, concise_message(f))}\n" for f in findings)


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


# The strength as a short tag (the message, SARIF and the editor have the long words).
CONCISE_STRENGTH = {INITIALIZER: "initializer", DRIVER_API: "driver API, no call", CONFIGURED: "configured sink",
                    VERSION_DEPENDENT: "initializer in some versions"}
# The rules' "(CONDITION, but eager when it runs)": the condition alone is kept.
CONDITIONAL = re.compile(r" \(([^()]*), but eager when it runs\)")


def concise_message(finding: Finding) -> str:
    """The message's problem and the sink it reaches, without the reason measured, the
    chain and the fix (`full` and the editor show those): `eager import in package
    `__init__` reaches `cutlass` [measured CUDA initializer]`. The rules write their
    messages as "PROBLEM reaches SINK, which REASON [STRENGTH]: CHAIN; FIX" (IG001,
    IG002) and "`CALL()` runs at import; it REASON [STRENGTH]..." or "`CALL()` runs at
    import and reaches `SINK()`, which ..." (IG003); tests/test_cli_concise.py holds
    each rule to it. Other messages (IG9xx: the problem, then its short fix) are whole."""
    message = finding.message
    strength = f" [{CONCISE_STRENGTH[finding.strength]}]" if finding.strength in CONCISE_STRENGTH else ""
    if finding.code in ("IG001", "IG002") and finding.sink and " reaches " in message:
        calls = [hop for hop in finding.chain if hop.kind == "call"]
        last = finding.chain[-1]
        # With call hops, the chain ends at the sink call or at a sink module a function imports.
        sink = (f"{last.imported}()" if last.kind == "call" else last.imported) if calls else finding.sink
        problem = CONDITIONAL.sub(r" (\1)", message.split(" reaches ", 1)[0])
        return f"{problem} reaches `{sink}`{strength}"
    if finding.code == "IG003" and " runs at import" in message:
        for separator in (", which ", "; it "):
            if separator in message:
                return message.split(separator, 1)[0] + strength
    return message


def _head(finding: Finding, style: Style, message: str = "") -> str:
    message = message or finding.message
    if not style.enabled:
        return f"{finding.path}:{finding.line}:{finding.column}: {finding.code} {message}"
    colon = style(":", "cyan")
    return (f"{style(finding.path, 'bold')}{colon}{finding.line}{colon}{finding.column}{colon} "
            f"{style(finding.code, 'bold', 'red')} {message}")


def summary(count: int, files: int) -> str:
    noun = "finding" if count == 1 else "findings"
    file_noun = "file" if files == 1 else "files"
    return f"Found {count} {noun} in {files} {file_noun} checked." if count else f"All checks passed ({files} {file_noun} checked)."
