"""verify-install against a real virtual environment.

Wheels are built by hand (zip + dist-info with METADATA/WHEEL/RECORD) and installed by
real pip (`pip --python VENV install --no-index --no-deps`) into one venv made with
`--without-pip` (fast); pip writes the RECORD, .pyc entries and the bin/ script as it
would for a user. The module's fixture then damages the venv once; each test reads it.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from importguard.cli.main import cli
from importguard.installed.interpreter import iter_distributions, normalize_name, target_paths
from importguard.output.progress import Progress
from importguard.installed.record import parse_record
from importguard.installed.verify import ProblemKind, verify


def _digest(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode().rstrip("=")


def build_wheel(
    directory: Path, name: str, version: str, files: dict[str, bytes], scripts=None
) -> Path:
    """A py3-none-any wheel with a correct RECORD."""
    stem = f"{name.replace('-', '_')}-{version}"
    contents = dict(files)
    for script, data in (scripts or {}).items():
        contents[f"{stem}.data/scripts/{script}"] = data
    contents[f"{stem}.dist-info/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    )
    contents[f"{stem}.dist-info/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: importguard-tests\n"
        b"Root-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = "".join(f"{path},{_digest(data)},{len(data)}\n" for path, data in contents.items())
    contents[f"{stem}.dist-info/RECORD"] = (record + f"{stem}.dist-info/RECORD,,\n").encode()
    wheel = directory / f"{stem}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in contents.items():
            archive.writestr(path, data)
    return wheel


def _pip_install(python: Path, *wheels: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-index",
            "--no-deps",
            "--disable-pip-version-check",
            "-q",
            *map(str, wheels),
        ],
        check=True,
    )


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("verify")
    wheels = root / "wheels"
    wheels.mkdir()
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / "venv")], check=True)
    python = root / "venv" / "bin" / "python"
    first = [
        build_wheel(
            wheels,
            "good-pkg",
            "1.0",
            {"good_pkg/__init__.py": b"X = 1\n"},
            scripts={"ig-good-tool": b"#!/bin/sh\necho good\n"},
        ),
        build_wheel(
            wheels,
            "Corrupt_Pkg",
            "2.0",
            {
                "corrupt_pkg/__init__.py": b"",
                "corrupt_pkg/core.py": b"VALUE = 1\n",
                "corrupt_pkg/big.txt": b"0123456789" * 10,
            },
            scripts={"ig-corrupt-tool": b"#!/bin/sh\necho corrupt\n"},
        ),
        build_wheel(
            wheels,
            "missing-pkg",
            "1.0",
            {"missing_pkg/__init__.py": b"", "missing_pkg/gone.py": b"G = 1\n"},
        ),
        build_wheel(wheels, "norecord-pkg", "1.0", {"norecord_pkg/__init__.py": b""}),
        build_wheel(wheels, "nometa-pkg", "3.0", {"nometa_pkg/__init__.py": b""}),
        build_wheel(
            wheels,
            "left-pkg",
            "1.0",
            {
                "left_pkg/__init__.py": b"",
                "shared/lib.py": b"SIDE = 'left'\n",
                "shared_ns/__init__.py": b"# namespace\n",
            },
        ),
    ]
    _pip_install(python, *first)
    # Installed last, so its shared/lib.py is the one on disk.
    _pip_install(
        python,
        build_wheel(
            wheels,
            "right-pkg",
            "1.0",
            {
                "right_pkg/__init__.py": b"",
                "shared/lib.py": b"SIDE = 'right'\n",
                "shared_ns/__init__.py": b"# namespace\n",
            },
        ),
    )
    site = Path(target_paths(str(python)).purelib)
    (site / "corrupt_pkg/core.py").write_bytes(b"VALUE = 2\n")  # same size, other content
    (site / "corrupt_pkg/big.txt").write_bytes(b"0123456789")  # truncated
    (root / "venv/bin/ig-corrupt-tool").write_bytes(b"#!/bin/sh\necho CORRUPT\n")
    (site / "missing_pkg/gone.py").unlink()
    (site / "norecord_pkg-1.0.dist-info/RECORD").unlink()
    (site / "nometa_pkg-3.0.dist-info/METADATA").unlink()
    return {"python": str(python), "site": site}


def run(*args):
    result = CliRunner().invoke(cli, ["verify-install", *args])
    return result.exit_code, result.stdout, result.stderr


def by_name(document):
    return {d["normalized_name"]: d for d in document["distributions"]}


def problems(document, name):
    return [
        (p["kind"], p["path"], p["expected"], p["actual"], p["other"])
        for p in by_name(document)[name]["problems"]
    ]


def test_each_problem_is_reported_exactly(env):
    code, out, _ = run("--python", env["python"], "--format", "json")
    assert code == 1
    document = json.loads(out)
    assert document["version"] == 1
    dists = by_name(document)
    assert sorted(dists) == [
        "corrupt-pkg",
        "good-pkg",
        "left-pkg",
        "missing-pkg",
        "nometa-pkg",
        "norecord-pkg",
        "right-pkg",
    ]
    assert problems(document, "corrupt-pkg") == [
        (
            "hash-mismatch",
            "../../../bin/ig-corrupt-tool",
            _digest(b"#!/bin/sh\necho corrupt\n"),
            _digest(b"#!/bin/sh\necho CORRUPT\n"),
            None,
        ),
        ("size-mismatch", "corrupt_pkg/big.txt", "100", "10", None),
        (
            "hash-mismatch",
            "corrupt_pkg/core.py",
            _digest(b"VALUE = 1\n"),
            _digest(b"VALUE = 2\n"),
            None,
        ),
    ]
    assert problems(document, "missing-pkg") == [
        ("missing", "missing_pkg/gone.py", _digest(b"G = 1\n"), None, None)
    ]
    assert problems(document, "norecord-pkg") == [
        ("no-record", "norecord_pkg-1.0.dist-info/RECORD", None, None, None)
    ]
    # Without METADATA, name and version come from the directory name; RECORD lists it too.
    metadata = "Metadata-Version: 2.1\nName: nometa-pkg\nVersion: 3.0\n".encode()
    assert problems(document, "nometa-pkg") == [
        ("bad-metadata", "nometa_pkg-3.0.dist-info/METADATA", None, None, None),
        ("missing", "nometa_pkg-3.0.dist-info/METADATA", _digest(metadata), None, None),
    ]
    assert dists["nometa-pkg"]["reinstall"] == (
        f"{env['python']} -m pip install --force-reinstall --no-deps nometa_pkg==3.0"
    )
    assert problems(document, "left-pkg") == [
        (
            "overwritten",
            "shared/lib.py",
            _digest(b"SIDE = 'left'\n"),
            _digest(b"SIDE = 'right'\n"),
            "right-pkg",
        )
    ]
    for intact in ("good-pkg", "right-pkg"):
        assert dists[intact]["status"] == "intact" and dists[intact]["reinstall"] is None
    assert dists["corrupt-pkg"]["reinstall"] == (
        f"{env['python']} -m pip install --force-reinstall --no-deps Corrupt_Pkg==2.0"
    )
    assert dists["missing-pkg"]["reinstall"] == (
        f"{env['python']} -m pip install --force-reinstall --no-deps missing-pkg==1.0"
    )


def test_conflicts_name_both_distributions_and_the_winner(env):
    _, out, _ = run("--python", env["python"], "--format", "json")
    conflicts = [
        (
            c["path"],
            c["hashes_differ"],
            c["winner"],
            [(k["name"], k["matches_disk"]) for k in c["claims"]],
        )
        for c in json.loads(out)["conflicts"]
    ]
    # The .pyc both installed for shared/lib.py has no hash in either RECORD: not listed.
    assert conflicts == [
        ("shared/lib.py", True, "right-pkg", [("left-pkg", False), ("right-pkg", True)]),
        ("shared_ns/__init__.py", False, None, [("left-pkg", True), ("right-pkg", True)]),
    ]


def test_counts_hashed_and_unhashed_files(env):
    _, out, _ = run("--python", env["python"], "--format", "json")
    good = by_name(json.loads(out))["good-pkg"]
    # Hashed: __init__.py, the bin/ script, METADATA, WHEEL, INSTALLER, REQUESTED,
    # direct_url.json. Unhashed: RECORD and the .pyc pip compiled.
    assert (good["recorded"], good["checked"], good["unhashed"]) == (9, 7, 2)


def test_text_states_problem_detail_fix(env):
    code, out, err = run("--python", env["python"])
    assert code == 1
    site, python = env["site"], env["python"]
    script_was, script_is = (
        _digest(b"#!/bin/sh\necho corrupt\n"),
        _digest(b"#!/bin/sh\necho CORRUPT\n"),
    )
    core_was, core_is = _digest(b"VALUE = 1\n"), _digest(b"VALUE = 2\n")
    blocks = out.split("\n")
    start = blocks.index(f"Corrupt_Pkg 2.0: 3 problems ({site})")
    differs = "content differs from RECORD"
    assert blocks[start + 1 : start + 5] == [
        f"  ../../../bin/ig-corrupt-tool: {differs} (recorded {script_was}, on disk {script_is})",
        "  corrupt_pkg/big.txt: size is 10 bytes, RECORD says 100",
        f"  corrupt_pkg/core.py: {differs} (recorded {core_was}, on disk {core_is})",
        f"  fix: {python} -m pip install --force-reinstall --no-deps Corrupt_Pkg==2.0",
    ]
    start = blocks.index(f"left-pkg 1.0: 1 problem ({site})")
    assert blocks[start + 1 : start + 3] == [
        "  shared/lib.py: holds right-pkg 1.0's content (both install this path)",
        (
            f"  fix: {python} -m pip install --force-reinstall --no-deps left-pkg==1.0 (its files "
            "then win the paths it shares with right-pkg: see the conflict below)"
        ),
    ]
    start = blocks.index(
        "conflict: left-pkg 1.0 and right-pkg 1.0 both install the same path "
        "with different contents"
    )
    assert blocks[start + 1 : start + 6] == [
        "  on disk: 0 from left-pkg, 1 from right-pkg",
        "  shared/lib.py: right-pkg's",
        (
            "  fix: the distribution installed last wins every path it shares; "
            "reinstall the one whose files you need:"
        ),
        f"    {python} -m pip install --force-reinstall --no-deps left-pkg==1.0",
        f"    {python} -m pip install --force-reinstall --no-deps right-pkg==1.0",
    ]
    assert "note: left-pkg 1.0 and right-pkg 1.0 both install the same path with identical" in out
    assert err.startswith("verify-install: 7 distributions in ")
    assert err.rstrip().endswith(": 5 broken, 1 path installed by several distributions")


def test_named_intact_distribution_exits_0(env):
    code, out, err = run("GOOD_pkg", "--python", env["python"])
    assert (code, out) == (0, "")
    assert err.rstrip().endswith("all intact")


def test_names_are_case_and_separator_insensitive(env):
    code, out, _ = run("corrupt.PKG", "Missing_Pkg", "--python", env["python"], "--format", "json")
    assert code == 1
    assert sorted(by_name(json.loads(out))) == ["corrupt-pkg", "missing-pkg"]


def test_conflict_counts_when_only_the_winner_is_named(env):
    code, out, _ = run("right-pkg", "--python", env["python"], "--format", "json")
    document = json.loads(out)
    assert by_name(document)["right-pkg"]["status"] == "intact"
    assert [c["path"] for c in document["conflicts"]] == ["shared/lib.py", "shared_ns/__init__.py"]
    assert code == 1


def test_json_is_deterministic(env):
    assert run("--python", env["python"], "--format", "json") == run(
        "--python", env["python"], "--format", "json"
    )


def test_reads_only(env):
    root = Path(env["python"]).parent.parent

    def snapshot():
        return sorted(
            (str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in root.rglob("*") if p.is_file()
        )

    before = snapshot()
    run("--python", env["python"])
    assert snapshot() == before


def test_unknown_name_is_a_tool_error(env):
    code, out, err = run("good-pkgg", "--python", env["python"])
    assert (code, out) == (2, "")
    assert err == (
        f"importguard: error: no distribution named 'good-pkgg' is installed in "
        f"{env['python']} (Python {target_paths(env['python']).version}); "
        "did you mean 'good-pkg'?\n"
    )


def test_missing_python_is_a_tool_error(tmp_path):
    code, out, err = run("--python", str(tmp_path / "nope" / "python"))
    assert (code, out) == (2, "")
    assert err == f"importguard: error: --python {tmp_path}/nope/python: no such file\n"


def test_python_that_is_not_python_is_a_tool_error(tmp_path):
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho not json\n")
    fake.chmod(0o755)
    code, _, err = run("--python", str(fake))
    assert code == 2
    assert err == (
        f"importguard: error: --python {fake} is not a working Python interpreter "
        "(its output was not the expected JSON)\n"
    )
    assert "Traceback" not in err


def test_running_interpreter_is_the_default():
    paths = target_paths(None)
    assert paths.python is None and paths.sys_path == tuple(sys.path)
    ours = [d for d in iter_distributions(paths) if d.normalized_name == "importguard"]
    assert ours and ours[0].location in paths.site_packages
    report = verify(paths, ["importguard"])
    assert [(d.distribution.normalized_name, d.problems) for d in report.distributions] == [
        ("importguard", ())
    ]
    assert report.distributions[0].reinstall.startswith("pip install --force-reinstall --no-deps ")


def test_record_lines_that_cannot_be_used_are_reported():
    record = parse_record(
        "a.py,sha256=abc,3\nb.py,sha256,3\nc.py,md5=abc,3\nd.py,sha256=abc,big\n,sha256=abc,3\n\nRECORD,,\n"
    )
    assert [(e.path, e.recorded_hash, e.size) for e in record.entries] == [
        ("a.py", "sha256=abc", 3),
        ("RECORD", None, None),
    ]
    assert [(b.line, b.reason) for b in record.bad_lines] == [
        (2, "b.py: hash 'sha256' is not ALGORITHM=DIGEST"),
        (3, "c.py: unsupported hash algorithm 'md5'"),
        (4, "d.py: size 'big' is not a number"),
        (5, "empty path"),
    ]


def test_normalize_name():
    assert normalize_name("Foo.Bar__baz-QUX") == "foo-bar-baz-qux"


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_progress_is_silent_off_a_terminal():
    stream = _Stream(tty=False)
    with Progress(10, "hashing", "bytes", stream) as bar:
        bar.advance(10)
    assert stream.getvalue() == ""


def test_progress_draws_and_erases_on_a_terminal():
    stream = _Stream(tty=True)
    with Progress(2000, "hashing", "bytes", stream) as bar:
        bar.advance(1000)
    assert stream.getvalue().startswith("\rhashing [" + "." * 30 + "]   0% 0 B/2.0 KB")
    assert stream.getvalue().endswith("\r\x1b[K")


def test_problem_kinds_are_stable():
    # The JSON schema (docs/verify-install.md) promises these strings.
    assert [k.value for k in ProblemKind] == [
        "missing",
        "size-mismatch",
        "hash-mismatch",
        "overwritten",
        "unreadable",
        "bad-record-line",
        "no-record",
        "bad-metadata",
        "outside-environment",
    ]
