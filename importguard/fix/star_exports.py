"""What `from pkg import *` binds from a package `__init__` without `__all__`, read
from its source, so `--fix` can keep it when names become lazy.

Without `__all__`, a star import takes every global not starting with `_` at that
moment; a name moved into `__getattr__` is no global any more, so it would silently
drop out. `--fix` then writes an `__all__` listing what the star import bound before:
each public name the module body binds on every path (imports, definitions,
assignments; both arms of an `if`, the body and every handler of a `try`), and each
submodule its relative imports bind as a package attribute. Where that cannot be
known from the source (a star import inside, a name bound on some paths only, a
`del`, `globals()`/`vars()`/`exec`), `unknown` says why and the file is left alone.
Submodules that other code imports later also become attributes; no `__all__` can
list those, and a star import after the fix no longer binds them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import libcst as cst

_DYNAMIC = frozenset({"globals", "vars", "exec", "locals"})


@dataclass
class StarExports:
    names: tuple[str, ...] = ()  # sorted public names a star import binds
    unknown: str = ""  # why they cannot be known, when they cannot
    has_all: bool = False  # the module defines `__all__`: star imports follow it
    _possible: set[str] = field(default_factory=set)


def star_exports(tree: cst.Module, package: str, names_used: set[str]) -> StarExports:
    """`names_used`: every name the module reads (to see `globals()` and the like)."""
    scan = _Scan(package)
    sure = scan.statements(tree.body)
    if "__all__" in scan.possible:
        return StarExports(has_all=True)
    if scan.unknown:
        return StarExports(unknown=scan.unknown)
    dynamic = sorted(_DYNAMIC & names_used)
    if dynamic:
        return StarExports(unknown=f"the module calls `{dynamic[0]}()`, so its globals cannot be read from the source")
    public = {name for name in scan.possible if not name.startswith("_")}
    some_paths = sorted(public - sure)
    if some_paths:
        return StarExports(unknown=f"`{some_paths[0]}` is bound on some paths only")
    return StarExports(names=tuple(sorted(public)))


def render_all(names: Sequence[str]) -> str:
    one_line = "__all__ = [" + ", ".join(_quoted(n) for n in names) + "]"
    if len(one_line) <= 100:
        return one_line + "\n"
    return "__all__ = [\n" + "".join(f"    {_quoted(n)},\n" for n in names) + "]\n"


def all_comment(package: str) -> str:
    return f"# What `from {package or 'this package'} import *` bound before --fix made names lazy."


def _quoted(name: str) -> str:
    return f'"{name}"'


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return ""


class _Scan:
    """Names bound by module-level statements: `possible` (on any path) and, returned
    by `statements`, those bound on every path."""

    def __init__(self, package: str) -> None:
        self.package = package
        self.possible: set[str] = set()
        self.unknown = ""

    def statements(self, body: Sequence[cst.CSTNode]) -> set[str]:
        sure: set[str] = set()
        for statement in body:
            sure |= self.statement(statement)
        return sure

    def statement(self, node: cst.CSTNode) -> set[str]:
        if isinstance(node, cst.SimpleStatementLine):
            sure: set[str] = set()
            for small in node.body:
                sure |= self.small(small)
            return sure
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            return self.bind({node.name.value})
        if isinstance(node, cst.If):
            if _is_type_checking(node.test):  # never runs
                return self.orelse(node.orelse)
            return self.statements(_body(node)) & self.orelse(node.orelse)
        if isinstance(node, cst.Try):
            paths = self.statements(_body(node)) | (self.statements(_body(node.orelse)) if node.orelse else set())
            for handler in node.handlers:
                handled = self.statements(_body(handler))
                if not _ends_in_raise(handler):
                    paths &= handled
            final = self.statements(_body(node.finalbody)) if node.finalbody else set()
            return paths | final
        if isinstance(node, cst.With):
            targets = {n for item in node.items if item.asname for n in self.targets(item.asname.name)}
            return self.bind(targets) | self.statements(_body(node))
        if isinstance(node, (cst.For, cst.While)):
            if isinstance(node, cst.For):
                self.targets(node.target)
            self.statements(_body(node))
            self.orelse(node.orelse)
            return set()
        # `match`, `try`/`except*` and what later Pythons add: not read here
        self.unknown = self.unknown or f"a module-level `{type(node).__name__}` block is not read by --fix"
        return set()

    def orelse(self, node: Optional[cst.CSTNode]) -> set[str]:
        if node is None:
            return set()
        if isinstance(node, cst.If):  # elif
            return self.statement(node)
        return self.statements(_body(node))

    def small(self, node: cst.CSTNode) -> set[str]:
        if isinstance(node, cst.Import):
            return self.bind({_dotted(a.asname.name) if a.asname else _dotted(a.name).split(".")[0] for a in node.names})
        if isinstance(node, cst.ImportFrom):
            if isinstance(node.names, cst.ImportStar):
                self.unknown = self.unknown or "the module has a star import of its own"
                return set()
            bound = {_dotted(a.asname.name) if a.asname else _dotted(a.name) for a in node.names}
            submodule = self.submodule(node)
            return self.bind(bound | ({submodule} if submodule else set()))
        if isinstance(node, cst.Assign):
            return self.bind({n for target in node.targets for n in self.targets(target.target)})
        if isinstance(node, cst.AnnAssign):
            return self.bind(set(self.targets(node.target))) if node.value is not None else set()
        if isinstance(node, cst.AugAssign):
            return self.bind(set(self.targets(node.target)))
        if isinstance(node, cst.Del):
            self.unknown = self.unknown or "the module deletes names with `del`"
        if isinstance(node, cst.Global):
            return set()
        return set()

    def submodule(self, node: cst.ImportFrom) -> Optional[str]:
        """The submodule that `from .sub import x` (or `from pkg.sub import x`) binds
        as an attribute of this package, hence a global of its `__init__`."""
        module = _dotted(node.module) if node.module is not None else ""
        if len(node.relative) == 1 and module:
            return module.split(".")[0]
        if not node.relative and self.package and module.startswith(self.package + "."):
            return module[len(self.package) + 1 :].split(".")[0]
        return None

    def targets(self, node: cst.BaseExpression) -> list[str]:
        if isinstance(node, cst.Name):
            return [node.value]
        if isinstance(node, (cst.Tuple, cst.List)):
            return [n for element in node.elements for n in self.targets(element.value)]
        if isinstance(node, cst.StarredElement):
            return self.targets(node.value)
        return []  # attributes and subscripts bind no global

    def bind(self, names: set[str]) -> set[str]:
        names.discard("")
        self.possible |= names
        return names


def _body(node: cst.CSTNode) -> Sequence[cst.CSTNode]:
    body = getattr(node, "body", None)
    if isinstance(body, cst.IndentedBlock):
        return body.body
    if isinstance(body, cst.SimpleStatementSuite):
        return [cst.SimpleStatementLine(body=body.body)]
    return []


def _ends_in_raise(handler: cst.ExceptHandler) -> bool:
    last = _body(handler)[-1:] or [None]
    return isinstance(last[0], cst.SimpleStatementLine) and any(isinstance(s, cst.Raise) for s in last[0].body)


def _is_type_checking(test: cst.BaseExpression) -> bool:
    return _dotted(test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
