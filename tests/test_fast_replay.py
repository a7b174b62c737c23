"""The console script replays an unchanged `check` before loading click (fast_replay.py).

These run the real entry point in fresh interpreters. Files must be older than the
2 s racy-timestamp window before a run may record, hence one sleep per tree.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from conftest import write_tree

TREE = {
    "pkg/__init__.py": "from .ops import gemm\n",
    "pkg/ops.py": "import os\n\ndef gemm():\n    pass\n",
}
# Runs the entry point as the console script does, and notes which modules it loaded.
# A replay ends in os._exit, which runs no atexit handler: that exit is wrapped too.
RUNNER = """
import atexit, os, sys
modules_file = sys.argv.pop(1)
def note_modules():
    open(modules_file, "w").write("\\n".join(sorted(sys.modules)))
atexit.register(note_modules)
exit_now = os._exit
os._exit = lambda code: (note_modules(), exit_now(code))
sys.argv[0] = "importguard"
from importguard.entry import main
main()
"""


def read_fast(path: Path) -> dict:
    """A replay record with its lookups' entries and its report unpacked."""
    from importguard.cache import fast_replay

    record, detail = fast_replay.unpack(path.read_bytes())
    record["lookups"] = [[directory, mtime, *detail(offset)] for directory, mtime, offset in record["lookups"]]
    if "report" in record:  # only a record without printed output keeps it
        record["report"] = detail(record["report"])
    return record


def write_fast(path: Path, record: dict) -> None:
    from importguard.cache import fast_replay

    path.write_bytes(fast_replay.pack(record, json.dumps))


def run(root: Path, *args: str, cwd: Path | None = None):
    modules_file = root.parent / "modules.txt"
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, str(modules_file), *args],
        cwd=cwd or root, capture_output=True, text=True, timeout=120, check=False,
    )
    loaded = modules_file.read_text().split("\n")
    run.loaded = loaded  # type: ignore[attr-defined]
    return (done.stdout, done.stderr, done.returncode), "click" in loaded


def test_an_unchanged_check_is_replayed_without_click_and_prints_the_same(tmp_path):
    root = tmp_path / "project"
    write_tree(root, TREE)
    (root / ".importguard_cache").mkdir()
    time.sleep(2.1)

    first, used_click = run(root, "check", "pkg", "--exit-zero")
    assert used_click and list((root / ".importguard_cache").glob("replay-*.json"))
    again, used_click = run(root, "check", "pkg", "--exit-zero")
    assert again == first and not used_click
    # What a replay imports is what it costs: not typing, hashlib or LibCST either.
    assert not {"typing", "hashlib", "json", "libcst"} & set(run.loaded)  # type: ignore[attr-defined]

    as_json, used_click = run(root, "check", "pkg", "--exit-zero", "--format", "json")
    assert used_click and json.loads(as_json[0])["findings"] == []

    # A closed pipe (`importguard check | head -0`) ends the replay quietly.
    modules_file = tmp_path / "modules.txt"
    reader_gone = subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(modules_file), "check", "pkg", "--exit-zero", "--format", "json"],
        cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    reader_gone.stdout.close()
    assert reader_gone.wait(timeout=120) == 1
    assert "Traceback" not in reader_gone.stderr.read().decode()
    assert "click" not in modules_file.read_text().split("\n")

    (root / "pkg/ops.py").write_text("import cutlass\n\ndef gemm():\n    pass\n")
    edited, used_click = run(root, "check", "pkg", "--exit-zero")
    assert used_click and "IG001" in edited[0] and edited != first


def test_a_corrupt_record_is_ignored(tmp_path):
    root = tmp_path / "project"
    write_tree(root, {**TREE, "pkg/ops.py": "import cutlass\n"})
    (root / ".importguard_cache").mkdir()
    time.sleep(2.1)
    first, _ = run(root, "check", "pkg")
    assert first[2] == 1 and "IG001" in first[0]
    for record in (root / ".importguard_cache").glob("replay-*.json"):
        record.write_text('{"format": 1, "files": [], "directories": [], "output": 7}')
    again, used_click = run(root, "check", "pkg")
    assert again == first and used_click
    # Records of this format and key whose files are cut short or of the wrong shape.
    [record] = (root / ".importguard_cache").glob("replay-*.json")
    good = read_fast(record)
    directory, entries = next(iter(good["files"].items()))
    for files in ({directory: entries[:-1]}, [[directory, entries]], {directory: [str(e) for e in entries]},
                  {directory: [None] * 5}):
        write_fast(record, {**good, "files": files})
        again, used_click = run(root, "check", "pkg")
        assert again == first and used_click, files
        write_fast(record, good)
        assert run(root, "check", "pkg") == (first, False)
    # The lookups' entries: the header without them, offsets past them or into them,
    # an entry of the wrong shape. Each directory's mtime is taken away so that the
    # replay has to read its entry.
    packed = record.read_bytes()
    header, _, details = packed.partition(b"\n")
    unshortcut = {**good, "lookups": [[d, None, names, listing] for d, _, names, listing in good["lookups"]]}
    write_fast(record, unshortcut)
    assert run(root, "check", "pkg") == (first, False)
    header, _, details = record.read_bytes().partition(b"\n")
    as_json = json.loads(header)
    shifted = {**as_json, "lookups": [[d, m, offset + 1] for d, m, offset in as_json["lookups"]]}
    beyond = {**as_json, "lookups": [[d, m, len(details) + 5] for d, m, _ in as_json["lookups"]]}
    for broken in (header, header + b"\n", json.dumps(shifted).encode() + b"\n" + details,
                   json.dumps(beyond).encode() + b"\n" + details, header + b"\n" + b'[{"a": 1}]' * 40):
        record.write_bytes(broken)
        again, used_click = run(root, "check", "pkg")
        assert again == first and used_click, broken[-40:]


def test_no_record_where_the_fast_path_would_not_look(tmp_path):
    root = tmp_path / "project"
    write_tree(root, {
        **TREE,
        "pyproject.toml": '[tool.importguard]\ncache-dir = "elsewhere"\n',
    })
    (root / "elsewhere").mkdir()
    time.sleep(2.1)
    run(root, "check", "pkg")
    run(root, "check", "pkg")
    # The record is where the config puts the cache, read by the CLI (which found and
    # replayed it: no second analysis wrote anything), with nothing for the console
    # script to print: it never looks there.
    [record] = (root / "elsewhere").glob("replay-*.json")
    kept = read_fast(record)
    assert kept["output"] is None
    findings, plan = kept["report"]  # what the CLI replays, an entry past the header
    assert isinstance(json.loads(record.read_bytes().partition(b"\n")[0])["report"], int)
    assert not (root / ".importguard_cache").exists()


def test_another_environment_or_command_line_is_another_record(monkeypatch, tmp_path):
    from importguard.cache import fast_replay
    cwd = str(tmp_path)
    directory = str(tmp_path / ".importguard_cache")

    def path(argv: list[str]) -> str:
        return fast_replay.replay_path(directory, fast_replay.replay_key(argv, cwd, directory))

    first = path(["check", "pkg"])
    assert path(["check", "pkg", "--exit-zero"]) != first
    monkeypatch.setattr(sys, "prefix", "/some/other/venv")
    assert path(["check", "pkg"]) != first


def test_a_check_run_from_a_package_subdirectory_is_replayed_from_the_project_cache(tmp_path):
    """The record lives in the project's cache directory (above the working directory),
    keyed by the working directory relative to the project: found from `pkg/` too."""
    root = tmp_path / "project"
    write_tree(root, {**TREE, "pkg/ops.py": "import cutlass\n", "pyproject.toml": "[tool.importguard]\n"})
    time.sleep(2.1)
    first, used_click = run(root, "check", ".", cwd=root / "pkg")
    assert used_click and "IG001" in first[0] and not (root / "pkg" / ".importguard_cache").exists()
    assert list((root / ".importguard_cache").glob("replay-*.json"))
    again, used_click = run(root, "check", ".", cwd=root / "pkg")
    assert again == first and not used_click
    # The same command line from the project root is another check, another record.
    from_root, used_click = run(root, "check", ".")
    assert used_click and from_root != first
    (root / "pkg" / "ops.py").write_text("import os\n")
    edited, used_click = run(root, "check", ".", cwd=root / "pkg")
    assert used_click and "IG001" not in edited[0]


def test_a_cache_dir_spelled_with_dot_dot_still_gets_a_record(tmp_path):
    root = tmp_path / "project"
    write_tree(root, TREE)
    (root / "caches").mkdir()
    time.sleep(2.1)
    args = ("check", "pkg", "--cache-dir", "pkg/../caches")
    first, _ = run(root, *args)
    assert list((root / "caches").glob("replay-*.json"))
    again, used_click = run(root, *args)
    assert again == first and not used_click


def test_an_unrelated_file_in_the_working_directory_keeps_the_fast_replay(tmp_path):
    root = tmp_path / "project"
    write_tree(root, {**TREE, "pkg/ops.py": "import helpers\n\ndef gemm():\n    pass\n"})
    time.sleep(2.1)
    first, _ = run(root, "check", "pkg", "--exit-zero")  # creates .importguard_cache here
    (root / "report.txt").write_text(first[0])  # `importguard check pkg > report.txt`
    again, used_click = run(root, "check", "pkg", "--exit-zero")
    assert again == first and not used_click
    write_tree(root, {"helpers.py": "import cutlass\n"})  # now `import helpers` finds it
    edited, used_click = run(root, "check", "pkg", "--exit-zero")
    assert "cutlass" not in first[0]
    assert used_click and "IG001 eager import in package `__init__` reaches `cutlass`" in edited[0]


def test_a_record_of_another_key_under_the_same_name_is_a_miss(tmp_path):
    """The file name is a checksum of the key: a record whose key differs (a collision,
    or a copied cache directory) is never replayed."""
    root = tmp_path / "project"
    write_tree(root, TREE)
    (root / ".importguard_cache").mkdir()
    time.sleep(2.1)
    first, _ = run(root, "check", "pkg", "--exit-zero")
    (record_path,) = (root / ".importguard_cache").glob("replay-*.json")
    record = read_fast(record_path)
    record["key"] = record["key"].replace("--exit-zero", "--other")
    record["output"] = [["stdout", "stale output\n"], 0]
    write_fast(record_path, record)
    again, used_click = run(root, "check", "pkg", "--exit-zero")
    assert used_click and again == first and "stale output" not in again[0]


def test_records_are_read_as_json_loads_reads_them():
    from importguard.cache.fast_replay import pack, unpack

    record = {"format": 3, "key": "['check', 'pkg']", "files": [["/a/b.py", [1, 2, 3, 4]], ["/c", None]],
              "output": [[["stdout", "caf\u00e9 \"quoted\"\n"]], 1],
              "lookups": [["/a", None, {"b": 1}, None], ["/d\u00e9", 5, {}, [["x.py"], [], ["*.egg"]]]],
              "numbers": [-1, 2.5, 1e30, True, False]}
    packed = pack(record, json.dumps)
    header, detail = unpack(packed)
    assert [[d, m, *detail(offset)] for d, m, offset in header.pop("lookups")] == record["lookups"]
    assert header == {k: v for k, v in record.items() if k != "lookups"}
    assert json.loads(packed.partition(b"\n")[0])["files"] == record["files"]
    for broken in (b"", b"not json", b"[1, 2]\n", packed.partition(b"\n")[0], packed[:-1], b"\n" + packed):
        try:
            header, detail = unpack(broken)
            [detail(offset) for _, _, offset in header["lookups"]]
        except ValueError:
            continue
        raise AssertionError(f"accepted {broken[:20]!r}")


def test_a_record_lists_files_that_exist_and_looks_up_the_absent_ones(tmp_path):
    """The `pyproject.toml` and `__init__.py` looked for above the tree, absent, are
    names in directory lookups (free while the directory is unchanged), not files to
    stat; every recorded file exists. The printed output is kept, not the report: only
    a record without output keeps that (test_no_record_where_the_fast_path_would_not_look)."""
    root = tmp_path / "project"
    write_tree(root, {**TREE, "pkg/ops.py": "import cutlass\n"})
    (root / ".importguard_cache").mkdir()
    time.sleep(2.1)
    run(root, "check", "pkg")
    cache = root / ".importguard_cache"
    [path] = cache.glob("replay-*.json")
    record = read_fast(path)
    from importguard.cache import fast_replay, lookups

    assert all(os.path.exists(path) for path in fast_replay.recorded_files(record))
    names = {directory: seen for directory, _, seen, _ in record["lookups"]}
    assert names[str(tmp_path)]["pyproject.toml"] == lookups.NO_FILE
    assert names[str(tmp_path)]["__init__.py"] == lookups.NO_FILE
    assert str(root / "pkg" / "ops.py") in fast_replay.recorded_files(record)
    assert record["output"] is not None and "report" not in record
