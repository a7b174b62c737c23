"""The probe against modules that attack it (issue 12, "The probe"): overwritten result
files, terminal escapes, processes in sessions of their own, a source root that
shadows the standard library, and --python interpreters that flood or hang."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import pytest

from conftest import alive
from click.testing import CliRunner

from importguard.cli.main import cli
from importguard.probe.confirm import confirm_findings
from importguard.errors import UsageError
from importguard.probe.runner import probe_modules
from importguard.probe.report import format_json, format_text
from importguard.model import Finding, Hop

REPO = Path(__file__).resolve().parent.parent
PROBE = REPO / "fixtures" / "probe"
SYS_PATH = (PROBE / "src", PROBE / "stubs")
HOSTILE_RESULTS = ["hostile_cases.deep", "hostile_cases.shape", "hostile_cases.bigint",
                   "hostile_cases.nan", "hostile_cases.infinity"]


def _strict(text: str):
    def refuse(name):
        raise AssertionError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def test_a_forged_result_is_that_module_s_invalid_result_and_the_others_survive():
    modules = [*HOSTILE_RESULTS, "clean_pkg", "reexport_pkg"]
    results = probe_modules(modules, sys_path=SYS_PATH, sink_modules=["cutlass"], timeout=30, jobs=4)
    by_module = {r.module: r for r in results}
    for module in HOSTILE_RESULTS:
        assert by_module[module].status == "invalid-result", (module, by_module[module].error)
        assert by_module[module].error.startswith("the child's result is unusable: ")
    assert "nested more than" in by_module["hostile_cases.deep"].error
    assert "integer of 401 digits" in by_module["hostile_cases.bigint"].error
    assert "NaN" in by_module["hostile_cases.nan"].error
    assert by_module["clean_pkg"].status == "clean"
    assert by_module["reexport_pkg"].status == "sink-imported"
    document = _strict(format_json(results))
    assert [r["status"] for r in document["results"]][-2:] == ["clean", "sink-imported"]
    assert "fix: the module (or something it imports) overwrote" in format_text(results)


def _runner() -> CliRunner:
    try:
        return CliRunner(mix_stderr=False)
    except TypeError:
        return CliRunner()


def test_cli_with_forged_results_still_prints_standard_json_and_exits_1():
    result = _runner().invoke(cli, ["probe", "--config", str(PROBE / "pyproject.toml"), "--format", "json",
                                    "hostile_cases.nan", "hostile_cases.deep", "clean_pkg"])
    assert result.exit_code == 1, result.stderr
    statuses = [r["status"] for r in _strict(result.stdout)["results"]]
    assert statuses == ["invalid-result", "invalid-result", "clean"]
    assert "2 invalid-result" in result.stderr


def test_confirm_with_a_forged_result_keeps_every_other_verdict():
    def finding(importer: str) -> Finding:
        hop = Hop(importer=importer, imported="cutlass", path=f"{importer}.py", line=1)
        return Finding(code="IG001", name="n", path=hop.path, line=1, column=1, message="m",
                       sink="cutlass", chain=(hop,))

    confirmed = confirm_findings([finding("hostile_cases.infinity"), finding("reexport_pkg")],
                                 sys_path=SYS_PATH, sink_modules=["cutlass"], timeout=30, jobs=2)
    hostile, fine = (dict(f.extra)["confirmation"] for f in confirmed)
    assert (hostile["status"], hostile["confirmed"]) == ("invalid-result", None)
    assert hostile["summary"].startswith("unknown: importing `hostile_cases.infinity`: the child's result is unusable")
    assert (fine["status"], fine["confirmed"]) == ("sink-imported", False)
    json.dumps([dict(f.extra) for f in confirmed], allow_nan=False)


def test_terminal_escapes_from_the_module_are_never_printed_raw():
    (result,) = probe_modules(["hostile_cases.escape"], sys_path=SYS_PATH, timeout=30)
    assert result.status == "import-error"
    text = format_text([result]) + format_json([result])
    assert "\x1b" not in text and "\x9b" not in text and "\x07" not in text
    assert "ValueError: ?[31mred?[0m ?31m" in result.error


def _wait_dead(pid: int, seconds: float = 5.0) -> bool:
    until = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < until:
        time.sleep(0.05)
    return not alive(pid)


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs /proc")
@pytest.mark.parametrize("module", ["hostile_cases.session_grandchild", "hostile_cases.daemon",
                                    "hostile_cases.session_grandchild_exit"])
def test_descendants_in_other_sessions_are_ended(module, tmp_path, monkeypatch):
    pidfile = tmp_path / "pid"
    monkeypatch.setenv("IMPORTGUARD_TEST_PIDFILE", str(pidfile))
    (result,) = probe_modules([module], sys_path=SYS_PATH, timeout=30)
    pid = int(pidfile.read_text())
    try:
        assert _wait_dead(pid), f"{module}: pid {pid} outlived the probe"
        assert result.left_running == ()
        assert result.status == ("crashed" if module.endswith("_exit") else "clean"), result.error
    finally:
        if alive(pid):
            os.kill(pid, 9)


def test_a_source_root_that_shadows_the_standard_library_does_not_break_the_child():
    (result,) = probe_modules(["shadow_user"], sys_path=[PROBE / "shadow_src"], timeout=30)
    assert result.status == "clean", result.error


def _script(tmp_path: Path, body: str) -> str:
    path = tmp_path / "python"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_python_that_floods_stdout_is_refused_with_one_sentence(tmp_path):
    flood = _script(tmp_path, "head -c 50000000 /dev/zero\nprintf 'CPython 3 11'\n")
    with pytest.raises(UsageError) as caught:
        probe_modules(["clean_pkg"], python=flood, timeout=30)
    message = str(caught.value)
    assert message.startswith(f"--python {flood} is not a working Python interpreter: it wrote more than")
    assert len(message) < 300


def test_python_that_hangs_respects_the_timeout_and_its_children_are_ended(tmp_path):
    pidfile = tmp_path / "pid"
    hang = _script(tmp_path, f"setsid sleep 60 &\necho $! > {pidfile}\nsleep 60\n")
    start = time.monotonic()
    with pytest.raises(UsageError, match="did not answer within 2 s"):
        probe_modules(["clean_pkg"], python=hang, timeout=2)
    assert time.monotonic() - start < 10
    pid = int(pidfile.read_text())
    try:
        assert _wait_dead(pid), "the interpreter's own child outlived the probe"
    finally:
        if alive(pid):
            os.kill(pid, 9)


def test_probe_all_with_a_flooding_python_is_one_sentence_too(tmp_path):
    flood = _script(tmp_path, "head -c 50000000 /dev/zero\nprintf 'CPython 3 11'\n")
    result = _runner().invoke(cli, ["probe", "--config", str(PROBE / "pyproject.toml"), "--all", "not_in_the_project",
                                    "--python", flood, "--timeout", "30"])
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"importguard: error: --python {flood} is not a working Python interpreter: it wrote more")
