"""The pre-commit hook: `check --changed-only` on its own, then the real `pre-commit`
running this repository's `.pre-commit-hooks.yaml` in a temporary git repository."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, write_tree

PROJECT = {
    "pyproject.toml": '[tool.importguard]\ncuda-free = ["app.entry"]\n',
    "pkg/__init__.py": "from .gemm import gemm\n",
    "pkg/gemm.py": "def gemm(x):\n    return x\n",
    "pkg/util.py": "X = 1\n",
    "app/__init__.py": "",
    "app/entry.py": "from app.mid import run\n",
    "app/mid.py": "import pkg.util\n\n\ndef run():\n    return pkg.util.X\n",
}
CUTLASS_GEMM = "import cutlass\n\n\ndef gemm(x):\n    return x\n"


def check(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "importguard", "check", "--changed-only", *args],
        cwd=root, capture_output=True, text=True, timeout=120,
    )


def test_a_leaf_change_reports_the_init_that_re_exports_it(tmp_path: Path):
    root = write_tree(tmp_path, {**PROJECT, "pkg/gemm.py": CUTLASS_GEMM})
    result = check(root, "pkg/gemm.py")
    assert result.returncode == 1
    # Neither finding is in the changed file. app.entry -> app.mid -> pkg.util runs
    # pkg/__init__.py first, so its chain reaches the leaf as well.
    assert [line.split(" ")[0:2] for line in result.stdout.splitlines()] == [
        ["app/entry.py:1:1:", "IG002"],
        ["pkg/__init__.py:1:1:", "IG001"],
    ]
    assert check(root, "app/__init__.py").returncode == 0  # touches no chain


def test_a_change_in_the_middle_of_a_chain_reports_its_start(tmp_path: Path):
    root = write_tree(tmp_path, {**PROJECT, "pkg/gemm.py": CUTLASS_GEMM})
    result = check(root, "app/mid.py")
    assert result.returncode == 1
    assert [line.split(" ")[0:2] for line in result.stdout.splitlines()] == [["app/entry.py:1:1:", "IG002"]]


def test_a_changed_pyproject_reports_every_finding(tmp_path: Path):
    root = write_tree(tmp_path, {**PROJECT, "pkg/gemm.py": CUTLASS_GEMM})
    everything = subprocess.run(
        [sys.executable, "-m", "importguard", "check", "."], cwd=root, capture_output=True, text=True, timeout=120
    )
    result = check(root, "pyproject.toml")
    assert result.stdout == everything.stdout and result.stdout.count(" IG00") == 2


def committed(root: Path) -> Path:
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    return root


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_a_pyproject_change_outside_importguards_table_reports_nothing_old(tmp_path: Path):
    root = committed(write_tree(tmp_path, {**PROJECT, "pkg/gemm.py": CUTLASS_GEMM}))
    pyproject = root / "pyproject.toml"
    pyproject.write_text(PROJECT["pyproject.toml"] + '\n[tool.ruff]\nline-length = 100\n')
    result = check(root, "pyproject.toml")
    assert result.returncode == 0 and result.stdout == "", result.stdout + result.stderr

    # With a changed leaf beside it, the leaf's findings still count.
    assert check(root, "pyproject.toml", "pkg/gemm.py").stdout.count(" IG00") == 2

    # A change inside [tool.importguard] reports everything, as does a new table.
    pyproject.write_text('[tool.importguard]\ncuda-free = ["app.entry", "app.mid"]\n')
    assert check(root, "pyproject.toml").stdout.count(" IG00") == 3
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "config")
    assert check(root, "pyproject.toml").stdout == ""  # committed: HEAD has it now
    pyproject.unlink()  # the table is gone: every finding is reported under the defaults
    assert check(root, "pyproject.toml").stdout.count(" IG00") == 1


def test_a_deleted_file_is_not_an_error(tmp_path: Path):
    root = write_tree(tmp_path, PROJECT)
    result = check(root, "pkg/gone.py")
    assert result.returncode == 0, result.stderr
    assert "All checks passed" in result.stderr


# ----------------------------------------------------------------------------- real pre-commit

needs_pre_commit = pytest.mark.skipif(
    importlib.util.find_spec("pre_commit") is None or shutil.which("git") is None,
    reason="needs the pre-commit package and git: pip install -e '.[test]'",
)


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """This repository's working tree (uncommitted changes included) as a git
    repository with one commit, to name as the hook source with a `rev:`."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs git and a git checkout of importguard")
    copy = tmp_path_factory.mktemp("hook-repo")
    listed = git(REPO, "ls-files", "--cached", "--others", "--exclude-standard", "-z")
    for relative in filter(None, listed.split("\0")):
        source = REPO / relative
        if source.is_file():
            (copy / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / relative)
    git(copy, "init", "-q")
    git(copy, "add", "-A")
    git(copy, "commit", "-q", "-m", "hook source")
    return copy, git(copy, "rev-parse", "HEAD")


def pre_commit(project: Path, home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", *args],
        cwd=project, env=env, capture_output=True, text=True, timeout=540,
    )


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One PRE_COMMIT_HOME for the module: the hook's environment is built once."""
    return tmp_path_factory.mktemp("pre-commit-home")


@needs_pre_commit
def test_the_hook_fails_on_an_eager_cuda_re_export_and_passes_once_fixed(
    hook_repo: tuple[Path, str], tmp_path: Path, home: Path
):
    source, rev = hook_repo
    project = write_tree(tmp_path / "project", {
        **PROJECT,
        ".pre-commit-config.yaml": f"repos:\n  - repo: {source}\n    rev: {rev}\n    hooks:\n      - id: importguard\n",
    })
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "clean")

    # The commit changes only the leaf; the finding is in the __init__.py that re-exports it.
    (project / "pkg" / "gemm.py").write_text(CUTLASS_GEMM)
    git(project, "add", "pkg/gemm.py")
    failed = pre_commit(project, home)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "importguard" in failed.stdout and "Failed" in failed.stdout
    assert "pkg/__init__.py:1:1: IG001 eager import in package `__init__` reaches `cutlass`" in failed.stdout

    fixed = subprocess.run(
        [sys.executable, "-m", "importguard", "check", "--fix", "pkg"],
        cwd=project, capture_output=True, text=True, timeout=120,
    )
    assert "Fixed 1 site in 1 file." in fixed.stderr
    git(project, "add", "-A")
    passed = pre_commit(project, home)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "Passed" in passed.stdout
    assert pre_commit(project, home, "--all-files").returncode == 0


@needs_pre_commit
def test_the_hook_ignores_a_pyproject_change_outside_its_table(hook_repo: tuple[Path, str], tmp_path: Path, home: Path):
    source, rev = hook_repo
    project = write_tree(tmp_path / "project", {
        **PROJECT,
        "pkg/gemm.py": CUTLASS_GEMM,  # an old finding, committed
        ".pre-commit-config.yaml": f"repos:\n  - repo: {source}\n    rev: {rev}\n    hooks:\n      - id: importguard\n",
    })
    committed(project)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(PROJECT["pyproject.toml"] + "\n[tool.ruff]\nline-length = 100\n")
    git(project, "add", "pyproject.toml")
    passed = pre_commit(project, home)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "importguard" in passed.stdout and "Passed" in passed.stdout

    pyproject.write_text('[tool.importguard]\ncuda-free = ["app.*"]\n')
    git(project, "add", "pyproject.toml")
    failed = pre_commit(project, home)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "pkg/__init__.py:1:1: IG001" in failed.stdout
