"""The compile is skipped only where it cannot refuse (cpython_verdict.compiling_may_refuse):
every error CPython raises only when compiling a tree `ast.parse` accepted is still found,
with CPython's own message and position."""

from __future__ import annotations

import ast
import sys
import warnings

import pytest

from importguard.facts.cpython_verdict import compiling_may_refuse, cpython_verdict


def _nested(header: str, depth: int, closing: str = "") -> str:
    lines = ["    " * level + header for level in range(depth)]
    lines.append("    " * depth + "pass")
    if closing:
        lines += ["    " * level + closing for level in reversed(range(depth))]
    return "\n".join(lines) + "\n"


# Each is accepted by `ast.parse` and refused by `compile` on the Python running the tests.
COMPILE_ONLY = [
    "return 1",
    "class C:\n    return 1",
    "if x:\n    return",
    "yield 1",
    "x = yield",
    "class C:\n    yield 1",
    "await x",
    "def f():\n    await x",
    "def f():\n    async with x: pass",
    "def f():\n    async for a in b: pass",
    "def f():\n    return [a async for a in b]",
    "async def f():\n    yield from x",
    "async def f():\n    yield 1\n    return 2",
    "break",
    "continue",
    "for a in b:\n    def f():\n        break",
    "while x:\n    class C:\n        continue",
    "for x in y:\n    pass\nelse:\n    break",
    "try:\n    pass\nfinally:\n    break",
    "nonlocal x",
    "def f():\n    nonlocal x",
    "class C:\n    nonlocal x",
    "def f(a):\n    global a",
    "def f():\n    x = 1\n    global x",
    "def f():\n    print(x)\n    global x",
    "def f():\n    global x\n    x: int = 1",
    "def f():\n    global x\n    if y:\n        x: int = 1",
    "def f():\n    'doc'\n    global x, y\n    global z\n    for a in b:\n        z: int = 1",
    "def f(*, x):\n    global x",
    "def f():\n    global c\n    c: int",
    "def f(**x):\n    global x",
    "def f():\n    if y:\n        global x\n    x = 1\n    global x",
    "class C:\n    x = 1\n    global x",
    "x = 1; global x",
    "def f():\n    from os import *",
    "class C:\n    from os import *",
    "class C:\n    if x:\n        from os import *",
    "def f():\n    try:\n        pass\n    except E:\n        from os import *",
    "if x:\n    from __future__ import annotations",
    "try:\n    from __future__ import annotations\nexcept E:\n    pass",
    "def f(a, a): pass",
    "def f(a, *, a): pass",
    "def f(a, *a): pass",
    "def f(a, **a): pass",
    "def f(a, /, a): pass",
    "lambda a, a: 0",
    "lambda a, *, a=1: 0",
    "f = lambda x: (lambda y, y: 0)",
    "f = (lambda a, # a comment: with a colon\n     a: 0)",
    "f = lambda a=lambda: 0, a=1: 0",
    "__debug__ = 1",
    "def f(__debug__): pass",
    "import os as __debug__",
    "f(__debug__=1)",
    "del __debug__",
    "for __debug__ in x: pass",
    "from __future__ import braces",
    "from __future__ import nonsense",
    "import os\nfrom __future__ import annotations",
    "'''doc'''\nfrom __future__ import annotations\nimport os\nfrom __future__ import division",
    "1\nfrom __future__ import annotations",
    "def f():\n    from __future__ import annotations",
    "f(a=1, a=2)",
    "f(a=1,\n  # a=3 in a comment\n  b=2, a=2)",
    "f(a \\\n  =1, a=2)",
    "class C(metaclass=A, metaclass=B): pass",
    "@deco(x=1, x=2)\ndef f(): pass",
    "def f(a=g(b=1, b=2)): pass",
    "a, *b, *c = d",
    "*a = b",
    "for *a in b: pass",
    "with x as (*a, *b): pass",
    "[x for *a in b]",
    "[x for a, *b, *c in d]",
    "[x for a in b if c for\n *d, *e in f]",
    "a, " * 300 + "*b = c",
    "x = [(yield) for a in b]",
    "def f():\n    return [(yield) for a in b]",
    "def f():\n    return ((yield) for a in b)",
    "async def f():\n    return {x: (yield) for x in y}",
    "[i := 0 for i in range(3)]",
    "[(j := i) for i in (j := range(3))]",
    "class C:\n    [(y := i) for i in range(3)]",
    "[i for i in range(3) for j in (k := range(3))]",
    "def f():\n    x = lambda: await y",
    "async def f():\n    x = lambda: await y",
    "async def f():\n    def g():\n        await x",
    "async def f():\n    class C:\n        [x async for x in y]",
    "from __future__ import annotations\ndef f(x: (yield)): pass",
    "from __future__ import annotations\nx: (y := 1) = 2",
    "from __future__ import annotations\ndef f() -> await x: pass",
    "class C:\n    x: (yield)",
    "def f():\n    nonlocal f",
    "def f():\n    x = 1\n    def g():\n        global x\n        nonlocal x",
    "def f(a):\n    def g():\n        nonlocal a\n        a: int = 1",
    "try:\n    pass\nexcept:\n    pass\nexcept ValueError:\n    pass",
    "match x:\n    case a:\n        pass\n    case b:\n        pass",
    "match x:\n    case _:\n        pass\n    case 1:\n        pass",
    "match x:\n    case [a, a]:\n        pass",
    "match x:\n    case {'a': 1, 'a': 2}:\n        pass",
    "match x:\n    case a | [b]:\n        pass",
]
if sys.version_info < (3, 13):  # "too many statically nested blocks"; 3.13 has no such limit
    COMPILE_ONLY += [
        _nested("for x in y:", 21), _nested("while x:", 21), _nested("with x:", 21),
        _nested("try:", 21, "finally: pass"),
    ]
if sys.version_info >= (3, 11):
    COMPILE_ONLY += [
        "try:\n    pass\nexcept* ValueError:\n    break",
        "def f():\n    try:\n        pass\n    except* ValueError:\n        return",
    ]
if sys.version_info >= (3, 12):
    COMPILE_ONLY += ["def f[T, T](): pass", "type X[T, T] = int", "class C[T, T]: pass"]

# Accepted by compiling too; most look like a compile-only error at first sight.
ACCEPTED = [
    "def f(a, b=1, *c, d, e=2, **g):\n    return a",
    "f(a=1)\ng(a=2)",
    "x = [f(a=1), g(a=2)]",
    "f(a=1) if x else g(a=2)",
    "x = dict(a=1, b=dict(a=2))",
    "a, *b = c",
    "for a, *b in c: pass",
    "[x for a, *b in c]",
    "[f(*a) for a in b]",
    "for x in zip(*a): pass",
    "f = lambda a, b=1, *c, d, **e: a",
    "f = lambda x=x: x",
    "for a in b:\n    try:\n        pass\n    finally:\n        continue",
    "while x:\n    if y:\n        break\n    else:\n        continue",
    "def f():\n    def g():\n        nonlocal_like = 1\n    return g",
    "def f():\n    'doc'\n    global a, b\n    global c\n    a = 1\n    c += 1\n    return b",
    "def f():\n    global x\n    def g():\n        x: int = 1\n    class C:\n        y = x",
    "async def f():\n    await x\n    async with y: pass\n    async for a in b: pass\n    return [a async for a in b]",
    "def f():\n    yield 1\n    return 2",
    "def f():\n    x = lambda: (yield)\n    return (y := 1)",
    "'''doc'''\nfrom __future__ import annotations\nfrom __future__ import division\nimport os",
    "from os import *",
    "if x:\n    from os import *\nelse:\n    from sys import *",
    "try:\n    from os import *\nexcept E:\n    from sys import *\nelse:\n    from a import *\nfinally:\n    from b import *",
    "for a in b:\n    from os import *\nwhile c:\n    with d:\n        from sys import *",
    "if (n := 10) > 5:\n    pass",
    "x = 1  # yield, await, global x, __debug_, f(a=1, a=2)",
    "s = 'return 1; break; lambda a, a: 0'",
    _nested("for x in y:", 9),
    _nested("if x:", 30),
    "x = " + " + ".join(["1"] * 600),
]


def _parses(text: str) -> ast.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(text)


def _compile_error(tree: ast.Module) -> SyntaxError | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            compile(tree, "<file>", "exec", dont_inherit=True)
        except SyntaxError as error:
            return error
    return None


def test_there_are_enough_cases() -> None:
    assert len(COMPILE_ONLY) >= 30


@pytest.mark.parametrize("text", COMPILE_ONLY)
def test_a_compile_only_error_is_found_with_cpythons_words(text: str) -> None:
    tree = _parses(text)
    error = _compile_error(tree)
    assert error is not None, "the case must be refused by compile on this Python"
    assert compiling_may_refuse(tree, text)
    verdict = cpython_verdict(text)
    assert verdict.tree is None and verdict.refusal is not None
    assert verdict.refusal.final
    assert verdict.refusal.message == error.msg
    assert verdict.refusal.line == max(1, error.lineno or 1)


@pytest.mark.parametrize("text", ACCEPTED)
def test_code_that_compiles_is_accepted(text: str) -> None:
    tree = _parses(text)
    assert _compile_error(tree) is None
    verdict = cpython_verdict(text)
    assert verdict.tree is not None and verdict.refusal is None


def test_ordinary_code_is_not_compiled() -> None:
    text = (
        '"""A module."""\nfrom __future__ import annotations\n\nimport os\nfrom typing import Optional\n\n'
        "LIMIT = int(os.environ.get('LIMIT', '3'))\n\n\n"
        "class Thing(Base, metaclass=Meta):\n    size: int = 0\n\n"
        "    def grow(self, by: int = 1, *, limit: Optional[int] = None) -> int:\n"
        "        for step in range(by):\n            if limit is not None and step > limit:\n                break\n"
        "            self.size += 1\n        return self.size\n\n\n"
        "def build(name, **options):\n    global BUILT\n    BUILT = True\n"
        "    try:\n        return Thing(name=name, size=options.get('size', 0))\n"
        "    except (TypeError, ValueError):\n        return None\n"
    )
    assert not compiling_may_refuse(_parses(text), text)


def test_a_star_import_in_a_module_level_block_is_not_compiled() -> None:
    """`import *` is refused only inside a def or class: one under a module-level
    `try` or `if` (a fallback import) costs no compile."""
    text = "try:\n    from .api import *\nexcept ImportError:\n    pass\nif x:\n    from os import *\n"
    assert not compiling_may_refuse(_parses(text), text)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="possessive quantifiers are Python 3.11+")
def test_the_possessive_keyword_search_finds_what_the_plain_one_finds() -> None:
    import re
    from pathlib import Path

    from importguard.facts import cpython_verdict

    plain, possessive = re.compile(cpython_verdict._KEYWORD_PATTERN), re.compile(cpython_verdict._KEYWORD_POSSESSIVE)
    texts = [*COMPILE_ONLY, *ACCEPTED, "f(a  = 1, b\\\n=2, c  # x\n = 3, d==4, e=\n5, _f=6, 7=8, (g)=9)"]
    texts += [path.read_text(encoding="utf-8") for path in sorted(Path(cpython_verdict.__file__).parent.glob("*.py"))]
    for text in texts:
        found = [(m.start(1), m.group(1)) for m in plain.finditer(text)]
        assert [(m.start(1), m.group(1)) for m in possessive.finditer(text)] == found
    assert [m.group(1) for m in possessive.finditer(texts[len(COMPILE_ONLY) + len(ACCEPTED)])] == ["a", "b", "c", "e", "_f"]


def test_the_per_line_lookups_say_what_a_search_of_the_lines_says() -> None:
    """_repeats and _counts answer for lines `first` to `last` in two lookups; each
    answer must be what looking through those lines gives."""
    import random

    from importguard.facts.cpython_verdict import _counts, _repeats

    generator = random.Random(7)
    for _ in range(200):
        size = generator.randint(2, 12)
        lines = sorted(generator.randint(1, size - 1) for _ in range(generator.randint(0, 8)))
        names = [generator.choice("abc") for _ in lines]
        repeats, counts = _repeats(lines, names, size), _counts(lines, size)
        for first in range(1, size):
            for last in range(first, size):
                inside = [name for number, name in zip(lines, names) if first <= number <= last]
                twice = len(set(inside)) != len(inside)
                assert (repeats is not None and repeats[last] >= first) == twice
                assert (counts[last] - counts[first - 1] if counts else 0) == len(inside)


def test_the_keyword_search_in_two_finds_what_the_one_search_finds() -> None:
    from pathlib import Path

    from importguard.facts import cpython_verdict

    overlapping = "f(x, # a, b=1\n  c=2)\ng(\n# ,\n d=1, d=2)"
    texts = [*COMPILE_ONLY, *ACCEPTED, overlapping, "f(a  = 1, b\\\n=2, c  # x\n = 3, d==4, e=\n5, _f=6, 7=8, (g)=9)"]
    texts += [path.read_text(encoding="utf-8") for path in sorted(Path(cpython_verdict.__file__).parent.glob("*.py"))]
    for text in texts:
        one = [(match.start(1), match.group(1)) for match in cpython_verdict._KEYWORD.finditer(text)]
        assert cpython_verdict._keywords_in(text) == one
    assert [name for _, name in cpython_verdict._keywords_in(overlapping)] == ["c", "d", "d"]


def test_a_large_table_is_walked_not_compiled() -> None:
    """A generated table (thousands of nodes in one statement, none deep) costs less to
    walk than the file costs to compile; a deep expression is still compiled."""
    table = "TABLE = {\n" + "".join(f"    'k{i}': (f({i}, x={i}), [{i}, {i} + 1]),\n" for i in range(800)) + "}\n"
    assert not compiling_may_refuse(_parses(table), table)
    deep = "x = " + " + ".join(["1"] * 600) + "\n"
    assert compiling_may_refuse(_parses(deep), deep)
