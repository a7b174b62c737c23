"""A chain's hops as text, the one spelling every format and the editor use."""

from __future__ import annotations

from importguard.model import WARNING_STRENGTHS, Finding, Hop


def hop_text(hop: Hop) -> str:
    """An import hop: `pkg -> pkg.ops (pkg/__init__.py:3)`; a call hop:
    `pkg/cfg.py:3 pkg.utils.is_cuda() (called by pkg.cfg)`."""
    via = f", {hop.via}" if hop.via else ""
    if hop.kind == "call":
        return f"{hop.path}:{hop.line} {hop.imported}() (called by {hop.importer}{via})"
    return f"{hop.importer} -> {hop.imported} ({hop.path}:{hop.line}{via})"


def finding_level(finding: Finding) -> str:
    """"warning" when the chain ends at the driver API imported without a call, or at a
    sink that initializes the driver in some versions only (the installed one unknown),
    else "error": the SARIF level, the GitHub annotation and the LSP severity."""
    return "warning" if finding.strength in WARNING_STRENGTHS else "error"
