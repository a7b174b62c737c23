"""--add-noqa's placement: the first line of the site that can end in a comment (as the
editor's action), an `if` header, a one-line suite; merged into an existing noqa, after
another comment; a bare noqa is left alone; a site no comment can reach gets a note."""

from __future__ import annotations

import libcst as cst
import pytest

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
        "from b import (c,  # noqa: IG001\n"
        "   d)\n"
        "if torch.cuda.is_available():  # noqa: IG003\n"
        "    pass\n"
        "x = torch.cuda.current_device()  # hello  # noqa: IG003\n"
        "y = torch.cuda.Stream()  # noqa: IG002, IG003\n"
        "z = torch.cuda.Stream()  # noqa\n"
        "if torch.cuda.is_available(): w = 1  # noqa: IG003\n"
    )
    assert (count, missed) == (6, [])


def test_a_site_in_the_middle_of_a_statement_gets_its_comment_on_its_own_line():
    # The call sits on line 2 of a statement that ends on line 3: a comment on line 2
    # (inside the brackets) counts for it, and it is where the editor puts it.
    source = "x = f(\n    torch.cuda.current_device(),\n)\n"
    module, count, missed = add_to_module(cst.parse_module(source), [finding("IG003", 2)])
    assert (module.code, count, missed) == ("x = f(\n    torch.cuda.current_device(),  # noqa: IG003\n)\n", 1, [])


def test_a_comment_written_in_the_middle_of_a_statement_suppresses_there(tmp_path):
    from test_cli import run
    from conftest import write_tree

    write_tree(tmp_path, {"pkg/__init__.py": "", "pkg/cfg.py": "import torch\nx = max(\n    torch.cuda.current_device(),\n    1,\n)\n"})
    assert run("check", cwd=tmp_path).returncode == 1
    added = run("check", "--add-noqa", cwd=tmp_path)
    assert "Added 1 noqa directive in 1 file." in added.stderr, added.stderr
    assert (tmp_path / "pkg/cfg.py").read_text().splitlines()[2] == "    torch.cuda.current_device(),  # noqa: IG003"
    assert run("check", cwd=tmp_path).returncode == 0


def test_a_line_no_comment_can_end_is_reported_not_guessed():
    # Continued by a backslash, or inside a string: no comment can end these lines.
    source = 'x = torch.cuda.current_device() + \\\n    1\ny = """a\n{}""".format(torch.cuda.Stream())\n'
    module, count, missed = add_to_module(cst.parse_module(source), [finding("IG003", 1), finding("IG003", 3)])
    assert (module.code, count, missed) == (source, 0, [1, 3])


def test_the_editor_action_and_add_noqa_pick_the_same_line():
    pytest.importorskip("pygls")
    from pygls.workspace import TextDocument

    from importguard.lsp.server import noqa_edit

    sources = [
        ("from b import (c,\n   d)\n", 1, 2),
        ("x = f(\n    torch.cuda.current_device(),\n)\n", 2, 2),
        ("x = torch.cuda.current_device() + \\\n    f()\n", 1, 2),
        ("import a  # hello\n", 1, 1),
        ('x = f("""a\nb""", torch.cuda.current_device())\n', 1, 2),  # line 1 ends inside a string
    ]
    for source, line, end_line in sources:
        module, _, _ = add_to_module(cst.parse_module(source), [finding("IG001", line, end_line)])
        edit = noqa_edit(TextDocument("file:///p.py", source), "IG001", line, end_line)
        changed = [n for n, (a, b) in enumerate(zip(source.splitlines(), module.code.splitlines())) if a != b]
        assert changed == [edit.range.start.line], source
