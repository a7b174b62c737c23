"""Root causes: the site where a finding's chain enters its sink.

For a chain finding (IG001/IG002) that is the last hop: the eager import of the sink
module, or of the module that calls a sink at import (or, with call hops, the last
call). For a call finding (IG003) it is the call itself. Findings sharing a root cause
are one problem seen from several importers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

from importguard.model import Finding, Hop

CAUSED_CODES = ("IG001", "IG002", "IG003")


@dataclass(frozen=True)
class Cause:
    path: str
    line: int
    what: str

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "line": self.line, "what": self.what}


@dataclass(frozen=True)
class RootCause:
    cause: Cause
    findings: int
    sites: tuple[tuple[str, int], ...]  # the reported sites it is reached from

    def to_dict(self) -> dict[str, object]:
        return {**self.cause.to_dict(), "findings": self.findings,
                "sites": [{"path": path, "line": line} for path, line in self.sites]}


def hop_what(hop: Hop) -> str:
    verb = "calls" if getattr(hop, "kind", "import") == "call" else "imports"
    return f"`{hop.importer}` {verb} `{hop.imported}`"


def root_cause(finding: Finding) -> Optional[Cause]:
    if finding.code not in CAUSED_CODES:
        return None
    if finding.chain:
        hop = finding.chain[-1]
        return Cause(hop.path, hop.line, hop_what(hop))
    if finding.code == "IG003" and finding.sink:
        return Cause(finding.path, finding.line, f"calls `{finding.sink}()` at import")
    return None


def root_causes(findings: Iterable[Finding]) -> list[RootCause]:
    """Most findings first, then by place."""
    grouped: dict[tuple[str, int], tuple[Cause, list[Finding]]] = {}
    for finding in findings:
        cause = root_cause(finding)
        if cause is not None:
            # One site is one cause, whichever of its targets a chain went through.
            grouped.setdefault((cause.path, cause.line), (cause, []))[1].append(finding)
    causes = [
        RootCause(cause, len(found), tuple(sorted({(f.path, f.line) for f in found})))
        for cause, found in grouped.values()
    ]
    return sorted(causes, key=lambda c: (-c.findings, c.cause.path, c.cause.line, c.cause.what))
