"""The editor setup in docs/integrations.md, run in the real editor where it is
installed: the Neovim 0.7-0.10 snippet in a headless Neovim (Debian 12 ships 0.7.2)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, write_tree

pytest.importorskip("pygls", reason="the language server needs pygls: pip install -e '.[test]'")

NVIM = shutil.which("nvim")
REPORT = """
vim.defer_fn(function()
  vim.wait(60000, function() return #vim.diagnostic.get(0) > 0 end, 100)
  local lines = {}
  for _, d in ipairs(vim.diagnostic.get(0)) do
    table.insert(lines, string.format("%d:%d %s", d.lnum + 1, d.col + 1, d.message))
  end
  vim.fn.writefile(lines, vim.env.IMPORTGUARD_TEST_OUT)
  vim.cmd("qa!")
end, 100)
"""


def snippet(title: str) -> str:
    docs = (REPO / "docs" / "integrations.md").read_text(encoding="utf-8")
    found = re.search(rf"\*\*{re.escape(title)}\*\*.*?```lua\n(.*?)```", docs, re.S)
    assert found, f"no lua block after **{title}** in docs/integrations.md"
    return found.group(1)


@pytest.mark.skipif(NVIM is None, reason="needs Neovim (apt-get install neovim)")
def test_the_neovim_0_7_snippet_shows_the_finding(tmp_path: Path):
    version = subprocess.run([NVIM, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    major, minor = map(int, re.match(r"NVIM v(\d+)\.(\d+)", version).groups())
    if not (0, 7) <= (major, minor) <= (0, 10):
        pytest.skip(f"{version}: the snippet is for Neovim 0.7 to 0.10")
    root = write_tree(tmp_path / "proj", {
        "pyproject.toml": "[tool.importguard]\n",
        "pkg/__init__.py": "from .gemm import gemm\n",
        "pkg/gemm.py": "import cutlass\n\n\ndef gemm(x):\n    return x\n",
    })
    init = tmp_path / "init.lua"
    init.write_text(snippet("Neovim 0.7 to 0.10") + REPORT)
    out = tmp_path / "diagnostics.txt"
    # `importguard` on PATH, as the snippet expects: the one of this interpreter.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "importguard").write_text(f"#!/bin/sh\nexec {sys.executable} -m importguard \"$@\"\n")
    (bin_dir / "importguard").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "IMPORTGUARD_TEST_OUT": str(out)}
    subprocess.run([NVIM, "--headless", "-n", "-u", str(init), "pkg/__init__.py"], cwd=root, env=env,
                   capture_output=True, timeout=120)
    [line] = out.read_text().splitlines()
    assert line.startswith("1:1 eager import in package `__init__` reaches `cutlass`")
