"""Replaying the last report: used only when nothing the report depended on changed.

Each test runs `check` in-process (the racy-timestamp window shortened to 50 ms):
runs that record, a run that must replay, then a change, and a run that must analyse
again and print exactly what `--no-cache` prints.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import importguard.cache.store
import importguard.engine
from importguard.cache import fast_replay
from importguard.cli.main import cli

from conftest import write_tree

BASE = {
    "pkg/__init__.py": "from .ops import gemm\nfrom pkg import extra\n",
    "pkg/ops.py": "import os\n\ndef gemm():\n    pass\n",
    "pkg/leaf.py": "X = 1\n",
}


@pytest.fixture
def analyses(monkeypatch):
    """Counts real analyses (run_check calls); replays do not call it."""
    # Timestamps on some file systems are coarse (a few ms): trust a path once it is
    # 50 ms older than the run, and let tests sleep past that instead of 2 s.
    monkeypatch.setattr(importguard.cache.store, "_RACY_NS", 50_000_000)
    calls = []
    real = importguard.engine.run_check

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(importguard.engine, "run_check", counting)
    return calls


def check(root: Path, *args: str) -> str:
    old = Path.cwd()
    os.chdir(root)
    try:
        # `full`: the oracles compare the chains too, which the default (concise) line leaves out.
        result = CliRunner().invoke(cli, ["check", "--output-format", "full", *args, "pkg"])
    finally:
        os.chdir(old)
    assert result.exit_code in (0, 1), result.output
    return result.stdout


def recorded(root: Path, analyses: list, *args: str) -> str:
    """Analyse, record, replay; afterwards `analyses` counts only what follows.
    (The very first run records only when the files it read are older than the racy
    window by the time it ends.)"""
    first = check(root, *args)
    time.sleep(0.06)
    second = check(root, *args)
    count = len(analyses)
    third = check(root, *args)
    assert first == second == third and len(analyses) == count, "an unchanged tree must be replayed"
    analyses.clear()
    return first


def test_unchanged_tree_is_replayed_and_no_cache_is_not(tmp_path, analyses):
    write_tree(tmp_path, BASE)
    recorded(tmp_path, analyses)
    check(tmp_path, "--no-cache")
    assert len(analyses) == 1
    assert list((tmp_path / ".importguard_cache").glob("replay-*.json"))


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda r: (r / "pkg/ops.py").write_text("import cutlass\n\ndef gemm():\n    pass\n"), id="edit"),
        pytest.param(lambda r: write_tree(r, {"pkg/extra.py": "import cutlass\n"}), id="new-module-resolves-an-import"),
        pytest.param(lambda r: write_tree(r, {"pkg/extra/__init__.py": "import cutlass\n"}), id="new-subpackage"),
        pytest.param(lambda r: (r / "pkg/ops.py").unlink(), id="deleted-module"),
        pytest.param(lambda r: write_tree(r, {"pyproject.toml": '[tool.importguard]\nsink-modules = ["os"]\n'}),
                     id="new-config"),
        pytest.param(lambda r: write_tree(r, {"__init__.py": ""}), id="new-parent-package"),
    ],
)
def test_any_change_that_matters_is_analysed_again(tmp_path, analyses, change):
    write_tree(tmp_path, BASE)
    recorded(tmp_path, analyses)
    change(tmp_path)
    after = check(tmp_path)
    assert len(analyses) == 1
    assert after == check(tmp_path, "--no-cache")


def test_options_are_part_of_the_key(tmp_path, analyses):
    write_tree(tmp_path, {**BASE, "pkg/ops.py": "import cutlass\n"})
    recorded(tmp_path, analyses)
    assert check(tmp_path, "--ignore", "IG001") == ""
    assert len(analyses) == 1


def test_a_corrupt_record_is_ignored(tmp_path, analyses):
    write_tree(tmp_path, {**BASE, "pkg/ops.py": "import cutlass\n"})
    before = recorded(tmp_path, analyses)
    for record in (tmp_path / ".importguard_cache").glob("replay-*.json"):
        record.write_text("{not json")
    assert check(tmp_path) == before and len(analyses) == 1


def test_a_config_appearing_above_the_project_is_seen(tmp_path, analyses):
    work = tmp_path / "work"
    cache = ("--cache-dir", str(tmp_path / "cache"))  # the same cache whichever config is found
    write_tree(work, {**BASE, "pkg/ops.py": "import os\nimport cutlass\n"})
    recorded(work, analyses, *cache)
    write_tree(tmp_path, {"pyproject.toml": '[tool.importguard]\nsink-modules = ["os"]\n'})
    after = check(work, *cache)
    assert len(analyses) == 1 and "reaches `os`" in after


def test_an_edited_config_given_with_config_is_seen(tmp_path, analyses):
    write_tree(tmp_path, {**BASE, "pkg/ops.py": "import os\n", "conf/importguard.toml": 'sink-modules = ["json"]\n'})
    config = ("--config", str(tmp_path / "conf/importguard.toml"))
    assert recorded(tmp_path, analyses, *config) == ""
    (tmp_path / "conf/importguard.toml").write_text('sink-modules = ["os"]\n')
    assert "reaches `os`" in check(tmp_path, *config) and len(analyses) == 1


def test_a_file_changed_while_the_run_read_it_is_not_trusted(tmp_path, analyses, monkeypatch):
    from importguard.cache.replay import Replay

    write_tree(tmp_path, BASE)
    real_save = Replay.save

    def edit_then_save(self, report, rendered=None):
        (tmp_path / "pkg/ops.py").write_text("import cutlass\n")  # after it was read
        time.sleep(0.06)  # older than the racy window by the time the record is written
        real_save(self, report, rendered)

    (tmp_path / ".importguard_cache").mkdir()  # so that the first run may record
    time.sleep(0.06)
    monkeypatch.setattr(Replay, "save", edit_then_save)
    before = check(tmp_path)
    assert "IG001" not in before
    # Whatever the record holds (the stats taken before reading, or none at all), the
    # next run must not replay the answer computed from the old content.
    monkeypatch.setattr(Replay, "save", real_save)
    assert "IG001" in check(tmp_path) and len(analyses) == 2


def test_a_replayed_report_keeps_its_fix_plan(tmp_path, analyses):
    write_tree(tmp_path, {**BASE, "pkg/ops.py": "import cutlass\n\ndef gemm():\n    pass\n"})
    analysed = check(tmp_path, "--output-format", "json")
    time.sleep(0.06)
    check(tmp_path, "--output-format", "json")
    analyses.clear()
    replayed = check(tmp_path, "--output-format", "json")
    assert analyses == [] and replayed == analysed
    assert '"plan": {' in replayed and '"exact": true' in replayed


HELPERS = {**BASE, "pkg/ops.py": "import helpers\n\ndef gemm():\n    pass\n"}  # `helpers` is not found: no edge


@pytest.mark.parametrize(
    "unrelated",
    [
        pytest.param(lambda r: (r / "report.json").write_text("{}"), id="report-in-working-directory"),
        pytest.param(lambda r: (r / ".ops.py.swp").write_text("x"), id="swap-file-in-working-directory"),
        pytest.param(lambda r: (r / "notes").mkdir(), id="directory-in-working-directory"),
        pytest.param(lambda r: (r / "pkg/README.md").write_text("x"), id="non-python-file-in-the-package"),
        pytest.param(lambda r: (r / ".importguard_cache/other.json").write_text("{}"), id="file-in-the-cache"),
        pytest.param(lambda r: (r / "pkg/__pycache__").mkdir(), id="new-excluded-directory-in-the-package"),
        pytest.param(lambda r: (r / "pkg/build").mkdir(), id="excluded-directory-seen-before"),
    ],
)
def test_an_unrelated_file_does_not_cost_the_replay(tmp_path, analyses, unrelated):
    # `build` is excluded by default; it exists when the first runs walk, then goes.
    write_tree(tmp_path, {**HELPERS, "pkg/build/x.py": ""})
    (tmp_path / "pkg/build/x.py").unlink()
    before = recorded(tmp_path, analyses)
    if (tmp_path / "pkg/build").exists():
        (tmp_path / "pkg/build").rmdir()
    unrelated(tmp_path)
    assert check(tmp_path) == before
    assert len(analyses) == 0, "an unrelated change must not cost the replay"


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda r: write_tree(r, {"helpers.py": "import cutlass\n"}), id="module-file-where-lookup-finds-it"),
        pytest.param(lambda r: write_tree(r, {"helpers/__init__.py": "import cutlass\n"}),
                     id="package-directory-where-lookup-finds-it"),
        pytest.param(lambda r: write_tree(r, {"pkg/new.py": "import torch\nCAP = torch.cuda.get_device_capability()\n"}),
                     id="new-module-in-a-walked-directory"),
        pytest.param(lambda r: write_tree(r, {"pkg/sub/__init__.py": "import cutlass\n"}),
                     id="new-package-in-a-walked-directory"),
    ],
)
def test_a_new_module_where_resolution_or_the_walk_finds_it_is_seen(tmp_path, analyses, change):
    write_tree(tmp_path, HELPERS)
    before = recorded(tmp_path, analyses)
    change(tmp_path)
    after = check(tmp_path)
    assert len(analyses) == 1 and after != before
    assert after == check(tmp_path, "--no-cache")


def test_a_lookup_answered_by_a_directory_that_changed_during_the_run_is_rechecked(tmp_path, analyses):
    """The working directory is new when the first run records (the cache directory was
    just created in it), so it is recorded without its mtime shortcut: its names are
    looked at on every run, and a module appearing there is still seen."""
    write_tree(tmp_path, HELPERS)
    time.sleep(0.06)
    first = check(tmp_path)  # creates .importguard_cache in the working directory: records anyway
    assert check(tmp_path) == first and len(analyses) == 1
    write_tree(tmp_path, {"helpers.py": "import cutlass\n"})
    assert "cutlass" in check(tmp_path) and len(analyses) == 2


MANY = {"pkg/__init__.py": "".join(f"import absent{i}\n" for i in range(30)) + "from .ops import gemm\n",
        "pkg/ops.py": "def gemm():\n    pass\n"}


@pytest.mark.parametrize(
    "change, seen",
    [
        pytest.param(lambda r: (r / "report.txt").write_text("x"), False, id="unrelated-file"),
        pytest.param(lambda r: (r / "absent7.py").mkdir(), False, id="directory-named-like-the-module-file"),
        pytest.param(lambda r: write_tree(r, {"absent7.py": "import cutlass\n"}), True, id="module-file"),
        pytest.param(lambda r: write_tree(r, {"absent29/__init__.py": "import cutlass\n"}), True, id="package"),
    ],
)
def test_a_directory_with_many_looked_up_names_is_listed_once_and_still_exact(tmp_path, analyses, change, seen):
    """Thirty names looked up in the working directory: the replay reads its listing
    once instead of looking at each name, and still sees any one of them appear."""
    write_tree(tmp_path, MANY)
    before = recorded(tmp_path, analyses)
    change(tmp_path)
    after = check(tmp_path)
    assert len(analyses) == int(seen)
    assert after == check(tmp_path, "--no-cache")
    assert (after != before) == seen


def test_a_directory_too_recent_at_the_first_check_gets_its_shortcut_back(tmp_path, analyses, monkeypatch):
    """A check right after a clone records the directories it looked in without their
    mtime shortcut (too recent to prove anything). A later check that finds their names
    unchanged, the directories now old enough, records the shortcut again instead of
    leaving every replay to look at each name; a module appearing is still seen."""
    # A window wide enough that a busy machine still runs the first check within it.
    monkeypatch.setattr(importguard.cache.store, "_RACY_NS", 1_000_000_000)
    write_tree(tmp_path, HELPERS)
    first = check(tmp_path)
    cache_dir = tmp_path / ".importguard_cache"

    def shortcuts(pattern: str) -> dict[str, bool]:
        [path] = cache_dir.glob(pattern)
        record, _ = fast_replay.unpack(path.read_bytes())  # the header line: [path, stamp, ...] each
        return {entry[0]: entry[1] is not None for entry in record["lookups"]}

    looked_in = {str(tmp_path), str(tmp_path / "pkg")}
    assert looked_in <= set(shortcuts("results-*.json")) and not any(shortcuts("results-*.json").values())
    time.sleep(1.05)
    for record in cache_dir.glob("replay-*.json"):
        record.unlink()  # the next check starts from the stored findings (cache/results.py)
    assert check(tmp_path) == first
    assert all(shortcuts("replay-*.json")[directory] for directory in looked_in)
    write_tree(tmp_path, {"helpers.py": "import cutlass\n"})
    assert "pkg.ops -> helpers -> cutlass" in check(tmp_path)


def test_a_directory_found_unchanged_is_not_listed_again_for_links(tmp_path, monkeypatch):
    """A directory whose recorded stamp was just found unchanged held no link then and
    has no new entry since: its stamp is taken again without listing it. One that gains
    a link has another stamp, is listed, and gets none."""
    from importguard.cache import lookups

    directory = tmp_path / "pkg"
    directory.mkdir()
    (directory / "a.py").write_text("")
    later = time.time_ns() + 10_000_000_000  # past the racy window
    recorded = [[str(directory), lookups.stamp(os.stat(directory)), {"a.py": lookups.FILE}, None]]
    assert lookups.unchanged(recorded)
    listed = []
    real_scandir = os.scandir
    monkeypatch.setattr(os, "scandir", lambda path: (listed.append(path), real_scandir(path))[1])
    assert lookups._settled_stamp(str(directory), later, 2_000_000_000) == recorded[0][1] and listed == []
    os.symlink(tmp_path / "elsewhere.py", directory / "b.py")
    assert lookups._settled_stamp(str(directory), later, 2_000_000_000) is None and listed == [str(directory)]


def test_a_directory_the_walk_listed_without_links_is_not_listed_again_for_them(tmp_path, monkeypatch):
    """Discovery just listed each directory it walked: one without a link keeps the
    stamp taken before the listing, and taking its stamp for a record lists it no
    more. One with a link, or changed since, is listed again (and gets no stamp)."""
    from importguard.cache import lookups
    from importguard.discovery import discover

    plain, linked = tmp_path / "pkg", tmp_path / "pkg" / "sub"
    linked.mkdir(parents=True)
    (plain / "__init__.py").write_text("")
    (linked / "__init__.py").write_text("")
    os.symlink(tmp_path / "elsewhere.py", linked / "b.py")
    monkeypatch.setattr(lookups, "_verified", {})
    discover([plain], tmp_path, ())
    later = time.time_ns() + 10_000_000_000  # past the racy window
    listed = []
    real_scandir = os.scandir
    monkeypatch.setattr(os, "scandir", lambda path: (listed.append(path), real_scandir(path))[1])
    assert lookups._settled_stamp(str(plain), later, 2_000_000_000) == lookups.stamp(os.stat(plain))
    assert listed == []
    assert lookups._settled_stamp(str(linked), later, 2_000_000_000) is None and listed == [str(linked)]
    (plain / "c.py").write_text("")  # a new entry: another stamp, listed again
    assert lookups._settled_stamp(str(plain), later, 2_000_000_000) is not None and listed[-1] == str(plain)


def test_a_record_the_console_script_found_outdated_is_not_read_again(tmp_path, analyses, monkeypatch):
    """The console script checks the record before click loads; when it found an input
    changed, the CLI analyses at once instead of reading and checking it again."""
    write_tree(tmp_path, BASE)
    report = recorded(tmp_path, analyses)
    [record] = (tmp_path / ".importguard_cache").glob("replay-*.json")
    monkeypatch.setattr(fast_replay, "outdated", str(tmp_path / ".importguard_cache" / "replay-other.json"))
    assert check(tmp_path) == report and analyses == []  # another record's verdict: replayed
    monkeypatch.setattr(fast_replay, "outdated", str(record))
    assert check(tmp_path) == report and len(analyses) == 1


def test_records_of_a_server_started_from_the_console_script_are_keyed_by_their_options(tmp_path, monkeypatch):
    """`importguard lsp` came through the console script too: its records (one per file)
    are keyed by their options, not by that command line, which they all share."""
    from importguard.cache.replay import Replay

    monkeypatch.setattr(fast_replay, "invocation", ["lsp"])
    first = Replay(tmp_path, {"command": "lsp", "path": str(tmp_path / "a.py")})
    second = Replay(tmp_path, {"command": "lsp", "path": str(tmp_path / "b.py")})
    assert first.path != second.path and first.invocation is None
    monkeypatch.setattr(fast_replay, "invocation", ["check", "pkg"])
    assert Replay(tmp_path, {"paths": ["pkg"]}).invocation == ["check", "pkg"]
