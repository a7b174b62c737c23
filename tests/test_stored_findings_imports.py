"""A check whose findings are all stored (cache/results.py: every input unchanged, no
replay record) prints them without building a graph or a fix plan: it must not pay
for importing those either, nor subprocess (git runs only inside a work tree) or
difflib (suggestions for a misspelt selector)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from conftest import write_tree

RUNNER = """
import atexit, json, sys
notes_file = sys.argv.pop(1)
atexit.register(lambda: open(notes_file, "w").write(json.dumps(sorted(sys.modules))))
sys.argv[0] = "importguard"
from importguard.entry import main
main()
"""
NOT_NEEDED = ("importguard.graph.imports", "importguard.graph.reach", "importguard.plan.network",
              "importguard.plan.mincut", "importguard.cache.graph_memory", "libcst", "subprocess", "difflib")


def modules_of_a_check(root: Path, cache: Path) -> tuple[str, list[str]]:
    notes = root.parent / "modules.json"
    done = subprocess.run([sys.executable, "-c", RUNNER, str(notes), "check", ".", "--cache-dir", str(cache)],
                          cwd=root, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1, done.stderr
    return done.stdout, json.loads(notes.read_text())


def test_stored_findings_are_printed_without_importing_the_graph_or_the_plan(tmp_path):
    root = write_tree(tmp_path / "project", {
        "pyproject.toml": "[tool.importguard]\n",
        "pkg/__init__.py": "from pkg import a\n",
        "pkg/a.py": "import cutlass\n",
    })
    cache = tmp_path / "cache"
    time.sleep(2.1)  # older than the racy window: the first run records
    first, modules = modules_of_a_check(root, cache)
    assert "importguard.graph.imports" in modules  # the first check builds the graph
    for record in cache.glob("replay-*.json"):
        record.unlink()
    again, modules = modules_of_a_check(root, cache)
    assert again == first and "IG001" in again
    assert [name for name in NOT_NEEDED if name in modules] == []


EXIT_RUNNER = """
import atexit, gc, sys
notes_file = sys.argv.pop(1)
class Teardown:
    def __del__(self, open=open, notes_file=notes_file):  # names kept: teardown clears the module's
        open(notes_file, "a").write("torn down\\n")
kept = Teardown()  # freed only when the interpreter tears its modules down
atexit.register(lambda: open(notes_file, "a").write(f"exit handlers ran, collector on: {gc.isenabled()}\\n"))
sys.argv[0] = "importguard"
from importguard.entry import main
main()
"""


def test_a_check_runs_without_the_cyclic_collector_and_exits_without_teardown(tmp_path):
    """The no-replay run's last tenth was the interpreter freeing its objects one by one,
    and its collections a few milliseconds more: a check keeps the collector off and
    exits once the exit handlers ran and the output is flushed."""
    root = write_tree(tmp_path / "project", {
        "pyproject.toml": "[tool.importguard]\n",
        "pkg/__init__.py": "from pkg import a\n",
        "pkg/a.py": "import cutlass\n",
    })
    notes = tmp_path / "notes.txt"
    done = subprocess.run([sys.executable, "-c", EXIT_RUNNER, str(notes), "check", ".", "--no-cache"],
                          cwd=root, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1, done.stderr
    assert "Found 1 finding in 2 files checked." in done.stderr + done.stdout
    assert notes.read_text() == "exit handlers ran, collector on: False\n"
    # Other commands exit as Python does.
    notes.unlink()
    done = subprocess.run([sys.executable, "-c", EXIT_RUNNER, str(notes), "rule", "IG001"],
                          cwd=root, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert notes.read_text() == "exit handlers ran, collector on: True\ntorn down\n"
