"""Where a lazy re-export (PEP 562 `__getattr__`) cannot help: another project module
does `from pkg import name` at module level, which calls `pkg.__getattr__` as soon as
that module is imported, so the sink is reached anyway. The graph cannot see this
edge (it points at `pkg`, not at the module that defines `name`), so the fix hint says it."""

from __future__ import annotations

from typing import Any, Iterable, Optional, Sequence

from importguard.discovery import display_path
from importguard.model import Execution, ImportSite, ModuleFacts, SiteKind

BLOCKER = "a lazy re-export cannot help"
# (package, name) -> the first module-level `from package import name` elsewhere.
Index = dict[tuple[str, str], tuple[str, str, int]]


def eager_from_imports(reported: Iterable[ModuleFacts]) -> Index:
    return index_of((facts.module, facts.path, names_imported(facts)) for facts in reported)


def names_imported(facts: ModuleFacts) -> list[tuple[str, str, int]]:
    """(package, name, line) of each module-level `from package import name` of one
    module, in its order: what the index needs of it (the incremental record keeps these)."""
    return [
        (site.module, name, site.line)
        for site in facts.imports
        if site.execution is Execution.EAGER and site.kind is SiteKind.FROM
        for name in site.names
    ]


def index_of(modules: Iterable[tuple[str, str, Sequence[Sequence[Any]]]]) -> Index:
    """The index from (module, path, names_imported) of every module, in report order."""
    index: Index = {}
    for module, path, imported in modules:
        for package, name, line in imported:
            index.setdefault((package, name), (module, path, line))
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
                f"import {name}` at module level ({display_path(path)}:{line}), which runs the lazy import "
                "as soon as it is imported: move that import into a function first"
            )
    return None
