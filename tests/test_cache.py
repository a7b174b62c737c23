"""The facts cache: what invalidates an entry, what survives damage, and that a warm
run gives the cold run's output without importing LibCST."""

from __future__ import annotations

import json
import shutil
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_tree

from importguard.cache import store as cache_module
from importguard.cache.store import FactsCache, decode, encode
from importguard.cache.loader import open_loader
from importguard.config import load_config
from importguard.engine import run_check
from importguard.model import CallSite, Execution, ImportSite, ModuleFacts, Problem, SiteKind, SourceFile, Suppression

PROJECT = {
    "pyproject.toml": "[tool.importguard]\n",
    "pkg/__init__.py": '"""Ops."""\nfrom .gemm import gemm\n',
    "pkg/gemm.py": "import os\n\n\ndef gemm(x):\n    return x\n",
    "pkg/util.py": "import pkg.gemm\n",
}


@pytest.fixture
def trust_fresh_stat(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files written by a test are seconds old, too fresh for the stat fast path to
    trust; these tests want that path."""
    monkeypatch.setattr(cache_module, "_RACY_NS", 0)


def check(root: Path, **options):
    """One in-process run with the cache; (report, files parsed, cache warnings)."""
    config = load_config(None, root)
    with open_loader(config, jobs=1, **options) as collector:
        report = run_check([root], config, collector=collector)
    return report, collector.collected, collector.warnings


def cli(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "importguard", "check", ".", *args],
        cwd=root, capture_output=True, text=True, timeout=120,
    )


def index_file(root: Path) -> Path:
    """The facts cache: one SQLite file."""
    (found,) = (root / ".importguard_cache").glob("facts-*")
    return found


def database(root: Path) -> sqlite3.Connection:
    return sqlite3.connect(index_file(root), isolation_level=None)


def index_entries(root: Path) -> dict:
    """name -> [module, is_package, content hash, stat or None, facts hash]."""
    rows = database(root).execute("SELECT name, module, is_package, content, mtime, ctime, size, inode, facts "
                                  "FROM files").fetchall()
    return {name: [module, bool(package), content, None if stat[0] is None else list(stat), hashed]
            for name, module, package, content, *stat, hashed in rows}


def stored_facts(root: Path) -> dict:
    return {hashed: json.loads(data) for hashed, data in database(root).execute("SELECT hash, data FROM facts")}


def test_second_run_parses_nothing_and_reports_the_same(tmp_path: Path) -> None:
    write_tree(tmp_path, PROJECT)
    cold, parsed_cold, _ = check(tmp_path)
    warm, parsed_warm, warnings = check(tmp_path)
    assert (parsed_cold, parsed_warm, warnings) == (3, 0, [])
    assert warm == cold


def test_cache_directory_is_ignored_by_git(tmp_path: Path) -> None:
    write_tree(tmp_path, PROJECT)
    check(tmp_path)
    assert (tmp_path / ".importguard_cache" / ".gitignore").read_text().splitlines()[-1] == "*"


def test_content_change_with_same_size_and_mtime_is_seen(tmp_path: Path, trust_fresh_stat: None) -> None:
    write_tree(tmp_path, {**PROJECT, "pkg/gemm.py": "import pathlib\n"})
    leaf = tmp_path / "pkg" / "gemm.py"
    before = leaf.stat()
    assert check(tmp_path)[0].findings == ()
    leaf.write_text("import cutlass\n")  # same size
    os.utime(leaf, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert leaf.stat().st_size == before.st_size
    report, parsed, _ = check(tmp_path)
    assert parsed == 1
    assert [f.code for f in report.findings] == ["IG001"]


def test_new_cutlass_import_in_a_reexported_leaf_is_found_next_run(tmp_path: Path) -> None:
    write_tree(tmp_path, PROJECT)
    first = cli(tmp_path)
    assert first.returncode == 0, first.stderr
    leaf = tmp_path / "pkg" / "gemm.py"
    leaf.write_text("import cutlass\n" + leaf.read_text())
    second = cli(tmp_path)
    assert second.returncode == 1
    assert "pkg/__init__.py:2:1: IG001" in second.stdout
    assert "pkg/__init__.py:2:1: IG001 eager import in package `__init__` reaches `cutlass`" in second.stdout


def test_an_untouched_file_with_a_new_mtime_is_rehashed_not_reparsed(tmp_path: Path, trust_fresh_stat: None) -> None:
    write_tree(tmp_path, PROJECT)
    check(tmp_path)
    os.utime(tmp_path / "pkg" / "gemm.py")  # e.g. a git checkout that rewrote it
    _, parsed, _ = check(tmp_path)
    assert parsed == 0


def test_importguard_version_is_part_of_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_tree(tmp_path, PROJECT)
    check(tmp_path)
    monkeypatch.setattr(cache_module, "__version__", "999.0")
    _, parsed, warnings = check(tmp_path)
    assert parsed == 3 and warnings == []
    assert len(list((tmp_path / ".importguard_cache").glob("facts-*.sqlite"))) == 2


def test_collection_settings_are_part_of_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_tree(tmp_path, PROJECT)
    monkeypatch.setattr(cache_module, "COLLECTION_SETTINGS", ("cuda_free",))
    check(tmp_path)
    assert check(tmp_path)[1] == 0
    (tmp_path / "pyproject.toml").write_text('[tool.importguard]\ncuda-free = ["pkg.util"]\n')
    assert check(tmp_path)[1] == 3


def test_collector_source_is_part_of_the_key() -> None:
    key = cache_module.cache_key(load_config(None, Path(".")))
    assert set(key) == {"importguard", "collector", "libcst", "python", "parser", "settings", "schema"}
    assert key["libcst"] not in ("missing", "unknown")


def test_corrupt_index_is_rebuilt_with_one_warning(tmp_path: Path) -> None:
    write_tree(tmp_path, PROJECT)
    cold = check(tmp_path)[0]
    index_file(tmp_path).write_bytes(b'SQLite format 3\x00' + b'\xff' * 200)
    report, parsed, warnings = check(tmp_path)
    assert parsed == 3 and report == cold
    assert len(warnings) == 1 and warnings[0].startswith("ignoring corrupt cache")
    assert check(tmp_path)[1:] == (0, [])


def test_corrupt_entry_is_rebuilt_with_one_warning(tmp_path: Path) -> None:
    write_tree(tmp_path, PROJECT)
    cold = check(tmp_path)[0]
    index = index_file(tmp_path)
    hashes = [entry[4] for entry in index_entries(tmp_path).values()]
    unique = [h for h in hashes if hashes.count(h) == 1][:2]  # facts of one file each
    for hashed in unique:
        database(tmp_path).execute("UPDATE facts SET data = ? WHERE hash = ?", (b'[["not", "facts"]]', hashed))
    report, parsed, warnings = check(tmp_path)
    assert parsed == 2 and report == cold
    assert warnings == [f"ignored 2 corrupt cache entries in {index}; rebuilt them"]
    assert check(tmp_path)[1:] == (0, [])


def test_foreign_version_index_is_rebuilt_with_one_warning(tmp_path: Path) -> None:
    write_tree(tmp_path, PROJECT)
    check(tmp_path)
    db = database(tmp_path)
    key = json.loads(db.execute("SELECT value FROM meta WHERE name = 'key'").fetchone()[0])
    key["importguard"] = "0.0.1"
    db.execute("UPDATE meta SET value = ? WHERE name = 'key'", (json.dumps(key),))
    db.close()
    _, parsed, warnings = check(tmp_path)
    assert parsed == 3
    assert len(warnings) == 1 and "written by importguard 0.0.1" in warnings[0]
    assert check(tmp_path)[1:] == (0, [])


def test_unwritable_cache_directory_warns_and_the_run_goes_on(tmp_path: Path) -> None:
    write_tree(tmp_path, PROJECT)
    (tmp_path / "pkg" / "gemm.py").write_text("import cutlass\n")
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    result = cli(tmp_path, "--cache-dir", str(blocker / "cache"))
    assert result.returncode == 1
    assert "IG001" in result.stdout
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "cannot write cache" in warnings[0]
    assert "Traceback" not in result.stderr


def test_no_cache_writes_nothing(tmp_path: Path) -> None:
    write_tree(tmp_path, PROJECT)
    assert cli(tmp_path, "--no-cache").returncode == 0
    assert not (tmp_path / ".importguard_cache").exists()


def test_cache_dir_from_config_is_relative_to_the_project_root(tmp_path: Path) -> None:
    write_tree(tmp_path, {**PROJECT, "pyproject.toml": '[tool.importguard]\ncache-dir = "build/igcache"\n'})
    write_tree(tmp_path, {"pkg/sub/x.py": "import os\n"})
    assert cli(tmp_path / "pkg" / "sub").returncode == 0  # started below the root
    assert list((tmp_path / "build" / "igcache").glob("facts-*.sqlite"))


def test_cache_dir_of_the_wrong_type_is_a_config_error(tmp_path: Path) -> None:
    write_tree(tmp_path, {**PROJECT, "pyproject.toml": "[tool.importguard]\ncache-dir = 3\n"})
    result = cli(tmp_path)
    assert result.returncode == 2
    assert "cache-dir must be a path" in result.stderr and "Traceback" not in result.stderr


def test_warm_output_is_byte_identical_to_cold(tmp_path: Path) -> None:
    write_tree(tmp_path, {**PROJECT, "pkg/gemm.py": "import cutlass\n", "pkg/cli.py": "import torch\ntorch.cuda.is_available()\n"})
    cold = cli(tmp_path, "--format", "full")
    warm = cli(tmp_path, "--format", "full")
    assert cold.returncode == 1 and "IG001" in cold.stdout and "IG003" in cold.stdout
    assert (warm.returncode, warm.stdout, warm.stderr) == (cold.returncode, cold.stdout, cold.stderr)


def test_warm_run_does_not_import_libcst(tmp_path: Path) -> None:
    write_tree(tmp_path, PROJECT)
    probe = (
        "import sys\n"
        "from importguard.cli.main import cli\n"
        "try:\n"
        "    cli.main(['check', '.'], standalone_mode=False)\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('libcst' in sys.modules)\n"
    )

    def libcst_imported() -> str:
        run = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60)
        return run.stdout.strip()

    assert libcst_imported() == "True"  # cold: files were parsed
    assert libcst_imported() == "False"  # warm


def test_concurrent_runs_share_one_cache(tmp_path: Path) -> None:
    files = {f"pkg/m{i}.py": f"import pkg.m{i + 1}\n" for i in range(40)}
    write_tree(tmp_path, {**PROJECT, **files, "pkg/gemm.py": "import pkg.m0\n", "pkg/m40.py": "import cutlass\n"})
    command = [sys.executable, "-m", "importguard", "check", ".", "--jobs", "2"]
    runs = [subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(3)]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [1, 1, 1]
    assert len({stdout for stdout, _ in outputs}) == 1
    assert all("warning" not in stderr for _, stderr in outputs), [stderr for _, stderr in outputs]
    after = cli(tmp_path, "--jobs", "2")
    assert (after.stdout, after.stderr) == outputs[0]
    meta = dict(database(tmp_path).execute("SELECT name, value FROM meta"))
    assert meta["format"] == str(cache_module.FORMAT)
    assert len(stored_facts(tmp_path)) > 40


def test_two_first_runs_never_swap_the_facts_file_under_each_other(tmp_path: Path, monkeypatch) -> None:
    """Two runs on a new cache directory both find no facts file and make one. The later
    one must not put its file in place over the one the earlier run already writes in:
    that run's writes would then fail ("attempt to write a readonly database"), a warning
    seen when three checks started together."""
    config = load_config(None, tmp_path)
    first = FactsCache.open(tmp_path / ".importguard_cache", config)
    second = FactsCache.open(tmp_path / ".importguard_cache", config)
    first_db = first._open_for_writing()
    real_lexists = os.path.lexists
    looked = []

    def lexists_before_the_first_made_it(path):
        if str(path) == str(second.path) and not looked:
            looked.append(path)
            return False
        return real_lexists(path)

    monkeypatch.setattr(cache_module.os.path, "lexists", lexists_before_the_first_made_it)
    second_db = second._open_for_writing()  # it looked before the first made the file
    monkeypatch.undo()
    for db in (first_db, second_db):
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (f"written-{id(db)}", "1"))
        db.execute("COMMIT")
    names = {name for (name,) in sqlite3.connect(first.path).execute("SELECT name FROM meta")}
    assert {f"written-{id(first_db)}", f"written-{id(second_db)}"} <= names
    assert [p.name for p in first.path.parent.iterdir() if p.name.startswith(".importguard-tmp-")] == []


@pytest.mark.parametrize("names", [(), ("z", "*"), ("a",), ("", ""), ("a,b", "c")])
def test_codec_round_trip(names: tuple[str, ...]) -> None:
    source = SourceFile("/p/pkg/a.py", "pkg.a", False, "/p")
    facts = ModuleFacts(
        "pkg.a", "/p/pkg/a.py", False,
        imports=(ImportSite("x.y", names, 3, 1, 4, Execution.TYPE_CHECKING, SiteKind.FROM, True),
                 ImportSite("q", (), 5, 1, 5, Execution.EAGER, SiteKind.IMPORT, False)),
        calls=(CallSite("torch.cuda.is_available", 5, 2, 5, False),),
        exports=("a",),
        suppressions=(Suppression(3, ("IG001",)), Suppression(4, ())),
        problems=(Problem("IG902", "beyond", 2, 1),),
    )
    assert decode(source, json.loads(json.dumps(encode(facts)))) == facts


def test_racily_fresh_files_are_always_rehashed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_tree(tmp_path, PROJECT)
    check(tmp_path)  # files written just now: their stat proves nothing yet
    entries = index_entries(tmp_path)
    assert all(entry[3] is None for entry in entries.values())
    monkeypatch.setattr(cache_module, "_RACY_NS", 0)
    check(tmp_path)
    entries = index_entries(tmp_path)
    assert all(entry[3] is not None for entry in entries.values())


def test_entry_of_a_renamed_module_is_not_reused(tmp_path: Path) -> None:
    write_tree(tmp_path, PROJECT)
    check(tmp_path)
    cache = FactsCache.open(tmp_path / ".importguard_cache", load_config(None, tmp_path))
    path = str(tmp_path / "pkg" / "gemm.py")
    assert cache.lookup(SourceFile(path, "pkg.gemm", False, str(tmp_path))) is not None
    assert cache.lookup(SourceFile(path, "gemm", False, str(tmp_path / "pkg"))) is None


def test_key_covers_every_importguard_module_the_collector_uses() -> None:
    """A module facts/collect.py imports but the key does not hash would let an edit to it
    reuse stale facts."""
    import ast

    package = Path(cache_module.__file__).parent.parent
    tree = ast.parse((package / "facts" / "collect.py").read_text())
    used = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "importguard":
            parts = node.module.split(".")[1:]
            used |= {"/".join(parts) + ".py"} if parts else {f"{a.name}.py" for a in node.names}
        elif isinstance(node, ast.Import):
            used |= {"/".join(a.name.split(".")[1:]) + ".py" for a in node.names if a.name.startswith("importguard.")}
    assert used and used <= set(cache_module.COLLECTOR_SOURCES)


def test_facts_live_by_hash_and_a_lost_row_is_collected_again(tmp_path: Path) -> None:
    write_tree(tmp_path, PROJECT)
    cold = check(tmp_path)[0]
    entries = index_entries(tmp_path)
    stored = stored_facts(tmp_path)
    assert entries and {entry[4] for entry in entries.values()} == set(stored)  # no facts without an entry
    database(tmp_path).execute("DELETE FROM facts")
    report, parsed, warnings = check(tmp_path)
    assert report == cold and parsed == len(entries) and warnings == []
    assert check(tmp_path)[1] == 0


def test_the_facts_cache_is_one_file(tmp_path: Path) -> None:
    """One kind of file for facts, whatever the run did: no index, delta or journal beside it."""
    write_tree(tmp_path, PROJECT)
    check(tmp_path)
    (tmp_path / "pkg" / "gemm.py").write_text("import cutlass\n")
    check(tmp_path)
    names = sorted(p.name for p in (tmp_path / ".importguard_cache").iterdir() if p.name.startswith("fact"))
    assert len(names) == 1 and names[0].startswith("facts-") and names[0].endswith(".sqlite")


def test_a_facts_row_whose_bytes_are_not_what_its_hash_says_is_collected_again(tmp_path: Path) -> None:
    """Cache writes skip fsync: after a power cut a row may hold other bytes, which
    must not be taken for this file's facts, however well-formed they are."""
    write_tree(tmp_path, PROJECT)
    cold = check(tmp_path)[0]
    entries = index_entries(tmp_path)
    util, gemm = entries["pkg/util.py"][4], entries["pkg/gemm.py"][4]
    db = database(tmp_path)
    other = db.execute("SELECT data FROM facts WHERE hash = ?", (gemm,)).fetchone()[0]
    db.execute("UPDATE facts SET data = ? WHERE hash = ?", (other, util))  # gemm's facts under util's hash
    report, parsed, warnings = check(tmp_path)
    assert report == cold and parsed == 1
    assert warnings == [f"ignored 1 corrupt cache entry in {index_file(tmp_path)}; rebuilt them"]


def test_facts_go_to_the_file_while_collection_goes_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past a few megabytes of facts waiting, they are written before the run ends:
    the main process never holds the encoded facts of the whole tree."""
    monkeypatch.setattr(cache_module, "_FLUSH_BYTES", 1)
    write_tree(tmp_path, PROJECT)
    config = load_config(None, tmp_path)
    cache = FactsCache.open(tmp_path / ".importguard_cache", config)
    source = SourceFile(str(tmp_path / "pkg" / "util.py"), "pkg.util", False, str(tmp_path))
    cache.store(source, "0" * 32, None, ModuleFacts("pkg.util", source.path, False))
    assert list(index_entries(tmp_path)) == ["pkg/util.py"] and len(stored_facts(tmp_path)) == 1  # before save
    assert cache._unsaved_facts == {} and cache._unsaved == {}
    assert cache.stored_hash(source) is not None  # still known as this run's
    again = FactsCache.open(tmp_path / ".importguard_cache", config)
    assert again.lookup(source) is None  # its content hash is not the file's: a miss, not an answer
    assert again._facts_data(cache.stored_hash(source)) is not None


@pytest.mark.parametrize("data", [7, "x" * 10, b'{"not": "a list"}'])
def test_a_facts_row_of_the_wrong_type_is_collected_again(tmp_path: Path, data) -> None:
    write_tree(tmp_path, PROJECT)
    cold = check(tmp_path)[0]
    database(tmp_path).execute("UPDATE facts SET data = ?", (data,))
    report, parsed, _ = check(tmp_path)
    assert report == cold and parsed == 3
    assert check(tmp_path)[:2] == (cold, 0)


@pytest.mark.parametrize("extra", [
    "CREATE VIEW v AS SELECT 1",
    "CREATE TRIGGER t AFTER INSERT ON files BEGIN DELETE FROM facts; END",
    "CREATE TABLE other (x)",
])
def test_a_cache_file_with_more_than_our_schema_is_ignored_and_replaced(tmp_path: Path, extra: str) -> None:
    """A checkout can ship the cache: a trigger or view in it is never run, the file
    is ignored with one warning and replaced by the next save."""
    write_tree(tmp_path, PROJECT)
    cold = check(tmp_path)[0]
    database(tmp_path).execute(extra)
    report, parsed, warnings = check(tmp_path)
    assert report == cold and parsed == 3
    assert len(warnings) == 1 and warnings[0].startswith("ignoring corrupt cache")
    assert check(tmp_path)[1:] == (0, [])
    assert database(tmp_path).execute("SELECT count(*) FROM sqlite_master WHERE type IN ('view', 'trigger')"
                                      ).fetchone() == (0,)


def test_a_cache_file_that_is_not_a_regular_file_is_ignored_and_replaced(tmp_path: Path) -> None:
    write_tree(tmp_path, PROJECT)
    cold = check(tmp_path)[0]
    index = index_file(tmp_path)
    target = tmp_path / "elsewhere.sqlite"
    index.rename(target)
    index.symlink_to(target)
    report, parsed, warnings = check(tmp_path)
    assert report == cold and parsed == 3 and len(warnings) == 1
    assert not index.is_symlink() and check(tmp_path)[1:] == (0, [])


def test_a_second_save_writes_only_what_is_new(tmp_path: Path) -> None:
    """A long-lived cache (the language server's) writes only when it has learned
    something since the last save."""
    write_tree(tmp_path, PROJECT)
    config = load_config(None, tmp_path)
    cache = FactsCache.open(tmp_path / ".importguard_cache", config)
    source = SourceFile(str(tmp_path / "pkg" / "util.py"), "pkg.util", False, str(tmp_path))
    cache.store(source, "0" * 32, None, ModuleFacts("pkg.util", source.path, False))
    cache.save()
    version = database(tmp_path).execute("PRAGMA data_version").fetchone()
    watcher = database(tmp_path)
    before = watcher.execute("PRAGMA data_version").fetchone()
    cache.save()
    assert watcher.execute("PRAGMA data_version").fetchone() == before  # nothing written
    other = SourceFile(str(tmp_path / "pkg" / "gemm.py"), "pkg.gemm", False, str(tmp_path))
    cache.store(other, "1" * 32, None, ModuleFacts("pkg.gemm", other.path, False))
    cache.save()
    assert watcher.execute("PRAGMA data_version").fetchone() != before and version
    assert sorted(index_entries(tmp_path)) == ["pkg/gemm.py", "pkg/util.py"]  # relative to the project root


def test_a_moved_checkout_reuses_its_facts(tmp_path: Path) -> None:
    """The index names files relative to the project root: after `mv` (or a copy with
    the cache, as a CI runner restores it) nothing is parsed again."""
    write_tree(tmp_path / "a", PROJECT)
    cold, parsed, _ = check(tmp_path / "a")
    assert parsed > 1
    (tmp_path / "a").rename(tmp_path / "b")
    report, parsed, warnings = check(tmp_path / "b")
    assert parsed == 0 and warnings == []
    assert [(f.code, f.path, f.line) for f in report.findings] == [(f.code, f.path, f.line) for f in cold.findings]
    shutil.copytree(tmp_path / "b", tmp_path / "c")  # new inodes: each file hashed, none parsed
    assert check(tmp_path / "c")[1] == 0


def test_entries_of_files_that_are_gone_and_facts_no_entry_names_are_dropped(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache_module, "_SWEEP_AFTER", 1)
    write_tree(tmp_path, PROJECT)
    check(tmp_path)
    old = set(stored_facts(tmp_path))
    (tmp_path / "pkg" / "util.py").unlink()
    for path in sorted(tmp_path.rglob("*.py")):
        path.write_text(path.read_text() + "import json\n")  # new facts for every file
    report, parsed, _ = check(tmp_path)
    assert sorted(index_entries(tmp_path)) == ["pkg/__init__.py", "pkg/gemm.py"] and parsed == 2
    assert not old & set(stored_facts(tmp_path))  # no row of the old facts is left
    assert check(tmp_path)[:2] == (report, 0)


def test_old_facts_files_are_removed(tmp_path: Path) -> None:
    """The JSON files an earlier version kept facts in (index, facts, recent, delta) go."""
    write_tree(tmp_path, PROJECT)
    cache = tmp_path / ".importguard_cache"
    cache.mkdir()
    for kind in ("facts", "factdata", "factrecent", "factsdelta"):
        (cache / f"{kind}-0123456789abcdef.json").write_text("{}")
    check(tmp_path)
    assert [p.name for p in cache.glob("fact*")] == [index_file(tmp_path).name]


def test_cache_files_are_written_readable_to_the_group_the_umask_allows(tmp_path: Path) -> None:
    """A CI cache shared between users must not come out 0600 (as a mkstemp file would)."""
    from importguard.cache.store import _atomic_write

    old = os.umask(0o022)
    try:
        _atomic_write(tmp_path / "record.json", b"{}")
    finally:
        os.umask(old)
    assert (tmp_path / "record.json").stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"]  # no temporary left behind
    write_tree(tmp_path / "p", PROJECT)
    old = os.umask(0o022)
    try:
        check(tmp_path / "p")
    finally:
        os.umask(old)
    assert index_file(tmp_path / "p").stat().st_mode & 0o777 == 0o644


def test_a_moved_checkout_prints_the_same_report(tmp_path: Path) -> None:
    """Every path in the report is shown relative to the working directory, the fix
    hint's too: moving the checkout changes nothing the user reads."""
    tree = {
        "pkg/__init__.py": "from .ops import gemm\n",
        "pkg/ops.py": "import cutlass\n\ndef gemm():\n    pass\n",
        "pkg/user.py": "from pkg import gemm\n",
    }
    write_tree(tmp_path / "a", tree)
    before = cli(tmp_path / "a", "--output-format", "json")
    assert "(pkg/user.py:1)" in before.stdout  # where the lazy re-export's blocker is
    (tmp_path / "a").rename(tmp_path / "b")
    after = cli(tmp_path / "b", "--output-format", "json")
    assert (after.returncode, after.stdout) == (before.returncode, before.stdout)


def test_a_cache_directory_linked_to_another_projects_cache_is_never_written(tmp_path: Path) -> None:
    """Even when the link leads to a facts file this version could update: a check reads
    through the link at most, it writes nothing there."""
    write_tree(tmp_path / "a", PROJECT)
    check(tmp_path / "a")
    write_tree(tmp_path / "b", {**PROJECT, "pkg/more.py": "import pkg.gemm\n"})
    (tmp_path / "b" / ".importguard_cache").symlink_to(tmp_path / "a" / ".importguard_cache")
    before = {p.name: p.read_bytes() for p in (tmp_path / "a" / ".importguard_cache").iterdir()}
    _, parsed, warnings = check(tmp_path / "b")
    assert parsed >= 1 and any("symbolic link" in w for w in warnings)
    assert {p.name: p.read_bytes() for p in (tmp_path / "a" / ".importguard_cache").iterdir()} == before


def test_the_facts_an_edit_replaced_are_dropped_and_those_still_named_kept(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A save looks up the facts of the entries it replaced, not every row: the old
    facts of an edited file go, facts another entry still names stay (two files with the
    same text share theirs), and so does a row no entry names that this run did not
    make unnamed (a killed run's leftover, swept by the next big run)."""
    tree = {**PROJECT, "pkg/twin_a.py": "import os\n", "pkg/twin_b.py": "import os\n"}
    write_tree(tmp_path, tree)
    check(tmp_path)
    entries = index_entries(tmp_path)
    old_gemm, twin = entries["pkg/gemm.py"][-1], entries["pkg/twin_a.py"][-1]
    assert entries["pkg/twin_b.py"][-1] == twin
    database(tmp_path).execute("INSERT INTO facts (hash, data) VALUES ('leftover', '[]')")
    (tmp_path / "pkg" / "gemm.py").write_text("import sys\n\n\ndef gemm(x):\n    return x\n")
    (tmp_path / "pkg" / "twin_a.py").write_text("import sys\n")
    check(tmp_path)
    stored = stored_facts(tmp_path)
    entries = index_entries(tmp_path)
    assert old_gemm not in stored and entries["pkg/gemm.py"][-1] in stored
    assert twin in stored and entries["pkg/twin_b.py"][-1] == twin  # still named by twin_b
    assert "leftover" in stored
    assert {hashed for *_, hashed in entries.values()} <= set(stored)
    monkeypatch.setattr(cache_module, "_FLUSH_BYTES", 1)  # a run that writes before its end
    (tmp_path / "pkg" / "util.py").write_text("import pkg\n")
    check(tmp_path)
    stored = stored_facts(tmp_path)
    assert "leftover" not in stored and set(stored) == {hashed for *_, hashed in index_entries(tmp_path).values()}
