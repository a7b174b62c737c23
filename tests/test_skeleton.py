"""Function bodies reduced to their imports give exactly the facts of the whole file."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

from importguard.facts.collect import collect_source
from importguard.facts.skeleton import import_time_skeleton
from importguard.model import Execution, SourceFile

ROOT = Path(__file__).resolve().parents[1]


def both_ways(data: bytes, module: str = "pkg.sub.mod", is_package: bool = False):
    source = SourceFile("mod.py", module, is_package, ".")
    return (
        collect_source(data, source),
        collect_source(data, source, reduce_bodies=False),
    )


TRICKY = {
    "nested imports at their columns": """
        import os

        def f(x=os.getcwd()):
            '''doc'''
            import a
            if x:
                import b.c as d
                from . import e
            try:
                from .. import g
            except ImportError:  # comment
                g = None
            for i in range(3):
                    from h import (
                        i1,  # why
                        i2,
                    )
            return a

        async def g():
            with open("x") as f:
                import j; import k;   from l import m
            x = 1; import n
            return [y for y in range(3)]
        """,
    "methods, decorators, nested functions": """
        import functools
        import torch

        @functools.lru_cache()
        def cached():
            @functools.wraps(cached)
            def inner():
                import deep.module
            return inner

        class K(torch.nn.Module):
            attribute = torch.cuda.get_device_name()

            @staticmethod
            def m(a=torch.cuda.current_device()):
                import q
                class Local:
                    import r
                return q

            def one_line(self): import s

            def header_spans(
                self, a,
            ): import t
        """,
    "type checking inside functions keeps that body": """
        from typing import TYPE_CHECKING as TC

        def f():
            if TC:
                import only_for_types
            import u

        def g():
            import v
        """,
    "relative beyond the top inside a function": """
        def f():
            from .... import too_far
        """,
    "main guard and defs under if": """
        import sys
        if sys.version_info >= (3, 11):
            def f():
                import w
        else:
            def f():
                import x
        if __name__ == "__main__":
            def main():
                import y
        """,
    "statement starts: comments, decorators, semicolons": """
        #!/usr/bin/env python
        # header comment

        import torch; import os as o;
        # before a decorated class


        @torch.compile  # trailing
        # between decorators
        @o.fspath(torch.cuda.current_device())
        class A:
            x = torch.cuda.is_available()
            def m(self):
                import deferred

        if True: import b; y = torch.cuda.get_device_name()
        def f(): import c
        z = (torch.cuda.mem_get_info())
        try:
            import d
        except ImportError:
            pass
        else:
            w = torch.cuda.Stream()
        """,
    "functions that add nothing are emptied whole": """
        import importlib
        import torch

        def plain(a, b: "torch.Tensor" = None) -> int:
            # a comment
            return a

        def one_line(): return torch.cuda.current_device()
        def calls_in_default(x=torch.cuda.is_available()):
            return x
        def lambda_default(f=lambda: importlib.import_module("plugins")):
            return f
        async def coroutine(*, k=(1, 2)):
            await k

        class K:
            def method(self):
                pass
            @property
            def decorated(self):
                return 1
            x = torch.cuda.get_device_name()
        """,
    "kept functions lose the parameters of a header without calls": """
        import functools
        import torch

        @functools.lru_cache()
        def one_line(a: int = 1, *args, b="):", **kw) -> "Tensor":  # a comment
            import x

        @torch.compile
        async def spans(
            self, a: dict[str,
                          int] = {"k": (1, 2)},  # why
            /, *, b=lambda: 0,
        ) -> (
            int
        ):
            # before the body
            import y

        @property
        def header_call(x=torch.cuda.is_available()) -> int:
            import z

        def \u00e9t\u00e9(\u00e9: "\u00fc" = "\u00fc") -> None:
            import w
            return torch.cuda.current_device()

        class K:
            @staticmethod
            def continued(a, \\
                          b):
                import v
        """,
    "assignments without calls keep their targets only": """
        import os
        import torch
        from typing import Dict, Optional

        TABLE = {
            "a": [1, 2],  # why
        }
        SIZES: Dict[str, int] = {"b": 3}
        A = B = (1 +
                 2)  # a tail
        __all__ = ["TABLE", "helper"]
        __lazy_modules__ = ["torch"]
        ALIAS = torch.cuda.is_available
        PICK = torch.cuda.is_available if os.name else None
        DEVICE = torch.device("cuda")
        DECLARED: torch.cuda.Stream
        x = [1]; y = [2]
        z = torch.zeros(1); TABLE = [3]
        if os.name:
            TENSOR = torch.zeros(1)
            TENSOR = [i for i in (1, 2)]

        class K:
            field: Optional[int] = None
            other: Dict[
                str, int]
            alias = torch.cuda.current_device
            made = torch.cuda.Stream()
            table = {"c": (4, 5)}

            @property
            def m(self):
                import q

        def helper():
            return ALIAS(), TENSOR.cuda(), K.alias(), PICK()
        """,
    "blank and comment lines after an emptied function": """
        import torch

        def plain():
            return 1

        # a comment between functions; type: ignore


        def other(): return 2
        # a comment before a decorated function
        @torch.compile
        def kept():
            import q
        class K:
            def method(self):
                pass
                # indented deeper

          # indented less
            x = torch.cuda.is_available()
            def last(self):
                pass

        # after the class
        y = torch.cuda.current_device()
        """,
    "runs of statements read for nothing become one string": """
        \"\"\"The module's docstring.\"\"\"
        import torch

        def plain():
            return 1

        # a comment between

        def other(x):
            return x
        X = torch.cuda.is_available()

        class K:
            \"\"\"A docstring.\"\"\"
            a: int
            b: int = 3
            c = 4; d = 5

            def method(self):
                return 1
            alias = torch.cuda.current_device
            e: int
            made = torch.cuda.Stream()
            pass; f = torch.zeros(1)
            g = torch.ones(1); pass
            h: "int"  # a comment
            if True:
                i: int
                j = 2
            else:
                k = torch.device("cuda")
            l = 3

            # the class's last lines
        class One: x = 1
        class Two:
            x: int; y = torch.device("cuda")
            @property
            def z(self):
                import q
            w = 0
        Y = torch.cuda.current_device()
        """,
    "imports under a test that is never true, in a function": """
        import torch

        def f():
            if False:
                import a
            else:
                import b
            while 0:
                import c
            import d

        def g():
            if 0:
                pass
            import e
        """,
    "one-space nesting is kept whole": "def f():\n if True:\n  import z\n import zz\n",
    "a backslash-continued import": "def f():\n    from a import \\\n        b\n",
    "a semicolon after a backslash": "import a \\\n; import b\ndef f():\n    import c\n",
}


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_tricky_sources_give_the_same_facts(name):
    text = textwrap.dedent(TRICKY[name]).lstrip("\n")
    reduced, whole = both_ways(text.encode())
    assert reduced == whole


@pytest.mark.parametrize(
    "newline", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"]
)
def test_line_endings_and_non_ascii_prefixes(newline):
    text = newline.join([
        "# -*- coding: utf-8 -*-",
        "import torch",
        "def f():",
        "    é = 'ü'; import a",
        "    \f",
        "    return é",
        "X = torch.cuda.is_available()",
        "",
    ])
    reduced, whole = both_ways(text.encode())
    assert reduced == whole
    assert [c.name for c in reduced.calls] == ["torch.cuda.is_available"]
    assert reduced.calls[0].line == 7


def test_latin1_file_with_a_coding_cookie():
    text = "# coding: latin-1\ndef f():\n    s = 'café'; import a\nimport b\n"
    reduced, whole = both_ways(text.encode("latin-1"))
    assert reduced == whole
    assert [(s.module, s.execution) for s in reduced.imports] == [
        ("a", Execution.DEFERRED), ("b", Execution.EAGER),
    ]


def test_the_skeleton_really_drops_function_bodies():
    text = textwrap.dedent(TRICKY["nested imports at their columns"]).lstrip("\n")
    skeleton = import_time_skeleton(text).source
    assert skeleton is not None
    assert "return a" not in skeleton and "range(3)" not in skeleton
    assert skeleton.count("\n") == text.count("\n")
    # Every kept import is where it was.
    for original, kept in zip(text.splitlines(), skeleton.splitlines()):
        if "import" in kept and "import" in original:
            start = kept.index("import") if "from" not in kept else kept.index("from")
            # (a line joined to the blank lines after it ends with a backslash: _join_blank_lines)
            assert original[start:].startswith(kept[start:].split(";")[0].rstrip().removesuffix("\\").rstrip())
    ast.parse(skeleton)


def test_no_skeleton_without_functions_or_on_syntax_errors():
    assert import_time_skeleton("import a\nx = 1\n") is None
    assert import_time_skeleton("def f(:\n    pass\n") is None
    # A decorated one-line function can be neither emptied nor reduced.
    assert import_time_skeleton("@d\ndef f(): return 1\n").source is None


def test_syntax_errors_are_reported_from_the_whole_file():
    data = b"import a\ndef f():\n    return (\n"
    reduced, whole = both_ways(data)
    assert reduced == whole and reduced.problems[0].code == "IG900"


def own_python_files():
    """The repository's own files (not the benchmark's downloaded trees: `python
    bench/same_facts.py DIR` runs this comparison over any tree)."""
    files = []
    for folder in ("importguard", "tests", "fixtures", "bench"):
        files += sorted(
            p for p in (ROOT / folder).rglob("*.py")
            if not any(part.startswith(".") for part in p.relative_to(ROOT).parts)
        )
    return files


def test_every_python_file_of_this_repository_gives_the_same_facts():
    files = own_python_files()
    assert len(files) > 100
    reduced_count = 0
    for path in files:
        data = path.read_bytes()
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        reduced, whole = both_ways(data, module, path.name == "__init__.py")
        assert reduced == whole, path
        skeleton = import_time_skeleton(data.decode("utf-8"))
        reduced_count += skeleton is not None and skeleton.source is not None and "fixtures" not in path.parts
    # Not vacuous: most of the package's and the tests' files really were reduced. Fixtures
    # are left out of this count: most are a few module-level lines with nothing to empty.
    code_files = [p for p in files if "fixtures" not in p.parts]
    assert reduced_count > len(code_files) // 2


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_statement_start_lines_match_the_code_generator(name):
    import libcst as cst

    from importguard.facts.positions import _codegen_start_lines

    text = textwrap.dedent(TRICKY[name]).lstrip("\n")
    skeleton = import_time_skeleton(text)
    module = cst.parse_module(skeleton.source or text)
    starts = _codegen_start_lines(module.body, skeleton.statement_lines, skeleton.merged)
    assert starts is not None
    line = 1 + len(module.header)
    for statement, start in zip(module.body, starts):
        assert start == line, module.code_for_node(statement)
        line += module.code_for_node(statement).count("\n")


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_import_positions_come_from_ast_where_they_can(name):
    import libcst as cst

    from importguard.facts.collect import _Walker
    from importguard.facts.positions import Positions

    text = textwrap.dedent(TRICKY[name]).lstrip("\n")
    skeleton = import_time_skeleton(text)
    walker = _Walker("pkg.sub.mod", False)
    walker.walk_module(cst.parse_module(skeleton.source or text))
    placed = Positions()._place_imports(skeleton, walker.import_nodes)
    assert placed is (name != "a semicolon after a backslash")


def test_functions_that_add_nothing_leave_no_code():
    text = textwrap.dedent(TRICKY["functions that add nothing are emptied whole"]).lstrip("\n")
    skeleton = import_time_skeleton(text).source
    for gone in ("def plain", "def one_line", "def coroutine", "def method"):
        assert gone not in skeleton
    for kept in ("def calls_in_default", "def lambda_default", "def decorated", "get_device_name"):
        assert kept in skeleton


def test_kept_functions_lose_parameters_that_hold_no_call():
    text = textwrap.dedent(TRICKY["kept functions lose the parameters of a header without calls"]).lstrip("\n")
    skeleton = import_time_skeleton(text).source
    lines = skeleton.splitlines()
    assert len(lines) == len(text.splitlines())
    assert "def one_line():" in lines
    assert "async def spans(_=\"\"\"" in lines and '"""):' in lines
    assert "def été():" in lines
    for gone in ("*args", "dict[str", "lambda", "int\n"):
        assert gone not in skeleton
    # A call in the header runs when the `def` does: that header stays as written.
    assert "def header_call(x=torch.cuda.is_available()) -> int:" in lines


def test_assignments_without_calls_keep_their_targets_only():
    text = textwrap.dedent(TRICKY["assignments without calls keep their targets only"]).lstrip("\n")
    skeleton = import_time_skeleton(text).source
    lines = skeleton.splitlines()
    assert len(lines) == len(text.splitlines())
    lines = [line.removesuffix(" \\") for line in lines]  # joined to the blank lines after them
    for reduced in ('TABLE = """', "SIZES: 0 = 0", 'A = B = """', "x = [1]; y = 0", "    TENSOR = 0", "z = torch.zeros(1); TABLE = 0"):
        assert reduced in lines
    # In a class body they are read for nothing: one string stands for the run of them.
    for merged in ("field", "other", "table"):
        assert merged not in skeleton
    # What the walker reads stays as written.
    for kept in ('__all__ = ["TABLE", "helper"]', "ALIAS = torch.cuda.is_available", "DECLARED: torch.cuda.Stream",
                 "    alias = torch.cuda.current_device", "    made = torch.cuda.Stream()",
                 "    TENSOR = torch.zeros(1)", 'PICK = torch.cuda.is_available if os.name else None'):
        assert kept in lines


def test_an_emptied_function_takes_the_blank_and_comment_lines_after_it():
    text = textwrap.dedent(TRICKY["blank and comment lines after an emptied function"]).lstrip("\n")
    skeleton = import_time_skeleton(text).source
    assert skeleton.count("\n") == text.count("\n")
    for gone in ("a comment between", "a comment before", "indented deeper", "indented less"):
        assert gone not in skeleton
    # The last function of a block has no next statement there: its string ends on its own
    # last line, and the lines after it are the class's, joined to it (_join_blank_lines).
    lines, row = skeleton.splitlines(), text.splitlines().index("# after the class")
    assert lines[row - 2] == '""" \\' and lines[row - 1] == "\\" and lines[row] == ""


def test_runs_of_statements_read_for_nothing_become_one_string():
    import libcst as cst

    from importguard.facts.positions import _ast_statement, _class_start_lines

    text = textwrap.dedent(TRICKY["runs of statements read for nothing become one string"]).lstrip("\n")
    skeleton = import_time_skeleton(text)
    source = skeleton.source
    assert source.count("\n") == text.count("\n")
    for gone in ("module's docstring", "def plain", "def other", "a comment between", "a: int", "c = 4",
                 "def method", "e: int", "h:", "i: int", "j = 2", "l = 3"):
        assert gone not in source
    # What the walker reads, and statements sharing a line with it, stay.
    for kept in ("X = torch", "alias = torch", "made = torch", "pass; f = torch", "g = torch.ones(1); pass",
                 'k = torch.device("cuda")', "class One: x = 1", 'x: int; y = torch.device("cuda")', "import q"):
        assert kept in source
    # line of the first statement of each run -> how many statements it stands for
    assert skeleton.merged == {1: 1, 4: 2, 14: 6, 22: 1, 26: 1, 28: 2, 32: 1, 41: 1}
    # LibCST's statements of a class body still pair with `ast`'s: positions are worked
    # out from the class's own statement, not from the top of the module.
    module = cst.parse_module(source)
    for top, statement in enumerate(module.body):
        if not isinstance(statement, cst.ClassDef) or isinstance(statement.body, cst.SimpleStatementSuite):
            continue
        starts = _class_start_lines(statement, _ast_statement(module, skeleton, top), skeleton.merged)
        assert starts is not None
        line = 1 + sum(module.code_for_node(s).count("\n") for s in module.body[:top])
        line += module.code_for_node(statement).split(":\n", 1)[0].count("\n") + 1  # the header's lines
        for inner, start in zip(statement.body.body, starts):
            assert start == line, module.code_for_node(inner)
            line += module.code_for_node(inner).count("\n")


def test_a_function_with_imports_under_a_test_never_true_is_kept_whole():
    text = textwrap.dedent(TRICKY["imports under a test that is never true, in a function"]).lstrip("\n")
    source = import_time_skeleton(text).source
    assert "if False:" in source and "while 0:" in source  # f, whole: its imports are TYPE_CHECKING
    assert "if 0:" not in source and "import e" in source  # g, reduced: nothing of it under `if 0:`


def test_blank_and_comment_lines_between_statements_join_the_line_before():
    text = "import os\n\n# c\n\nimport sys  # noqa\n\nX = os.getcwd()\n\n\ndef f():\n    import q\n"
    skeleton = import_time_skeleton(text).source
    # Not after a line with a comment, which would swallow the backslash.
    assert skeleton.splitlines() == [
        "import os \\", "\\", "\\", "", "import sys  # noqa", "", "X = os.getcwd() \\", "\\", "", "def f():", "    import q",
    ]
    reduced, whole = both_ways(text.encode())
    assert reduced == whole and [site.line for site in reduced.imports] == [1, 5, 11]
    assert reduced.calls[0].line == 7
    # Only in files whose lines end with \n alone.
    assert "\\" not in import_time_skeleton(text.replace("\n", "\r\n")).source


def test_type_checking_aliases_are_names_that_start_at_a_word_boundary():
    """The alias search looks for the literal first and checks the word boundary before
    it at each match; it must find what `\\bTYPE_CHECKING\\s+as\\s+(\\w+)` finds, also
    when a match without the boundary runs into one with it."""
    import re

    from importguard.facts.skeleton import _type_checking_names

    searched = re.compile(r"\bTYPE_CHECKING\s+as\s+(\w+)")
    texts = [
        "from typing import TYPE_CHECKING as TC\n",
        "from typing import TYPE_CHECKING  as\tTC, TYPE_CHECKING as T2\n",
        "xTYPE_CHECKING as TYPE_CHECKING as y\n",
        "_TYPE_CHECKING as z\n",
        "éTYPE_CHECKING as d; TYPE_CHECKING as e\n",
        "TYPE_CHECKING as first\n",
        "if TYPE_CHECKING:\n    pass\n",
    ]
    for text in texts:
        assert _type_checking_names(text) == frozenset({"TYPE_CHECKING", *searched.findall(text)})
    assert _type_checking_names(texts[2]) == {"TYPE_CHECKING", "y"}
    assert _type_checking_names(texts[3]) == {"TYPE_CHECKING"}
