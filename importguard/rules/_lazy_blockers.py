"""Where a lazy re-export (PEP 562 `__getattr__`) cannot help: another project module
does `from pkg import name` at module level, which calls `pkg.__getattr__` as soon as
that module is imported, so the sink is reached anyway. The graph cannot see this
edge (it points at `pkg`, not at the module that defines `name`), so the fix hint says it."""

from __future__ import annotations

from typing import Optional

from importguard.model import Execution, ImportSite, ModuleFacts, SiteKind

BLOCKER = "a lazy re-export cannot help"
# (package, name) -> the first module-level `from package import name` elsewhere.
Index = dict[tuple[str, str], tuple[str, str, int]]


def eager_from_imports(reported: tuple[ModuleFacts, ...]) -> Index:
    index: Index = {}
    for facts in reported:
        for site in facts.imports:
            if site.execution is Execution.EAGER and site.kind is SiteKind.FROM:
                for name in site.names:
                    index.setdefault((site.module, name), (facts.module, facts.path, site.line))
    return index


def blocker_hint(index: Index, facts: ModuleFacts, site: ImportSite) -> Optional[str]:
    """A sentence for the fix hint, or None when nothing blocks a lazy re-export."""
    if site.kind is SiteKind.FROM:
        names = [n for n in site.names if n != "*"]
    elif site.module.startswith(facts.module + "."):
        names = [site.module[len(facts.module) + 1 :].split(".")[0]]
    else:
        names = []
    for name in names:
        found = index.get((facts.module, name))
        if found is not None and found[0] != facts.module:
            importer, path, line = found
            return (
                f"{BLOCKER} while `{importer}` does `from {facts.module} "
                f"import {name}` at module level ({path}:{line}), which runs the lazy import "
                "as soon as it is imported: move that import into a function first"
            )
    return None
