"""Tests of environment variables are decided with the value the code reads when the
variable is unset, or the one `environment = { env = {...} }` gives: flashinfer's
`_API_LOG_LEVEL = int(os.environ.get("FLASHINFER_LOGLEVEL", "0"))` then `if
_API_LOG_LEVEL >= 5:` does not run by default."""

from __future__ import annotations

import pytest

from conftest import check_tree, write_tree

from importguard.facts.conditions import ENV, env_value

SOURCE = (
    "import os, torch\n"
    "_LEVEL = int(os.environ.get('LOGLEVEL', '0'))\n"
    "if _LEVEL >= 5:\n    torch.cuda.synchronize()\n"                              # line 4
    "if os.environ.get('X', '0') == '0':\n    torch.cuda.current_device()\n"        # line 6
    "if 'Y' in os.environ:\n    torch.cuda.set_device(0)\n"                         # line 8
    "if os.getenv('Z', 'false').lower() in ('1', 'true'):\n    torch.cuda.get_device_name()\n"  # line 10
    "if os.environ.get('W'):\n    torch.cuda.mem_get_info()\n"                      # line 12
    "else:\n    torch.cuda.get_device_capability()\n"                               # line 14
)


def lines(tmp_path, pyproject: str = ""):
    files = {"pkg/__init__.py": "", "pkg/m.py": SOURCE}
    if pyproject:
        files["pyproject.toml"] = pyproject
    report = check_tree(write_tree(tmp_path, files))
    return sorted(f.line for f in report.findings if f.code == "IG003")


def test_unset_variables_take_the_default_the_code_reads(tmp_path):
    assert lines(tmp_path) == [6, 14]


def test_the_profile_sets_variables(tmp_path):
    config = ('[tool.importguard]\nenvironment = { env = { LOGLEVEL = "7", X = "1", Y = "", Z = "True", '
              'W = "1" } }\n')
    assert lines(tmp_path, config) == [4, 8, 10, 12]


def test_a_module_that_reaches_a_call_only_through_an_undecided_test_says_on_some_paths(tmp_path):
    report = check_tree(write_tree(tmp_path, {
        "pkg/__init__.py": "from . import m\n",
        "pkg/m.py": "import torch\nif ready():\n    torch.cuda.synchronize()\n",
    }))
    (finding,) = [f for f in report.findings if f.code == "IG001"]
    assert "which calls `torch.cuda.synchronize()` at import on some paths" in finding.message


@pytest.mark.parametrize("term, variables, expected", [
    (ENV + '["L", "0", ["int"], ">=", 5]', {}, False),
    (ENV + '["L", "0", ["int"], ">=", 5]', {"L": "9"}, True),
    (ENV + '["L", "0", ["int"], ">=", 5]', {"L": "high"}, None),   # int("high") fails: the import would
    (ENV + '["L", null, ["int"], ">=", 5]', {}, None),             # int(None) fails too
    (ENV + '["F", null, [], null, null]', {"F": ""}, False),
    (ENV + '["F", null, [], "set", null]', {"F": ""}, True),
    (ENV + "not json", {}, None),
])
def test_env_value(term, variables, expected):
    assert env_value(term, variables) is expected
