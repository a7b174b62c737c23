"""Suppression comments come from the tokenizer, on the lines Python counts."""

from __future__ import annotations

import pytest

from importguard.facts.comments import comments, suppressions
from importguard.model import Suppression

from conftest import check_tree, write_tree

SINK = {"pkg/ops.py": "import cutlass\n\ndef gemm():\n    pass\n"}


@pytest.mark.parametrize(
    "init",
    [
        'from .ops import gemm; BANNER = "# noqa"\n',
        'from .ops import gemm; URL = "http://x/#noqa:IG001"\n',
        "from .ops import gemm; DOC = '''\n# noqa\n'''\n",
        'from .ops import gemm; X = f"{1} # noqa"\n',
    ],
    ids=["string", "url", "triple-quoted string on a later line", "f-string"],
)
def test_a_noqa_inside_a_string_suppresses_nothing(tmp_path, init):
    write_tree(tmp_path, {**SINK, "pkg/__init__.py": init})
    report = check_tree(tmp_path)
    assert [(f.code, f.line) for f in report.findings] == [("IG001", 1)]


@pytest.mark.parametrize("separator", ["\f", "\u2028", "\x1c", "\x85", "\v"])
def test_characters_that_splitlines_breaks_on_do_not_shift_suppressions(tmp_path, separator):
    # Python lines holding a separator (in a string, in a comment), then the import
    # with its noqa on line 3.
    init = f"X = '{separator}'\n# a{separator}b\nfrom .ops import gemm  # noqa: IG001\n"
    write_tree(tmp_path, {**SINK, "pkg/__init__.py": init})
    assert check_tree(tmp_path).findings == ()
    assert suppressions(init) == (Suppression(3, ("IG001",)),)


def test_universal_newlines_count_lines_as_python_does():
    text = "a = 1\r# noqa: IG001\r\nb = 2\n# importguard: ignore[IG002, ig003]\n"
    assert suppressions(text) == (Suppression(2, ("IG001",)), Suppression(4, ("IG002", "IG003")))


def test_comments_before_a_tokenizer_error_are_kept():
    found = comments("x = 1  # noqa\ny = (\n")
    assert found == {1: (7, "# noqa")}


def test_no_marker_no_suppression():
    assert suppressions("x = '#'  # plain\n") == ()


# Given CPython's tree, the comments of marked lines are found without the tokenizer;
# they must be the tokenizer's own, and where the tree cannot tell, the tokenizer decides.
TREE_CASES = [
    "import a  # noqa\n",
    "import a  # noqa: IG001\nimport b  # importguard: ignore[IG002]\n",
    "# importguard: noqa\nimport a\n",
    "x = '#'  # noqa\n",
    'x = "a" "# noqa"\n',
    'x = ("a"  # noqa: IG001\n     "b")\n',
    'x = f"{1} # noqa"\n',
    'x = f"{1}"  # noqa\n',
    "DOC = '''\n# noqa\n'''\n",
    "DOC = '''\nnoqa # here\n'''  # noqa: IG003\n",
    "s = 'é'; import a  # noqa: IG001\n",
    "s = '日本'  # noqa\n",
    "\tif x:\n\t\timport a # NOQA\n".lstrip("\t"),
    "a = 1\r# noqa: IG001\r\nb = 2\n# importguard: ignore[IG002, ig003]\n",
    "def f():\n    '''noqa'''\n    import a  # noqa\n",
    "x = [\n    1,  # noqa\n    '#',  # importguard: ignore[IG001]\n]\n",
    "noqa = 1\nimportguard_noqa = 2  # plain\n",
    "x = b'#' + b'noqa'  # noqa: IG002\n",
    "x = 1 \\\n    + 2  # noqa\n",
]


@pytest.mark.parametrize("text", TREE_CASES)
def test_tree_finds_the_tokenizers_comments(text):
    import ast

    assert suppressions(text, ast.parse(text)) == suppressions(text)
    assert [s.directive for s in suppressions(text, ast.parse(text))] == [s.directive for s in suppressions(text)]


def test_tree_spares_the_tokenizer_and_falls_back_to_it(monkeypatch):
    import ast

    import importguard.facts.comments as module

    calls = []
    real = module.comments
    monkeypatch.setattr(module, "comments", lambda text: calls.append(text) or real(text))
    plain = "import a  # noqa: IG001\nx = 'noqa'\n"
    assert suppressions(plain, ast.parse(plain)) == (Suppression(1, ("IG001",)),)
    assert calls == []
    joined = 'x = ("a"  # noqa: IG001\n     "b")\n'  # a comment inside the span of one joined string
    assert suppressions(joined, ast.parse(joined)) == (Suppression(1, ("IG001",)),)
    assert calls == [joined]


@pytest.mark.parametrize("text", ["# NOQA", "# NoQa: IG001", "# IMPORTGUARD: ignore", "# \u0130mportguard : ignore",
                                  "# \u0131mportguard:ignore", "x = 1  # importguard:noqa"])
def test_the_cheap_marker_test_lets_every_marker_through(text):
    from importguard.facts.comments import _MARKER, _may_mark

    assert _MARKER.search(text) and _may_mark(text)
    assert not _may_mark(text.replace("q", "").replace("Q", "").replace("portg", "").replace("PORTG", ""))
