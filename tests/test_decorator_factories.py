"""`@factory(arg)` runs `factory(arg)`, then what it returns on the decorated function: a
nested def it gives back runs at import too (`def factory(n): def wrap(fn): ...; return
wrap`). Not when it is only returned (`g = factory(2)`), nor the wrapper a plain `@deco`
returns (it runs when the decorated function is called)."""

from __future__ import annotations

import pytest

from conftest import check_tree, write_tree

FACTORY = ("import torch\n\ndef factory(n):\n    def wrap(fn):\n        torch.cuda.synchronize()\n"
           "        return fn\n    return wrap\n")
PLAIN = ("import torch\n\ndef deco(fn):\n    def wrapper(*a):\n        torch.cuda.synchronize()\n"
         "        return fn(*a)\n    return wrapper\n")


def chains(tmp_path, source: str):
    report = check_tree(write_tree(tmp_path, {"pkg/__init__.py": "", "pkg/m.py": source}))
    return [(f.line, [(h.imported, h.line) for h in f.chain if h.kind == "call"])
            for f in report.findings if f.code == "IG003"]


@pytest.mark.parametrize("use, line", [
    ("@factory(3)\ndef f():\n    pass\n", 9),
    ("def f():\n    pass\ng = factory(3)(f)\n", 11),
])
def test_the_wrapper_a_factory_gives_back_runs_when_applied(tmp_path, use, line):
    assert chains(tmp_path, FACTORY + "\n" + use) == [(line, [
        ("pkg.m.factory", line), ("pkg.m.factory.wrap", 4), ("torch.cuda.synchronize", 5)])]


@pytest.mark.parametrize("source", [
    FACTORY + "\ng = factory(3)\n",                      # returned, never applied
    PLAIN + "\n@deco\ndef f():\n    pass\n",             # the wrapper runs when f is called
    FACTORY.replace("return wrap", "return print") + "\n@factory(3)\ndef f():\n    pass\n",
])
def test_a_wrapper_that_is_not_applied_at_import_reaches_nothing(tmp_path, source):
    assert chains(tmp_path, source) == []
