"""Nothing written half, nothing written outside the project, nothing leaked into a
report (issue 27): atomic writes, the one link rule for `--fix` and `--add-noqa`, and
SARIF snippets only from regular files inside the project."""

from __future__ import annotations

import errno
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_tree

from importguard.files import atomic_write
from importguard.files.atomic_write import write_atomically

NAMES = [f"kernel_{i:02d}_with_a_long_name_to_fill_up_the_file_past_a_page" for i in range(60)]
# Over 4,096 bytes before and after the fix: a write cut at 4,096 bytes is a torn file.
BIG_INIT = '"""Kernels."""\n' + "".join(f"from .m{i:02d} import {name}\n" for i, name in enumerate(NAMES))
BIG_PROJECT = {
    "pyproject.toml": "[tool.importguard]\nexclude = ['stubs']\n",
    "stubs/cutlass/__init__.py": "",
    "pkg/__init__.py": BIG_INIT,
    **{f"pkg/m{i:02d}.py": f"import cutlass\n\ndef {name}():\n    pass\n" for i, name in enumerate(NAMES)},
}
MODULES = sorted(["__init__.py", *(f"m{i:02d}.py" for i in range(60))])


def importguard(root: Path, *args: str, file_size_limit: int | None = None, env: dict | None = None):
    def limit() -> None:  # a full disk, as a write sees it: the write fails part way
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    return subprocess.run(
        [sys.executable, "-m", "importguard", *args], cwd=root, capture_output=True, text=True, timeout=120,
        preexec_fn=limit if file_size_limit is not None else None, env=None if env is None else {**os.environ, **env},
    )


# ----------------------------------------------------------------------------- atomic writes


def test_a_write_that_fails_mid_way_leaves_the_original_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "__init__.py"
    target.write_bytes(b"original\n")
    real_write = os.write
    calls = []

    def disk_full_after_one_chunk(fd, data):
        calls.append(fd)
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, bytes(data)[:4096])

    monkeypatch.setattr(atomic_write.os, "write", disk_full_after_one_chunk)
    with pytest.raises(OSError) as raised:
        write_atomically(target, b"x" * 10_000)
    assert raised.value.errno == errno.ENOSPC and len(calls) == 2
    assert target.read_bytes() == b"original\n"
    assert [p.name for p in tmp_path.iterdir()] == ["__init__.py"]


def test_an_atomic_write_keeps_the_mode_of_the_file_it_replaces(tmp_path):
    target = tmp_path / "tool.py"
    target.write_bytes(b"old")
    target.chmod(0o750)
    write_atomically(target, b"new", keep_mode=True)
    assert target.read_bytes() == b"new" and target.stat().st_mode & 0o777 == 0o750


def test_fix_on_a_full_disk_leaves_the_init_file_byte_identical(tmp_path):
    write_tree(tmp_path, BIG_PROJECT)
    assert len(BIG_INIT) > 4096
    done = importguard(tmp_path, "check", "--no-cache", "--fix", file_size_limit=4096)
    assert (tmp_path / "pkg" / "__init__.py").read_text() == BIG_INIT
    assert "pkg/__init__.py: not rewritten, cannot write it: File too large" in done.stderr
    assert sorted(p.name for p in (tmp_path / "pkg").iterdir()) == MODULES
    fixed = importguard(tmp_path, "check", "--no-cache", "--fix")  # with room, the same fix goes through
    assert "Fixed 60 sites in 1 file." in fixed.stderr and len((tmp_path / "pkg" / "__init__.py").read_bytes()) > 4096


def test_add_noqa_on_a_full_disk_leaves_the_file_byte_identical(tmp_path):
    write_tree(tmp_path, BIG_PROJECT)
    done = importguard(tmp_path, "check", "--no-cache", "--add-noqa", file_size_limit=4096)
    assert (tmp_path / "pkg" / "__init__.py").read_text() == BIG_INIT
    assert "pkg/__init__.py: not rewritten, cannot write it: File too large" in done.stderr
    assert sorted(p.name for p in (tmp_path / "pkg").iterdir()) == MODULES


def test_cache_files_on_a_full_disk_stay_whole(tmp_path):
    write_tree(tmp_path, BIG_PROJECT)
    assert importguard(tmp_path, "check").returncode == 1
    cache = tmp_path / ".importguard_cache"
    before = {p.name: p.read_bytes() for p in cache.iterdir()}
    (tmp_path / "pkg" / "extra.py").write_text("import os\n" * 500)  # something to write again
    assert importguard(tmp_path, "check", file_size_limit=4096).returncode == 1
    after = {p.name: p.read_bytes() for p in cache.iterdir()}
    assert not [name for name in after if name.startswith(".importguard-tmp-")]
    for name, data in after.items():  # each file is one a whole run wrote: old or new, never cut
        assert data == before.get(name) or len(data) <= 4096, name


# ----------------------------------------------------------------------------- links out of the project


def _linked_project(tmp_path: Path, link_directory: bool) -> tuple[Path, Path]:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "__init__.py").write_text("from .ops import gemm\n")
    (outside / "ops.py").write_text("import cutlass\n\ndef gemm():\n    pass\n")
    project = tmp_path / "proj"
    project.mkdir()
    if link_directory:
        os.symlink(outside, project / "pkg")
    else:
        write_tree(project, {"pkg/ops.py": "import cutlass\n\ndef gemm():\n    pass\n"})
        os.symlink(outside / "__init__.py", project / "pkg" / "__init__.py")
    return project, outside / "__init__.py"


@pytest.mark.parametrize("link_directory", [False, True], ids=["file-link", "directory-link"])
@pytest.mark.parametrize("flag", ["--fix", "--add-noqa"])
def test_fix_and_add_noqa_never_write_through_a_link_out_of_the_project(tmp_path, flag, link_directory):
    project, outside = _linked_project(tmp_path, link_directory)
    done = importguard(project, "check", "--no-cache", flag)
    assert outside.read_text() == "from .ops import gemm\n"
    # --fix reports what is left (exit 1); --add-noqa never prints the report and exits 0.
    assert (done.returncode, "IG001" in done.stdout) == ((1, True) if flag == "--fix" else (0, False))
    assert f"it is a symbolic link to {outside}, outside the project ({project})" in done.stderr


def test_add_noqa_still_writes_through_a_link_inside_the_project(tmp_path):
    write_tree(tmp_path, {"real/__init__.py": "from .ops import gemm\n",
                          "real/ops.py": "import cutlass\n\ndef gemm():\n    pass\n"})
    os.symlink(tmp_path / "real", tmp_path / "pkg")
    done = importguard(tmp_path, "check", "--no-cache", "--add-noqa", "pkg")
    assert "Added 1 noqa directive in 1 file." in done.stderr
    assert "# noqa: IG001" in (tmp_path / "real" / "__init__.py").read_text()


# ----------------------------------------------------------------------------- report snippets


def test_sarif_never_copies_a_special_file_into_a_snippet(tmp_path):
    write_tree(tmp_path, {"pkg/__init__.py": ""})
    os.symlink("/proc/self/environ", tmp_path / "pkg" / "env.py")
    done = importguard(tmp_path, "check", "--no-cache", "--output-format", "sarif", env={"IG_SECRET": "hunter2"})
    assert "IG900" in done.stdout  # the file is still reported
    assert "hunter2" not in done.stdout and "IG_SECRET" not in done.stdout


def test_sarif_snippets_still_come_from_ordinary_files(tmp_path):
    write_tree(tmp_path, {"pkg/__init__.py": "from .ops import gemm\n", "pkg/ops.py": "import cutlass\n"})
    done = importguard(tmp_path, "check", "--no-cache", "--output-format", "sarif")
    assert '"text": "from .ops import gemm"' in done.stdout


@pytest.mark.parametrize("flag", ["--fix", "--add-noqa"])
def test_a_file_link_inside_the_project_is_written_at_its_target_and_stays_a_link(tmp_path, flag):
    write_tree(tmp_path, {"shared/init.py": "from .ops import gemm\n",
                          "pkg/ops.py": "import cutlass\n\ndef gemm():\n    pass\n"})
    os.symlink("../shared/init.py", tmp_path / "pkg" / "__init__.py")
    done = importguard(tmp_path, "check", "--no-cache", flag, "pkg")
    assert "not rewritten" not in done.stderr and "symbolic link" not in done.stderr, done.stderr
    assert (tmp_path / "pkg" / "__init__.py").is_symlink()
    assert (tmp_path / "shared" / "init.py").read_text() != "from .ops import gemm\n"


def test_a_cache_file_that_is_a_link_is_replaced_never_followed(tmp_path):
    target = tmp_path / "precious.json"
    target.write_text("keep me\n")
    os.symlink(target, tmp_path / "facts-x.json")
    write_atomically(tmp_path / "facts-x.json", b"{}")
    assert target.read_text() == "keep me\n" and (tmp_path / "facts-x.json").read_bytes() == b"{}"


def test_user_files_are_flushed_to_disk_and_cache_files_are_not(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(atomic_write.os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    write_atomically(tmp_path / "__init__.py", b"x = 1\n")
    assert len(synced) == 1
    atomic_write.write_cache_file(tmp_path / "facts-x.json", b"{}")
    assert len(synced) == 1 and (tmp_path / "facts-x.json").read_bytes() == b"{}"
