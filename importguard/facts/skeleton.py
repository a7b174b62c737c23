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
from dataclasses import dataclass, field
from typing import Iterator, Optional, Sequence, Union

from importguard.facts.statement_blocks import blocks as _blocks

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)")
_OTHER_LINE_BREAKS = re.compile("[\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
_TYPE_CHECKING_ALIAS = re.compile(r"\bTYPE_CHECKING\s+as\s+(\w+)")
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


def import_time_skeleton(text: str, reduce: bool = True, tree: Optional[ast.Module] = None) -> Optional[Skeleton]:
    """None when the file has no functions or `ast` cannot parse it. `reduce=False`
    reduces nothing (`source` is None) but still gives the tree. `tree`: the file's
    `ast` when the caller has it already."""
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
    lines = _split_lines(text)
    original = tuple(lines)
    imports = _import_positions(tree.body, lines)
    if not reduce:
        return Skeleton(None, statement_lines, imports, tree, original)
    type_checking = _type_checking_names(text)
    reduced = False
    for function, following in functions:
        try:
            first, contents = _emptied(function, lines, type_checking, following) or _reduced_body(
                function, lines, type_checking
            )
        except _CannotReduce:
            continue
        end = first + len(contents)
        lines[first:end] = [content + _ending(line) for content, line in zip(contents, lines[first:end])]
        if first >= function.lineno:  # the body alone was reduced: the header may be too
            _reduce_header(function, lines, first)
        reduced = True
    reduced = _reduce_assignments(tree.body, lines, False) or reduced
    return Skeleton("".join(lines) if reduced else None, statement_lines, imports, tree, original)


def statement_places(text: str, tree: ast.Module) -> Skeleton:
    """Only where each top-level statement and each import statement starts, for a file
    `import_time_skeleton` has no skeleton for (no functions): positions.py then places
    imports from `ast` there too, instead of generating the whole module's code."""
    statement_lines = start_lines(tree.body)
    return Skeleton(None, statement_lines, _import_positions(tree.body, _split_lines(text)), tree)


def start_lines(body: Sequence[ast.stmt]) -> tuple[int, ...]:
    """Where each statement starts: its first decorator's line for a decorated one."""
    return tuple(_start_line(statement) for statement in body)


def _split_lines(text: str) -> list[str]:
    """Physical lines with their endings, as Python's tokenizer counts them: only \\n,
    \\r\\n and \\r end one (str.splitlines also splits on form feeds and a few more)."""
    if _OTHER_LINE_BREAKS.search(text) is None:
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


def _import_positions(
    body: Sequence[ast.stmt], lines: list[str]
) -> Optional[tuple[tuple[int, int, int, str], ...]]:
    nodes = sorted(_all_imports(body), key=lambda n: (n.lineno, n.col_offset))
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


def _all_imports(body: Sequence[ast.stmt], found: Optional[list[_Import]] = None) -> list[_Import]:
    if found is None:
        found = []
    for statement in body:
        if type(statement) in _IMPORTS:
            found.append(statement)  # type: ignore[arg-type]
        else:
            for block in _blocks(statement):
                _all_imports(block, found)
    return found


_IMPORTS = frozenset({ast.Import, ast.ImportFrom})


def _type_checking_names(text: str) -> frozenset[str]:
    """TYPE_CHECKING and every name it is imported as (`... import TYPE_CHECKING as TC`);
    none in a file that never mentions it."""
    if "TYPE_CHECKING" not in text:
        return frozenset()
    return frozenset({"TYPE_CHECKING", *_TYPE_CHECKING_ALIAS.findall(text)})


def _emptied(
    function: _Function, lines: list[str], type_checking: frozenset[str], following: Optional[int] = None
) -> Optional[tuple[int, list[str]]]:
    """A function without decorators, calls in its header or imports in its body adds
    nothing to the facts: all its lines, header included, become one string, and so do
    the blank and comment lines up to the next statement of its block, which starts at
    line `following` (LibCST makes three or four nodes of each of those lines)."""
    if function.decorator_list or _calls_in_header(function):
        return None
    if _imports(function.body, type_checking):
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
    stack: list[ast.AST] = expressions
    while stack:
        node = stack.pop()
        if type(node) is ast.Call:
            return True
        for name in node._fields:
            value = getattr(node, name)
            if type(value) is list:
                stack.extend(item for item in value if isinstance(item, ast.AST))
            elif isinstance(value, ast.AST):
                stack.append(value)
    return False


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


def _reduce_assignments(body: Sequence[ast.stmt], lines: list[str], in_class: bool) -> bool:
    """Assignments outside functions whose value and annotation hold no call, bound to
    plain names, keep their targets only: `X: Dict[str, int] = {...}` becomes `X: 0 = 0`
    (over several lines, `X: 0 = \"\"\"` ... `\"\"\"`). The walker reads in them the names
    bound, what a name, attribute or conditional expression aliases, a module-level
    declaration's annotation and the strings of `__all__`: those stay as written."""
    reduced = False
    for statement in body:
        kind = type(statement)
        if kind is ast.ClassDef:
            reduced = _reduce_assignments(statement.body, lines, True) or reduced
        elif kind is ast.Assign or kind is ast.AnnAssign:
            reduced = _reduce_assignment(statement, lines, in_class) or reduced  # type: ignore[arg-type]
        elif kind is not ast.FunctionDef and kind is not ast.AsyncFunctionDef:
            for block in _blocks(statement):
                reduced = _reduce_assignments(block, lines, in_class) or reduced
    return reduced


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


def _one_string(lines: list[str], row: int, end_row: int, before: str, after: str) -> None:
    """Lines `row` to `end_row` (indexes) become `before`, a triple-quoted string of
    their line breaks, then `after`: LibCST sees one token where they were, on the
    same lines."""
    lines[row] = before + '"""' + _ending(lines[row])
    for middle in range(row + 1, end_row):
        lines[middle] = _ending(lines[middle])
    lines[end_row] = '"""' + after + _ending(lines[end_row])


def _reduced_body(
    function: _Function, lines: list[str], type_checking: frozenset[str]
) -> tuple[int, list[str]]:
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
    imports = sorted(_imports(function.body, type_checking), key=lambda n: (n.lineno, n.col_offset))
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
