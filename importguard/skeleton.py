"""A file's source with function bodies reduced to their import statements.

Function bodies are most of a file and never run on import, yet LibCST's parse time
and memory grow with every token it sees. Measured on sglang 0.5.10.post1 (1,764
files, this 2-core machine): `libcst.parse_module` of the whole files 23.5 s; the
reduced files 6.6 s, plus 3.1 s for Python's own `ast` to find the bodies.

Each reduced body keeps its import statements, each on its original line and at its
original column, so every position LibCST reports is a position in the real file and
the facts are the ones the whole file gives (tests/test_skeleton.py checks this). A
function is kept whole when that cannot be done exactly. When `ast` cannot parse the
file (a syntax error, or syntax newer than this interpreter), there is no skeleton and
LibCST sees the whole file, as its errors are the ones reported.
"""

from __future__ import annotations

import ast
import re
import warnings
from typing import Iterator, Optional, Sequence, Union

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)")
_TYPE_CHECKING_ALIAS = re.compile(r"\bTYPE_CHECKING\s+as\s+(\w+)")
_BLOCK_FIELDS = ("body", "orelse", "finalbody")
_Function = Union[ast.FunctionDef, ast.AsyncFunctionDef]
_Import = Union[ast.Import, ast.ImportFrom]


class _CannotReduce(Exception):
    pass


def import_time_skeleton(text: str) -> Optional[str]:
    """The reduced source, or None when there is nothing to reduce or `ast` fails."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. invalid escape sequences
            tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    functions = list(_outermost_functions(tree.body))
    if not functions:
        return None
    lines = _split_lines(text)
    type_checking = _type_checking_names(text)
    reduced = False
    for function in functions:
        try:
            replacement = _reduced_body(function, lines, type_checking)
        except _CannotReduce:
            continue
        first, contents = replacement
        for offset, content in enumerate(contents):
            line = lines[first + offset]
            lines[first + offset] = (content, line[1])
        reduced = True
    if not reduced:
        return None
    return "".join(content + ending for content, ending in lines)


def _split_lines(text: str) -> list[tuple[str, str]]:
    """(content, line ending) per physical line, as Python's tokenizer counts lines:
    only \\n, \\r\\n and \\r end one (str.splitlines would also split on form feeds)."""
    lines = [(m[: len(m.rstrip("\r\n"))], m[len(m.rstrip("\r\n")):]) for m in _LINE.findall(text)]
    consumed = sum(len(content) + len(ending) for content, ending in lines)
    if consumed < len(text):
        lines.append((text[consumed:], ""))
    return lines


def _outermost_functions(body: Sequence[ast.stmt]) -> Iterator[_Function]:
    for statement in body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield statement
            continue
        for block in _blocks(statement):
            yield from _outermost_functions(block)


def _blocks(statement: ast.stmt) -> Iterator[Sequence[ast.stmt]]:
    for name in _BLOCK_FIELDS:
        block = getattr(statement, name, None)
        if block:
            yield block
    for handler in getattr(statement, "handlers", ()):
        yield handler.body
    for case in getattr(statement, "cases", ()):
        yield case.body


def _type_checking_names(text: str) -> frozenset[str]:
    """TYPE_CHECKING and every name it is imported as (`... import TYPE_CHECKING as TC`)."""
    return frozenset({"TYPE_CHECKING", *_TYPE_CHECKING_ALIAS.findall(text)})


def _reduced_body(
    function: _Function, lines: list[tuple[str, str]], type_checking: frozenset[str]
) -> tuple[int, list[str]]:
    """(index of the body's first line, new contents of the body's lines)."""
    first_statement = function.body[0]
    start = _start_line(first_statement)
    content = lines[start - 1][0]
    indent = content[: len(content) - len(content.lstrip(" \t\f"))]
    if start == function.lineno or not _starts_line(first_statement, content, indent):
        raise _CannotReduce  # `def f(): return 1`: the body shares the header's line
    first, last = start - 1, function.end_lineno or start
    contents = [""] * (last - first)
    imports = sorted(_imports(function.body, type_checking), key=lambda n: (n.lineno, n.col_offset))
    filled_until = -1  # the last body line that has content
    for node in imports:
        row = node.lineno - 1 - first
        column = _char_column(lines[node.lineno - 1][0], node.col_offset)
        if row == filled_until:  # `import a; import b`
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
        end_column = _char_column(lines[first + end_row][0], node.end_col_offset or 0)
        if end_row == row:
            contents[row] += lines[node.lineno - 1][0][column:end_column]
        else:
            contents[row] += lines[node.lineno - 1][0][column:]
            for middle in range(row + 1, end_row):
                contents[middle] = lines[first + middle][0]
            contents[end_row] = lines[first + end_row][0][:end_column]
        filled_until = end_row
    if not imports:
        contents[0] = indent + "pass"
    return first, contents


def _start_line(statement: ast.stmt) -> int:
    decorators = getattr(statement, "decorator_list", None)
    return decorators[0].lineno if decorators else statement.lineno


def _starts_line(statement: ast.stmt, content: str, indent: str) -> bool:
    if getattr(statement, "decorator_list", None):
        return content[len(indent):].startswith("@")
    return _char_column(content, statement.col_offset) == len(indent)


def _imports(body: Sequence[ast.stmt], type_checking: frozenset[str]) -> Iterator[_Import]:
    """Every import statement in a body, nested ones included. An import under an `if`
    that may test TYPE_CHECKING would change its kind if moved out: keep that body."""
    for statement in body:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            yield statement
            continue
        if (
            isinstance(statement, ast.If)
            and _mentions(statement.test, type_checking)
            and any(True for block in _blocks(statement) for _ in _imports(block, frozenset()))
        ):
            raise _CannotReduce
        for block in _blocks(statement):
            yield from _imports(block, type_checking)


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
