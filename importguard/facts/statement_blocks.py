"""The blocks of statements nested in an `ast` statement, for the passes over a file's
tree (skeleton.py, function_calls.py): `body`, `orelse`, `finalbody`, each handler's
body, each case's body, in that order, the empty ones left out.

Which of those fields a statement type has is looked up once per type: `getattr`
with a default on every statement, for fields most types lack, was a fair part of
those passes."""

from __future__ import annotations

import ast
from typing import Optional, Sequence

_BLOCK_FIELDS = ("body", "orelse", "finalbody")


class _Layout(dict):  # statement type -> (its block fields, has handlers, has cases); None: no blocks
    def __missing__(self, kind: type) -> Optional[tuple[tuple[str, ...], bool, bool]]:
        names = getattr(kind, "_fields", ())
        layout: Optional[tuple[tuple[str, ...], bool, bool]] = (
            tuple(n for n in _BLOCK_FIELDS if n in names), "handlers" in names, "cases" in names
        )
        if layout == ((), False, False):
            layout = None
        self[kind] = layout
        return layout


_LAYOUT = _Layout()


def blocks(statement: ast.AST) -> Sequence[Sequence[ast.stmt]]:
    layout = _LAYOUT[type(statement)]
    if layout is None:  # most statements
        return ()
    fields, handlers, cases = layout
    found = [block for block in map(statement.__getattribute__, fields) if block]
    if handlers:
        found += [handler.body for handler in statement.handlers]  # type: ignore[attr-defined]
    if cases:
        found += [case.body for case in statement.cases]  # type: ignore[attr-defined]
    return found
