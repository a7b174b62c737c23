"""A cached check never gives another answer than `--no-cache` after the tree changed,
even where the change hides from timestamps: a directory's mtime restored after a
module was added, removed or renamed (`touch -r`, `cp -a` from an archive), a dangling
symlink whose target appears, a directory that becomes readable. Each scenario runs the
real console script (so the fast replay, the replay and the stored findings all get
their chance) and compares its output with a `--no-cache` run of the same tree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

import pytest
from conftest import write_tree

RUNNER = "import sys; sys.argv[0] = 'importguard'; from importguard.entry import main; main()"
SINK_CALL = "import torch\nREADY = torch.cuda.is_available()\n"
TREE = {
    "pkg/__init__.py": "",
    "pkg/a.py": "import os\n",
    "pkg/b.py": SINK_CALL,
}


def check(root: Path, *args: str, user: Optional[dict] = None) -> tuple[int, str]:
    done = subprocess.run([sys.executable, "-c", RUNNER, "check", *args, "--output-format", "json"],
                          cwd=root, capture_output=True, text=True, timeout=300, check=False, **(user or {}))
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, done.stdout


def settled(root: Path) -> None:
    """Past the racy-timestamp window, so that the next check may record its inputs."""
    time.sleep(2.2)


def primed(root: Path, files: dict[str, str], *args: str) -> None:
    write_tree(root, files)
    settled(root)
    first = check(root, *args)
    assert check(root, *args) == first  # the second one replays


def same_as_uncached(root: Path, *args: str, user: Optional[dict] = None) -> tuple[int, str]:
    cached = check(root, *args, user=user)
    assert cached == check(root, *args, "--no-cache", user=user)
    return cached


def keep_mtime(directory: Path):
    """Run the change, then give `directory` its old mtime back (as `touch -r` would)."""
    before = os.stat(directory)

    class Restore:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            os.utime(directory, ns=(before.st_atime_ns, before.st_mtime_ns))
            assert os.stat(directory).st_mtime_ns == before.st_mtime_ns

    return Restore()


def test_a_module_added_under_a_restored_mtime_is_found(tmp_path):
    primed(tmp_path, TREE)
    with keep_mtime(tmp_path / "pkg"):
        (tmp_path / "pkg" / "new.py").write_text(SINK_CALL)
    code, out = same_as_uncached(tmp_path)
    assert "pkg/new.py" in out and code == 1


def test_a_subpackage_added_under_a_restored_mtime_is_found(tmp_path):
    primed(tmp_path, TREE)
    with keep_mtime(tmp_path / "pkg"):
        write_tree(tmp_path, {"pkg/sub/__init__.py": SINK_CALL})
    _, out = same_as_uncached(tmp_path)
    assert "pkg/sub/__init__.py" in out


def test_a_module_removed_under_a_restored_mtime_is_gone(tmp_path):
    primed(tmp_path, TREE)
    with keep_mtime(tmp_path / "pkg"):
        (tmp_path / "pkg" / "b.py").unlink()
    code, out = same_as_uncached(tmp_path)
    assert "pkg/b.py" not in out and code == 0


def test_a_module_renamed_under_a_restored_mtime_moves(tmp_path):
    primed(tmp_path, TREE)
    with keep_mtime(tmp_path / "pkg"):
        (tmp_path / "pkg" / "b.py").rename(tmp_path / "pkg" / "c.py")
    _, out = same_as_uncached(tmp_path)
    assert "pkg/c.py" in out and "pkg/b.py" not in out


def test_a_module_looked_up_outside_the_paths_appears_under_a_restored_mtime(tmp_path):
    """`check pkg/__init__.py`: pkg.missing is looked up, not walked."""
    files = {**TREE, "pkg/__init__.py": "import pkg.missing\n"}
    primed(tmp_path, files, "pkg/__init__.py")
    with keep_mtime(tmp_path / "pkg"):
        (tmp_path / "pkg" / "missing.py").write_text(SINK_CALL)
    code, out = same_as_uncached(tmp_path, "pkg/__init__.py")
    assert "pkg.missing" in out and code == 1


def test_a_tree_restored_from_an_archive_with_its_timestamps(tmp_path):
    """`cp -a` of an older copy over the tree: the same mtimes, other contents."""
    primed(tmp_path / "work", TREE)
    archive = tmp_path / "archive"
    write_tree(archive, {**TREE, "pkg/extra.py": SINK_CALL})
    old = os.stat(tmp_path / "work" / "pkg").st_mtime_ns
    for directory in (archive / "pkg", archive):
        os.utime(directory, ns=(old, old))
    subprocess.run(["cp", "-a", f"{archive}/.", str(tmp_path / "work")], check=True)
    os.utime(tmp_path / "work" / "pkg", ns=(old, old))
    _, out = same_as_uncached(tmp_path / "work")
    assert "pkg/extra.py" in out


def test_a_dangling_symlink_whose_target_appears(tmp_path):
    primed(tmp_path, TREE)
    target = tmp_path / "elsewhere" / "target.py"
    with keep_mtime(tmp_path / "pkg"):
        (tmp_path / "pkg" / "link.py").symlink_to(target)
    settled(tmp_path)
    check(tmp_path)
    first = same_as_uncached(tmp_path)
    target.parent.mkdir()
    target.write_text(SINK_CALL)
    _, out = same_as_uncached(tmp_path)
    assert out != first[1] and "pkg/link.py" in out


def test_a_symlinked_module_whose_target_goes_away(tmp_path):
    target = tmp_path / "elsewhere" / "target.py"
    write_tree(tmp_path, {"elsewhere/target.py": SINK_CALL})
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "link.py").symlink_to(target)
    primed(tmp_path, TREE, "pkg")
    target.unlink()
    same_as_uncached(tmp_path, "pkg")


NOBODY = 65534


def _as_nobody() -> None:
    os.setgid(NOBODY)
    os.setuid(NOBODY)


def test_a_directory_that_becomes_readable(tmp_path):
    """Root lists a directory whatever its mode: as root, the checks run as nobody."""
    root = Path(tempfile.mkdtemp(prefix="importguard-staleness-"))
    try:
        write_tree(root, {**TREE, "pkg/closed/__init__.py": SINK_CALL})
        as_user = {}
        if os.geteuid() == 0:
            for directory, _, files in os.walk(root):
                os.chown(directory, NOBODY, NOBODY)
                for name in files:
                    os.chown(os.path.join(directory, name), NOBODY, NOBODY)
            as_user = {"preexec_fn": _as_nobody}
            try:
                probe = subprocess.run([sys.executable, "-c", "import importguard.entry"], capture_output=True,
                                       **as_user).returncode
            except OSError:
                probe = -1
            if probe != 0:
                pytest.skip("this checkout cannot be imported as nobody, so root cannot test an unlistable directory")
        closed = root / "pkg" / "closed"
        closed.chmod(0)
        settled(root)
        before = same_as_uncached(root, user=as_user)[1]
        assert "IG901" in before and same_as_uncached(root, user=as_user)[1] == before
        closed.chmod(0o755)
        after = same_as_uncached(root, user=as_user)[1]
        assert "IG901" not in after and "pkg/closed/__init__.py" in after
    finally:
        (root / "pkg" / "closed").chmod(0o755)
        shutil.rmtree(root)


def test_an_unlistable_directory_is_an_input_until_it_can_be_listed(tmp_path, monkeypatch):
    """The same scenario in the lookups alone, for a root that cannot run as nobody."""
    from importguard.cache import lookups

    closed = tmp_path / "closed"
    closed.mkdir()
    log = lookups.LookupLog()
    log.walked(str(closed), None, [])
    record = log.lookups(time.time_ns() + 10**10, 0)  # its stamp taken, as for a settled tree
    assert record[0][1] is not None
    real_scandir = os.scandir

    def scandir(path="."):
        if os.fspath(path) == str(closed):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    assert lookups.unchanged(record)
    os.utime(closed, ns=(1, 1))  # as chmod does, a new ctime: the stamp no longer holds
    assert lookups.unchanged(record)  # still unlistable: nothing to take again
    monkeypatch.setattr(os, "scandir", real_scandir)
    assert not lookups.unchanged(record)


def test_a_package_that_stops_importing_itself_through_its_namespace_and_starts_again(tmp_path):
    """Whether `ns/` (no `__init__.py`) is a namespace package is read from
    `ns/pkg/__init__.py` (discovery.py): every module is renamed when that file changes,
    and what the record keeps per file (the plan's unresolved calls) must not outlive it."""
    init = tmp_path / "ns" / "pkg" / "__init__.py"
    primed(tmp_path, {
        "ns/pkg/__init__.py": "from ns.pkg import a\nfrom . import d\n",
        "ns/pkg/a.py": "from ns.pkg.b import helper\nhelper()\n",
        "ns/pkg/b.py": "import torch\ndef helper():\n    torch.cuda.current_device()\n",
        "ns/pkg/c.py": "def other():\n    pass\n",
        "ns/pkg/d.py": "from ns.pkg.c import other\nother()\n" + SINK_CALL,
    })
    init.write_text("from . import a\nfrom . import d\n")
    settled(tmp_path)
    assert same_as_uncached(tmp_path)[0] == 1
    init.write_text("from ns.pkg import a\nfrom . import d\n")
    settled(tmp_path)
    assert same_as_uncached(tmp_path)[0] == 1
