"""CPython's own verdict on a file, asked before LibCST sees it.

A file CPython refuses cannot be imported, so its imports never run: that is a syntax
error (IG900) at the position CPython gives, as flake8's E999 says. `ast.parse` finds
grammar and tokenizer errors with the right line and column (LibCST's positions are
wrong for most broken files); compiling the tree finds what only the compiler refuses
(`return` at module level, `def f(a, a)`, `break` outside a loop,
`from __future__ import braces`).

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
import tokenize
import warnings
from dataclasses import dataclass
from typing import Optional

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
    return Verdict(tree)


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


def too_deep_for_libcst(text: str, tree: ast.Module, limit: int = LIBCST_MAX_DEPTH) -> bool:
    """Whether LibCST would nest deeper than `limit` on a file CPython accepted. Without
    many `and`/`or` words, CPython's own limits (about 3,000) keep it well under."""
    budget = limit - 3_000
    if text.count("and") + text.count("or") <= budget or len(_BOOLEAN_WORDS.findall(text)) <= budget:
        return False  # substring counts first: a regex over every file costs too much
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        step = len(node.values) if isinstance(node, ast.BoolOp) else 1
        stack.extend((child, depth + step) for child in ast.iter_child_nodes(node))
    return False
