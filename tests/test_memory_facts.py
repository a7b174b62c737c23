"""A check holds the decoded facts of a few modules at a time, not those of the whole
tree (engine.FactsStore): the others are read back, from the facts cache or (with
--no-cache) from their JSON kept in memory, when a rule, a search or the plan asks for
them; and the results record is written a section at a time. The report stays what it
is with every module's facts held."""

from __future__ import annotations

import gc
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

import importguard.cache.results
import importguard.engine
import importguard.graph.names
from importguard.cache.loader import FactsLoader
from importguard.cache.pool import WorkerPool
from importguard.cache.results import _dumps, _encoded_sections
from importguard.cache.store import FactsCache
from importguard.cli.main import cli
from importguard.discovery import ModuleResolver, discover
from importguard.engine import FactsStore, collect_serially
from importguard.model import ModuleFacts

from conftest import write_tree

MODULES = 60


def _tree() -> dict[str, str]:
    files = {
        "pyproject.toml": "[tool.importguard]\n",
        # A package whose eager import reaches a sink (IG001), with a lazy re-export
        # that `app.user`'s `from app.ops import gemm` blocks (the hint reads every module).
        "app/__init__.py": "from app.ops import gemm\n",
        "app/ops/__init__.py": "from .gemm import gemm\n",
        "app/ops/gemm.py": "import cutlass\n\ndef gemm():\n    pass\n",
        "app/user.py": "from app.ops import gemm\n",
        "app/notes.py": "exec('import torch')\n",
        "app/broken.py": "def f(:\n",
    }
    for i in range(MODULES):
        # A call at import of another module's function: the graph resolves its name
        # (graph/names.py) and follows its body.
        body = [f"import app.leaf{(i + 1) % MODULES}", "import os", f"from app.leaf{(i + 2) % MODULES} import helper as other",
                "", "def helper():", "    return os.getcwd()", "", "VALUE = other()"]
        if i % 7 == 0:
            body.insert(0, "import torch")
            body.append("CAP = torch.cuda.get_device_capability()  # noqa: IG003" if i % 14 == 0 else "CAP = torch.cuda.get_device_capability()")
        if i % 11 == 0:
            body.append("X = 1  # noqa: IG001")
        files[f"app/leaf{i}.py"] = "\n".join(body) + "\n"
    for i in range(5):
        files[f"app/pkg{i}/__init__.py"] = f"from app.leaf{i * 7} import helper\n"
    return files


def _check(root: Path, *args: str) -> str:
    old = Path.cwd()
    os.chdir(root)
    try:
        result = CliRunner().invoke(cli, ["check", "--output-format", "json", "--extend-select", "IG903", *args])
    finally:
        os.chdir(old)
    assert result.exit_code in (0, 1), result.output
    return result.stdout


def _alive_facts() -> int:
    gc.collect()
    return sum(1 for value in gc.get_objects() if type(value) is ModuleFacts)


@pytest.fixture
def counted(monkeypatch):
    """The most ModuleFacts alive when the report is made (after every rule ran, before
    the plan), with a store that keeps 6 decoded, rules that take 4 at a time and the
    name tables of 4 modules."""
    monkeypatch.setattr(importguard.engine, "_RECENT", 6, raising=False)
    monkeypatch.setattr(importguard.engine, "_BATCH", 4, raising=False)
    monkeypatch.setattr(importguard.graph.names, "MAX_TABLES", 4, raising=False)
    seen: list[int] = []
    finish = importguard.engine.finish

    def counting(*args, **kwargs):
        seen.append(_alive_facts())
        return finish(*args, **kwargs)

    monkeypatch.setattr(importguard.engine, "finish", counting)
    monkeypatch.setattr(importguard.cache.results, "finish", counting)
    return seen


@pytest.mark.parametrize("how", ["no cache", "cold cache", "cached facts"])
def test_a_check_holds_few_facts_and_reports_the_same(tmp_path, counted, how):
    root = write_tree(tmp_path / "tree", _tree())
    expected = _check(root, "--no-cache", "--jobs", "1")
    counted.clear()
    cache = ("--cache-dir", str(tmp_path / "cache"))
    if how == "no cache":
        report = _check(root, "--no-cache")
    else:
        if how == "cached facts":
            _check(root, *cache)
            for record in (tmp_path / "cache").glob("[rr]e*-*.json"):  # results and replay: facts only
                record.unlink()
            counted.clear()
        report = _check(root, *cache)
    assert report == expected
    data = json.loads(report)
    assert {f["code"] for f in data["findings"]} >= {"IG001", "IG003", "IG900", "IG903"}
    assert any("a lazy re-export cannot help" in f["message"] for f in data["findings"])
    # 67 modules: 6 kept by the store, 4 by a rule batch, 4 by the graph's name tables.
    assert counted and max(counted) <= 16, counted


def test_a_store_reads_facts_back_the_same(tmp_path, monkeypatch):
    monkeypatch.setattr(importguard.engine, "_RECENT", 3, raising=False)
    root = write_tree(tmp_path / "tree", _tree())
    files = discover([root], root, ()).files
    with_cache = FactsLoader(FactsCache(tmp_path / "cache", {"test": "key"}, root), WorkerPool(1))
    for collector in (with_cache, FactsLoader(None, WorkerPool(1))):
        store = FactsStore(ModuleResolver([root]), collector)
        store.prepare(files)
        for source in files:
            store.for_sources([source])
        assert len(store._decoded) == 3
        assert sorted(store.read) == sorted(s.path for s in files)
        assert [store.for_module(s.module) for s in files] == collect_serially(files)
        assert set(store.remarks) == {str(root / "app/notes.py"), str(root / "app/broken.py")}


def test_a_store_that_keeps_all_keeps_all(tmp_path, monkeypatch):
    """The language server's graph memory compares facts objects: its store keeps them."""
    monkeypatch.setattr(importguard.engine, "_RECENT", 3, raising=False)
    root = write_tree(tmp_path / "tree", _tree())
    files = discover([root], root, ()).files
    store = FactsStore(ModuleResolver([root]), FactsLoader(None, WorkerPool(1)), keep_all=True)
    first = store.for_sources(files)
    assert all(a is b for a, b in zip(store.for_sources(files), first))
    assert len(store.kept()) == len(files)


def test_the_record_sections_are_written_as_one_dumps_writes_them():
    sections = {"modules": {"a": ["a.py", "h", ["b"], [], []]}, "searches": {}, "free": {"a": None},
                "defined": {"x.f": [True, ["x"]]}}
    assert b"".join(_encoded_sections("abc", sections)) == _dumps({"token": "abc", **sections}).encode()


def test_a_module_a_search_reaches_counts_as_read(tmp_path, monkeypatch):
    """A project module configured as a sink is reached (prefetched) but its facts are
    never used: it still counts as read, so its problems are warned about as when every
    module's facts were kept."""
    monkeypatch.setattr(importguard.engine, "_RECENT", 2, raising=False)
    root = write_tree(tmp_path / "tree", {
        "pyproject.toml": '[tool.importguard]\nextend-sink-modules = [{module = "pkg.heavy", reason = "test"}]\n',
        "pkg/__init__.py": "import pkg.heavy\n",
        "pkg/heavy.py": "def f(:\n",
        "app/__init__.py": "import pkg.heavy\n",
        "app/x.py": "import pkg\n",
    })
    old = Path.cwd()
    os.chdir(root)
    try:
        for cache in (("--no-cache",), ("--cache-dir", str(tmp_path / "cache"))):
            result = CliRunner().invoke(cli, ["check", "app", *cache])
            assert result.exit_code == 1, result.output
            assert "pkg/heavy.py:1:7: IG900 syntax error" in result.stderr
            assert "imports of `pkg.heavy` are not followed" in result.stderr
    finally:
        os.chdir(old)


def test_facts_not_cached_are_kept_aside_out_of_memory(tmp_path, monkeypatch):
    from importguard.cache.loader import HeldFacts

    held = HeldFacts()
    held.put("a", b"[1,2]")
    held.put("b", b'["x"]')
    held.put("a", b"ignored: the same hash is the same facts")
    assert (held.get("a"), held.get("b"), held.get("c")) == (b"[1,2]", b'["x"]', None)
    assert held._in_memory == {}  # in the temporary file
    held.close()
    assert held.get("a") is None

    import tempfile

    def refuse(**kwargs):
        raise OSError("no temporary directory")

    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    in_memory = HeldFacts()
    in_memory.put("a", b"[1]")
    assert in_memory.get("a") == b"[1]"


@pytest.mark.parametrize("cached", [True, False])
def test_a_second_check_of_the_run_reads_an_edited_file_again(tmp_path, cached):
    """--fix checks again after its edits, with the same loader."""
    root = write_tree(tmp_path / "tree", {"app/__init__.py": "import os\n", "app/ops.py": "import cutlass\n"})
    files = discover([root], root, ()).files
    cache = FactsCache(tmp_path / "cache", {"test": "key"}, root) if cached else None
    loader = FactsLoader(cache, WorkerPool(1))
    ops = next(s for s in files if s.module == "app.ops")
    first = FactsStore(ModuleResolver([root]), loader)
    first.prepare(files)
    assert [site.module for site in first.for_module("app.ops").imports] == ["cutlass"]
    (root / "app/ops.py").write_text("import json\n")
    os.utime(root / "app/ops.py", ns=(1, 1))  # no stat shortcut: the content decides
    second = FactsStore(ModuleResolver([root]), loader)
    second.prepare(files)
    assert [site.module for site in second.for_sources([ops])[0].imports] == ["json"]


def test_facts_kept_aside_when_the_file_cannot_grow():
    """A file size limit (or a full disk) stops the temporary file: the facts that did
    not fit are kept in memory, those written before are still read back whole."""
    import subprocess
    import sys

    script = (
        "import resource, signal\n"
        "from importguard.cache.loader import HeldFacts\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"  # the write fails instead (EFBIG)
        "resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))\n"
        "held = HeldFacts()\n"
        "for i in range(10):\n"
        "    held.put(str(i), bytes([65 + i]) * 1000)\n"
        "assert all(held.get(str(i)) == bytes([65 + i]) * 1000 for i in range(10))\n"
        "assert 0 < len(held._in_memory) < 10\n"
        "held.close()\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.stdout == "ok\n", done.stderr
