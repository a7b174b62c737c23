"""--add-noqa's placement: the statement's last line, an `if` header, a one-line suite;
merged into an existing noqa, after another comment; a bare noqa is left alone."""

from __future__ import annotations

import libcst as cst

from importguard.fix.add_noqa import add_to_module
from importguard.model import Finding


def finding(code, line, end_line=0):
    return Finding(code, "name", "p.py", line, 1, "message", end_line=end_line)


def test_placements_and_merges():
    source = (
        "import a\n"
        "from b import (c,\n"
        "   d)\n"
        "if torch.cuda.is_available():\n"
        "    pass\n"
        "x = torch.cuda.current_device()  # hello\n"
        "y = torch.cuda.Stream()  # noqa: IG002\n"
        "z = torch.cuda.Stream()  # noqa\n"
        "if torch.cuda.is_available(): w = 1\n"
    )
    found = [finding("IG001", 1), finding("IG001", 2, 3), finding("IG003", 4), finding("IG003", 6),
             finding("IG003", 7), finding("IG003", 8), finding("IG003", 9)]
    module, count, missed = add_to_module(cst.parse_module(source), found)
    assert module.code == (
        "import a  # noqa: IG001\n"
        "from b import (c,\n"
        "   d)  # noqa: IG001\n"
        "if torch.cuda.is_available():  # noqa: IG003\n"
        "    pass\n"
        "x = torch.cuda.current_device()  # hello  # noqa: IG003\n"
        "y = torch.cuda.Stream()  # noqa: IG002, IG003\n"
        "z = torch.cuda.Stream()  # noqa\n"
        "if torch.cuda.is_available(): w = 1  # noqa: IG003\n"
    )
    assert (count, missed) == (6, [])


def test_a_line_no_comment_can_suppress_is_reported_not_guessed():
    # The call sits on line 2 of a statement that ends on line 3: a comment on line 3
    # would not count for a finding whose lines are 2..2.
    source = "x = f(\n    torch.cuda.current_device(),\n)\n"
    module, count, missed = add_to_module(cst.parse_module(source), [finding("IG003", 2)])
    assert (module.code, count, missed) == (source, 0, [2])
