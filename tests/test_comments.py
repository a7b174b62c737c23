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
