"""The facts cache: what invalidates an entry, what survives damage, and that a warm
run gives the cold run's output without importing LibCST."""

from __future__ import annotations

import json
import shutil
import os
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
    (found,) = (root / ".importguard_cache").glob("facts-*.json")
    return found


def index_entries(root: Path) -> dict:
    """The index as a run reads it: the index file, then the entries changed since."""
    entries = json.loads(index_file(root).read_text())["entries"]
    for delta in (root / ".importguard_cache").glob("factsdelta-*.json"):
        entries.update(json.loads(delta.read_text())["entries"])
    return entries


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
    assert len(list((tmp_path / ".importguard_cache").glob("facts-*.json"))) == 2


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
    index_file(tmp_path).write_bytes(b'{"format": 1, "entr')
    report, parsed, warnings = check(tmp_path)
    assert parsed == 3 and report == cold
    assert len(warnings) == 1 and warnings[0].startswith("ignoring corrupt cache")
    assert check(tmp_path)[1:] == (0, [])


def test_corrupt_entry_is_rebuilt_with_one_warning(tmp_path: Path) -> None:
    write_tree(tmp_path, PROJECT)
    cold = check(tmp_path)[0]
    index = index_file(tmp_path)
    entries = json.loads(index.read_text())["entries"]
    facts_file = index.with_name(index.name.replace("facts-", "factrecent-"))  # a few files: all recent
    data = json.loads(facts_file.read_text())
    hashes = [entry[4] for entry in entries.values()]
    unique = [h for h in hashes if hashes.count(h) == 1][:2]  # facts of one file each
    for hashed in unique:
        data["facts"][hashed] = [["not", "facts"]]
    facts_file.write_text(json.dumps(data))
    report, parsed, warnings = check(tmp_path)
    assert parsed == 2 and report == cold
    assert warnings == [f"ignored 2 corrupt cache entries in {index}; rebuilt them"]
    assert check(tmp_path)[1:] == (0, [])


def test_foreign_version_index_is_rebuilt_with_one_warning(tmp_path: Path) -> None:
    write_tree(tmp_path, PROJECT)
    check(tmp_path)
    index = index_file(tmp_path)
    data = json.loads(index.read_text())
    data["key"]["importguard"] = "0.0.1"
    index.write_text(json.dumps(data))
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
    assert list((tmp_path / "build" / "igcache").glob("facts-*.json"))


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
    assert all("warning" not in stderr for _, stderr in outputs)
    after = cli(tmp_path, "--jobs", "2")
    assert (after.stdout, after.stderr) == outputs[0]
    assert json.loads(index_file(tmp_path).read_text())["format"] == cache_module.FORMAT


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


def test_facts_live_apart_from_the_index_and_a_lost_facts_file_is_collected_again(tmp_path: Path) -> None:
    write_tree(tmp_path, PROJECT)
    cold = check(tmp_path)[0]
    index = index_file(tmp_path)
    recent = index.with_name(index.name.replace("facts-", "factrecent-"))
    entries = json.loads(index.read_text())["entries"]
    stored = json.loads(recent.read_text())["facts"]
    assert entries and all(len(entry) == 5 and entry[4] in stored for entry in entries.values())
    assert not index.with_name(index.name.replace("facts-", "factdata-")).exists()  # few facts: not folded yet
    recent.unlink()
    report, parsed, warnings = check(tmp_path)
    assert report == cold and parsed == len(entries) and warnings == []
    assert check(tmp_path)[1] == 0


def test_many_new_facts_are_folded_into_the_facts_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache_module, "_RECENT_LIMIT", 1)
    write_tree(tmp_path, PROJECT)
    cold = check(tmp_path)[0]
    index = index_file(tmp_path)
    entries = json.loads(index.read_text())["entries"]
    # The facts file: a header line saying where each entry lies, then the entries.
    raw = index.with_name(index.name.replace("facts-", "factdata-")).read_bytes()
    header, body = raw.split(b"\n", 1)
    offsets = json.loads(header)["offsets"]
    folded = {h: json.loads(body[start:start + length]) for h, (start, length) in offsets.items()}
    assert sum(length for _, length in offsets.values()) == len(body)
    recent = json.loads(index.with_name(index.name.replace("facts-", "factrecent-")).read_text())["facts"]
    assert recent == {} and all(entry[4] in folded for entry in entries.values())
    assert check(tmp_path)[:2] == (cold, 0)


def test_a_facts_file_entry_that_is_not_where_its_offsets_say_is_collected_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache_module, "_RECENT_LIMIT", 1)
    write_tree(tmp_path, PROJECT)
    cold = check(tmp_path)[0]
    data = next((tmp_path / ".importguard_cache").glob("factdata-*.json"))
    header, body = data.read_bytes().split(b"\n", 1)
    offsets = json.loads(header)
    for where in offsets["offsets"].values():
        where[0] += 1  # every entry now starts one byte late: none parses
    data.write_bytes(json.dumps(offsets).encode() + b"\n" + body)
    report, parsed, _ = check(tmp_path)
    assert report == cold and parsed == len(offsets["offsets"]) > 0


def test_a_second_save_writes_only_what_is_new(tmp_path: Path) -> None:
    """A long-lived cache (the language server's) rewrites its index only when it has
    learned something since the last save."""
    write_tree(tmp_path, PROJECT)
    config = load_config(None, tmp_path)
    cache = FactsCache.open(tmp_path / ".importguard_cache", config)
    source = SourceFile(str(tmp_path / "pkg" / "util.py"), "pkg.util", False, str(tmp_path))
    cache.store(source, "0" * 32, None, ModuleFacts("pkg.util", source.path, False))
    cache.save()
    written = index_file(tmp_path).stat().st_ino
    cache.save()
    assert index_file(tmp_path).stat().st_ino == written  # not rewritten (a write replaces the file)
    other = SourceFile(str(tmp_path / "pkg" / "gemm.py"), "pkg.gemm", False, str(tmp_path))
    cache.store(other, "1" * 32, None, ModuleFacts("pkg.gemm", other.path, False))
    cache.save()
    # The new entry goes to the small delta file; the index stays as it was.
    assert index_file(tmp_path).stat().st_ino == written
    (delta,) = (tmp_path / ".importguard_cache").glob("factsdelta-*.json")
    assert list(json.loads(delta.read_text())["entries"]) == ["pkg/gemm.py"]  # relative to the project root
    assert sorted(index_entries(tmp_path)) == ["pkg/gemm.py", "pkg/util.py"]


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


def test_many_changed_entries_are_folded_into_the_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache_module, "_RECENT_LIMIT", 1)
    write_tree(tmp_path, PROJECT)
    check(tmp_path)
    for path in sorted(tmp_path.rglob("*.py")):
        path.write_text(path.read_text() + "# edited\n")
    report, parsed, _ = check(tmp_path)
    (delta,) = (tmp_path / ".importguard_cache").glob("factsdelta-*.json")
    assert json.loads(delta.read_text())["entries"] == {} and parsed > 1
    assert check(tmp_path)[:2] == (report, 0)


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
