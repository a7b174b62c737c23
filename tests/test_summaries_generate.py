"""`importguard summaries generate` (issue 28, item 2): rows derived from an installed
library's source by importguard's own analysis, checked against measured rows; and
summary files extending the sinks from config."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import check_tree, write_tree
from test_follow_installed import cli_run, install_tree

FAKELIB = {
    "fakelib/__init__.py": "from fakelib.api import compile_it, safe\n",
    "fakelib/api.py": (
        "import torch\n"
        "def compile_it(fn):\n"
        "    return _helper(fn)\n"
        "def _helper(fn):\n"
        "    if fn is None:\n"
        "        return torch.cuda.get_device_capability()\n"
        "    return fn\n"
        "def safe():\n"
        "    return torch.cuda.device_count()\n"
        "def direct():\n"
        "    return torch.cuda.current_device()\n"
    ),
    "fakelib/jit.py": "import torch\nHOME = torch.cuda.is_available()\n",
    "fakelib/plain.py": "import os\n",
}
# A stand-in for torch's own files: one shipped row the analysis confirms
# (cpp_extension), one it contradicts (manual_seed measured "nothing").
FAKETORCH = {
    "torch/__init__.py": "",
    "torch/cuda/__init__.py": (
        "def is_available():\n    return True\n"
        "def current_device():\n    return 0\n"
        "def manual_seed(seed):\n    return current_device()\n"
    ),
    "torch/utils/__init__.py": "",
    "torch/utils/cpp_extension.py": (
        "import torch\n"
        "def _find_cuda_home():\n"
        "    return torch.cuda.is_available()\n"
        "CUDA_HOME = _find_cuda_home()\n"
    ),
}


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    where = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    python = where / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    install_tree(Path(purelib), "fakelib", "1.0", FAKELIB)
    install_tree(Path(purelib), "torch", "9.9.9", FAKETORCH)
    return python


def generated(tmp_path, venv, *args):
    result = cli_run(tmp_path, "summaries", "generate", *args, "--python", str(venv))
    return result, (json.loads(result.stdout) if result.stdout.startswith("{") else None)


def test_generate_rows_from_the_installed_source(tmp_path, venv):
    result, data = generated(tmp_path, venv, "fakelib")
    assert result.exit_code == 0, result.output
    assert data["library"] == "fakelib" and "fakelib 1.0" in data["note"]
    effects = {(row["kind"], row["name"]): row["effect"] for row in data["rows"]}
    assert effects == {
        ("call", "fakelib.api.compile_it"): "initializes",
        ("call", "fakelib.api.direct"): "initializes",
        ("call", "fakelib.api.safe"): "nothing",
        ("import", "fakelib"): "nothing",
        ("import", "fakelib.api"): "nothing",
        ("import", "fakelib.jit"): "initializes",
        ("import", "fakelib.plain"): "nothing",
    }
    rows = {row["name"]: row for row in data["rows"]}
    # found through a branch of _helper: the row says so
    assert rows["fakelib.api.compile_it"]["condition"].startswith("on some paths")
    assert "condition" not in rows["fakelib.api.direct"]
    assert rows["fakelib.api.compile_it"]["analysis"].endswith(
        "fakelib/api.py:3 fakelib.api._helper() -> fakelib/api.py:6 torch.cuda.get_device_capability()")
    assert "fakelib/jit.py:2 torch.cuda.is_available()" in rows["fakelib.jit"]["analysis"]
    # generated, not measured: no versions, no measurement
    assert all(row["versions"] == [] and "measured" not in row for row in data["rows"])


def test_generate_named_rows_and_output_file(tmp_path, venv):
    out = tmp_path / "rows.json"
    result = cli_run(tmp_path, "summaries", "generate", "fakelib", "--python", str(venv),
                     "--name", "fakelib.api.direct", "--name", "fakelib.plain", "-o", str(out))
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert [(row["kind"], row["name"], row["effect"]) for row in data["rows"]] == [
        ("call", "fakelib.api.direct", "initializes"), ("import", "fakelib.plain", "nothing"),
    ]


def test_measured_rows_keep_their_measurement_and_disagreements_exit_1(tmp_path, venv):
    result, data = generated(tmp_path, venv, "torch", "--name", "torch.utils.cpp_extension",
                             "--name", "torch.cuda.manual_seed")
    assert result.exit_code == 1, result.output
    rows = {row["name"]: row for row in data["rows"]}
    cpp = rows["torch.utils.cpp_extension"]
    # the shipped row (measured on torch 2.11.0+cu130) with the analysis of this torch
    assert cpp["effect"] == "initializes" and cpp["versions"] == ["torch 2.11.0+cu130"] and cpp["measured"]
    assert "static analysis of torch 9.9.9: reaches `torch.cuda.is_available()`" in cpp["analysis"]
    # the library's own rows never feed its analysis: cpp_extension was found by its source
    assert "torch/utils/cpp_extension.py:4" in cpp["analysis"]
    assert rows["torch.cuda.manual_seed"]["effect"] == "nothing"
    assert "summaries: disagreement: call torch.cuda.manual_seed: measured nothing, analysis initializes" \
        in result.stderr


def test_generate_unknown_library_is_a_tool_error(tmp_path, venv):
    result, _ = generated(tmp_path, venv, "nosuchlib")
    assert result.exit_code == 2
    assert "'nosuchlib' is not installed" in result.stderr


def test_summary_files_from_config_add_sinks(tmp_path):
    rows = {"format": 1, "library": "fakelib", "rows": [
        {"name": "fakelib.api.direct", "kind": "call", "effect": "initializes", "versions": []},
        {"name": "fakelib.jit", "kind": "import", "effect": "initializes", "versions": []},
    ]}
    root = write_tree(tmp_path, {
        "pyproject.toml": '[tool.importguard]\nsummary-files = ["rows.json"]\n',
        "rows.json": json.dumps(rows),
        "pkg/__init__.py": "import fakelib.jit\n",
        "pkg/use.py": "from fakelib.api import direct\nD = direct()\n",
    })
    found = [(f.code, f.path, f.line, f.sink) for f in check_tree(root).findings]
    assert found == [("IG001", "pkg/__init__.py", 1, "fakelib.jit"), ("IG003", "pkg/use.py", 2, "fakelib.api.direct")]
    message = [f.message for f in check_tree(root).findings][1]
    assert "initializes the CUDA driver (not measured; summary)" in message


def test_bad_summary_file_in_config_is_a_config_error(tmp_path):
    root = write_tree(tmp_path, {
        "pyproject.toml": '[tool.importguard]\nsummary-files = ["rows.json"]\n',
        "rows.json": '{"format": 1, "rows": [{"name": "x", "kind": "call"}]}',
        "m.py": "",
    })
    result = cli_run(root, "check", "--no-cache")
    assert result.exit_code == 2
    assert 'rows.json: row 1: "effect" must be one of' in result.stderr
