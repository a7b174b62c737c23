"""A cache directory importguard did not create is never written in nor pruned
(issue 27): a checkout can ship `.importguard_cache` as a link to somewhere else."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import write_tree

PROJECT = {"pkg/__init__.py": "from .ops import gemm\n", "pkg/ops.py": "import cutlass\n\ndef gemm():\n    pass\n"}


def importguard(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "importguard", *args], cwd=root, capture_output=True, text=True,
                          timeout=120)


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def victim(tmp_path: Path) -> Path:
    """A directory outside the project holding files with the names the cache prunes."""
    target = tmp_path / "victim"
    target.mkdir()
    for index in range(12):
        (target / f"replay-{index:02d}.json").write_text("precious\n")
        (target / f"fast-{index:02d}.json").write_text("precious\n")
        (target / f"results-{index:02d}.json").write_text("precious\n")
    (target / "notes.txt").write_text("mine\n")
    return target


def test_a_cache_directory_that_is_a_link_is_never_written_through(tmp_path):
    project = write_tree(tmp_path / "proj", PROJECT)
    target = victim(tmp_path)
    os.symlink(target, project / ".importguard_cache")
    before = snapshot(target)
    first = importguard(project, "check", ".")
    second = importguard(project, "check", ".")
    assert snapshot(target) == before
    for done in (first, second):
        assert done.returncode == 1 and "IG001" in done.stdout
        assert done.stderr.count("is a symbolic link, which importguard never writes through") == 1
    assert (project / ".importguard_cache").is_symlink()


def test_a_cache_dir_that_holds_other_files_is_not_ours(tmp_path):
    project = write_tree(tmp_path / "proj", PROJECT)
    target = victim(tmp_path)
    before = snapshot(target)
    done = importguard(project, "check", "--cache-dir", str(target), ".")
    assert snapshot(target) == before
    assert done.returncode == 1 and "importguard did not create it" in done.stderr


def test_a_cache_path_that_is_a_file_is_left_alone(tmp_path):
    project = write_tree(tmp_path / "proj", PROJECT)
    (project / ".importguard_cache").write_text("a file\n")
    done = importguard(project, "check", ".")
    assert done.returncode == 1 and (project / ".importguard_cache").read_text() == "a file\n"
    assert "not a directory" in done.stderr


def test_pruning_deletes_only_regular_files_it_named(tmp_path):
    project = write_tree(tmp_path / "proj", PROJECT)
    assert importguard(project, "check", ".").returncode == 1  # the cache, created by importguard
    cache = project / ".importguard_cache"
    target = victim(tmp_path)
    for index in range(12):  # links with pruned names, older than anything the run writes
        for prefix in ("replay", "fast", "results"):
            link = cache / f"{prefix}-link{index:02d}.json"
            os.symlink(target / f"{prefix}-{index:02d}.json", link)
            os.utime(link, (1, 1), follow_symlinks=False)
    for edit in range(3):  # runs that write and prune
        (project / "pkg" / f"m{edit}.py").write_text("x = 1\n")
        assert importguard(project, "check", ".").returncode == 1
    assert len([p for p in cache.iterdir() if p.is_symlink()]) == 36
    assert (target / "replay-00.json").read_text() == "precious\n"


def test_a_fresh_cache_directory_is_created_and_reused(tmp_path):
    project = write_tree(tmp_path / "proj", PROJECT)
    cache = tmp_path / "new-cache"
    assert importguard(project, "check", "--cache-dir", str(cache), ".").returncode == 1
    assert (cache / "CACHEDIR.TAG").is_file() and any(cache.glob("facts-*.sqlite"))
    again = importguard(project, "check", "--cache-dir", str(cache), ".")
    assert again.returncode == 1 and "cannot write cache" not in again.stderr
