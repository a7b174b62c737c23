"""Killing `check` mid-run leaves none of its parser processes behind (issue 27): the
early parser and the pool workers die with their parent (cache/die_with_parent.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import alive

from importguard.probe.process_tree import descendants

pytestmark = pytest.mark.skipif(sys.platform != "linux" or (os.cpu_count() or 1) < 2,
                                reason="the parser processes exist on Linux with two CPUs")

BODY = "".join(f"import os.path as p{i}\n\ndef f{i}(x):\n    return [y for y in range({i}) if x]\n\n" for i in range(40))


@pytest.fixture(scope="module")
def big_tree(tmp_path_factory) -> Path:
    """Enough files that parsing them takes a few seconds."""
    root = tmp_path_factory.mktemp("big")
    for package in range(30):
        folder = root / f"pkg{package}"
        folder.mkdir()
        (folder / "__init__.py").write_text("from . import m0\n")
        for module in range(50):
            (folder / f"m{module}.py").write_text(BODY)
    return root


def start_and_wait_for_children(root: Path, cache: Path, wanted: int) -> tuple[subprocess.Popen, list[int]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "importguard", "check", "--jobs", "2", "--cache-dir", str(cache), "."],
        cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    children: list[int] = []
    while time.monotonic() < deadline and process.poll() is None:
        children = descendants(process.pid)
        if len(children) >= wanted:
            return process, children
        time.sleep(0.01)
    process.kill()
    process.wait()
    pytest.fail(f"the check never had {wanted} children (it saw {children})")


def stopped(pids: list[int]) -> list[int]:
    """Stop each (stopped, a child cannot end by itself, e.g. at its pipe's end: only a
    kill ends it); the ones that were still there to stop."""
    done = []
    for pid in pids:
        try:
            os.kill(pid, signal.SIGSTOP)
            done.append(pid)
        except ProcessLookupError:
            pass
    return done


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM, signal.SIGHUP], ids=["KILL", "TERM", "HUP"])
@pytest.mark.parametrize("wanted", [1, 2], ids=["early-parser", "pool"])
def test_no_parser_outlives_a_killed_check(big_tree, tmp_path, signum, wanted):
    process, children = start_and_wait_for_children(big_tree, tmp_path / "cache", wanted)
    time.sleep(0.5)  # a child asks to die with its parent first thing after the fork: let it get there
    children = stopped(children)
    if not children:  # the early parser gave way to the pool meanwhile: take the pool's workers
        time.sleep(0.5)
        children = stopped(descendants(process.pid))
    assert children, "the check had no child left to kill it under"
    os.kill(process.pid, signum)
    process.wait(timeout=30)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(alive(pid) for pid in children):
        time.sleep(0.05)
    left = [pid for pid in children if alive(pid)]
    for pid in left:  # never leave them to the next test
        os.kill(pid, signal.SIGKILL)
        os.kill(pid, signal.SIGCONT)
    assert left == []
