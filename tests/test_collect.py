"""Facts for every construct the core issue lists: execution, conditional, names, positions."""

from __future__ import annotations

import textwrap

import pytest

from importguard.facts.collect import collect_source
from importguard.model import Execution, SiteKind, SourceFile

E, D, T = Execution.EAGER, Execution.DEFERRED, Execution.TYPE_CHECKING


def facts_of(source: str, module: str = "pkg.mod", is_package: bool = False):
    data = textwrap.dedent(source).encode()
    return collect_source(data, SourceFile("/x/pkg/mod.py", module, is_package, "/x"))


def sites(source: str, **kwargs):
    """(module, execution, conditional) of every import site, in source order."""
    return [(s.module, s.execution, s.conditional) for s in facts_of(source, **kwargs).imports]


@pytest.mark.parametrize(
    "source, expected",
    [
        ("import a\n", [("a", E, False)]),
        ("class K:\n    import a\n", [("a", E, False)]),
        ("if x:\n    import a\nelif y:\n    import b\nelse:\n    import c\n",
         [("a", E, True), ("b", E, True), ("c", E, True)]),
        ("try:\n    import a\nexcept ImportError:\n    import b\nelse:\n    import c\nfinally:\n    import d\n",
         [("a", E, True), ("b", E, True), ("c", E, True), ("d", E, False)]),
        ("with open(p) as f:\n    import a\n", [("a", E, False)]),
        ("for i in x:\n    import a\nwhile y:\n    import b\n", [("a", E, True), ("b", E, True)]),
        ("match x:\n    case 1:\n        import a\n    case _:\n        import b\n", [("a", E, True), ("b", E, True)]),
        ("def f():\n    import a\n", [("a", D, False)]),
        ("async def f():\n    import a\n", [("a", D, False)]),
        ("class K:\n    def m(self):\n        import a\n", [("a", D, False)]),
        ("def __getattr__(name):\n    import a\n    return a\n", [("a", D, False)]),
        ("f = lambda: __import__('a')\n", [("a", D, False)]),
        ("if __name__ == '__main__':\n    import a\n", [("a", D, False)]),
    ],
    ids=["module", "class", "if-elif-else", "try", "with", "loops", "match", "function",
         "async-function", "method", "pep562-getattr", "lambda", "main-guard"],
)
def test_execution_of_statement_contexts(source, expected):
    assert sites(source) == expected


@pytest.mark.parametrize(
    "source, expected",
    [
        ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import a\n", T),
        ("import typing\nif typing.TYPE_CHECKING:\n    import a\n", T),
        ("import typing as t\nif t.TYPE_CHECKING:\n    import a\n", T),
        ("from typing import TYPE_CHECKING as TC\nif TC:\n    import a\n", T),
        ("from typing_extensions import TYPE_CHECKING\nif TYPE_CHECKING and X:\n    import a\n", T),
        ("from typing import TYPE_CHECKING\nif TYPE_CHECKING or X:\n    import a\n", E),
        ("from typing import TYPE_CHECKING\nif not TYPE_CHECKING:\n    import a\n", E),
        ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    def f():\n        import a\n", T),
    ],
    ids=["plain", "typing-attr", "typing-alias", "name-alias", "and", "or-is-eager", "not", "nested-def"],
)
def test_type_checking_tests(source, expected):
    assert sites(source)[-1][:2] == ("a", expected)


def test_else_of_type_checking_is_eager_and_conditional():
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import a\nelse:\n    import b\n"
    assert sites(source)[1:] == [("a", T, False), ("b", E, True)]


def test_decorators_and_defaults_are_evaluated_at_import():
    facts = facts_of(
        """
        import torch
        import importlib
        @register(importlib.import_module("plugins.one"))
        def f(x=importlib.import_module("plugins.two"), *, y=torch.cuda.is_available()):
            importlib.import_module("plugins.three")
        """
    )
    dynamic = [(s.module, s.execution) for s in facts.imports if s.kind is SiteKind.DYNAMIC]
    assert dynamic == [("plugins.one", E), ("plugins.two", E)]
    # Dynamic imports become import sites, not calls; `register` is bound by no import.
    assert [c.name for c in facts.calls] == ["torch.cuda.is_available"]


def test_pep810_lazy_imports_are_deferred():
    source = "lazy import a\nlazy from b import c\nimport d\n"
    assert sites(source) == [("a", D, False), ("b", D, False), ("d", E, False)]


def test_lazy_modules_list_defers_module_scope_imports_only():
    source = textwrap.dedent(
        """
        __lazy_modules__ = ["a", "b.c"]
        import a
        from b.c import d
        import e
        try:
            import a
        except ImportError:
            pass
        """
    )
    assert sites(source) == [("a", D, False), ("b.c", D, False), ("e", E, False), ("a", E, True)]


def test_dynamic_imports_with_literals():
    facts = facts_of(
        """
        import importlib
        from importlib import import_module as im
        importlib.import_module("a.b")
        im(".sibling", __package__)
        __import__("c")
        importlib.import_module(name_from_config)
        """
    )
    dynamic = [s.module for s in facts.imports if s.kind is SiteKind.DYNAMIC]
    assert dynamic == ["a.b", "pkg.sibling", "c"]


def test_lazy_loader_attach_is_deferred():
    facts = facts_of(
        """
        import lazy_loader
        __getattr__, __dir__, __all__ = lazy_loader.attach(
            __name__, submodules=["gemm"], submod_attrs={"attn": ["flash"]}
        )
        """,
        module="pkg",
        is_package=True,
    )
    lazy = [(s.module, s.execution) for s in facts.imports if s.kind is SiteKind.LAZY_ATTACH]
    assert lazy == [("pkg.attn", D), ("pkg.gemm", D)]


@pytest.mark.parametrize(
    "module, is_package, statement, expected",
    [
        ("pkg.mod", False, "from . import x", "pkg"),
        ("pkg.mod", False, "from .x import y", "pkg.x"),
        ("pkg.sub.mod", False, "from .. import x", "pkg"),
        ("pkg.sub.mod", False, "from ..x.y import z", "pkg.x.y"),
        ("pkg.sub", True, "from . import x", "pkg.sub"),
        ("pkg.sub", True, "from .. import x", "pkg"),
        ("a.b.c.d", False, "from ... import x", "a"),
    ],
)
def test_relative_imports_at_any_level(module, is_package, statement, expected):
    facts = facts_of(statement + "\n", module=module, is_package=is_package)
    assert [s.module for s in facts.imports] == [expected]
    assert facts.problems == ()


def test_relative_import_beyond_top_level_is_a_problem():
    facts = facts_of("import os\nfrom ... import x\n", module="pkg.mod")
    assert [s.module for s in facts.imports] == ["os"]
    assert [(p.code, p.line) for p in facts.problems] == [("IG902", 2)]


def test_from_import_names_star_and_dotted_imports():
    facts = facts_of("from pkg import a, b as c\nfrom pkg.x import *\nimport a.b.c as d, e\n")
    assert [(s.module, s.names, s.kind) for s in facts.imports] == [
        ("pkg", ("a", "b"), SiteKind.FROM),
        ("pkg.x", ("*",), SiteKind.FROM),
        ("a.b.c", (), SiteKind.IMPORT),
        ("e", (), SiteKind.IMPORT),
    ]


def test_positions_are_one_based_and_cover_multiline_statements():
    facts = facts_of('"""doc\nstring"""\n\nif x:\n    from .ops import (\n        a,\n        b,\n    )\n')
    (site,) = facts.imports
    assert (site.line, site.column, site.end_line) == (5, 5, 8)


def test_positions_match_python_ast_on_a_real_looking_module():
    import ast

    source = textwrap.dedent(
        """
        # comment
        import os, sys  ; import json
        x = {"a": [1,
                   2]}
        class K(Base, metaclass=M):
            '''doc'''
            import re
            def m(self):
                from . import helper
        try:
            from torch import cuda
        except ImportError:
            cuda = None
        CAP = cuda.get_device_capability()
        """
    )
    facts = facts_of(source)
    expected = sorted(
        (node.lineno, node.col_offset + 1)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for _ in (node.names if isinstance(node, ast.Import) else [None])
    )
    assert sorted((s.line, s.column) for s in facts.imports) == expected
    (call,) = facts.calls
    assert (call.name, call.line, call.column) == ("torch.cuda.get_device_capability", 15, 7)


@pytest.mark.parametrize(
    "source, expected",
    [
        ("import torch.cuda as tc\ntc.get_device_capability()\n", "torch.cuda.get_device_capability"),
        ("from torch import cuda\ncuda.is_available()\n", "torch.cuda.is_available"),
        ("import torch\ntorch.cuda.current_device()\n", "torch.cuda.current_device"),
        ("from torch.cuda import get_device_name as gdn\nX = [gdn()]\n", "torch.cuda.get_device_name"),
        ("import torch.cuda\ntorch.cuda.mem_get_info()\n", "torch.cuda.mem_get_info"),
    ],
)
def test_calls_are_resolved_through_import_aliases(source, expected):
    assert [c.name for c in facts_of(source).calls] == [expected]


def test_calls_in_deferred_code_and_unbound_names_are_not_facts():
    facts = facts_of(
        """
        import torch
        def f():
            torch.cuda.is_available()
        g = lambda: torch.cuda.is_available()
        local_thing()
        """
    )
    assert facts.calls == ()


def test_exports_and_suppressions():
    facts = facts_of(
        '__all__ = ["a", "b"]\n__all__ += ["c"]\n'
        "import a  # noqa: IG001, IG002\nimport b  # noqa\nimport c  # importguard: ignore[IG001]\n"
        "import d  # noqa: F401\n"
    )
    assert facts.exports == ("a", "b", "c")
    assert [(s.line, s.codes) for s in facts.suppressions] == [
        (3, ("IG001", "IG002")),
        (4, ()),
        (5, ("IG001",)),
        (6, ("F401",)),
    ]


@pytest.mark.parametrize(
    "data, code",
    [
        (b"def f(:\n", "IG900"),
        (b"x = 'caf\xe9'\n", "IG901"),
        (b"# -*- coding: nonsense -*-\nx = 1\n", "IG901"),
        (b"x = 1\x00\n", "IG900"),
        (b"x = " + b"(" * 50000 + b")" * 50000 + b"\n", "IG900"),
        (b"if x:\n" + b"".join(b" " * i + b"if y:\n" for i in range(1, 120)) + b" " * 120 + b"import a\n", "IG900"),
    ],
    ids=["syntax", "undecodable", "unknown-coding", "nul-byte", "deep-brackets", "deep-indentation"],
)
def test_bad_input_becomes_a_problem(data, code):
    facts = collect_source(data, SourceFile("/x/m.py", "m", False, "/x"))
    assert [p.code for p in facts.problems] == [code]
    assert facts.imports == ()


def test_nesting_python_accepts_is_analysed():
    data = b"x = " + b"(" * 150 + b"1" + b")" * 150 + b"\nimport a\n"
    facts = collect_source(data, SourceFile("/x/m.py", "m", False, "/x"))
    assert facts.problems == () and [s.module for s in facts.imports] == ["a"]


@pytest.mark.parametrize("data", [b"", b"# only a comment\n", b"\n\n\n"])
def test_empty_and_comment_only_files(data):
    facts = collect_source(data, SourceFile("/x/m.py", "m", False, "/x"))
    assert facts.problems == () and facts.imports == () and facts.calls == ()


def test_facts_round_trip_through_plain_data():
    from importguard.cache.codec import codec
    from importguard.model import ModuleFacts

    facts = facts_of("import a\nfrom typing import TYPE_CHECKING\nimport torch\nX = torch.cuda.is_available()  # noqa\n")
    assert codec(ModuleFacts).decode(codec(ModuleFacts).encode(facts)) == facts


KEPT_AND_DROPPED = """
    import os
    import torch
    from .impl import run
    from helpers import *

    class Engine:
        def start(self):
            self.warm()
            return run(len(self.items), torch.device("cuda"))

        def warm(self):
            items = sorted(os.listdir("."))
            items.append(setup())
            torch.cuda.init()
            undefined_name()

    def setup():
        import json
        return json.dumps(Engine().start())
"""


def test_the_bodies_reader_skips_only_calls_function_facts_drops(monkeypatch):
    """The module-level walk decides which calls in function bodies are kept; the
    bodies' reader makes no RawCall for the others (builtins, the standard library,
    names nothing binds). The facts are those of a reader that keeps every call."""
    import ast

    from importguard.facts import collect as collect_module
    from importguard.facts.function_calls import function_calls

    tree = ast.parse(textwrap.dedent(KEPT_AND_DROPPED))
    every = function_calls(tree, (), "pkg.mod", False)
    some = function_calls(tree, (), "pkg.mod", False, kept=lambda name, resolution: name != "len")
    names = [call.dotted for function in every.functions for call in function.calls]
    assert "len" in names
    assert [call.dotted for function in some.functions for call in function.calls] == \
        [name for name in names if name != "len"]

    filtered = facts_of(KEPT_AND_DROPPED)
    monkeypatch.setattr(collect_module._Walker, "keeps_call", lambda self, dotted, resolution: True)
    assert facts_of(KEPT_AND_DROPPED) == filtered
    called = {call.name for function in filtered.functions for call in function.calls}
    assert {"pkg.mod.Engine.warm", "pkg.impl.run", "torch.device", "torch.cuda.init", "pkg.mod.setup"} <= called
    assert not called & {"len", "sorted", "os.listdir", "json.dumps"}
