"""The parser process that a `check` after a change forks at once (early_parser.py):
it parses what the run would have parsed inline, the run never imports LibCST itself,
what it reports does not change, and nothing is left running after the run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import alive, write_tree

pytestmark = pytest.mark.skipif(sys.platform != "linux" or (os.cpu_count() or 1) < 2,
                                reason="the parser process is forked only on Linux with a second CPU")

TREE = {
    "pkg/__init__.py": "from .ops import gemm\n",
    "pkg/ops.py": "import os\n\ndef gemm():\n    pass\n",
}
# The console script's entry point, noting what the run imported, the parser process
# it started (its pid) and the files collected one by one after it died, for the test
# to look at afterwards.
RUNNER = """
import atexit, json, sys
notes_file = sys.argv.pop(1)
from importguard.cache import early_parser
started = []
real_start = early_parser.start
def start():
    real_start()
    if early_parser._child is not None:
        started.append(early_parser._child[0])
early_parser.start = start
from importguard.cache import pool
isolated = []
real_isolated = pool._isolated
pool._isolated = lambda source: (isolated.append(source.path), real_isolated(source))[1]
from importguard.cli import render as rendering
running_at_report = []
real_render = rendering.render
def render(*args):
    running_at_report.append(early_parser.running())
    return real_render(*args)
rendering.render = render
atexit.register(lambda: open(notes_file, "w").write(json.dumps(
    {"modules": sorted(sys.modules), "pids": started, "isolated": isolated,
     "running_at_report": running_at_report})))
sys.argv[0] = "importguard"
from importguard.entry import main
main()
"""


def run(root: Path, *args: str) -> tuple[str, dict]:
    notes = root.parent / "notes.json"
    done = subprocess.run([sys.executable, "-c", RUNNER, str(notes), *args], cwd=root, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode in (0, 1), done.stderr
    return done.stdout, json.loads(notes.read_text())


def test_an_edited_file_is_parsed_by_the_parser_process_and_reported_the_same(tmp_path):
    root = tmp_path / "project"
    write_tree(root, TREE)
    time.sleep(2.1)  # older than the racy window: the first run records
    run(root, "check", "pkg")
    write_tree(root, {"pkg/ops.py": "import cutlass\n\ndef gemm():\n    pass\n"})
    edited, notes = run(root, "check", "pkg")
    assert "pkg/__init__.py:1:1: IG001 eager import in package `__init__` reaches `cutlass`" in edited
    assert "libcst" not in notes["modules"], "the run parsed the edited file itself"
    assert notes["isolated"] == []
    [pid] = notes["pids"]
    assert not alive(pid), "the parser process outlived the run"
    fresh, _ = run(root, "check", "pkg", "--no-cache")
    assert edited == fresh


@pytest.mark.parametrize("removed", ["output", "record"], ids=["report replayed", "findings reused"])
def test_a_run_that_follows_no_change_starts_no_parser(tmp_path, removed):
    """Not replayed by the console script (the replay record's printed output, or the
    whole record, is removed), the check replays the stored report (replay.py) or,
    without the record, reuses every stored finding (cache/results.py). It parses
    nothing, and nothing told it that an input changed: no parser process takes a core
    from it (entry.py)."""
    from importguard.cache import fast_replay

    root = tmp_path / "project"
    write_tree(root, TREE)
    time.sleep(2.1)
    first, _ = run(root, "check", "pkg")
    cache = root / ".importguard_cache"
    for record in cache.glob("replay-*.json"):
        if removed == "record":
            record.unlink()
            continue
        header, detail = fast_replay.unpack(record.read_bytes())
        header["lookups"] = [[path, stamp, *detail(offset)] for path, stamp, offset in header["lookups"]]
        if "report" in header:
            header["report"] = detail(header["report"])
        record.write_bytes(fast_replay.pack({**header, "output": None}, json.dumps))
    again, notes = run(root, "check", "pkg")
    assert again == first
    assert notes["pids"] == []
    # Nor does it import what only other ways of asking use: --output-file (tempfile),
    # --debug (traceback), --python (shlex), the parser process (pickle).
    unused = {"libcst", "tempfile", "traceback", "shlex", "pickle", "importguard.environment.installed"}
    assert unused.isdisjoint(notes["modules"])


def test_a_run_after_a_change_that_parses_nothing_stops_it(tmp_path):
    """A file's timestamp changed, its text did not: the replay record's input changed,
    so the check starts the parser process; it then reuses every stored finding, and
    stops the process as soon as it knows, before the report, not at its end."""
    root = tmp_path / "project"
    write_tree(root, TREE)
    time.sleep(2.1)
    first, _ = run(root, "check", "pkg")
    touched = root / "pkg" / "ops.py"
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns - 10**9))
    again, notes = run(root, "check", "pkg")
    assert again == first
    [pid] = notes["pids"]
    assert notes["running_at_report"] == [False]
    assert "libcst" not in notes["modules"]
    assert not alive(pid)


def test_the_pre_commit_hook_parses_its_changed_file_in_the_parser_process(tmp_path):
    """`--changed-only` is never replayed, so it has no record to tell it that an input
    changed; it is given the files that did, and starts the parser process all the same."""
    root = tmp_path / "project"
    write_tree(root, TREE)
    time.sleep(2.1)
    run(root, "check", "pkg")
    write_tree(root, {"pkg/ops.py": "import cutlass\n\ndef gemm():\n    pass\n"})
    hooked, notes = run(root, "check", "--changed-only", "pkg/ops.py")
    assert "pkg/__init__.py:1:1: IG001 eager import in package `__init__` reaches `cutlass`" in hooked
    assert "libcst" not in notes["modules"], "the run parsed the changed file itself"
    [pid] = notes["pids"]
    assert not alive(pid)


def test_the_files_it_died_on_are_collected_as_after_a_worker_died(tmp_path):
    from importguard.cache import early_parser
    from importguard.cache.pool import WorkerPool, collect_entry
    from importguard.discovery import module_for

    write_tree(tmp_path, {**TREE, "pkg/more.py": "import cutlass\n"})
    sources = [module_for(tmp_path / "pkg" / name) for name in ("ops.py", "more.py")]
    inline = [collect_entry(source) for source in sources]
    early_parser.start()
    try:
        pid = early_parser._child[0]
        assert WorkerPool(2)(sources) == inline
        assert alive(pid)
        os.kill(pid, signal.SIGKILL)
        assert WorkerPool(2)(sources) == inline  # collected one by one, each in a fresh worker
        assert not early_parser.running() and not alive(pid)
    finally:
        early_parser.stop()


def test_a_run_with_its_standard_input_closed_still_parses_there(tmp_path):
    """A pipe to the parser process then gets the number 0, which the process points
    at /dev/null for itself: it must keep its pipes elsewhere."""
    root = tmp_path / "project"
    write_tree(root, TREE)
    time.sleep(2.1)
    run(root, "check", "pkg")
    write_tree(root, {"pkg/ops.py": "import cutlass\n\ndef gemm():\n    pass\n"})
    notes = root.parent / "notes.json"
    closing = "import os; os.close(0); exec(compile(" + repr(RUNNER) + ", 'runner', 'exec'))"
    done = subprocess.run([sys.executable, "-c", closing, str(notes), "check", "pkg"], cwd=root,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1 and "pkg/__init__.py:1:1: IG001 eager import in package `__init__` reaches `cutlass`" in done.stdout, done.stderr
    assert json.loads(notes.read_text())["isolated"] == [], "the parser process did not answer"
