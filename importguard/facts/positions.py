"""Line and column of chosen LibCST nodes, without MetadataWrapper.

LibCST's code generator is run with a state that counts lines and columns over the
emitted tokens only when a chosen node is entered or left (MetadataWrapper positions
cost more than the parse itself). That state subclasses LibCST's private
`CodegenState`, whose use is confined to this module; the versions it is tested on are
pinned in pyproject.toml, and where the private class is missing the public
`PositionProvider` computes the same positions (tests/test_positions.py compares both
on real files).
"""

from __future__ import annotations

from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import ContextManager, Iterator, Optional, Sequence

import libcst as cst
from libcst.helpers import get_full_name_for_node
from libcst.metadata import MetadataWrapper, PositionProvider

import ast

from importguard.facts.skeleton import Skeleton, start_lines

try:
    from libcst._nodes.internal import CodegenState
except ImportError:  # a LibCST without the private class: the public API instead
    CodegenState = None  # type: ignore[assignment,misc]

USE_CODEGEN = CodegenState is not None  # tests turn it off to compare with the public API


_UNTRACKED: ContextManager[None] = nullcontext()  # reusable: it holds no state


class _AllPlaced(Exception):
    pass


class _NeedsPublic(Exception):
    pass


if CodegenState is not None:

    class _PositionState(CodegenState):
        """LibCST's code generator, told to note where a few chosen nodes start and end.

        Runs the generator once, tracks line/column over the emitted tokens only when a
        chosen node is entered or left, and stops as soon as the last chosen node is left.
        """

        def __init__(self, module: cst.Module, targets: Sequence[cst.CSTNode], line: int = 1,
                     indent: Optional[str] = None) -> None:
            super().__init__(default_indent=module.default_indent, default_newline=module.default_newline)
            if indent is not None:  # a statement in an indented block: its indentation
                self.indent_tokens.append(indent)
            self.wanted = {id(node) for node in targets}
            self.starts: dict[int, tuple[int, int]] = {}
            self.ends: dict[int, int] = {}
            self.syntactic: set[int] = set()  # placed by record_syntactic_position
            self.done: set[int] = set()
            self.line = line
            self.column = 0
            self.consumed = 0

        def _advance(self) -> None:
            tokens = self.tokens
            line, column = self.line, self.column
            for index in range(self.consumed, len(tokens)):
                token = tokens[index]
                if "\n" in token or "\r" in token:  # \r alone ends a line too (old Mac files)
                    line += token.count("\n") + token.count("\r") - token.count("\r\n")
                    column = len(token) - max(token.rfind("\n"), token.rfind("\r")) - 1
                else:
                    column += len(token)
            self.line, self.column = line, column
            self.consumed = len(tokens)

        def before_codegen(self, node: cst.CSTNode) -> None:
            key = id(node)
            if key in self.wanted and key not in self.starts:
                self._advance()
                self.starts[key] = (self.line, self.column + 1)  # before any parentheses

        def record_syntactic_position(
            self,
            node: cst.CSTNode,
            *,
            start_node: Optional[cst.CSTNode] = None,
            end_node: Optional[cst.CSTNode] = None,
        ) -> ContextManager[None]:
            """Inside the node's own parentheses, as PositionProvider places it."""
            key = id(node)
            if key not in self.wanted or key in self.syntactic:
                return _UNTRACKED  # most nodes: no generator made for them
            return self._record(key, start_node, end_node)

        @contextmanager
        def _record(
            self, key: int, start_node: Optional[cst.CSTNode], end_node: Optional[cst.CSTNode]
        ) -> Iterator[None]:
            if start_node is not None or end_node is not None:
                raise _NeedsPublic  # bounds hoisted from children we do not track
            self._advance()
            self.starts[key] = (self.line, self.column + 1)
            self.syntactic.add(key)
            yield
            self._advance()
            self.ends[key] = self.line

        def after_codegen(self, node: cst.CSTNode) -> None:
            key = id(node)
            if key in self.wanted and key not in self.done:
                if key not in self.syntactic:
                    self._advance()
                    self.ends[key] = self.line
                self.done.add(key)
                if len(self.done) == len(self.wanted):
                    raise _AllPlaced


def _public_positions(
    module: cst.Module, targets: Sequence[cst.CSTNode]
) -> tuple[dict[int, tuple[int, int]], dict[int, int]]:
    """The same positions from LibCST's public metadata API (slower)."""
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    ranges = wrapper.resolve(PositionProvider)
    starts, ends = {}, {}
    for node in targets:
        found = ranges.get(node)
        if found is not None:
            starts[id(node)] = (found.start.line, found.start.column + 1)
            ends[id(node)] = found.end.line
    return starts, ends


@dataclass
class Positions:
    starts: dict[int, tuple[int, int]] = field(default_factory=dict)
    ends: dict[int, int] = field(default_factory=dict)

    @classmethod
    def compute(
        cls,
        module: cst.Module,
        targets: Sequence[tuple[tuple[int, int], cst.CSTNode]],
        skeleton: Optional[Skeleton] = None,
        import_nodes: Sequence[cst.BaseSmallStatement] = (),
    ) -> "Positions":
        """Import statements are placed from the file's `ast` (skeleton.py); code is
        generated only for the statements that hold other targets, each started at its
        line: a top-level statement, or one in the body of a top-level class (each
        target comes with (index of the top-level statement, index in the class body or
        -1)). Without a skeleton, or when it does not fit this tree, the module is
        generated up to the last target."""
        positions = cls()
        if not targets:
            return positions
        if USE_CODEGEN:
            try:
                return positions._compute(module, targets, skeleton, import_nodes)
            except _NeedsPublic:
                positions = cls()
        positions.starts, positions.ends = _public_positions(module, [node for _, node in targets])
        return positions

    def _compute(
        self,
        module: cst.Module,
        targets: Sequence[tuple[tuple[int, int], cst.CSTNode]],
        skeleton: Optional[Skeleton],
        import_nodes: Sequence[cst.BaseSmallStatement],
    ) -> "Positions":
        positions = self
        starts = _codegen_start_lines(module.body, skeleton.statement_lines if skeleton else None,
                                      skeleton.merged if skeleton else None)
        if starts is None:
            positions._generate(module, module, [node for _, node in targets], 1)
            return positions
        assert skeleton is not None
        placed = positions._place_imports(skeleton, import_nodes)
        by_statement: dict[tuple[int, int], list[cst.CSTNode]] = {}
        for where, node in targets:
            if not (placed and id(node) in positions.starts):
                by_statement.setdefault(where, []).append(node)
        class_starts: dict[int, Optional[list[int]]] = {}
        for (top, inner), nodes in sorted(by_statement.items()):
            statement = module.body[top]
            if inner >= 0:
                if top not in class_starts:
                    class_starts[top] = _class_start_lines(statement, _ast_statement(module, skeleton, top),
                                                           skeleton.merged)
                inner_starts = class_starts[top]
                if inner_starts is not None:
                    block = statement.body  # type: ignore[attr-defined]
                    indent = module.default_indent if block.indent is None else block.indent
                    positions._generate(module, block.body[inner], nodes, inner_starts[inner], indent)
                    continue
            positions._generate(module, statement, nodes, starts[top])
        return positions

    def _place_imports(self, skeleton: Skeleton, nodes: Sequence[cst.BaseSmallStatement]) -> bool:
        """Pairs LibCST's import statements with `ast`'s, in document order; False
        (nothing placed) unless every pair imports the same thing as written."""
        known = skeleton.imports
        if known is None or len(known) != len(nodes):
            return False
        if any(_written(node) != entry[3] for node, entry in zip(nodes, known)):
            return False
        for node, (line, column, end_line, _) in zip(nodes, known):
            self.starts[id(node)] = (line, column)
            self.ends[id(node)] = end_line
        return True

    def _generate(self, module: cst.Module, node: cst.CSTNode, targets: list[cst.CSTNode], line: int,
                  indent: Optional[str] = None) -> None:
        state = _PositionState(module, targets, line, indent)
        try:
            node._codegen(state)
        except _AllPlaced:
            pass
        self.starts.update(state.starts)
        self.ends.update(state.ends)

    def of(self, node: cst.CSTNode) -> tuple[int, int, int]:
        line, column = self.starts.get(id(node), (1, 1))
        return line, column, self.ends.get(id(node), line)


def _written(node: cst.BaseSmallStatement) -> str:
    if isinstance(node, (cst.Import, cst.LazyImport)):
        return get_full_name_for_node(node.names[0].name) or ""
    assert isinstance(node, (cst.ImportFrom, cst.LazyImportFrom))
    module = get_full_name_for_node(node.module) if node.module is not None else ""
    return "." * len(node.relative) + (module or "")


def _ast_statement(module: cst.Module, skeleton: Skeleton, top: int) -> Optional[ast.stmt]:
    """`ast`'s statement for the top-level statement `top` of `module` (`ast` counts
    `a; b` as two statements, and a run the skeleton merged as all of its), or None."""
    if skeleton.tree is None:
        return None
    index = 0
    for statement in module.body[:top]:
        if index >= len(skeleton.statement_lines):
            return None
        index += _ast_count(statement, skeleton.statement_lines[index], skeleton.merged)
    body = skeleton.tree.body
    return body[index] if index < len(body) else None


def _ast_count(statement: cst.BaseStatement, line: int, merged: dict[int, int]) -> int:
    """How many of `ast`'s statements LibCST's `statement`, which starts at `line`, stands for."""
    if isinstance(statement, cst.SimpleStatementLine):
        return merged.get(line) or len(statement.body)
    return 1


def _class_start_lines(statement: cst.BaseStatement, node: Optional[ast.stmt],
                       merged: dict[int, int]) -> Optional[list[int]]:
    """_codegen_start_lines of the statements in a top-level class's body."""
    if not (isinstance(statement, cst.ClassDef) and isinstance(statement.body, cst.IndentedBlock)
            and isinstance(node, ast.ClassDef)):
        return None
    return _codegen_start_lines(statement.body.body, start_lines(node.body), merged)


def _codegen_start_lines(
    statements: Sequence[cst.BaseStatement], statement_lines: Optional[Sequence[int]],
    merged: Optional[dict[int, int]] = None,
) -> Optional[list[int]]:
    """The line where the code generator starts each statement: the line of its first
    token (from `ast`, which counts `a; b` as two statements, and a run the skeleton
    merged, `merged`, as all of its) less the blank and comment lines LibCST emits
    before it. None when the two trees do not match."""
    if statement_lines is None:
        return None
    starts = []
    index = 0
    for statement in statements:
        if index >= len(statement_lines):
            return None
        leading = len(statement.leading_lines)
        decorators = getattr(statement, "decorators", ())
        if decorators:
            leading += len(decorators[0].leading_lines)
        starts.append(statement_lines[index] - leading)
        index += _ast_count(statement, statement_lines[index], merged or {})
    return starts if index == len(statement_lines) else None
