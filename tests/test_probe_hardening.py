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
from importguard.probe.cgroup import ProbeCgroup
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


# ----------------------------------------------------------------------------- issue 27

# The probed module starts a process that leaves its session and exits at once, before
# the parent could see the process in its tree.
ESCAPES = {
    "escape_popen": """
        import os, subprocess, sys
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                                 start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(os.environ["IMPORTGUARD_TEST_PIDFILE"], "w") as handle:
            handle.write(str(child.pid))
        os._exit(0)
    """,
    "escape_double_fork": """
        import os, time
        middle = os.fork()
        if middle == 0:
            os.setsid()
            daemon = os.fork()
            if daemon == 0:
                time.sleep(120)
                os._exit(0)
            with open(os.environ["IMPORTGUARD_TEST_PIDFILE"], "w") as handle:
                handle.write(str(daemon))
            os._exit(0)
        os.waitpid(middle, 0)
        os._exit(0)
    """,
}


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs /proc")
@pytest.mark.parametrize("module", sorted(ESCAPES))
def test_a_process_that_left_the_session_of_a_child_that_exited_at_once_is_ended(module, tmp_path, monkeypatch):
    import textwrap

    (tmp_path / f"{module}.py").write_text(textwrap.dedent(ESCAPES[module]))
    pidfile = tmp_path / "pid"
    monkeypatch.setenv("IMPORTGUARD_TEST_PIDFILE", str(pidfile))
    # The parent looks at the child's tree every 0.1 s; a child that exits at once is
    # mostly gone before the first look. Here no look ever sees it, deterministically.
    from importguard.probe.process_tree import ProcessTree

    monkeypatch.setattr(ProcessTree, "update", lambda self: None)
    monkeypatch.setattr(ProbeCgroup, "create", classmethod(lambda cls, name: None))  # the sweep, alone
    (result,) = probe_modules([module], sys_path=[tmp_path], timeout=30)
    pid = int(pidfile.read_text())
    try:
        assert result.status == "crashed", result.error
        # Ended, or else named: never running while the JSON says nothing is.
        assert _wait_dead(pid) or pid in result.left_running, f"pid {pid} outlived the probe unreported"
        assert result.left_running == ()
    finally:
        if alive(pid):
            os.kill(pid, 9)


ESCAPE_WITHOUT_MARKER = """
import os, subprocess, sys
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], env={},
                         start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
with open(os.environ["IMPORTGUARD_TEST_PIDFILE"], "w") as handle:
    handle.write(str(child.pid))
os._exit(0)
"""


def test_a_process_that_also_dropped_its_environment_is_ended_by_the_module_s_cgroup(tmp_path, monkeypatch):
    made = ProbeCgroup.create(f"importguard-test-{os.getpid()}")
    if made is None:
        pytest.skip("no cgroup can be made here; the /proc sweep alone cannot find such a process")
    made.end()
    (tmp_path / "escape_env.py").write_text(ESCAPE_WITHOUT_MARKER)
    pidfile = tmp_path / "pid"
    monkeypatch.setenv("IMPORTGUARD_TEST_PIDFILE", str(pidfile))
    from importguard.probe.process_tree import ProcessTree

    monkeypatch.setattr(ProcessTree, "update", lambda self: None)
    (result,) = probe_modules(["escape_env"], sys_path=[tmp_path], timeout=30)
    pid = int(pidfile.read_text())
    try:
        assert _wait_dead(pid) or pid in result.left_running, f"pid {pid} outlived the probe unreported"
        assert result.left_running == () and result.status == "crashed"
        assert not os.path.exists(made.path)
    finally:
        if alive(pid):
            os.kill(pid, 9)


def test_a_module_whose_child_cannot_start_is_that_module_s_failure_and_the_batch_goes_on(monkeypatch):
    import errno
    import subprocess

    from importguard.probe import runner

    real_popen = subprocess.Popen

    def out_of_processes(argv, **kwargs):
        if "hostile_cases.escape" in argv:
            raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")
        return real_popen(argv, **kwargs)

    monkeypatch.setattr(runner.subprocess, "Popen", out_of_processes)
    results = probe_modules(["hostile_cases.escape", "clean_pkg", "reexport_pkg"], sys_path=SYS_PATH,
                            sink_modules=["cutlass"], timeout=1, jobs=2)
    assert [r.status for r in results] == ["crashed", "clean", "sink-imported"]
    assert results[0].error.startswith("the child interpreter could not be started within 1 s: "
                                       "Resource temporarily unavailable")
    assert "fix: reproduce with" in format_text(results)


FORK_BOMB = """
import os, time
for _ in range(10_000):
    try:
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
    except OSError:
        break
time.sleep(3)  # hold every process the limit allows while the other modules start
"""


def _pids_cgroup(limit: int):
    """A cgroup v1 `pids` group of at most `limit` tasks, or None where none can be made."""
    parent = Path("/sys/fs/cgroup/pids")
    group = parent / f"importguard-test-{os.getpid()}-{os.urandom(4).hex()}"
    try:
        group.mkdir()
        (group / "pids.max").write_text(str(limit))
    except OSError:
        if group.is_dir():
            group.rmdir()
        return None
    return group


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs /proc")
def test_a_fork_bomb_under_a_process_limit_does_not_void_the_batch(tmp_path):
    """A real process limit (a `pids` cgroup, the kernel's RLIMIT_NPROC for a group)
    where this machine lets a test make one; the fork bomb is bounded by it."""
    import subprocess
    import sys

    group = _pids_cgroup(40)
    if group is None:
        pytest.skip("no pids cgroup can be made here to bound a fork bomb")
    (tmp_path / "bomb.py").write_text(FORK_BOMB)
    for name in ("calm_a", "calm_b", "calm_c"):
        (tmp_path / f"{name}.py").write_text("import json\n")
    try:
        done = subprocess.run(
            [sys.executable, "-m", "importguard", "probe", "--src", str(tmp_path), "--jobs", "2", "--timeout", "30",
             "--format", "json", "bomb", "calm_a", "calm_b", "calm_c"],
            capture_output=True, text=True, timeout=120, cwd=tmp_path,
            preexec_fn=lambda: (group / "cgroup.procs").write_text(str(os.getpid())),
        )
    finally:
        for pid in (group / "cgroup.procs").read_text().split():
            os.kill(int(pid), 9)
        deadline = time.monotonic() + 10
        while (group / "cgroup.procs").read_text().strip() and time.monotonic() < deadline:
            time.sleep(0.05)
        group.rmdir()
    assert "internal error" not in done.stderr, done.stderr
    results = {r["module"]: r for r in _strict(done.stdout)["results"]}
    # Every module has its own result; the bomb's processes were ended (as any module's
    # are), so its import, which touched no driver, is clean too.
    assert {name: r["status"] for name, r in results.items()} == dict.fromkeys(["bomb", "calm_a", "calm_b", "calm_c"],
                                                                               "clean"), done.stdout
    assert all(r["left_running"] == [] for r in results.values())
    assert done.returncode == 0, done.stderr
