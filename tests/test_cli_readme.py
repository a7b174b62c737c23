"""The README's pre-commit snippet runs as written: with importguard installed (as the
README's first command does), the `repo: local` hook fails a commit that adds an eager
CUDA re-export and passes once it is fixed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import REPO, write_tree
from test_precommit import CUTLASS_GEMM, PROJECT, git, needs_pre_commit


def readme_hook() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    [block] = [b for b in re.findall(r"```yaml\n(.*?)```", readme, re.S) if "pre-commit-config" in b]
    assert "rev: v" not in block  # no tag of ours exists yet
    return block


@needs_pre_commit
def test_the_readme_pre_commit_snippet_runs(tmp_path: Path):
    project = write_tree(tmp_path / "project", {**PROJECT, ".pre-commit-config.yaml": readme_hook()})
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "clean")
    (project / "pkg" / "gemm.py").write_text(CUTLASS_GEMM)
    git(project, "add", "pkg/gemm.py")
    # `language: system`: importguard from the environment it is installed in.
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "home"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}

    def pre_commit() -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "pre_commit", "run"], cwd=project, env=env,
                              capture_output=True, text=True, timeout=300)

    failed = pre_commit()
    assert failed.returncode == 1 and "Failed" in failed.stdout, failed.stdout + failed.stderr
    assert "pkg/__init__.py:1:1: IG001 eager import in package `__init__` reaches `cutlass`" in failed.stdout
    (project / "pkg" / "gemm.py").write_text("def gemm(x):\n    import cutlass\n    return x\n")
    git(project, "add", "-A")
    passed = pre_commit()
    assert passed.returncode == 0 and "Passed" in passed.stdout, passed.stdout + passed.stderr
