"""A chain's hops as text, the one spelling every format and the editor use."""

from __future__ import annotations

from importguard.model import Hop


def hop_text(hop: Hop) -> str:
    via = f", {hop.via}" if hop.via else ""
    return f"{hop.importer} -> {hop.imported} ({hop.path}:{hop.line}{via})"
