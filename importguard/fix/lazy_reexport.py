"""Rewrite the eager re-exports of a package `__init__.py` into lazy ones (PEP 562).

`check --fix`/`--diff` and the language server's "make this re-export lazy" action
come here. With facts/collect.py and facts/positions.py, the only modules that import libcst: LibCST
round-trips every comment and blank line that the rewrite does not touch.

For each top-level import statement at a reported line, the names it binds move into
a generated module `__getattr__` (one branch per name, each a plain import statement
that runs on first access) and a `__dir__`; the statement itself moves under
`if TYPE_CHECKING:` so type checkers still see the names. `__all__` is left as it is; a module without
one gets an `__all__` listing what `from pkg import *` bound before (star_exports.py).
Anything the rewrite cannot do safely is left alone, with a note saying why.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Optional, Sequence, Union

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from importguard.files.atomic_write import write_atomically
from importguard.files.inside_project import links_outside, refusal
from importguard.fix.star_exports import all_comment, render_all, star_exports
from importguard.model import Finding

FIXABLE_CODES = frozenset({"IG001", "IG002"})
_IMPORTS = (cst.Import, cst.ImportFrom)
_GETATTR_DOC = '"""Import the lazy re-exports on first use, not when the package is imported (PEP 562)."""'
_NOT_FOUND = 'raise AttributeError(f"module {__name__!r} has no attribute {name!r}")'


@dataclass(frozen=True)
class Rewrite:
    """What fixing one file's source did; `module` is None when nothing changed."""

    module: Optional[cst.Module]
    names: tuple[str, ...]  # names made lazy
    lines: tuple[int, ...]  # the reported lines that were rewritten
    notes: tuple[str, ...]  # one sentence per reported line left alone


@dataclass(frozen=True)
class FileFix:
    path: str
    before: bytes
    after: bytes  # == before when nothing changed
    names: tuple[str, ...]
    lines: tuple[int, ...]
    notes: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return self.after != self.before

    def diff(self) -> str:
        encoding = _encoding(self.before)
        old = self.before.decode(encoding).splitlines(keepends=True)
        new = self.after.decode(encoding).splitlines(keepends=True)
        name = Path(self.path).as_posix().lstrip("/")
        return "".join(difflib.unified_diff(old, new, f"a/{name}", f"b/{name}"))


def is_fixable(finding: Finding) -> bool:
    return finding.code in FIXABLE_CODES and Path(finding.path).name == "__init__.py"


def fix_findings(findings: Iterable[Finding], project_root: Optional[str] = None) -> list[FileFix]:
    """Compute the fix of every `__init__.py` with a fixable finding; writes nothing.
    With `project_root`, a file that is (or lies under) a symbolic link to a place
    outside it is left alone, with a note: a fix must not write outside the project."""
    by_path: dict[str, list[Finding]] = {}
    for finding in findings:
        if is_fixable(finding):
            by_path.setdefault(finding.path, []).append(finding)
    results = []
    for path, group in sorted(by_path.items()):
        package = next((f.chain[0].importer for f in group if f.chain), "")
        outside = links_outside(path, project_root) if project_root is not None else None
        if outside is not None:
            results.append(FileFix(path, b"", b"", (), (), (refusal(path, outside, project_root, "not rewritten"),)))
            continue
        result = fix_file(path, [site for f in group for site in f.sites], package)
        blocked = tuple(
            f"{path}:{f.line}: {f.blocker}"
            for f in group
            if f.blocker and f.line in result.lines
        )
        results.append(replace(result, notes=result.notes + blocked))
    return results


Site = tuple[int, int]  # 1-based line and column of an import statement


def fix_file(path: str, sites: Iterable[Site], package: str) -> FileFix:
    try:
        before = Path(path).read_bytes()
    except OSError as error:
        return FileFix(path, b"", b"", (), (), (f"{path}: cannot read file: {error.strerror or error}",))
    try:
        module = cst.parse_module(before)
    except Exception as error:  # syntax errors, undecodable bytes: never touch the file
        reason = getattr(error, "message", None) or str(error).splitlines()[0]
        return FileFix(path, before, before, (), (), (f"{path}: not rewritten, it does not parse: {reason}",))
    rewrite = rewrite_module(module, sites, package)
    notes = tuple(f"{path}:{note}" for note in rewrite.notes)
    if rewrite.module is None:
        return FileFix(path, before, before, (), (), notes)
    return FileFix(path, before, rewrite.module.bytes, rewrite.names, rewrite.lines, notes)


def fix_text(text: str, sites: Iterable[Site], package: str) -> tuple[Optional[str], tuple[str, ...]]:
    """The language server's entry point: an editor buffer in, the new text (or None) out."""
    try:
        module = cst.parse_module(text)
    except Exception as error:
        return None, (f"not rewritten, the file does not parse: {error}".splitlines()[0],)
    rewrite = rewrite_module(module, sites, package)
    return (rewrite.module.code if rewrite.module is not None else None), rewrite.notes


def write(fix: FileFix) -> None:
    # fix_findings refused a link out of the project; one inside is written at its target.
    write_atomically(fix.path, fix.after, keep_mode=True, follow_links=True)


# ----------------------------------------------------------------------------- rewrite


@dataclass
class _Conversion:
    index: int  # of the statement line in the module body
    node: Union[cst.Import, cst.ImportFrom]
    line: int
    branches: list[tuple[str, list[str]]]  # (name, statements that bind `value`)


def rewrite_module(module: cst.Module, sites: Iterable[Site], package: str) -> Rewrite:
    wrapper = MetadataWrapper(module)
    positions = wrapper.resolve(PositionProvider)
    tree = wrapper.module
    wanted = set(sites)
    notes: list[str] = []
    conversions: list[_Conversion] = []
    for index, statement in enumerate(tree.body):
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            start = positions[small].start
            line = start.line
            if isinstance(small, _IMPORTS) and (line, start.column + 1) in wanted:
                wanted.discard((line, start.column + 1))
                branches, reason = _branches(small, package)
                if reason:
                    notes.append(f"{line}: {reason}")
                else:
                    conversions.append(_Conversion(index, small, line, branches))
    for line, _ in sorted(wanted):
        notes.append(
            f"{line}: only top-level import statements are rewritten (this one is inside a "
            "block, or not an import); move it into the function that uses it by hand"
        )

    existing = _ExistingLazy.find(tree)
    if conversions and existing.problem:
        for conversion in conversions:
            code = "; ".join(s for _, body in conversion.branches for s in body)
            notes.append(f"{conversion.line}: {existing.problem}; add a branch for it by hand (`{code}`)")
        conversions = []
    conversions = _drop_unsafe(tree, conversions, existing, notes)
    star_all = None
    if conversions:
        star_all, unknown = _star_all(tree, existing, package)
        if unknown:
            notes += [f"{c.line}: not rewritten: without `__all__`, `from {package or 'the package'} import *` "
                      f"binds every public global, and {unknown}; add an `__all__` and run --fix again"
                      for c in conversions]
            conversions = []
    if not conversions:
        return Rewrite(None, (), (), tuple(sorted(notes, key=_note_line)))

    branches = list({name: (name, body) for name, body in reversed(
        [*existing.branches, *(b for c in conversions for b in c.branches)]
    )}.values())[::-1]  # one branch per name, the first
    star_all_leading = [cst.EmptyLine(), cst.EmptyLine(), cst.EmptyLine(comment=cst.Comment(all_comment(package)))]
    new_tree = _apply(tree, conversions, existing, branches, star_all, star_all_leading)
    try:
        compile(new_tree.code, "<importguard --fix>", "exec", dont_inherit=True)
    except SyntaxError as error:  # a bug in the rewrite; never write a broken file
        notes.append(f"{conversions[0].line}: not rewritten, the result would not compile ({error})")
        return Rewrite(None, (), (), tuple(notes))
    names = tuple(name for c in conversions for name, _ in c.branches)
    fixed = tuple(sorted(c.line for c in conversions))
    notes.extend(_shadow_warnings(conversions))
    return Rewrite(new_tree, names, fixed, tuple(sorted(notes, key=_note_line)))


def _star_all(tree: cst.Module, existing: "_ExistingLazy", package: str) -> tuple[Optional[str], str]:
    """The `__all__` statement that keeps what `from package import *` binds (None when
    the module has its own `__all__`), or why it cannot be written (star_exports.py)."""
    visitor = _Names({id(n) for n in existing.nodes})
    tree.visit(visitor)
    exports = star_exports(tree, package, visitor.seen)
    if exports.has_all:
        return None, ""
    if exports.unknown:
        return None, exports.unknown
    return render_all(exports.names), ""


def _note_line(note: str) -> int:
    head = note.partition(":")[0]
    return int(head) if head.isdigit() else 0


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    raise ValueError(f"not a dotted name: {node!r}")


def _branches(node: Union[cst.Import, cst.ImportFrom], package: str) -> tuple[list[tuple[str, list[str]]], str]:
    """The `__getattr__` branches that replace one import statement, or why there are none."""
    if isinstance(node, cst.ImportFrom):
        if isinstance(node.names, cst.ImportStar):
            return [], "a star import cannot be made lazy; list the names it re-exports instead"
        source = "." * len(node.relative) + (_dotted(node.module) if node.module is not None else "")
        # `from . import sub` would ask this very `__getattr__` for `sub` (the import
        # system tries the attribute first) and recurse; import the submodule directly.
        own = source == "." or (bool(package) and source == package)
        branches = []
        for alias in node.names:
            original = _dotted(alias.name)
            bound = _dotted(alias.asname.name) if alias.asname else original
            if own:
                body = ["import importlib", f'value = importlib.import_module(".{original}", __name__)']
            else:
                body = [f"from {source} import {original} as value"]
            branches.append((bound, body))
        submodule = _own_submodule(node, source, package)
        if submodule and all(name != submodule for name, _ in branches):
            # The eager import also set `package.<submodule>` (importing a submodule binds
            # it on its parent); keep that attribute reachable, lazily.
            branches.append((submodule, ["import importlib", f'value = importlib.import_module(".{submodule}", __name__)']))
        return branches, ""
    branches = []
    for alias in node.names:
        full = _dotted(alias.name)
        if not package or not full.startswith(package + "."):
            return [], (
                f"`import {full}` is not a re-export from `{package or 'this package'}`; "
                "move it into the function that uses it"
            )
        if alias.asname:
            branches.append((_dotted(alias.asname.name), [f"import {full} as value"]))
        else:
            child = full[len(package) + 1 :].split(".")[0]
            branches.append((child, [f"import {full}", f"value = {package}.{child}"]))
    return branches, ""


def _own_submodule(node: cst.ImportFrom, source: str, package: str) -> str:
    """`gemm` for `from .gemm import x` or `from pkg.gemm.sub import x` in package `pkg`."""
    if len(node.relative) == 1 and node.module is not None:
        return source[1:].split(".")[0]
    if not node.relative and package and source.startswith(package + "."):
        return source[len(package) + 1 :].split(".")[0]
    return ""


def _shadow_warnings(conversions: Sequence[_Conversion]) -> Iterable[str]:
    """`from .gemm import gemm` made lazy: Python binds the submodule `gemm` as a package
    attribute when anything imports it, and then `__getattr__` is never asked."""
    for conversion in conversions:
        node = conversion.node
        if not isinstance(node, cst.ImportFrom) or isinstance(node.names, cst.ImportStar):
            continue
        if node.module is None:
            continue
        last = _dotted(node.module).split(".")[-1]
        for alias in node.names:
            if _dotted(alias.name) == last and alias.asname is None:
                yield (
                    f"{conversion.line}: made `{last}` lazy, but it is also the name of a submodule: "
                    f"if something imports the submodule before `{last}` is first used, the package "
                    "attribute is the submodule, not the re-exported object"
                )


# ----------------------------------------------------------------------------- safety


class _Names(cst.CSTVisitor):
    """Every name the module binds or reads, outside the statements being rewritten
    and outside an existing generated `__getattr__`/`__dir__`. Attribute names and
    keyword-argument names are not names of the module, so they are skipped."""

    def __init__(self, skip: set[int]) -> None:
        self.skip = skip
        self.seen: set[str] = set()

    def on_visit(self, node: cst.CSTNode) -> bool:
        if id(node) in self.skip:
            return False
        return super().on_visit(node)

    def visit_Name(self, node: cst.Name) -> None:
        self.seen.add(node.value)

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        node.value.visit(self)
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        if not isinstance(node.names, cst.ImportStar):
            for alias in node.names:
                self.seen.add(_dotted(alias.asname.name) if alias.asname else _dotted(alias.name))
        return False

    def visit_Import(self, node: cst.Import) -> bool:
        for alias in node.names:
            self.seen.add(_dotted(alias.asname.name) if alias.asname else _dotted(alias.name).split(".")[0])
        return False


def _drop_unsafe(
    tree: cst.Module, conversions: list[_Conversion], existing: "_ExistingLazy", notes: list[str]
) -> list[_Conversion]:
    """A name the module itself uses must stay bound at import: module code looks it
    up in the module's globals, which never calls `__getattr__`."""
    skip = {id(c.node) for c in conversions} | {id(n) for n in existing.nodes}
    visitor = _Names(skip)
    tree.visit(visitor)
    # A name bound twice the same way (the submodule that two imports of it both bind) is
    # one branch; bound two ways, one of them would be lost.
    taken: dict[str, list[str]] = {name: body for name, body in existing.branches}
    kept: list[_Conversion] = []
    for conversion in conversions:
        names = [name for name, _ in conversion.branches]
        used = sorted(set(names) & visitor.seen)
        bodies: dict[str, list[list[str]]] = {}
        for name, body in conversion.branches:
            bodies.setdefault(name, []).append(body)
        clash = sorted(name for name, found in bodies.items()
                       if any(body != found[0] for body in found) or taken.get(name, found[0]) != found[0])
        if used:
            notes.append(
                f"{conversion.line}: `{'`, `'.join(used)}` is also used in this file, where a "
                "lookup never goes through `__getattr__`; import it where it is used instead"
            )
        elif clash:
            notes.append(f"{conversion.line}: `{'`, `'.join(clash)}` is bound more than once; not rewritten")
        else:
            taken.update((name, body) for name, body in conversion.branches)
            kept.append(conversion)
    return kept


# ----------------------------------------------------------------------------- existing code


@dataclass
class _ExistingLazy:
    """A `__getattr__`/`__dir__` pair already in the module. One written by this module
    (same shape) is merged into; any other one makes the rewrite refuse."""

    getattr_index: Optional[int] = None
    dir_index: Optional[int] = None
    branches: list[tuple[str, list[str]]] = None  # type: ignore[assignment]
    nodes: tuple[cst.CSTNode, ...] = ()
    problem: str = ""

    @classmethod
    def find(cls, tree: cst.Module) -> "_ExistingLazy":
        found = cls(branches=[])
        for index, statement in enumerate(tree.body):
            if isinstance(statement, cst.FunctionDef) and statement.name.value == "__getattr__":
                found.getattr_index = index
            elif isinstance(statement, cst.FunctionDef) and statement.name.value == "__dir__":
                found.dir_index = index
        if found.getattr_index is None and found.dir_index is None:
            return found
        mine = "the module already defines its own `__getattr__`/`__dir__`, which --fix does not edit"
        if found.getattr_index is None or found.dir_index is None:
            found.problem = mine
            return found
        getattr_def = tree.body[found.getattr_index]
        dir_def = tree.body[found.dir_index]
        branches = _parse_branches(tree, getattr_def)  # type: ignore[arg-type]
        names = [name for name, _ in branches or []]
        if (
            branches is None
            or _code(tree, getattr_def) != _render_getattr(branches)
            or _code(tree, dir_def) != _render_dir(names)
        ):
            found.problem = mine
            return found
        found.branches = branches
        found.nodes = (getattr_def, dir_def)
        return found


def _code(tree: cst.Module, node: cst.CSTNode) -> str:
    if isinstance(node, (cst.FunctionDef, cst.SimpleStatementLine)):
        node = node.with_changes(leading_lines=())
    return tree.code_for_node(node).strip()


def _parse_branches(tree: cst.Module, definition: cst.FunctionDef) -> Optional[list[tuple[str, list[str]]]]:
    body = definition.body.body if isinstance(definition.body, cst.IndentedBlock) else ()
    chain = next((s for s in body if isinstance(s, cst.If)), None)
    branches: list[tuple[str, list[str]]] = []
    while isinstance(chain, cst.If):
        test = chain.test
        if not (
            isinstance(test, cst.Comparison)
            and len(test.comparisons) == 1
            and isinstance(test.comparisons[0].operator, cst.Equal)
            and isinstance(test.comparisons[0].comparator, cst.SimpleString)
            and isinstance(chain.body, cst.IndentedBlock)
        ):
            return None
        name = test.comparisons[0].comparator.evaluated_value
        branches.append((str(name), [_code(tree, s) for s in chain.body.body]))
        chain = chain.orelse
    return branches


def _render_getattr(branches: Sequence[tuple[str, list[str]]]) -> str:
    lines = ["def __getattr__(name: str):", f"    {_GETATTR_DOC}"]
    for number, (name, body) in enumerate(branches):
        keyword = "if" if number == 0 else "elif"
        lines.append(f"    {keyword} name == {name!r}:".replace("'", '"'))
        lines.extend(f"        {statement}" for statement in body)
    lines += [
        "    else:",
        f"        {_NOT_FOUND}",
        "    # Bind the name: later lookups skip __getattr__, and a submodule of the same",
        "    # name, which the import just set as an attribute, does not shadow it.",
        "    globals()[name] = value",
        "    return value",
    ]
    return "\n".join(lines)


def _render_dir(names: Sequence[str]) -> str:
    listed = "".join(f", {name!r}".replace("'", '"') for name in names)
    return f"def __dir__():\n    return sorted({{*globals(){listed}}})"


# ----------------------------------------------------------------------------- apply


def _type_checking_name(tree: cst.Module) -> Optional[str]:
    for statement in tree.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
                if small.module is not None and _dotted(small.module) in ("typing", "typing_extensions"):
                    for alias in small.names:
                        if _dotted(alias.name) == "TYPE_CHECKING":
                            return _dotted(alias.asname.name) if alias.asname else "TYPE_CHECKING"
            if isinstance(small, cst.Import):
                for alias in small.names:
                    if _dotted(alias.name) == "typing" and alias.asname is None:
                        return "typing.TYPE_CHECKING"
    return None


def _type_checking_block(tree: cst.Module, test_name: Optional[str]) -> Optional[int]:
    for index, statement in enumerate(tree.body):
        if (
            isinstance(statement, cst.If)
            and statement.orelse is None
            and isinstance(statement.body, cst.IndentedBlock)
            and test_name is not None
            and tree.code_for_node(statement.test).strip() == test_name
        ):
            return index
    return None


def _is_import_line(statement: cst.CSTNode) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and all(
        isinstance(small, _IMPORTS) for small in statement.body
    )


def _is_future(statement: cst.CSTNode) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and all(
        isinstance(s, cst.ImportFrom) and s.module is not None and _dotted(s.module) == "__future__"
        for s in statement.body
    )


def _apply(
    tree: cst.Module,
    conversions: list[_Conversion],
    existing: _ExistingLazy,
    branches: list[tuple[str, list[str]]],
    star_all: Optional[str] = None,
    star_all_leading: Sequence[cst.EmptyLine] = (),
) -> cst.Module:
    body = list(tree.body)
    removed = {id(c.node) for c in conversions}
    moved: list[cst.SimpleStatementLine] = []  # into `if TYPE_CHECKING:`, in source order
    kept_lines: dict[int, Optional[cst.SimpleStatementLine]] = {}
    for index in sorted({c.index for c in conversions}):
        line = body[index]
        assert isinstance(line, cst.SimpleStatementLine)
        comments = [empty for empty in line.leading_lines if empty.comment is not None]
        remaining = [s for s in line.body if id(s) not in removed]
        taken = [s for s in line.body if id(s) in removed]
        for number, small in enumerate(taken):
            moved.append(
                cst.SimpleStatementLine(
                    body=[small.with_changes(semicolon=cst.MaybeSentinel.DEFAULT)],
                    leading_lines=comments if number == 0 else [],
                    trailing_whitespace=line.trailing_whitespace if not remaining else cst.TrailingWhitespace(),
                )
            )
        if remaining:
            remaining[-1] = remaining[-1].with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
            kept_lines[index] = line.with_changes(body=remaining)
        else:
            kept_lines[index] = None

    test_name = _type_checking_name(tree)
    block_index = _type_checking_block(tree, test_name)
    need_typing = test_name is None and block_index is None
    first = min(c.index for c in conversions)
    run_start, run_end = first, first
    while run_start > 0 and _is_import_line(body[run_start - 1]) and not _is_future(body[run_start - 1]):
        run_start -= 1
    while run_end + 1 < len(body) and _is_import_line(body[run_end + 1]):
        run_end += 1

    new_body: list[cst.BaseStatement] = []
    carried: Sequence[cst.EmptyLine] = ()
    # When the whole import block moves, the new block takes its place and spacing.
    block_leading: Sequence[cst.EmptyLine] = [cst.EmptyLine()]
    for index, statement in enumerate(body):
        if index in (existing.getattr_index, existing.dir_index):
            continue
        if index in kept_lines:
            replacement = kept_lines[index]
            if replacement is None:  # its blank lines stay, for the next statement
                carried = carried or [e for e in statement.leading_lines if e.comment is None]
                if index == run_start:
                    block_leading = carried
                continue
            statement = replacement
        if carried and not statement.leading_lines:
            statement = statement.with_changes(leading_lines=carried)
        carried = ()
        if index == block_index:
            assert isinstance(statement, cst.If) and isinstance(statement.body, cst.IndentedBlock)
            statement = statement.with_changes(
                body=statement.body.with_changes(body=[*statement.body.body, *moved])
            )
        if need_typing and run_start <= index <= run_end:
            # `from typing import TYPE_CHECKING` opens the import block it joins.
            new_body.append(_TYPING_IMPORT.with_changes(leading_lines=statement.leading_lines))
            statement = statement.with_changes(leading_lines=())
            need_typing, block_leading = False, [cst.EmptyLine()]
        if index > run_end and block_index is None and moved:
            new_body.extend(_new_block(test_name, moved, need_typing, block_leading))
            moved, need_typing = [], False
            if not statement.leading_lines:
                statement = statement.with_changes(leading_lines=[cst.EmptyLine()])
        new_body.append(statement)
    if block_index is None and moved:
        new_body.extend(_new_block(test_name, moved, need_typing, block_leading))

    names = [name for name, _ in branches]
    two_blank = [cst.EmptyLine(), cst.EmptyLine()]
    if star_all is not None:
        new_body.append(cst.parse_statement(star_all).with_changes(leading_lines=star_all_leading))
    new_body.append(cst.parse_statement(_render_getattr(branches)).with_changes(leading_lines=two_blank))
    new_body.append(cst.parse_statement(_render_dir(names)).with_changes(leading_lines=two_blank))
    return tree.with_changes(body=new_body)


_TYPING_IMPORT = cst.parse_statement("from typing import TYPE_CHECKING\n")


def _new_block(
    test_name: Optional[str],
    moved: list[cst.SimpleStatementLine],
    need_typing: bool,
    leading: Sequence[cst.EmptyLine],
) -> list[cst.BaseStatement]:
    block = cst.parse_statement(f"if {test_name or 'TYPE_CHECKING'}:\n    pass\n")
    assert isinstance(block, cst.If) and isinstance(block.body, cst.IndentedBlock)
    block = block.with_changes(body=block.body.with_changes(body=moved), leading_lines=leading)
    if not need_typing:
        return [block]
    return [_TYPING_IMPORT.with_changes(leading_lines=leading), block.with_changes(leading_lines=[cst.EmptyLine()])]


def _encoding(data: bytes) -> str:
    try:
        return cst.parse_module(data).encoding
    except Exception:
        return "utf-8"
