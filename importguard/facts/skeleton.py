"""A file's source with function bodies reduced to their import statements.

Function bodies are most of a file and never run on import, yet LibCST's parse time
and memory grow with every token it sees. Measured on sglang 0.5.10.post1 (1,770
files, this 2-core machine, one process): `libcst.parse_module` of the whole files
23-28 s; of the skeletons 3.3 s, plus 2.7 s for Python's own `ast` to find the bodies.
Functions that add nothing to the facts (no decorators, no calls in their defaults, no
imports in their bodies) are emptied whole, header included; a kept function whose
header holds no call loses its parameters and return annotation (a sixth of the nodes
LibCST built for sglang's skeletons were those). Assignments outside functions whose
value and annotation hold no call keep only their targets (`_reduce_assignments`).

Each reduced body keeps its import statements, each on its original line and at its
original column, so every position LibCST reports is a position in the real file and
the facts are the ones the whole file gives (tests/test_skeleton.py checks this). A
function is kept whole when that cannot be done exactly. When `ast` cannot parse the
file (a syntax error, or syntax newer than this interpreter), there is no skeleton and
LibCST sees the whole file, as its errors are the ones reported.

The same `ast` pass records where each top-level statement and each import statement
starts; with them, collect.py generates code only for the top-level statements that
hold other sites (calls), instead of the whole file, to find positions.
"""

from __future__ import annotations

import ast
import re
import warnings
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from typing import Iterator, Optional, Sequence, Union

from importguard.facts.cpython_verdict import other_line_breaks
from importguard.facts.statement_blocks import blocks as _blocks

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)")
# `\bTYPE_CHECKING\s+as\s+(\w+)`, searched for from its literal at the speed of
# `str.find` (a pattern that starts with `\b` is tried at every character), the word
# boundary before it checked at each match.
_TYPE_CHECKING_ALIAS = re.compile(r"TYPE_CHECKING\s+as\s+(\w+)")
_WORD_CHARACTER = re.compile(r"\w")
_Function = Union[ast.FunctionDef, ast.AsyncFunctionDef]
_Import = Union[ast.Import, ast.ImportFrom]


class _CannotReduce(Exception):
    pass


@dataclass(frozen=True)
class Skeleton:
    """`source`: the reduced file, or None when no body could be reduced.
    `statement_lines`: where each top-level statement of the file starts (its first
    decorator for a decorated one), so positions can be worked out one top-level
    statement at a time."""

    source: Optional[str]
    statement_lines: tuple[int, ...]
    # Every import statement in document order: (line, 1-based column, end line, what
    # it imports as written: "a.b" or "..c"), or None when one cannot be placed exactly.
    imports: Optional[tuple[tuple[int, int, int, str], ...]] = None
    # The file's own `ast` and physical lines, for function_calls.py to read the
    # bodies this skeleton drops.
    tree: Optional[ast.Module] = field(default=None, compare=False, repr=False)
    lines: tuple[str, ...] = field(default=(), compare=False, repr=False)
    # Runs of statements the walker reads nothing in, each made one string
    # (`_merge_inert`): the line where a run starts -> how many of `ast`'s statements it
    # stands for, so positions.py can still pair LibCST's statements with `ast`'s.
    merged: dict[int, int] = field(default_factory=dict, compare=False, repr=False)


def import_time_skeleton(text: str, reduce: bool = True, tree: Optional[ast.Module] = None,
                         lines: Optional[Sequence[str]] = None) -> Optional[Skeleton]:
    """None when the file has no functions or `ast` cannot parse it. `reduce=False`
    reduces nothing (`source` is None) but still gives the tree. `tree`: the file's
    `ast`, and `lines` its physical lines (as `_split_lines` gives them: Verdict.lines),
    when the caller has them already."""
    if "def" not in text:
        return None
    if tree is None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # e.g. invalid escape sequences
                tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
    functions = list(_outermost_functions(tree.body))  # each with the line the statement after it starts
    if not functions:
        return None
    statement_lines = start_lines(tree.body)
    lines = _split_lines(text) if lines is None else list(lines)  # changed in place below
    original = tuple(lines)
    every_import = _ImportIndex(tree.body)
    imports = _import_positions(every_import.nodes, lines)
    if not reduce:
        return Skeleton(None, statement_lines, imports, tree, original)
    type_checking = _type_checking_names(text)
    plain = "\r" not in text  # every line ends with "\n" (the last one maybe with nothing)
    reduced = False
    inert: set[int] = set()  # ids of the statements the walker reads nothing in (`_merge_inert`)
    for function, following in functions:
        try:
            found = every_import.within(function, type_checking)
            emptied = None if found else _emptied(function, lines, following)
            first, contents = emptied or _reduced_body(function, lines, found)
        except _CannotReduce:
            continue
        if emptied is not None:
            inert.add(id(function))
        end = first + len(contents)
        if plain:
            lines[first:end] = [content + "\n" for content in contents]
            if end == len(lines) and not original[-1].endswith("\n"):
                lines[-1] = contents[-1]
        else:
            lines[first:end] = [content + _ending(line) for content, line in zip(contents, lines[first:end])]
        if first >= function.lineno:  # the body alone was reduced: the header may be too
            _reduce_header(function, lines, first)
        reduced = True
    reduced = _reduce_assignments(tree.body, lines, False, inert) or reduced
    merged: dict[int, int] = {}
    _merge_inert(tree.body, lines, original, inert, False, merged)
    if plain:
        reduced = _join_blank_lines(tree.body, lines) or reduced
    return Skeleton("".join(lines) if reduced or merged else None, statement_lines, imports, tree, original, merged)


def statement_places(text: str, tree: ast.Module, lines: Optional[Sequence[str]] = None) -> Skeleton:
    """Only where each top-level statement and each import statement starts, for a file
    `import_time_skeleton` has no skeleton for (no functions): positions.py then places
    imports from `ast` there too, instead of generating the whole module's code.
    `lines`: as for import_time_skeleton."""
    statement_lines = start_lines(tree.body)
    found = _import_positions(_ImportIndex(tree.body).nodes, _split_lines(text) if lines is None else lines)
    return Skeleton(None, statement_lines, found, tree)


def start_lines(body: Sequence[ast.stmt]) -> tuple[int, ...]:
    """Where each statement starts: its first decorator's line for a decorated one."""
    return tuple(_start_line(statement) for statement in body)


def _split_lines(text: str) -> list[str]:
    """Physical lines with their endings, as Python's tokenizer counts them: only \\n,
    \\r\\n and \\r end one (str.splitlines also splits on form feeds and a few more)."""
    if not other_line_breaks(text):
        return text.splitlines(keepends=True)
    lines = _LINE.findall(text)
    consumed = sum(map(len, lines))
    if consumed < len(text):
        lines.append(text[consumed:])
    return lines


def _content(line: str) -> str:
    return line.rstrip("\r\n")


def _ending(line: str) -> str:
    last = line[-1:]
    if last == "\n":
        return "\r\n" if line[-2:] == "\r\n" else "\n"
    return last if last == "\r" else ""


def _outermost_functions(body: Sequence[ast.stmt]) -> Iterator[tuple[_Function, Optional[int]]]:
    """Each function outside functions, with the line where the next statement of its
    block starts (None for the last one)."""
    for index, statement in enumerate(body):
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield statement, _start_line(body[index + 1]) if index + 1 < len(body) else None
            continue
        for block in _blocks(statement):
            yield from _outermost_functions(block)


class _ImportIndex:
    """Every import statement of a file in document order, found in one pass: those of
    a function are then the ones on its lines, not another walk of its body."""

    def __init__(self, body: Sequence[ast.stmt]) -> None:
        found: list[_Import] = []
        # Imports in a function under a test that is never true (`if False:`): the walker
        # makes them TYPE_CHECKING, which moving them out of that block would lose.
        self._dead: set[int] = set()
        self._collect(body, found, False, False)
        self.nodes = sorted(found, key=_place)
        self._lines = [node.lineno for node in self.nodes]

    def _collect(self, body: Sequence[ast.stmt], found: list[_Import], in_function: bool, dead: bool) -> None:
        for statement in body:
            kind = type(statement)
            if kind in _IMPORTS:
                found.append(statement)  # type: ignore[arg-type]
                if dead:
                    self._dead.add(id(statement))
            elif in_function and (kind is ast.If or kind is ast.While) and _never_true(statement.test):  # type: ignore[attr-defined]
                self._collect(statement.body, found, True, True)  # type: ignore[attr-defined]
                # After `if False:`, `else` runs; after `while False:`, the walker's context is the loop's.
                self._collect(statement.orelse, found, True, dead or kind is ast.While)  # type: ignore[attr-defined]
            else:
                inner = in_function or kind is ast.FunctionDef or kind is ast.AsyncFunctionDef
                for block in _blocks(statement):
                    self._collect(block, found, inner, dead)

    def within(self, function: _Function, type_checking: frozenset[str]) -> list[_Import]:
        """The imports in `function`'s body (nested ones included) in document order;
        _CannotReduce when one sits under an `if` that may test TYPE_CHECKING (`_imports`)
        or under a test that is never true."""
        if type_checking:
            found = sorted(_imports(function.body, type_checking), key=_place)
        else:
            lines = self._lines
            found = self.nodes[bisect_left(lines, function.lineno):bisect_right(lines, function.end_lineno or function.lineno)]
        if self._dead and any(id(node) in self._dead for node in found):
            raise _CannotReduce
        return found


def _never_true(test: ast.expr) -> bool:
    """`False`, `0` (also `0x0`, `0_0`: more than the walker's `_never_true`, which
    only keeps such a function whole)."""
    value = getattr(test, "value", None) if type(test) is ast.Constant else None
    return value is False or (type(value) is int and value == 0)


def _place(node: ast.stmt) -> tuple[int, int]:
    return node.lineno, node.col_offset


def _import_positions(nodes: Sequence[_Import], lines: Sequence[str]) -> Optional[tuple[tuple[int, int, int, str], ...]]:
    positions = []
    for node in nodes:
        end_line = node.end_lineno or node.lineno
        end_content = _content(lines[end_line - 1])
        if end_content[_char_column(end_content, node.end_col_offset or 0):].rstrip().endswith("\\"):
            return None  # `import a \` with its `;` on the next line: LibCST ends it there
        column = _char_column(_content(lines[node.lineno - 1]), node.col_offset) + 1
        if isinstance(node, ast.Import):
            written = node.names[0].name
        else:
            written = "." * node.level + (node.module or "")
        positions.append((node.lineno, column, end_line, written))
    return tuple(positions)


_IMPORTS = frozenset({ast.Import, ast.ImportFrom})


def _type_checking_names(text: str) -> frozenset[str]:
    """TYPE_CHECKING and every name it is imported as (`... import TYPE_CHECKING as TC`);
    none in a file that never mentions it."""
    if "TYPE_CHECKING" not in text:
        return frozenset()
    aliases = []
    match = _TYPE_CHECKING_ALIAS.search(text)
    while match is not None:
        start = match.start()
        if start and _WORD_CHARACTER.match(text, start - 1) is not None:  # no word boundary: look on
            match = _TYPE_CHECKING_ALIAS.search(text, start + 1)
        else:
            aliases.append(match.group(1))
            match = _TYPE_CHECKING_ALIAS.search(text, match.end())
    return frozenset({"TYPE_CHECKING", *aliases})


def _emptied(function: _Function, lines: list[str], following: Optional[int] = None) -> Optional[tuple[int, list[str]]]:
    """A function without decorators, calls in its header or imports in its body (the
    caller knows it has none) adds nothing to the facts: all its lines, header
    included, become one string, and so do the blank and comment lines up to the next
    statement of its block, which starts at line `following` (LibCST makes three or
    four nodes of each of those lines)."""
    if function.decorator_list or _calls_in_header(function):
        return None
    first, last = function.lineno - 1, function.end_lineno or function.lineno
    if following is not None and all(_blank_or_comment(lines[row]) for row in range(last, following - 1)):
        last = max(last, following - 1)
    content = _content(lines[first])
    indent = content[: len(content) - len(content.lstrip(" \t\f"))]
    if _char_column(content, function.col_offset) != len(indent):
        return None
    contents = [""] * (last - first)
    _fill_gaps(contents, [False] * len(contents), indent)
    return first, contents


def _blank_or_comment(line: str) -> bool:
    stripped = line.strip(" \t\f\r\n")
    return not stripped or stripped[0] == "#"


def _calls_in_header(function: _Function) -> bool:
    """Calls in default values or annotations: they run when the `def` does."""
    arguments = function.args
    expressions = [*arguments.defaults, *(d for d in arguments.kw_defaults if d is not None)]
    for argument in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs,
                     arguments.vararg, arguments.kwarg):
        if argument is not None and argument.annotation is not None:
            expressions.append(argument.annotation)
    if function.returns is not None:
        expressions.append(function.returns)
    return _holds_call(expressions)


def _holds_call(expressions: list[ast.expr]) -> bool:
    stack: list[ast.AST] = [node for node in expressions if type(node) not in _NO_CALL]
    while stack:
        node = stack.pop()
        if type(node) is ast.Call:
            return True
        for name in node._fields:
            value = getattr(node, name)
            if type(value) is list:
                stack.extend(item for item in value if isinstance(item, ast.AST) and type(item) not in _NO_CALL)
            elif isinstance(value, ast.AST) and type(value) not in _NO_CALL:
                stack.append(value)
    return False


# Most annotations and defaults are, or end in, these: nothing below them to look at.
_NO_CALL = frozenset({ast.Name, ast.Constant, ast.Load, ast.Store, ast.Del})


_DEF = re.compile(r"(?:async[ \t]+)?def[ \t]+\w+[ \t]*\(")
# What may follow a header's last parameter, default or annotation on a line: closing
# brackets, commas, `/`, a comment, up to the header's `:` (group 1) or the line's end.
_HEADER_TAIL = re.compile(r"[ \t\f,)/]*(?:#[^\r\n]*|\\)?(?:(:)|\r\n|\r|\n|$)")


def _reduce_header(function: _Function, lines: list[str], body_row: int) -> None:
    """`def f(a: int = 1, *b) -> R:` becomes `def f():` when nothing in the header is
    a call (annotations, defaults): the walker reads a kept function's decorators and
    the calls in its header, never its parameters. A header over several lines keeps
    them, as one string in the parentheses (`def f(_=\"\"\"` ... `\"\"\"):`). Left
    as it is when its parts cannot be found exactly. `body_row`: the index of the line
    where the body starts."""
    if getattr(function, "type_params", None) or _calls_in_header(function):
        return
    row = function.lineno - 1
    content = _content(lines[row])
    opening = _DEF.match(content, _char_column(content, function.col_offset))
    if opening is None:
        return
    arguments = function.args
    parts = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs, arguments.vararg, arguments.kwarg,
             *arguments.defaults, *arguments.kw_defaults, function.returns]
    ends = [(part.end_lineno or part.lineno, part.end_col_offset or 0) for part in parts if part is not None]
    if ends:
        end_row, end_offset = max(ends)
        end_row -= 1
        column = _char_column(_content(lines[end_row]), end_offset)
    else:
        end_row, column = row, opening.end()
    colon_row = end_row
    while colon_row < body_row:  # the header's `:` ends the first line where what follows its last part ends
        tail = _HEADER_TAIL.match(lines[colon_row], column)
        if tail is None:
            return
        if tail.group(1):
            break
        colon_row += 1
        column = 0
    else:
        return
    if colon_row == row:
        lines[row] = content[: opening.end()] + "):" + _ending(lines[row])
        return
    _one_string(lines, row, colon_row, content[: opening.end()] + "_=", "):")


# Values the walker reads in an assignment: an alias (a name, an attribute, the first
# alternative of a conditional expression); a call it always keeps.
_READ_VALUES = frozenset({ast.Name, ast.Attribute, ast.IfExp})
# Names whose list of strings the walker reads (exports, PEP 810's lazy modules).
_LISTED_NAMES = frozenset({"__all__", "__lazy_modules__"})
_AFTER_TARGET = re.compile(r"[ \t\f]*[=:]")
_LINE_TAIL = re.compile(r"[ \t\f]*(?:#[^\r\n]*)?$")


def _reduce_assignments(body: Sequence[ast.stmt], lines: list[str], in_class: bool, inert: set[int]) -> bool:
    """Assignments outside functions whose value and annotation hold no call, bound to
    plain names, keep their targets only: `X: Dict[str, int] = {...}` becomes `X: 0 = 0`
    (over several lines, `X: 0 = \"\"\"` ... `\"\"\"`). The walker reads in them the names
    bound, what a name, attribute or conditional expression aliases, a module-level
    declaration's annotation and the strings of `__all__`: those stay as written.
    In a class body such an assignment is read for nothing (its names are attributes,
    bound to no alias, and hold no call): it joins `inert`, as does one of a constant."""
    reduced = False
    for statement in body:
        kind = type(statement)
        if kind is ast.ClassDef:
            reduced = _reduce_assignments(statement.body, lines, True, inert) or reduced
        elif kind is ast.Assign or kind is ast.AnnAssign:
            reducing = _reduce_assignment(statement, lines, in_class)  # type: ignore[arg-type]
            if in_class and (reducing or _constant_assignment(statement)):
                inert.add(id(statement))
            reduced = reducing or reduced
        elif kind is not ast.FunctionDef and kind is not ast.AsyncFunctionDef:
            for block in _blocks(statement):
                reduced = _reduce_assignments(block, lines, in_class, inert) or reduced
    return reduced


def _constant_assignment(statement: ast.stmt) -> bool:
    """`a = b = 1`: plain names bound to a constant."""
    return type(statement) is ast.Assign and type(statement.value) is ast.Constant and all(  # type: ignore[attr-defined]
        type(target) is ast.Name and target.id not in _LISTED_NAMES for target in statement.targets  # type: ignore[attr-defined]
    )


def _reduce_assignment(statement: Union[ast.Assign, ast.AnnAssign], lines: list[str], in_class: bool) -> bool:
    if type(statement) is ast.Assign:
        targets, value, annotation = statement.targets, statement.value, None
        if type(value) is ast.Constant:
            return False  # one token already
    else:
        targets, value, annotation = [statement.target], statement.value, statement.annotation
        if not statement.simple or (value is None and not in_class):  # type: ignore[union-attr]
            return False  # a module-level declaration: its annotation is read
    if any(type(target) is not ast.Name or target.id in _LISTED_NAMES for target in targets):  # type: ignore[attr-defined]
        return False
    if type(value) in _READ_VALUES or _holds_call([part for part in (annotation, value) if part is not None]):
        return False
    last = targets[-1]
    row, end_row = (last.end_lineno or last.lineno) - 1, (statement.end_lineno or statement.lineno) - 1
    content, end_content = _content(lines[row]), _content(lines[end_row])
    column = _char_column(content, last.end_col_offset or 0)
    if not _AFTER_TARGET.match(content, column) \
            or not _LINE_TAIL.match(end_content, _char_column(end_content, statement.end_col_offset or 0)):
        return False
    kept = content[:column] + (" = " if annotation is None else ": 0 = " if value is not None else ": ")
    if row == end_row:
        lines[row] = kept + "0" + _ending(lines[row])
        return True
    _one_string(lines, row, end_row, kept, "")
    return True


def _merge_inert(body: Sequence[ast.stmt], lines: list[str], original: Sequence[str], inert: set[int],
                 in_class: bool, merged: dict[int, int]) -> None:
    """Each run of consecutive statements the walker reads nothing in, outside
    functions, becomes one string over their lines (and the blank and comment lines up
    to the next statement of the block): LibCST made one statement of several nodes of
    each, and three or four nodes of each line between them. Such statements: an
    emptied function (its name comes from function_calls.py), a constant expression (a
    docstring), `pass`, and in a class body an assignment in `inert`. A run is taken
    only when it has its lines to itself. `merged` gets the line where each run starts
    and how many statements it stands for."""
    start = 0
    while start < len(body):
        statement = body[start]
        kind = type(statement)
        if kind is ast.ClassDef:
            _merge_inert(statement.body, lines, original, inert, True, merged)
        elif kind is not ast.FunctionDef and kind is not ast.AsyncFunctionDef:
            for block in _blocks(statement):
                _merge_inert(block, lines, original, inert, in_class, merged)
        if not _is_inert(statement, inert):
            start += 1
            continue
        end = start
        while end + 1 < len(body) and _is_inert(body[end + 1], inert):
            end += 1
        _merge_run(body, start, end, lines, original, merged)
        start = end + 1


def _is_inert(statement: ast.stmt, inert: set[int]) -> bool:
    kind = type(statement)
    return (
        id(statement) in inert
        or kind is ast.Pass
        or (kind is ast.Expr and type(statement.value) is ast.Constant)  # type: ignore[attr-defined]
    )


def _merge_run(body: Sequence[ast.stmt], start: int, end: int, lines: list[str], original: Sequence[str],
               merged: dict[int, int]) -> None:
    while start <= end and start > 0 and _end_row(body[start - 1]) >= body[start].lineno - 1:
        start += 1  # `x = f(); pass`: the line is not the run's
    while end >= start and end + 1 < len(body) and _start_line(body[end + 1]) - 1 <= _end_row(body[end]):
        end -= 1  # `pass; x = f()`
    if start > end:
        return
    first, last = body[start], body[end]
    row, end_row = first.lineno - 1, _end_row(last)
    following = _start_line(body[end + 1]) - 1 if end + 1 < len(body) else None
    content = _content(original[row])
    indent = content[: len(content) - len(content.lstrip(" \t\f"))]
    if _char_column(content, first.col_offset) != len(indent):
        return  # the block shares its header's line
    end_content = _content(original[end_row])
    if not _LINE_TAIL.match(end_content, _char_column(end_content, last.end_col_offset or 0)):
        return
    if following is not None:
        while end_row + 1 < following and _blank_or_comment(original[end_row + 1]):
            end_row += 1
    if end_row == row:
        lines[row] = indent + "0" + _ending(lines[row])
    else:
        _one_string(lines, row, end_row, indent, "")
    merged[row + 1] = end - start + 1


def _join_blank_lines(body: Sequence[ast.stmt], lines: list[str]) -> bool:
    """The blank and comment lines between two statements of a block outside functions
    become backslash continuations of the first one's last line (`x = 1 \\`, `\\`, ...,
    an empty line): LibCST keeps them as one whitespace node of that line instead of
    three or four nodes each before the next statement. Only where that line holds no
    `#` (a comment would swallow the backslash) and the file ends its lines with \\n
    alone."""
    joined = False
    for statement, following in zip(body, body[1:]):
        row, next_row = _end_row(statement), _start_line(following) - 1
        if next_row - row < 2:
            continue
        content = lines[row][:-1]
        if "#" in content or not content.strip(" \t\f") or content.endswith("\\") or lines[row][-1:] != "\n":
            continue
        if not all(_blank_or_comment(lines[gap]) for gap in range(row + 1, next_row)):
            continue
        lines[row] = content + " \\\n"
        for gap in range(row + 1, next_row - 1):
            lines[gap] = "\\\n"
        lines[next_row - 1] = "\n"
        joined = True
    for statement in body:
        if type(statement) is not ast.FunctionDef and type(statement) is not ast.AsyncFunctionDef:
            for block in _blocks(statement):
                joined = _join_blank_lines(block, lines) or joined
    return joined


def _end_row(statement: ast.stmt) -> int:
    return (statement.end_lineno or statement.lineno) - 1


def _one_string(lines: list[str], row: int, end_row: int, before: str, after: str) -> None:
    """Lines `row` to `end_row` (indexes) become `before`, a triple-quoted string of
    their line breaks, then `after`: LibCST sees one token where they were, on the
    same lines."""
    lines[row] = before + '"""' + _ending(lines[row])
    for middle in range(row + 1, end_row):
        lines[middle] = _ending(lines[middle])
    lines[end_row] = '"""' + after + _ending(lines[end_row])


def _reduced_body(function: _Function, lines: list[str], imports: Sequence[_Import]) -> tuple[int, list[str]]:
    """(index of the body's first line, new contents of the body's lines).

    Lines left between the imports become one triple-quoted string each run: LibCST
    makes several objects for every blank line, and one for a string of any length."""
    first_statement = function.body[0]
    start = _start_line(first_statement)
    content = _content(lines[start - 1])
    indent = content[: len(content) - len(content.lstrip(" \t\f"))]
    if start == function.lineno or not _starts_line(first_statement, content, indent):
        raise _CannotReduce  # `def f(): return 1`: the body shares the header's line
    first, last = start - 1, function.end_lineno or start
    contents = [""] * (last - first)
    taken = [False] * (last - first)
    for node in imports:
        row = node.lineno - 1 - first
        line = _content(lines[node.lineno - 1])
        column = _char_column(line, node.col_offset)
        if taken[row]:  # `import a; import b`
            prefix = contents[row]
            if column < len(prefix) + 1:
                raise _CannotReduce
            contents[row] = prefix + ";" + " " * (column - len(prefix) - 1)
        elif column == len(indent):
            contents[row] = indent
        elif column >= len(indent) + 2:  # nested deeper: `0;` keeps the column
            contents[row] = indent + "0;" + " " * (column - len(indent) - 2)
        else:
            raise _CannotReduce
        end_row = (node.end_lineno or node.lineno) - 1 - first
        end_line = _content(lines[first + end_row])
        end_column = _char_column(end_line, node.end_col_offset or 0)
        if end_row == row:
            contents[row] += line[column:end_column]
        else:
            contents[row] += line[column:]
            for middle in range(row + 1, end_row):
                contents[middle] = _content(lines[first + middle])
            contents[end_row] = end_line[:end_column]
        for taken_row in range(row, end_row + 1):
            taken[taken_row] = True
    _fill_gaps(contents, taken, indent)
    return first, contents


def _fill_gaps(contents: list[str], taken: list[bool], indent: str) -> None:
    row = 0
    while row < len(contents):
        if taken[row]:
            row += 1
            continue
        gap_end = row
        while gap_end + 1 < len(contents) and not taken[gap_end + 1]:
            gap_end += 1
        if gap_end > row:
            contents[row], contents[gap_end] = indent + '"""', '"""'
        elif row == 0 and not any(taken):
            contents[row] = indent + "pass"  # a one-line body: it needs a statement
        row = gap_end + 1


def _start_line(statement: ast.stmt) -> int:
    decorators = getattr(statement, "decorator_list", None)
    return decorators[0].lineno if decorators else statement.lineno


def _starts_line(statement: ast.stmt, content: str, indent: str) -> bool:
    if getattr(statement, "decorator_list", None):
        return content[len(indent):].startswith("@")
    return _char_column(content, statement.col_offset) == len(indent)


def _imports(body: Sequence[ast.stmt], type_checking: frozenset[str],
             found: Optional[list[_Import]] = None) -> list[_Import]:
    """Every import statement in a body, nested ones included. An import under an `if`
    that may test TYPE_CHECKING would change its kind if moved out: keep that body."""
    if found is None:
        found = []
    for statement in body:
        kind = type(statement)
        if kind in _IMPORTS:
            found.append(statement)  # type: ignore[arg-type]
            continue
        if (
            type_checking
            and kind is ast.If
            and _mentions(statement.test, type_checking)  # type: ignore[attr-defined]
            and any(_imports(block, frozenset()) for block in _blocks(statement))
        ):
            raise _CannotReduce
        for block in _blocks(statement):
            _imports(block, type_checking, found)
    return found


def _mentions(expression: ast.expr, names: frozenset[str]) -> bool:
    for node in ast.walk(expression):
        if isinstance(node, ast.Name) and node.id in names:
            return True
        if isinstance(node, ast.Attribute) and node.attr in names:
            return True
    return False


def _char_column(content: str, utf8_offset: int) -> int:
    """ast columns count UTF-8 bytes; LibCST's count characters."""
    if content.isascii():
        return utf8_offset
    return len(content.encode("utf-8", "surrogatepass")[:utf8_offset].decode("utf-8", "replace"))
