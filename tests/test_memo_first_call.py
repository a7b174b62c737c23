"""A memo filled on the first call (`if _x is None: _x = torch.cuda…()`): the test is
false on later calls, but the first call, the one an import makes, runs the body."""

from __future__ import annotations

import pytest

from conftest import check_tree, write_tree

MEMO_GLOBAL = ("import torch\n_HAS = None\ndef has():\n    global _HAS\n    if _HAS is None:\n"
               "        _HAS = torch.cuda.is_available()\n    return _HAS\nX = has()\n")
MEMO_NOT = ("import torch\n_NAME = ''\ndef name():\n    global _NAME\n    if not _NAME:\n"
            "        _NAME = torch.cuda.get_device_name()\n    return _NAME\nX = name()\n")
MEMO_ELSE = ("import torch\n_HAS = None\ndef has():\n    global _HAS\n    if _HAS is not None:\n        pass\n"
             "    else:\n        _HAS = torch.cuda.is_available()\n    return _HAS\nX = has()\n")
MEMO_DICT = ("import torch\n_CAPS = {}\ndef cap(d=0):\n    if d not in _CAPS:\n"
             "        _CAPS[d] = torch.cuda.get_device_capability(d)\n    return _CAPS[d]\nX = cap()\n")
MEMO_LIST = ("import torch\n_SEEN = []\ndef once():\n    if 'x' not in _SEEN:\n        _SEEN.append('x')\n"
             "        torch.cuda.synchronize()\nonce()\n")


def call_sinks(tmp_path, source: str):
    report = check_tree(write_tree(tmp_path, {"pkg/__init__.py": "", "pkg/m.py": source}))
    return [(f.line, f.sink, "on some paths" in f.message) for f in report.findings if f.code == "IG003"]


@pytest.mark.parametrize("source, line, sink", [
    (MEMO_GLOBAL, 8, "torch.cuda.is_available"),
    (MEMO_NOT, 8, "torch.cuda.get_device_name"),
    (MEMO_ELSE, 10, "torch.cuda.is_available"),
    (MEMO_DICT, 7, "torch.cuda.get_device_capability"),
    (MEMO_LIST, 7, "torch.cuda.synchronize"),
])
def test_the_first_call_of_a_memo_runs_its_body(tmp_path, source, line, sink):
    assert call_sinks(tmp_path, source) == [(line, sink, False)]


@pytest.mark.parametrize("source", [
    # a parameter, not the module's memo
    MEMO_DICT.replace("def cap(d=0):", "def cap(d=0, _CAPS={0: (9, 0)}):"),
    MEMO_GLOBAL.replace("    global _HAS\n", "").replace("        _HAS = torch", "        return torch"),
    # the body is not where the memo is filled
    MEMO_DICT.replace("        _CAPS[d] = torch.cuda.get_device_capability(d)\n",
                      "        return torch.cuda.get_device_capability(d)\n"),
    # not empty at module level
    MEMO_DICT.replace("_CAPS = {}", "_CAPS = {0: (9, 0)}"),
    # the test calls something: not a plain memo test
    MEMO_GLOBAL.replace("if _HAS is None:", "if _HAS is None and ready():").replace("import torch\n",
                                                                                  "import torch\ndef ready():\n    return False\n"),
])
def test_other_tests_stay_undecided(tmp_path, source):
    assert call_sinks(tmp_path, source) == []
