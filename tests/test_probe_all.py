"""`probe --all` (modules from files), `--shard I/N`, `--merge`, and the progress hook."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from importguard.cli.main import cli
from importguard.config import DEFAULT_EXCLUDE
from importguard.errors import UsageError
from importguard.probe.merge import merge, read_document
from importguard.probe.package_modules import PackageNotFound, package_modules, parse_shard, shard
from importguard.probe.runner import probe_modules
from importguard.output.progress import Progress

REPO = Path(__file__).resolve().parent.parent
AGREE = REPO / "fixtures" / "agree"
PROBE = REPO / "fixtures" / "probe"
ROOTS = [AGREE / "src", AGREE / "stubs"]


def test_modules_come_from_the_files_without_importing_them():
    found = package_modules("allpkg", ROOTS, DEFAULT_EXCLUDE)
    # __main__ would raise SystemExit if imported, and bad-name.py is no module name.
    assert found.modules == ("allpkg", "allpkg.nsdir.portion", "allpkg.plain", "allpkg.sub", "allpkg.sub.leaf")
    assert found.root == str(AGREE / "src")
    reasons = dict((Path(path).name, why) for path, why in found.skipped)
    assert reasons == {
        "__main__.py": "a __main__ module runs its program when imported",
        "bad-name.py": "its module name is not a dotted name of identifiers",
    }


def test_a_package_directory_is_named_from_its_init_files():
    found = package_modules(str(AGREE / "src" / "allpkg" / "sub"), [], DEFAULT_EXCLUDE)
    assert (found.package, found.modules) == ("allpkg.sub", ("allpkg.sub", "allpkg.sub.leaf"))


def test_namespace_package_and_plain_module():
    assert package_modules("allpkg.nsdir", ROOTS, DEFAULT_EXCLUDE).modules == ("allpkg.nsdir.portion",)
    assert package_modules("allpkg.plain", ROOTS, DEFAULT_EXCLUDE).modules == ("allpkg.plain",)


def test_a_package_that_is_not_there_is_one_sentence():
    with pytest.raises(PackageNotFound, match="package 'nopkg' was not found as files under"):
        package_modules("nopkg", ROOTS, DEFAULT_EXCLUDE)
    with pytest.raises(UsageError, match="is not a module name"):
        package_modules("no-pkg", ROOTS, DEFAULT_EXCLUDE)


def test_shards_partition_the_sorted_modules_and_spread_over_them():
    modules = [f"m{i:02d}" for i in range(10)]
    parts = [shard(list(reversed(modules)), i, 3) for i in (1, 2, 3)]
    assert parts[0] == ["m00", "m03", "m06", "m09"]
    assert sorted(sum(parts, [])) == modules
    assert parse_shard("2/4") == (2, 4)
    for bad in ("0/4", "5/4", "x", "1/", "1/0"):
        with pytest.raises(UsageError, match="--shard"):
            parse_shard(bad)


def test_probe_reports_each_module_as_it_finishes():
    seen = []
    results = probe_modules(["allpkg.plain", "allpkg.sub"], sys_path=ROOTS, timeout=30, jobs=2,
                            on_done=lambda result: seen.append(result.module))
    assert sorted(seen) == ["allpkg.plain", "allpkg.sub"]
    assert [r.status for r in results] == ["clean", "clean"]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_counts_modules_on_a_terminal():
    stream = _Terminal()
    with Progress(2, "probing", unit="modules", stream=stream) as progress:
        progress.advance()
        progress.advance()
    assert "probing [" in stream.getvalue()
    assert stream.getvalue().endswith("\r\x1b[K")


def _runner() -> CliRunner:
    try:
        return CliRunner(mix_stderr=False)
    except TypeError:
        return CliRunner()


def _probe(*args: str):
    return _runner().invoke(cli, ["probe", "--config", str(AGREE / "pyproject.toml"), *args])


def test_cli_all_shards_and_merge_give_the_whole_run(tmp_path):
    whole = _probe("--all", "allpkg", "--format", "json", "--jobs", "2")
    assert whole.exit_code == 0, whole.stderr
    document = json.loads(whole.stdout)
    assert [r["module"] for r in document["results"]] == [
        "allpkg", "allpkg.nsdir.portion", "allpkg.plain", "allpkg.sub", "allpkg.sub.leaf"]
    assert document["run"] == {"packages": [{"package": "allpkg", "modules": 5}], "shard": None}
    assert "not probed: a __main__ module runs its program when imported" in whole.stderr
    assert "probed 5 modules (of the 5 in `allpkg`): 5 clean" in whole.stderr

    files = []
    for index in (1, 2):
        part = _probe("--all", "allpkg", "--shard", f"{index}/2", "--format", "json")
        assert part.exit_code == 0, part.stderr
        assert json.loads(part.stdout)["run"]["shard"] == {"index": index, "count": 2}
        assert f"(shard {index}/2 of the 5 in `allpkg`): " in part.stderr
        files.append(tmp_path / f"shard{index}.json")
        files[-1].write_text(part.stdout)
    merged = _probe("--merge", *map(str, reversed(files)), "--format", "json")
    assert merged.exit_code == 0, merged.stderr
    merged_document = json.loads(merged.stdout)
    assert [(r["module"], r["status"]) for r in merged_document["results"]] == [
        (r["module"], r["status"]) for r in document["results"]]
    assert merged_document["run"] == {"packages": [{"package": "allpkg", "modules": 5}], "shard": None}
    assert "warning" not in merged.stderr

    missing = _probe("--merge", str(files[0]))
    assert "warning: shard 2 of 2 is missing: the merged results do not cover the whole package" in missing.stderr


def test_merge_keeps_the_first_of_two_different_results_and_says_so(tmp_path):
    first = json.loads(_probe("allpkg.plain", "--format", "json").stdout)
    second = json.loads(json.dumps(first))
    second["results"][0]["status"] = "import-error"
    paths = [tmp_path / "a.json", tmp_path / "b.json"]
    for path, document in zip(paths, (first, second)):
        path.write_text(json.dumps(document))
    results, _, warnings = merge([read_document(str(p)) for p in paths])
    assert [r.status for r in results] == ["clean"]
    assert warnings == [f"`allpkg.plain` is in {paths[0]} and {paths[1]} with different results; "
                        f"kept the one from {paths[0]}"]


@pytest.mark.parametrize("content, reason", [
    ("[" * 50 + "]" * 50, "nested more than 8 deep"),
    ('{"version": 1, "results": [{"module": "m", "status": "clean", "driver": {}, "import_seconds": NaN}]}',
     "non-standard JSON constant NaN"),
    ('{"version": 2, "results": []}', "version is 2, not 1"),
    ('{"version": 1, "results": [{"module": "m", "status": "fine", "driver": {}}]}', "'fine' is not one of"),
    ('{"version": 1, "results": [{"module": "a b", "status": "clean", "driver": {}}]}', "is not a module name"),
])
def test_merge_refuses_a_bad_file_with_one_sentence(tmp_path, content, reason):
    path = tmp_path / "bad.json"
    path.write_text(content)
    result = _probe("--merge", str(path))
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"importguard: error: {path} is not probe JSON: ")
    assert reason in line


def test_cli_option_combinations_are_refused():
    assert "--shard splits the modules of --all" in _probe("allpkg", "--shard", "1/2").stderr
    assert "--merge reads finished runs" in _probe("--merge", "--all", "x.json").stderr


def test_a_file_name_with_terminal_escapes_is_not_printed_raw(tmp_path):
    package = tmp_path / "escpkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "\x1b[2Jclear.py").write_text("")
    result = _runner().invoke(cli, ["probe", "--all", str(package), "--config", str(AGREE / "pyproject.toml")])
    assert result.exit_code == 0, result.stderr
    assert "\x1b" not in result.stderr
    assert "?[2Jclear.py: not probed: its module name is not a dotted name of identifiers" in result.stderr
