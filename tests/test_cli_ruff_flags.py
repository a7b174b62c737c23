"""The flags and config keys a ruff user types: rule selectors that must name a rule,
extend-select/extend-ignore, --config KEY=VALUE, respect-gitignore, --stdin-filename,
--output-file, --exit-non-zero-on-fix, config errors with file:line."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from conftest import write_tree
from test_cli import REEXPORT, run

from importguard.config import KNOWN_KEYS, _from_table, _TableReader
from importguard.selection import Selection, selected_codes

RULES = [("IG001", False), ("IG002", False), ("IG003", False), ("IG900", False), ("IG903", True)]

# pkg/__init__.py re-exports a module importing cutlass (IG001); pkg/cfg.py calls a sink
# at import (IG003); pkg/clean.py has a `# noqa` that suppresses nothing (IG903 when selected).
TREE = {
    **REEXPORT,
    "pkg/cfg.py": "import torch\nOK = torch.cuda.is_available()\n",
    "pkg/clean.py": "import os  # noqa: IG001\n",
}


def codes(stdout: str) -> list[str]:
    return sorted({line.split(": ", 1)[1].split()[0] for line in stdout.splitlines() if ": IG" in line})


# -- selection.py: ruff's layers

def test_a_layer_with_select_replaces_one_without_adds_and_removes():
    config = Selection(select=("IG001",), extend_select=("IG003",))
    assert selected_codes(RULES, [config]) == {"IG001", "IG003"}
    assert selected_codes(RULES, [config, Selection(extend_select=("IG903",))]) == {"IG001", "IG003", "IG903"}
    assert selected_codes(RULES, [config, Selection(select=("IG002",))]) == {"IG002"}
    assert selected_codes(RULES, [config, Selection(ignore=("IG001",))]) == {"IG003"}
    # No select anywhere: the defaults (IG903 is opt-in), plus what extend-select adds.
    assert selected_codes(RULES, [Selection(extend_select=("IG9",))]) == {"IG001", "IG002", "IG003", "IG900", "IG903"}


def test_the_more_specific_selector_wins_and_ignore_wins_a_tie():
    assert selected_codes(RULES, [Selection(select=("IG001",), ignore=("IG0",))]) == {"IG001"}
    assert selected_codes(RULES, [Selection(select=("IG0",), ignore=("IG001",))]) == {"IG002", "IG003"}
    assert selected_codes(RULES, [Selection(select=("IG001",), ignore=("IG001",))]) == set()


# -- unknown selectors

@pytest.mark.parametrize("args, message", [
    (("--select", "IG0001"), "--select: `IG0001` is not a rule code or prefix; did you mean `IG001`?"),
    (("--ignore", "IG5"), "--ignore: `IG5` is not a rule code or prefix"),
    (("--extend-select", "ig003,IG0003"), "--extend-select: `IG0003` is not a rule code or prefix; did you mean `IG003`?"),
])
def test_an_unknown_selector_on_the_command_line_is_an_error(tmp_path, args, message):
    write_tree(tmp_path, TREE)
    done = run("check", *args, cwd=tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith(f"importguard: error: {message}") and done.stderr.count("\n") == 1


@pytest.mark.parametrize("table, message", [
    ('select = ["IG100"]\n', "pyproject.toml:3: [tool.importguard] select: `IG100` is not a rule code or prefix; did you mean `IG001`?"),
    ('extend-ignore = ["IG1"]\n', "pyproject.toml:3: [tool.importguard] extend-ignore: `IG1` is not a rule code or prefix"),
    ('[tool.importguard.per-file-ignores]\n"pkg/*" = ["IG01"]\n',
     "pyproject.toml:3: [tool.importguard] per-file-ignores ('pkg/*'): `IG01` is not a rule code or prefix; did you mean `IG001`?"),
])
def test_an_unknown_selector_in_the_config_names_its_line(tmp_path, table, message):
    write_tree(tmp_path, {**TREE, "pyproject.toml": "[project]\n[tool.importguard]\n" + table})
    done = run("check", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    assert message in done.stderr and done.stderr.count("\n") == 1


def test_prefixes_of_real_codes_and_all_stay_valid(tmp_path):
    write_tree(tmp_path, TREE)
    for selector in ("IG", "IG0", "IG00", "IG001", "ALL"):
        assert run("check", "--select", selector, cwd=tmp_path).returncode == 1, selector


# -- extend-select / extend-ignore

def test_extend_select_and_extend_ignore_on_the_command_line_and_in_config(tmp_path):
    write_tree(tmp_path, {**TREE, "pyproject.toml": '[tool.importguard]\nselect = ["IG001"]\n'})
    assert codes(run("check", cwd=tmp_path).stdout) == ["IG001"]
    assert codes(run("check", "--extend-select", "IG003", cwd=tmp_path).stdout) == ["IG001", "IG003"]
    assert codes(run("check", "--select", "IG003", cwd=tmp_path).stdout) == ["IG003"]
    assert codes(run("check", "--extend-select", "IG", "--extend-ignore", "IG001", cwd=tmp_path).stdout) == [
        "IG003", "IG903"]
    write_tree(tmp_path, {"pyproject.toml": '[tool.importguard]\nextend-select = ["IG903"]\nextend-ignore = ["IG003"]\n'})
    assert codes(run("check", cwd=tmp_path).stdout) == ["IG001", "IG903"]
    # The command line's --ignore adds to the config's (ruff), it does not replace it.
    assert codes(run("check", "--ignore", "IG001", cwd=tmp_path).stdout) == ["IG903"]


# -- --config KEY=VALUE

def test_config_key_value_overrides_the_file(tmp_path):
    write_tree(tmp_path, {**TREE, "pyproject.toml": '[tool.importguard]\nselect = ["IG001"]\n'})
    assert codes(run("check", "--config", 'select = ["IG003"]', cwd=tmp_path).stdout) == ["IG003"]
    both = run("check", "--config", "pyproject.toml", "--config", "extend-select = ['IG903']", cwd=tmp_path)
    assert codes(both.stdout) == ["IG001", "IG903"]


@pytest.mark.parametrize("value, message", [
    ("selct = ['IG001']", "--config \"selct = ['IG001']\": unknown key `selct`; did you mean `select`?"),
    ("select", "--config 'select' is neither a config file nor a TOML `KEY = VALUE` pair"),
    ("cuda-free = 'pkg'", "--config \"cuda-free = 'pkg'\" must be a list of strings"),
    ("select = ['IG0001']", "`IG0001` is not a rule code or prefix; did you mean `IG001`?"),
])
def test_a_bad_config_override_is_one_sentence(tmp_path, value, message):
    write_tree(tmp_path, TREE)
    done = run("check", "--config", value, cwd=tmp_path)
    assert done.returncode == 2 and message in done.stderr and done.stderr.count("\n") == 1, done.stderr


# -- config errors: file:line and "did you mean"

def test_config_errors_name_the_line_of_the_key(tmp_path):
    write_tree(tmp_path, {**TREE, "pyproject.toml": "[tool.importguard]\nsrc = []\n\ncuda-free = 'pkg'\n"})
    done = run("check", cwd=tmp_path)
    assert done.returncode == 2
    assert f"{tmp_path / 'pyproject.toml'}:4: [tool.importguard] cuda-free must be a list of strings" in done.stderr
    write_tree(tmp_path, {"pyproject.toml": "[tool.importguard]\nsrc = []\nexclud = []\n"})
    done = run("check", cwd=tmp_path)
    assert "pyproject.toml:3: unknown key `exclud` in [tool.importguard]; did you mean `exclude`?" in done.stderr


def test_every_known_key_is_read():
    reader_seen = set()
    original = _TableReader.reject_unknown

    def spy(self):
        reader_seen.update(self.seen)
        return original(self)

    _TableReader.reject_unknown = spy
    try:
        _from_table({}, Path("pyproject.toml"))
    finally:
        _TableReader.reject_unknown = original
    assert reader_seen == set(KNOWN_KEYS)


def test_a_default_sink_restated_in_config_keeps_its_measured_reason(tmp_path):
    write_tree(tmp_path, {**REEXPORT, "pyproject.toml": '[tool.importguard]\nsink-modules = ["cutlass"]\n'})
    out = run("check", "--output-format", "full", cwd=tmp_path).stdout
    assert "initializes the CUDA driver at import in nvidia-cutlass-dsl 4.5.2" in out
    assert "[CUDA initializer in some versions (measured)]" in out and "configured" not in out  # the default's strength


# -- respect-gitignore

@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_files_git_ignores_are_not_discovered_unless_named(tmp_path):
    write_tree(tmp_path, {
        **TREE,
        ".gitignore": "generated/\n",
        "pkg/.gitignore": "*_gen.py\n",
        "generated/__init__.py": "import cutlass\n",
        "pkg/ops_gen.py": "import torch\ntorch.cuda.is_available()\n",
        "local/__init__.py": "import cutlass\n",
    })
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".git" / "info" / "exclude").write_text("local\n")
    listed = run("check", "--show-files", cwd=tmp_path).stdout.splitlines()
    assert "pkg/cfg.py" in listed
    assert not [p for p in listed if p.startswith(("generated/", "local/", "pkg/ops_gen"))]
    assert [p for p in run("check", "--show-files", "--no-respect-gitignore", cwd=tmp_path).stdout.splitlines()
            if p.startswith(("generated/", "local/", "pkg/ops_gen"))] == [
        "generated/__init__.py", "local/__init__.py", "pkg/ops_gen.py"]

    first = run("check", cwd=tmp_path)
    assert "generated" not in first.stdout and "ops_gen" not in first.stdout
    # A file named on the command line is checked, ignored or not (as ruff does).
    assert "pkg/ops_gen.py:2:1: IG003" in run("check", "pkg/ops_gen.py", cwd=tmp_path).stdout
    # The config key turns it off.
    write_tree(tmp_path, {"pyproject.toml": "[tool.importguard]\nrespect-gitignore = false\n"})
    assert "generated/__init__.py:1:1: IG001" in run("check", cwd=tmp_path).stdout
    (tmp_path / "pyproject.toml").unlink()
    assert "generated" not in run("check", cwd=tmp_path).stdout
    # A changed .gitignore is seen by the next (cached) check: no stale replay.
    (tmp_path / "pkg" / ".gitignore").write_text("")
    assert "pkg/ops_gen.py:2:1: IG003" in run("check", cwd=tmp_path).stdout


# -- --stdin-filename

def test_stdin_is_checked_as_the_file_named(tmp_path):
    write_tree(tmp_path, TREE)
    source = "import torch\ntorch.cuda.get_device_name()\n"
    for args in (("--stdin-filename", "pkg/clean.py"), ("--stdin-filename", "pkg/clean.py", "-")):
        done = subprocess.run([*run_prefix(), "check", *args], cwd=tmp_path, input=source,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 1, done.stderr
        assert done.stdout.startswith("pkg/clean.py:2:1: IG003 `torch.cuda.get_device_name()` runs at import")
        assert "Found 1 finding in 1 file checked." in done.stderr
    assert (tmp_path / "pkg" / "clean.py").read_text() == TREE["pkg/clean.py"]
    done = subprocess.run([*run_prefix(), "check", "-"], cwd=tmp_path, input=source, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2 and "needs --stdin-filename" in done.stderr


def run_prefix() -> list[str]:
    import sys

    return [sys.executable, "-m", "importguard"]


# -- --output-file

def test_output_file_gets_stdout_whole_and_atomically(tmp_path):
    write_tree(tmp_path, TREE)
    expected = run("check", "--output-format", "json", cwd=tmp_path).stdout
    target = tmp_path / "reports" / "out.json"
    done = run("check", "--output-format", "json", "--output-file", "reports/out.json", cwd=tmp_path)
    assert done.returncode == 1 and done.stdout == "" and "Found" in done.stderr
    assert target.read_text() == expected
    target.write_text("old")
    assert run("check", "--output-format", "json", "-o", "reports/out.json", cwd=tmp_path).returncode == 1
    assert target.read_text() == expected and sorted(os.listdir(target.parent)) == ["out.json"]
    (tmp_path / "blocked").write_text("a file, not a directory")
    done = run("check", "--output-file", "blocked/out.txt", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.startswith("importguard: error: cannot write --output-file blocked/out.txt")



def test_output_file_that_is_a_device_is_written_into_not_replaced(tmp_path):
    """`-o /dev/null` as root renamed a regular file over the machine's /dev/null. A
    device of our own (root only: mknod) stands in for it."""
    if os.geteuid() != 0:
        pytest.skip("only root can make a device node")
    write_tree(tmp_path, TREE)
    device = tmp_path / "null"
    os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    done = run("check", "-o", str(device), cwd=tmp_path)
    assert done.returncode == 1 and "Found" in done.stderr, done.stderr
    assert stat.S_ISCHR(os.lstat(device).st_mode)
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".importguard-tmp")]


def test_output_file_that_is_a_fifo_gets_the_report_and_stays_a_fifo(tmp_path):
    write_tree(tmp_path, TREE)
    expected = run("check", cwd=tmp_path).stdout
    assert 0 < len(expected.encode()) < 4096  # fits the pipe's buffer: the check need not wait for the read
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader from now on
    try:
        done = run("check", "-o", str(fifo), cwd=tmp_path)
        read = b""
        while True:
            try:
                chunk = os.read(reader, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            read += chunk
    finally:
        os.close(reader)
    assert done.returncode == 1 and done.stdout == "", done.stderr
    assert read == expected.encode() and stat.S_ISFIFO(os.lstat(fifo).st_mode)
    # With no reader, an error at once, not a run that waits for one for ever.
    done = run("check", "-o", str(fifo), cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.startswith(
        f"importguard: error: cannot write --output-file {fifo}: nothing reads from it"), done.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_output_file_through_a_link_is_written_where_it_leads(tmp_path):
    write_tree(tmp_path, TREE)
    expected = run("check", cwd=tmp_path).stdout
    (tmp_path / "reports").mkdir()
    target = tmp_path / "reports" / "out.txt"
    target.write_text("old")
    target.chmod(0o640)
    (tmp_path / "latest.txt").symlink_to(target)
    assert run("check", "-o", "latest.txt", cwd=tmp_path).returncode == 1
    assert (tmp_path / "latest.txt").is_symlink() and target.read_text() == expected
    assert stat.S_IMODE(target.stat().st_mode) == 0o640

# -- --exit-non-zero-on-fix

def test_exit_non_zero_on_fix(tmp_path):
    tree = {"pkg/__init__.py": "from .ops import gemm\n", "pkg/ops.py": "import cutlass\n\ndef gemm():\n    pass\n"}
    write_tree(tmp_path, tree)
    assert run("check", "--fix", "pkg", cwd=tmp_path).returncode == 0
    write_tree(tmp_path, tree)
    fixed = run("check", "--fix", "--exit-non-zero-on-fix", "pkg", cwd=tmp_path)
    assert fixed.returncode == 1 and "Fixed 1 site in 1 file." in fixed.stderr and fixed.stdout == ""
    # Nothing left to fix: 0 again.
    assert run("check", "--fix", "--exit-non-zero-on-fix", "pkg", cwd=tmp_path).returncode == 0
