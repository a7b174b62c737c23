"""An internal bug, end to end: `check` says it in one sentence and exits 2; the
language server shows it (`window/showMessage`, Error) and publishes no diagnostics
that would claim the file is clean. The bug is planted with a sitecustomize module
that makes the engine raise, in the real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_tree

FILES = {"pkg/__init__.py": "from .ops import gemm\n", "pkg/ops.py": "import cutlass\n\ndef gemm():\n    pass\n"}
PLANTED = """
import importguard.engine

def run_check(*args, **kwargs):
    raise RuntimeError("planted fault")

importguard.engine.run_check = run_check
"""


def planted(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    root = write_tree(tmp_path / "project", FILES)
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(PLANTED)
    return root, {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}


def test_check_reports_an_internal_error_in_one_sentence(tmp_path):
    root, env = planted(tmp_path)
    done = subprocess.run([sys.executable, "-m", "importguard", "check", "--no-cache", "pkg"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == ("importguard: internal error: RuntimeError: planted fault "
                           "(run with --debug for the traceback)\n")
    debug = subprocess.run([sys.executable, "-m", "importguard", "check", "--no-cache", "--debug", "pkg"], cwd=root,
                           env=env, capture_output=True, text=True, timeout=120)
    assert debug.returncode == 2 and "Traceback" in debug.stderr and "planted fault" in debug.stderr


def test_the_language_server_shows_an_internal_error_and_publishes_nothing(tmp_path):
    pytest.importorskip("pygls", reason="the language server needs pygls: pip install -e '.[test]'")
    from test_lsp_early import INITIALIZED, did_open, frame, initialize, read_until, shut_down

    root, env = planted(tmp_path)
    path = root / "pkg" / "__init__.py"
    server = subprocess.Popen([sys.executable, "-m", "importguard", "lsp"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=root, env=env)
    try:
        server.stdin.write(frame(initialize()) + frame(INITIALIZED) + frame(did_open(path)))
        server.stdin.flush()
        seen = read_until(server.stdout, lambda m: m.get("method") == "window/showMessage")
        seen += shut_down(server)
    finally:
        server.kill()
    [shown] = [m["params"] for m in seen if m.get("method") == "window/showMessage"]
    assert shown["type"] == 1  # Error
    assert shown["message"] == (f"importguard: internal error while analysing {path}: "
                                "RuntimeError: planted fault")
    assert not [m for m in seen if m.get("method") == "textDocument/publishDiagnostics"], json.dumps(seen)
    assert [m["id"] for m in seen if "id" in m and "method" not in m] == [1, 2]
