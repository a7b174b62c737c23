"""Text and JSON for the agreement report (`importguard agree`).

Text: disagreements first (runtime-only, then static-only), then modules the probe
could not judge, then agreements, each `module: static X | runtime Y (status)` with the
chain or the culprit and the reasons indented below. JSON: {"version": 1, "run",
"counts", "modules": [{"module", "kind", "static": {"verdict", "sink", "chain"},
"runtime": {"verdict", "status", "culprit", "error"}, "reasons"}]}, keys sorted.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Optional, Sequence

from importguard.probe import strict_json
from importguard.probe.agreement import AGREE, KINDS, RUNTIME_ONLY, STATIC_ONLY, UNKNOWN, Agreement
from importguard.probe.runner import printable

JSON_VERSION = 1
_HEADINGS = {
    RUNTIME_ONLY: "initialized the driver at run time, with no static chain to an initializing sink",
    STATIC_ONLY: "a static chain to an initializing sink, but the driver stayed uninitialized",
    UNKNOWN: "the runtime side could not be judged",
    AGREE: "static and runtime verdicts agree",
}


def _chain_text(row: Agreement) -> str:
    chain = row.static.chain
    if chain is None:
        return ""
    modules = [row.module]
    for hop in chain.hops:
        if hop.importer != modules[-1]:
            modules.append(hop.importer)  # a parent package, which runs first
        modules.append(hop.imported)
    sink = chain.sink
    end = f" (calls {sink.call}() at {sink.path}:{sink.line})" if sink.call else ""
    return " -> ".join(modules) + end


def format_text(rows: Sequence[Agreement], show_agreements: bool = True) -> str:
    out: list[str] = []
    for kind in KINDS:
        group = [row for row in rows if row.kind == kind]
        if not group or (kind == AGREE and not show_agreements):
            continue
        out.append(f"{kind} ({len(group)}): {_HEADINGS[kind]}")
        for row in group:
            out.append(f"  {row.module}: static {row.static.verdict} | runtime {row.runtime} ({row.result.status})")
            if row.static.chain is not None and kind != AGREE:
                out.append(f"    static chain: {_chain_text(row)}")
            for reason in row.reasons:
                out.append(f"    {printable(reason)}")
        out.append("")
    return "\n".join(out) + ("\n" if out else "")


def counts(rows: Sequence[Agreement]) -> dict[str, int]:
    found = Counter(row.kind for row in rows)
    return {kind: found[kind] for kind in KINDS}


def summary(rows: Sequence[Agreement]) -> str:
    found = counts(rows)
    both = sum(1 for r in rows if r.kind == AGREE and r.runtime == "initialized")
    return (f"agreement over {len(rows)} modules: {found[AGREE]} agree ({both} initialize on both sides), "
            f"{found[RUNTIME_ONLY]} runtime-only, {found[STATIC_ONLY]} static-only, "
            f"{found[UNKNOWN]} unknown")


def _row_dict(row: Agreement) -> dict[str, Any]:
    chain = row.static.chain
    culprit = row.result.culprit
    return {
        "module": row.module,
        "kind": row.kind,
        "static": {
            "verdict": row.static.verdict,
            "sink": None if chain is None else (chain.sink.call or chain.sink.module),
            "chain": [] if chain is None else [
                {"importer": h.importer, "imported": h.imported, "path": h.path, "line": h.line, "via": h.via}
                for h in chain.hops
            ],
        },
        "runtime": {
            "verdict": row.runtime,
            "status": row.result.status,
            "culprit": None if culprit is None else culprit.to_dict(),
            "error": (row.result.error or "").splitlines()[0] if row.result.error else None,
            "versions": dict(row.result.trace.versions) if row.result.trace else {},
        },
        "reasons": list(row.reasons),
    }


def format_json(rows: Sequence[Agreement], run: Optional[dict] = None) -> str:
    document = {"version": JSON_VERSION, "run": run, "counts": counts(rows), "modules": [_row_dict(r) for r in rows]}
    return strict_json.dumps(document, indent=2, sort_keys=True) + "\n"
