"""Replaying the last report: used only when nothing the report depended on changed.

Each test runs `check` three times in-process (the racy-timestamp guard switched off,
so a record is written at once): a run that records, a run that must replay, then a
change, and a run that must analyse again and print exactly what `--no-cache` prints.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

import importguard.cache
import importguard.engine
from importguard.cli import cli

from conftest import write_tree

BASE = {
    "pkg/__init__.py": "from .ops import gemm\nfrom pkg import extra\n",
    "pkg/ops.py": "import os\n\ndef gemm():\n    pass\n",
    "pkg/leaf.py": "X = 1\n",
}


@pytest.fixture
def analyses(monkeypatch):
    """Counts real analyses (run_check calls); replays do not call it."""
    monkeypatch.setattr(importguard.cache, "_RACY_NS", 0)
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
        result = CliRunner().invoke(cli, ["check", *args, "pkg"])
    finally:
        os.chdir(old)
    assert result.exit_code in (0, 1), result.output
    return result.stdout


def recorded(root: Path, analyses: list) -> str:
    first = check(root)
    second = check(root)
    assert first == second and len(analyses) == 1, "an unchanged tree must be replayed"
    return first


def test_unchanged_tree_is_replayed_and_no_cache_is_not(tmp_path, analyses):
    write_tree(tmp_path, BASE)
    recorded(tmp_path, analyses)
    check(tmp_path, "--no-cache")
    assert len(analyses) == 2
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
    assert len(analyses) == 2
    assert after == check(tmp_path, "--no-cache")


def test_options_are_part_of_the_key(tmp_path, analyses):
    write_tree(tmp_path, {**BASE, "pkg/ops.py": "import cutlass\n"})
    recorded(tmp_path, analyses)
    assert check(tmp_path, "--ignore", "IG001") == ""
    assert len(analyses) == 2


def test_a_corrupt_record_is_ignored(tmp_path, analyses):
    write_tree(tmp_path, {**BASE, "pkg/ops.py": "import cutlass\n"})
    before = recorded(tmp_path, analyses)
    for record in (tmp_path / ".importguard_cache").glob("replay-*.json"):
        record.write_text("{not json")
    assert check(tmp_path) == before and len(analyses) == 2


def test_a_config_appearing_above_the_project_is_seen(tmp_path, analyses):
    work = tmp_path / "work"
    cache = ("--cache-dir", str(tmp_path / "cache"))  # the same cache whichever config is found
    write_tree(work, {**BASE, "pkg/ops.py": "import os\nimport cutlass\n"})
    assert check(work, *cache) == check(work, *cache) and len(analyses) == 1
    write_tree(tmp_path, {"pyproject.toml": '[tool.importguard]\nsink-modules = ["os"]\n'})
    after = check(work, *cache)
    assert len(analyses) == 2 and "reaches `os`" in after


def test_an_edited_config_given_with_config_is_seen(tmp_path, analyses):
    write_tree(tmp_path, {**BASE, "pkg/ops.py": "import os\n", "conf/importguard.toml": 'sink-modules = ["json"]\n'})
    config = ("--config", str(tmp_path / "conf/importguard.toml"))
    assert check(tmp_path, *config) == check(tmp_path, *config) == "" and len(analyses) == 1
    (tmp_path / "conf/importguard.toml").write_text('sink-modules = ["os"]\n')
    assert "reaches `os`" in check(tmp_path, *config) and len(analyses) == 2
