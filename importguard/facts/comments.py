"""Comments as Python's tokenizer sees them, and the suppressions they hold.

Read with the tokenizer, so a `#` inside a string is no comment, and on the lines
Python counts (universal newlines: `\n`, `\r\n`, `\r`; a form feed or U+2028 inside a
line ends nothing, as `str.splitlines` would have it). One implementation for the
collector and the language server.
"""

from __future__ import annotations

import ast
import bisect
import itertools
import io
import re
import tokenize
from typing import Optional

from importguard.model import Suppression

NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Za-z]+[0-9]+(?:\s*,\s*[A-Za-z]+[0-9]+)*))?", re.I)
_IGNORE = re.compile(r"#\s*importguard:\s*ignore(?:\[(?P<codes>[^\]]*)\])?", re.I)
# ruff's `# ruff: noqa`: on a line of its own, it covers the whole file.
_FILE_NOQA = re.compile(r"^#\s*importguard:\s*noqa(?::\s*(?P<codes>[A-Za-z]+[0-9]+(?:\s*,\s*[A-Za-z]+[0-9]+)*))?\s*$", re.I)
_MARKER = re.compile(r"noqa|importguard\s*:", re.I)  # without one, no line can suppress


def _may_mark(text: str) -> bool:
    """False where `_MARKER` cannot match, at a fraction of its cost (a case-blind regex
    scans slowly: 4% of collecting). Of the marker's letters only `i` has non-ASCII
    case partners (`İ`, `ı`), so the rest, lowered, must be there."""
    lowered = text.lower()
    return "noqa" in lowered or "mportguard" in lowered


def comments(text: str) -> dict[int, tuple[int, str]]:
    """line -> (0-based column, text) of the comment on it. A file the tokenizer gives
    up on keeps the comments found before that point."""
    found: dict[int, tuple[int, str]] = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO(text, newline=None).readline):
            if token.type == tokenize.COMMENT:
                found[token.start[0]] = (token.start[1], token.string)
    except (tokenize.TokenError, SyntaxError):
        pass
    return found


def suppressions(text: str, tree: Optional[ast.Module] = None) -> tuple[Suppression, ...]:
    """`# noqa`, `# noqa: IG001,IG002`, `# importguard: ignore[IG001]` comments; empty
    codes mean every code. `# importguard: noqa[: codes]` alone on its line covers the
    whole file. `tree`: CPython's `ast` of `text`, when it accepted the file."""
    if not _may_mark(text):  # most files: no tokenizer pass at all
        return ()
    lines = io.StringIO(text, newline=None).readlines()  # the lines the tokenizer counts
    marked = _marked_comments(tree, lines, _marked_lines(text, lines)) if tree is not None else None
    if marked is None and not _MARKER.search(text):
        return ()
    found = []
    for line, (column, comment) in sorted((comments(text) if marked is None else marked).items()):
        own_line = line <= len(lines) and not lines[line - 1][:column].strip()
        file_match = _FILE_NOQA.match(comment) if own_line else None
        if file_match:
            found.append(Suppression(line, _codes(file_match), "file"))
            continue
        for pattern, directive in ((NOQA, "noqa"), (_IGNORE, "ignore")):
            match = pattern.search(comment)
            if match:
                found.append(Suppression(line, _codes(match), directive))
                break
    return tuple(found)


def _codes(match: "re.Match[str]") -> tuple[str, ...]:
    codes = match.group("codes") or ""
    return tuple(sorted(c.strip().upper() for c in codes.split(",") if c.strip()))


def _marked_lines(text: str, lines: list[str]) -> list[int]:
    """The numbers of the lines `_MARKER` matches in. A case-blind regex over the whole
    text, or `_may_mark` on every line, cost more than the rest of this module: where
    lowering keeps every offset (no \\r, no character whose lower case is longer),
    only the lines where the lowered text holds a marker's letters are searched."""
    lowered = text.lower()
    if "\r" in text or len(lowered) != len(text):
        return [number for number, line in enumerate(lines, 1) if _may_mark(line) and _MARKER.search(line)]
    offsets = []
    for letters in ("noqa", "mportguard"):
        found = lowered.find(letters)
        while found >= 0:
            offsets.append(found)
            found = lowered.find(letters, found + 1)
    if not offsets:
        return []
    ends = list(itertools.accumulate(map(len, lines)))  # the offset after each line
    candidates = sorted({bisect.bisect_right(ends, offset) + 1 for offset in offsets})
    return [number for number in candidates if _MARKER.search(lines[number - 1])]


def _marked_comments(tree: ast.Module, lines: list[str], marked: list[int]) -> Optional[dict[int, tuple[int, str]]]:
    """The comments of the lines holding a marker, as `comments` finds them, without
    tokenizing the file (the tokenizer, pure Python before 3.12, cost 5% of collecting):
    on a file CPython accepted, a `#` outside every string literal starts a comment, and
    `tree` places the literals. None when that cannot tell: a `#` inside the span of a
    literal (`ast` gives implicitly joined strings, and f-strings, one span, which may
    hold a comment) comes first on a marked line. `marked`: `_marked_lines`."""
    if not marked:
        return {}
    spans = _literal_spans(tree, marked)
    found: dict[int, tuple[int, str]] = {}
    for number in marked:
        line = lines[number - 1]
        inside = [_columns(span, number, lines) for span in spans.get(number, ())]
        column = line.find("#")
        if column >= 0:
            if not any(start <= column < end for start, end in inside):
                found[number] = (column, line[column:].rstrip("\r\n"))
                continue
            return None  # in a literal's span: a string, or a comment between joined strings
    return found


def _literal_spans(tree: ast.Module, marked: list[int]) -> dict[int, list[ast.expr]]:
    """marked line -> the string (and other constant) literals whose span touches it;
    only the parts of the tree that reach a marked line are walked."""
    spans: dict[int, list[ast.expr]] = {}
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        first = getattr(node, "lineno", None)
        if first is not None:
            last = getattr(node, "end_lineno", None) or first
            index = bisect.bisect_left(marked, first)
            if index == len(marked) or marked[index] > last:
                continue  # no marked line in this node
            if isinstance(node, (ast.Constant, ast.JoinedStr)):
                for number in marked[index:bisect.bisect_right(marked, last)]:
                    spans.setdefault(number, []).append(node)  # type: ignore[arg-type]
                continue
        stack.extend(ast.iter_child_nodes(node))
    return spans


def _columns(node: ast.expr, number: int, lines: list[str]) -> tuple[int, int]:
    """The characters of line `number` that `node` covers: [start, end)."""
    start = _character(lines[node.lineno - 1], node.col_offset) if node.lineno == number else 0
    last = node.end_lineno or node.lineno
    end_offset = node.end_col_offset
    if last == number and end_offset is not None:
        end = _character(lines[last - 1], end_offset)
    else:
        end = len(lines[number - 1])
    return start, end


def _character(line: str, utf8_offset: int) -> int:
    """`ast` columns count UTF-8 bytes; the tokenizer's count characters."""
    if line.isascii():
        return utf8_offset
    return len(line.encode("utf-8", "surrogatepass")[:utf8_offset].decode("utf-8", "replace"))
