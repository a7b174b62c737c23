"""CPython's own verdict on a file, asked before LibCST sees it.

A file CPython refuses cannot be imported, so its imports never run: that is a syntax
error (IG900) at the position CPython gives, as flake8's E999 says. `ast.parse` finds
grammar and tokenizer errors with the right line and column (LibCST's positions are
wrong for most broken files); compiling the tree finds what only the compiler refuses
(`return` at module level, `def f(a, a)`, `break` outside a loop,
`from __future__ import braces`). Compiling costs half as much as parsing, so it is done
only when a cheap look at the statements and the text finds something the compiler
could refuse (`compiling_may_refuse`; tests/test_compile_only.py holds the cases).

One exception: LibCST knows syntax newer than the interpreter running importguard
(PEP 695 `type X = ...` on 3.11, PEP 810 `lazy import`). A grammar error may mean just
that, so such a refusal is `final=False` and LibCST is asked too; only messages that no
Python version changes (`bytes can only contain ASCII literal characters`, bad escapes)
and compile-time refusals are final.

CPython refusing a file also bounds what reaches LibCST: its tokenizer refuses more than
200 nested brackets and its parser and compiler give up on expressions a few thousand
terms deep, where LibCST's native parser overflows its stack (a segfault).
"""

from __future__ import annotations

import ast
import io
import re
import sys
import tokenize
import unicodedata
import warnings
from bisect import bisect_right
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Collection, Iterator, Optional, Sequence

# Messages whose refusal no newer grammar would lift.
_FINAL_MESSAGES = (
    "bytes can only contain ASCII",
    "(unicode error)",
    "(value error)",
    "source code string cannot contain null bytes",
    "source code cannot contain null bytes",
)
TOO_DEEP = "too deeply nested for Python's own parser (CPython raises RecursionError)"
MAX_BRACKET_NESTING = 200  # CPython's tokenizer refuses more (MAXLEVEL)
_OPENING = frozenset("([{")
_CLOSING = frozenset(")]}")


@dataclass(frozen=True)
class Refusal:
    message: str
    line: int = 1
    column: int = 1  # 1-based, in characters
    final: bool = True  # False: newer syntax may explain it; ask LibCST


@dataclass(frozen=True)
class Verdict:
    tree: Optional[ast.Module]  # CPython's tree when it accepts the file
    refusal: Optional[Refusal] = None
    # The file's physical lines with their endings, when CPython accepts it and no line
    # break other than \n, \r\n and \r is in it (then `str.splitlines` gives the lines
    # Python's tokenizer counts): the skeleton reuses them. None otherwise.
    lines: Optional[list[str]] = field(default=None, compare=False, repr=False)


def cpython_verdict(text: str, filename: str = "<file>") -> Verdict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. invalid escape sequences
        try:
            tree = ast.parse(text, filename)
        except SyntaxError as error:
            final = (error.msg or "").startswith(_FINAL_MESSAGES)
            return Verdict(None, _refusal(error, final))
        except ValueError as error:  # NUL bytes on Python < 3.12
            return Verdict(None, Refusal(str(error)))
        except (RecursionError, MemoryError):
            return Verdict(None, Refusal(TOO_DEEP))
        lines = None if other_line_breaks(text) else text.splitlines(keepends=True)
        if not compiling_may_refuse(tree, text, lines):
            return Verdict(tree, lines=lines)
        try:
            compile(tree, filename, "exec", dont_inherit=True)
        except SyntaxError as error:
            return Verdict(None, _refusal(error, True))
        except (RecursionError, MemoryError):
            # Compiling a tree object recurses in Python's own limit, which is lower
            # than compiling the text: ask the way `python file.py` would.
            try:
                compile(text, filename, "exec", dont_inherit=True)
            except SyntaxError as error:
                return Verdict(None, _refusal(error, True))
            except (RecursionError, MemoryError):
                return Verdict(None, Refusal(TOO_DEEP))
    return Verdict(tree, lines=lines)


def _refusal(error: SyntaxError, final: bool) -> Refusal:
    return Refusal(error.msg or "invalid syntax", max(1, error.lineno or 1), max(1, error.offset or 1), final)


def bracket_nesting_exceeds(text: str, limit: int = MAX_BRACKET_NESTING) -> bool:
    """Bracket depth counted on tokens (brackets in strings and comments do not
    count). Only for files CPython refused, before LibCST is asked about them; a file
    that cannot be tokenized counts as too deep, so that LibCST never sees it."""
    depth = 0
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.OP:
                if token.string in _OPENING:
                    depth += 1
                    if depth > limit:
                        return True
                elif token.string in _CLOSING:
                    depth -= 1
    except (tokenize.TokenError, SyntaxError, RecursionError):
        return True
    return False


# LibCST's native parser builds `a and b and c ...` as a nested tree, where CPython keeps
# one flat BoolOp: 10,000 operands CPython accepts overflow LibCST's stack (a segfault);
# 5,000 did not. Depth here counts each operand of a boolean operator as a level.
LIBCST_MAX_DEPTH = 4_000
_BOOLEAN_WORDS = re.compile(r"\b(?:and|or)\b")
# Each match of _BOOLEAN_WORDS is one of these (they need no word boundary before), which
# the regex engine finds at a fraction of the cost (a pattern that starts with `\b` is
# tried at every character): a bound to look at first.
_BOOLEAN_ENDS = re.compile(r"(?:and|or)\b")


def too_deep_for_libcst(text: str, tree: ast.Module, limit: int = LIBCST_MAX_DEPTH) -> bool:
    """Whether LibCST would nest deeper than `limit` on a file CPython accepted. Without
    many `and`/`or` words, CPython's own limits (about 3,000) keep it well under."""
    budget = limit - 3_000
    if text.count("and") + text.count("or") <= budget or len(_BOOLEAN_ENDS.findall(text)) <= budget \
            or len(_BOOLEAN_WORDS.findall(text)) <= budget:
        return False  # cheaper bounds first: a regex over every file costs too much
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        step = len(node.values) if isinstance(node, ast.BoolOp) else 1
        stack.extend((child, depth + step) for child in ast.iter_child_nodes(node))
    return False


# ----------------------------------------------------------------------------- compile-only errors
#
# What CPython refuses only when compiling a tree `ast.parse` accepted (its symbol table
# and code generator, 3.10 to 3.13), and how it is found without compiling:
# - in statements, all of them (`_Statements`): `return` outside a function,
#   `break`/`continue` outside a loop, `async for`/`async with` outside an async
#   function, `nonlocal` and `global` (except a `global` among the first statements of
#   a function's body naming no parameter and annotated nowhere after), `from m import
#   *` below module level, misplaced or unknown `__future__` imports, duplicate
#   parameters, a bare `except:` that is not last, starred assignment targets, `match`
#   (pattern checks), `except*`, type parameters, too many nested blocks;
# - in expressions (`_expressions`), walked only for a statement whose own lines (any
#   expression lies within them) hold what such an error needs: `name=` twice (a keyword
#   repeated), `lambda` (its parameters), `*` after `for` (a starred comprehension
#   target), `yield`, `await`, `async`, `:=` (where they may not be), or more characters
#   than an expression too deep for the compiler's stack needs; `__debug__` anywhere in
#   the file is never walked for: the file is compiled.
# A check that cannot tell raises _MayRefuse, which costs one compile, never a verdict.

# Line breaks that `str.splitlines` honours and Python's tokenizer does not.
_OTHER_LINE_BREAKS = re.compile("[\\v\\f\\x1c\\x1d\\x1e\\x85\\u2028\\u2029]")
_ASCII_OTHER_LINE_BREAKS = ("\v", "\f", "\x1c", "\x1d", "\x1e")


def other_line_breaks(text: str) -> bool:
    """Whether `text` holds one of _OTHER_LINE_BREAKS. Most files are ASCII (which
    `str.isascii` knows without reading them), where `in` finds each of the five at the
    speed of memchr; the regex reads every character."""
    if text.isascii():
        return any(character in text for character in _ASCII_OTHER_LINE_BREAKS)
    return _OTHER_LINE_BREAKS.search(text) is not None
# Where an expression walk is needed: words whose place matters, and a `for` (a
# comprehension's target may be starred). Searched for as plain text, which the regex
# engine does at the speed of `str.find` (`\b` first would try every position): `asyncio`
# marks its line too, which costs a walk, never a verdict.
_SCOPED_WORDS = ("yield", "await", "async", "lambda", ":=")
_FOR = re.compile(r"for\b")
# A keyword argument, or a parameter's default: `name=` (not `==`) after `(` or `,`, with
# what may stand between them inside brackets. From Python 3.11 the same without
# backtracking into a name or the space around it (what is given back can never match
# what follows), which halves the search of every `(` and `,` of a file.
_KEYWORD_PATTERN = r"[(,](?:\s|\\|#[^\n]*\n)*([^\W\d]\w*)(?:\s|\\|#[^\n]*\n)*=(?!=)"
_KEYWORD_POSSESSIVE = r"[(,](?:\s|\\|#[^\n]*\n)*+([^\W\d]\w*+)(?:\s|\\|#[^\n]*\n)*+=(?!=)"
_KEYWORD = re.compile(_KEYWORD_POSSESSIVE if sys.version_info >= (3, 11) else _KEYWORD_PATTERN)
# The same after `(` alone and after `,` alone: a pattern that starts with one character
# is searched for at the speed of `str.find`, one that starts with a class of two is tried
# at every character (_keywords_in).
_KEYWORD_AFTER = tuple(re.compile(re.escape(opening) + _KEYWORD.pattern[len("[(,]"):]) for opening in "(,")
_FUTURE_FEATURES = frozenset({
    "nested_scopes", "generators", "division", "absolute_import", "with_statement", "print_function",
    "unicode_literals", "generator_stop", "annotations",
})  # not barry_as_FLUFL: it changes what parses
_MAX_BLOCKS = 10  # loops, try and with inside one another; CPython refuses 20
_MAX_NESTING = 100  # statements inside one another (an elif is inside its if)
# An expression nested deeper may exhaust the compiler's stack (which counts from
# Python's recursion limit); each level takes at least one character, so a statement
# whose own text is shorter than _MAX_STATEMENT_CHARS is not measured.
_MAX_EXPRESSION_DEPTH = 200
_MAX_STATEMENT_CHARS = 1_000
# Past this many nodes in one statement, compiling the file is the cheaper check. With
# names, constants and operators counted where they stand, walking a statement costs less
# than compiling the file that holds it: at most about as much on every file of vLLM,
# sglang and flashinfer, whose largest statements hold under 20,000 nodes (at 1,000, the
# 45 files holding larger ones were compiled, 2.3 times the cost of walking them).
_MAX_WALKED_NODES = 20_000
_NESTED_BLOCKS = frozenset({"body", "orelse", "finalbody", "handlers", "cases"})
_ANNOTATIONS = frozenset({"annotation", "returns"})
_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_BLOCKS = frozenset({ast.For, ast.AsyncFor, ast.While, ast.Try, ast.With, ast.AsyncWith})
_FUNCTIONS = frozenset({ast.FunctionDef, ast.AsyncFunctionDef})
_COMPOUND = frozenset({*_BLOCKS, *_FUNCTIONS, ast.ClassDef, ast.If})
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_REFUSED_STATEMENTS = frozenset(
    getattr(ast, name) for name in ("Global", "Nonlocal", "Match", "TryStar", "TypeAlias") if hasattr(ast, name)
)
# The simple statements that may be refused by their kind or their targets (the others
# only by their expressions).
_CHECKED_SIMPLE = frozenset({
    *_REFUSED_STATEMENTS, ast.Return, ast.Break, ast.Continue, ast.ImportFrom, ast.Assign, ast.AnnAssign,
})
# Where a statement stands, for _Statements.body: the module's own body, a block of it
# (if/try/loop/with), or inside a def or class.
_TOP, _MODULE_BLOCK, _INSIDE = 0, 1, 2
# Flags of where an expression stands, for _expressions.
_IN_LAMBDA, _IN_COMPREHENSION, _IN_ANNOTATION = 1, 2, 4


class _MayRefuse(Exception):
    pass


def compiling_may_refuse(tree: ast.Module, text: str, lines: Optional[list[str]] = None) -> bool:
    """False only when compiling `tree` (what `ast.parse` made of `text`) can raise
    neither SyntaxError nor RecursionError: then the compile is skipped. `lines`:
    `text.splitlines(keepends=True)`, when the caller has them and knows `text` holds
    no other line break (Verdict.lines)."""
    if "__debug__" in text:
        return True
    if lines is None:
        if other_line_breaks(text):
            return True
        lines = text.splitlines(keepends=True)
    try:
        _Statements(text, lines).module(tree.body)
    except (_MayRefuse, RecursionError, IndexError):
        return True
    return False


class _Statements:
    """One pass over every statement; the expressions of a statement are walked only
    where its own lines (all of a simple statement's, a compound one's up to where its
    body starts: every expression of it lies within them) are marked."""

    def __init__(self, text: str, lines: Sequence[str]) -> None:
        self.text = text
        # line number - 1 -> where the line starts in text
        self.offsets = offsets = list(accumulate(map(len, lines), initial=0))
        size = len(offsets)  # every line number, and 0

        def line(position: int) -> int:
            return bisect_right(offsets, position)

        # Per line number, how many marked lines (and lines with a `for`) there are up to it,
        # so that whether a statement's lines hold one costs two lookups; None when none.
        self.marked = _counts({
            line(position) for word in _SCOPED_WORDS if word in text for position in _positions(word, text)
        }, size)
        self.fors = _counts([line(match.start()) for match in _FOR.finditer(text)], size) if "*" in text else None
        keywords = [(line(start), name) for start, name in _keywords_in(text)]
        self.keyword_lines = [number for number, _ in keywords]
        self.keyword_names = [name if name.isascii() else unicodedata.normalize("NFKC", name) for _, name in keywords]
        self.repeats = _repeats(self.keyword_lines, self.keyword_names, size)

        self.declared: set[str] = set()  # the names the function being walked declares `global`

    def global_names(self, statement: ast.Global, body: Sequence[ast.stmt], function: Optional[ast.AST]) -> None:
        """A `global` statement the compiler cannot refuse: among the first statements of a
        function's body (after a docstring and other `global`s), naming no parameter. Its
        scope then holds no use or assignment of those names before it, which is what
        the compiler's other refusals of it need; an annotated assignment of one later is
        refused (body)."""
        if type(function) not in _FUNCTIONS or body is not function.body:  # type: ignore[union-attr]
            raise _MayRefuse  # module level, a class body, or inside a block
        for index, earlier in enumerate(body):
            if earlier is statement:
                break
            if type(earlier) is not ast.Global and not (index == 0 and _is_docstring(earlier)):
                raise _MayRefuse
        arguments = function.args  # type: ignore[union-attr]
        parameters = {a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)}
        parameters.update(a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None)
        if not parameters.isdisjoint(statement.names):
            raise _MayRefuse
        self.declared.update(statement.names)

    def module(self, body: Sequence[ast.stmt]) -> None:
        leading = True  # `__future__` imports may follow only a docstring and each other
        for index, statement in enumerate(body):
            if type(statement) is ast.ImportFrom and statement.module == "__future__" and not statement.level:
                if not leading or any(alias.name not in _FUTURE_FEATURES for alias in statement.names):
                    raise _MayRefuse
                continue
            leading = leading and index == 0 and _is_docstring(statement)
        self.body(body, None, False, 0, 0, _TOP)

    def body(self, body: Sequence[ast.stmt], function: Optional[ast.AST], loop: bool, blocks: int,
             nesting: int, scope: int = _INSIDE) -> None:
        """`scope`: _TOP for the module's own statements, _MODULE_BLOCK for those in its
        if/try/loop/with blocks, _INSIDE for those in a def or class (at any depth)."""
        if blocks > _MAX_BLOCKS or nesting > _MAX_NESTING:
            raise _MayRefuse
        block_scope = _INSIDE if scope == _INSIDE else _MODULE_BLOCK
        offsets, marked, fors, repeats = self.offsets, self.marked, self.fors, self.repeats
        for statement in body:
            kind = type(statement)
            if kind not in _COMPOUND:
                if kind in _CHECKED_SIMPLE:
                    if kind is ast.Global:
                        self.global_names(statement, body, function)  # type: ignore[arg-type]
                    elif kind in _REFUSED_STATEMENTS:
                        raise _MayRefuse
                    elif kind is ast.AnnAssign and self.declared and statement.simple \
                            and type(statement.target) is ast.Name \
                            and statement.target.id in self.declared:  # type: ignore[attr-defined]
                        raise _MayRefuse  # "annotated name 'x' can't be global"
                    if (kind is ast.Return and function is None) or (kind in (ast.Break, ast.Continue) and not loop):
                        raise _MayRefuse
                    # `module` placed the module's own `__future__` imports; `import *` is
                    # refused only inside a def or class.
                    if kind is ast.ImportFrom and (
                        (statement.module == "__future__" and scope != _TOP)  # type: ignore[attr-defined]
                        or (scope == _INSIDE and any(a.name == "*" for a in statement.names))  # type: ignore[attr-defined]
                    ):
                        raise _MayRefuse
                    if kind is ast.Assign:
                        for target in statement.targets:  # type: ignore[attr-defined]
                            if type(target) is not ast.Name:
                                _target(target)
                first = statement.lineno
                last = statement.end_lineno or first
                # What own_lines looks for, in two lookups each: most statements hold none of it.
                if offsets[last] - offsets[first - 1] > _MAX_STATEMENT_CHARS \
                        or (marked is not None and marked[last] != marked[first - 1]) \
                        or (fors is not None and fors[last] != fors[first - 1]) \
                        or (repeats is not None and repeats[last] >= first):
                    self.own_lines(statement, first, last, function)
                continue
            if getattr(statement, "type_params", None):
                raise _MayRefuse
            decorators = getattr(statement, "decorator_list", None)
            inner = statement.body  # type: ignore[attr-defined]
            first = decorators[0].lineno if decorators else statement.lineno
            last = inner[0].lineno
            # A `for` statement's own `for` needs no look: only a second one in its lines.
            own_for = 1 if kind is ast.For or kind is ast.AsyncFor else 0
            if offsets[last] - offsets[first - 1] > _MAX_STATEMENT_CHARS \
                    or (marked is not None and marked[last] != marked[first - 1]) \
                    or (fors is not None and fors[last] - fors[first - 1] > own_for) \
                    or (repeats is not None and repeats[last] >= first):
                self.own_lines(statement, first, last, function)
            deeper = nesting + 1
            if kind in _FUNCTIONS:
                _parameters(statement.args)  # type: ignore[attr-defined]
                outer_declared, self.declared = self.declared, set()
                self.body(inner, statement, False, 0, deeper)
                self.declared = outer_declared
            elif kind is ast.ClassDef:
                _keywords(statement.keywords)  # type: ignore[attr-defined]
                self.body(inner, None, False, 0, deeper)
            elif kind is ast.If:
                self.body(inner, function, loop, blocks, deeper, block_scope)
                if statement.orelse:  # type: ignore[attr-defined]
                    self.body(statement.orelse, function, loop, blocks, deeper, block_scope)  # type: ignore[attr-defined]
            else:  # a block: loops, try, with
                if kind in (ast.AsyncFor, ast.AsyncWith) and type(function) is not ast.AsyncFunctionDef:
                    raise _MayRefuse
                if kind in (ast.For, ast.AsyncFor):
                    _target(statement.target)  # type: ignore[attr-defined]
                elif kind in (ast.With, ast.AsyncWith):
                    for item in statement.items:  # type: ignore[attr-defined]
                        if item.optional_vars is not None:
                            _target(item.optional_vars)
                more = blocks + 1
                self.body(inner, function, loop or kind in _LOOPS, more, deeper, block_scope)
                if kind is ast.Try:
                    handlers = statement.handlers  # type: ignore[attr-defined]
                    for position, handler in enumerate(handlers):
                        if handler.type is None and position != len(handlers) - 1:
                            raise _MayRefuse  # default 'except:' must be last
                        self.own_lines(handler, handler.lineno, handler.body[0].lineno, function)
                        self.body(handler.body, function, loop, more, deeper, block_scope)
                    if statement.finalbody:  # type: ignore[attr-defined]
                        self.body(statement.finalbody, function, loop, more, deeper, block_scope)  # type: ignore[attr-defined]
                orelse = getattr(statement, "orelse", None)
                if orelse:
                    self.body(orelse, function, loop, more, deeper, block_scope)

    def own_lines(self, node: ast.AST, first: int, last: int, function: Optional[ast.AST]) -> None:
        """Walks the expressions of `node` when its own lines, `first` to `last`, hold what
        a compile-only error in an expression needs."""
        offsets, marked, fors = self.offsets, self.marked, self.fors
        if offsets[last] - offsets[first - 1] > _MAX_STATEMENT_CHARS \
                or (marked is not None and marked[last] != marked[first - 1]):
            _expressions(node, function)
            return
        if fors is not None and fors[last] != fors[first - 1]:
            own = self.text[offsets[first - 1]:offsets[last]]
            starts = [match.end() for match in _FOR.finditer(own)][1 if type(node) in (ast.For, ast.AsyncFor) else 0:]
            if starts and "*" in own[starts[0]:]:
                _expressions(node, function)
                return
        if self.repeats is not None and self.repeats[last] >= first:
            _expressions(node, function)  # a keyword's name twice in these lines


def _keywords_in(text: str) -> list[tuple[int, str]]:
    """(where the name starts, name) of each match of _KEYWORD in `text`, as its
    `finditer` gives them. Searched for after `(` and after `,` apart, and merged: while
    no match of one starts inside a match of the other, the merged matches are the
    ones the one search finds (each search skips only what its own matches span, and the
    first match after any point is the first of the two searches' after it). Where two
    overlap (a `,` in a comment inside a match), the one search decides."""
    found = [(match.start(), match.end(), match.start(1), match.group(1))
             for pattern in _KEYWORD_AFTER for match in pattern.finditer(text)]
    found.sort()
    end = -1
    for start, stop, _, _ in found:
        if start < end:
            return [(match.start(1), match.group(1)) for match in _KEYWORD.finditer(text)]
        end = stop
    return [(start, name) for _, _, start, name in found]


def _counts(lines: Collection[int], size: int) -> Optional[list[int]]:
    """Per line number below `size`, how many of `lines` (a line twice counts twice) are
    at or before it; None when `lines` is empty."""
    if not lines:
        return None
    counts = [0] * size
    for number in lines:
        counts[number] += 1
    return list(accumulate(counts))


def _repeats(lines: list[int], names: list[str], size: int) -> Optional[list[int]]:
    """Per line number L below `size`: the latest line P such that some keyword name
    occurs on line P and again on a line from P to L (so lines `first` to `last` hold a
    name twice exactly when the entry for `last` is `first` or more); None when no name
    occurs twice."""
    latest: dict[str, int] = {}
    partner = [0] * size
    found = False
    for number, name in zip(lines, names):
        before = latest.get(name)
        if before is not None:
            found = True
            if before > partner[number]:
                partner[number] = before
        latest[name] = number
    return list(accumulate(partner, max)) if found else None


def _positions(word: str, text: str) -> Iterator[int]:
    position = text.find(word)
    while position >= 0:
        yield position
        position = text.find(word, position + 1)


def _is_docstring(statement: ast.stmt) -> bool:
    return (type(statement) is ast.Expr and type(statement.value) is ast.Constant  # type: ignore[attr-defined]
            and type(statement.value.value) is str)  # type: ignore[attr-defined]


def _expressions(node: ast.AST, function: Optional[ast.AST]) -> None:
    """The compile-only errors of expressions, in `node`'s own expressions (not in the
    statements nested in it); `function` is the function whose body holds `node`.
    Every node below `node` counts towards the walk's budget and depth; a name, a
    constant, a context or an operator is counted where it stands, never walked (none
    of them can be refused)."""
    in_async = type(function) is ast.AsyncFunctionDef
    stack: list[tuple[ast.AST, int, int]] = []
    push, costs, is_node = stack.append, _LEAF_COSTS, _IS_NODE
    counted = 0  # nodes met: popped from the stack, or counted where they stand
    for name, value in ast.iter_fields(node):
        if name not in _NESTED_BLOCKS:
            flags = _IN_ANNOTATION if name in _ANNOTATIONS else 0
            for child in value if type(value) is list else (value,):
                cost = costs.get(type(child))
                if cost is not None:
                    counted += cost[0]
                    if 1 + cost[1] > _MAX_EXPRESSION_DEPTH:
                        raise _MayRefuse
                elif is_node[type(child)]:
                    push((child, 1, flags))
    if counted >= _MAX_WALKED_NODES:
        raise _MayRefuse
    fields_of = _CHILD_FIELDS
    while stack:
        child, depth, flags = stack.pop()
        counted += 1
        if depth > _MAX_EXPRESSION_DEPTH or counted >= _MAX_WALKED_NODES:
            raise _MayRefuse
        kind = type(child)
        if kind is ast.Call:
            _keywords(child.keywords)  # type: ignore[attr-defined]
        elif kind is ast.Lambda:
            _parameters(child.args)  # type: ignore[attr-defined]
            push((child.args, depth + 1, flags))  # type: ignore[attr-defined]
            push((child.body, depth + 1, flags | _IN_LAMBDA))  # type: ignore[attr-defined]
            continue
        elif kind in _COMPREHENSIONS:
            flags |= _IN_COMPREHENSION
        elif kind is ast.comprehension:
            _target(child.target)  # type: ignore[attr-defined]
            if child.is_async and not in_async:  # type: ignore[attr-defined]
                raise _MayRefuse
        elif kind is ast.Yield or kind is ast.YieldFrom:
            if function is None or in_async or flags:
                raise _MayRefuse
        elif kind is ast.Await:
            if not in_async or flags:
                raise _MayRefuse
        elif kind is ast.NamedExpr:
            if flags & (_IN_COMPREHENSION | _IN_ANNOTATION):
                raise _MayRefuse
        elif kind is ast.arg and child.annotation is not None:  # type: ignore[attr-defined]
            push((child.annotation, depth + 1, flags | _IN_ANNOTATION))  # type: ignore[attr-defined]
            continue
        deeper = depth + 1
        for name in fields_of[kind]:
            value = getattr(child, name)
            for grandchild in value if type(value) is list else (value,):
                cost = costs.get(type(grandchild))
                if cost is not None:
                    counted += cost[0]
                    if deeper + cost[1] > _MAX_EXPRESSION_DEPTH:
                        raise _MayRefuse
                elif is_node[type(grandchild)]:
                    push((grandchild, deeper, flags))
        if counted >= _MAX_WALKED_NODES:
            raise _MayRefuse


# Nodes never walked by _expressions, by what they count: (nodes, levels below them). A
# name holds its context; a constant, a context or an operator holds nothing.
_LEAF_COSTS: dict[type, tuple[int, int]] = {ast.Name: (2, 1), ast.Constant: (1, 0)}
_LEAF_COSTS.update((t, (1, 0)) for t in vars(ast).values() if isinstance(t, type) and issubclass(
    t, (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop)))


class _NodeTypes(dict):  # type -> whether its instances are `ast` nodes
    def __missing__(self, kind: type) -> bool:
        self[kind] = found = issubclass(kind, ast.AST)
        return found


class _ChildFields(dict):  # node type -> its fields (as ast.iter_child_nodes reads them)
    def __missing__(self, kind: type) -> tuple[str, ...]:
        self[kind] = found = tuple(kind._fields)
        return found


_IS_NODE = _NodeTypes()
_CHILD_FIELDS = _ChildFields()


def _parameters(arguments: ast.arguments) -> None:
    names = [a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)]
    names += [a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None]
    if len(set(names)) != len(names):
        raise _MayRefuse


def _keywords(keywords: Sequence[ast.keyword]) -> None:
    names = [keyword.arg for keyword in keywords if keyword.arg is not None]
    if len(set(names)) != len(names):
        raise _MayRefuse


def _target(target: ast.expr, in_sequence: bool = False) -> None:
    """Starred names in an assignment target, which only the compiler counts: one per
    tuple or list, each in one, fewer than 256 names before it."""
    kind = type(target)
    if kind is ast.Starred:
        if not in_sequence:
            raise _MayRefuse
        _target(target.value)  # type: ignore[attr-defined]
    elif kind in (ast.Tuple, ast.List):
        elements = target.elts  # type: ignore[attr-defined]
        starred = sum(type(element) is ast.Starred for element in elements)
        if starred > 1 or (starred and len(elements) > 255):
            raise _MayRefuse
        for element in elements:
            _target(element, True)
