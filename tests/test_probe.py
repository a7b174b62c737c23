"""The runtime probe on any machine: fixture packages in fixtures/probe, stub sinks,
and a fake libcuda.so.1 (built with the C compiler, where there is one) that behaves
like the real driver for the two calls the probe makes."""

from __future__ import annotations

import json
import os
import stat
import sys
import time
from pathlib import Path

import pytest

from conftest import alive
from click.testing import CliRunner

from importguard.cli.main import cli
from importguard.probe.confirm import confirm_findings
from importguard.errors import UsageError
from importguard.probe.runner import (
    DriverState,
    ImportedModule,
    ProbeResult,
    probe_modules,
    result_from_child,
)
from importguard.probe.report import format_json, format_text
from importguard.model import Finding, Hop

REPO = Path(__file__).resolve().parent.parent
PROBE = REPO / "fixtures" / "probe"
SYS_PATH = (PROBE / "src", PROBE / "stubs")
SINKS = ("cutlass", "not_installed_sink")

CASES = [
    "reexport_pkg",
    "reexport_pkg.api",
    "clean_pkg",
    "probe_cases.optional_sink",
    "probe_cases.hang",
    "probe_cases.segfault",
    "probe_cases.exit7",
    "probe_cases.sysexit",
    "probe_cases.raises",
    "probe_cases.noisy",
    "probe_cases.forker",
    "probe_cases.threads",
    "clean_pkg",  # a duplicate: probed once, reported twice
]
HANG_TIMEOUT_S = 3.0


@pytest.fixture(scope="module")
def probed() -> dict[str, ProbeResult]:
    start = time.monotonic()
    results = probe_modules(CASES, sys_path=SYS_PATH, sink_modules=SINKS, timeout=HANG_TIMEOUT_S, jobs=4)
    assert [r.module for r in results] == CASES
    assert time.monotonic() - start < HANG_TIMEOUT_S + 20
    return {r.module: r for r in results}


def test_reexport_through_init_reports_the_exact_chain(probed):
    assert probed["reexport_pkg"].status == "sink-imported"
    assert probed["reexport_pkg"].sinks_imported == (
        ImportedModule("cutlass", ("reexport_pkg", "reexport_pkg.kernels", "cutlass")),
    )


def test_submodule_import_runs_the_parent_package_first(probed):
    (sink,) = probed["reexport_pkg.api"].sinks_imported
    assert sink.chain == ("reexport_pkg.api", "reexport_pkg", "reexport_pkg.kernels", "cutlass")


def test_deferred_import_is_clean(probed):
    result = probed["clean_pkg"]
    assert (result.status, result.culprit, result.sinks_imported, result.error) == ("clean", None, (), None)
    assert result.driver.initialized is False
    assert result.import_seconds is not None and result.import_seconds >= 0


def test_sink_that_failed_to_import_is_not_reported(probed):
    assert probed["probe_cases.optional_sink"].status == "clean"


def test_hang_is_killed_at_the_timeout_with_a_traceback(probed):
    result = probed["probe_cases.hang"]
    assert result.status == "timeout"
    assert "did not finish within 3 s" in result.error
    assert "hang.py" in result.error  # faulthandler's dump, asked for before the kill
    assert result.driver == DriverState()  # unknown, not "false"


def test_segfault_is_a_crash_named_by_its_signal(probed):
    result = probed["probe_cases.segfault"]
    assert result.status == "crashed"
    assert "killed by SIGSEGV" in result.error
    assert "segfault.py" in result.error


def test_os_exit_is_a_crash_with_its_exit_code(probed):
    result = probed["probe_cases.exit7"]
    assert result.status == "crashed"
    assert "exited with code 7" in result.error


def test_system_exit_at_import_is_an_import_error(probed):
    result = probed["probe_cases.sysexit"]
    assert result.status == "import-error"
    assert result.error.startswith("SystemExit: 3")


def test_import_error_names_the_exception_and_where_it_was_raised(probed):
    result = probed["probe_cases.raises"]
    assert result.status == "import-error"
    first = result.error.splitlines()[0]
    assert first == (
        "ValueError: boom at import (raised while importing `probe_cases.raises_inner`, "
        "reached via `probe_cases.raises -> probe_cases.raises_inner`)"
    )
    assert 'raise ValueError("boom at import")' in result.error


def test_noisy_module_cannot_corrupt_the_result(probed):
    result = probed["probe_cases.noisy"]
    assert result.status == "sink-imported"
    assert result.sinks_imported[0].chain == ("probe_cases.noisy", "cutlass")


def test_module_that_forks_reports_once(probed):
    assert probed["probe_cases.forker"].status == "clean"


def test_leftover_non_daemon_thread_does_not_keep_the_childalive(probed):
    assert probed["probe_cases.threads"].status == "clean"


def test_json_stays_valid_whatever_the_children_did(probed):
    document = json.loads(format_json([probed[m] for m in CASES]))
    assert document["version"] == 1
    assert [r["module"] for r in document["results"]] == CASES
    for entry in document["results"]:
        assert set(entry) == {"module", "status", "driver", "culprit", "sinks_imported", "import_seconds", "error",
                              "left_running", "driver_call"}  # left_running: added with the process-tree sweep;
        # driver_call: the stack of the first driver call (issue 28)
        for sink in entry["sinks_imported"]:
            assert set(sink) == {"module", "chain"}
    assert format_json([probed[m] for m in CASES]) == format_json([probed[m] for m in CASES])


def test_subprocess_left_running_neither_hangs_the_probe_nor_survives(tmp_path, monkeypatch):
    pidfile = tmp_path / "pid"
    monkeypatch.setenv("IMPORTGUARD_TEST_PIDFILE", str(pidfile))
    start = time.monotonic()
    (result,) = probe_modules(["probe_cases.spawner"], sys_path=SYS_PATH, timeout=30)
    assert time.monotonic() - start < 15  # the grandchild holds the output pipe for 120 s
    assert result.status == "clean"
    pid = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid)


@pytest.fixture
def fake_driver(fake_libcuda, monkeypatch):
    monkeypatch.setenv("LD_LIBRARY_PATH", str(fake_libcuda))


def test_culprit_is_the_module_that_initialized_the_driver(fake_driver):
    (result,) = probe_modules(["gpu_cases.outer"], sys_path=SYS_PATH, sink_modules=SINKS)
    assert result.status == "driver-initialized"
    # It imports gpu_cases.helper after cuInit; the blame must not move there.
    assert result.culprit == ImportedModule(
        "gpu_cases.cuinit_then_import", ("gpu_cases.outer", "gpu_cases.cuinit_then_import")
    )
    assert result.driver == DriverState(
        present=True, libcuda_mapped=True, initialized=True, fork_safe=False, cuinit_in_forked_child=3
    )


def test_loaded_but_uninitialized_driver_is_clean(fake_driver):
    (loaded, clean) = probe_modules(["gpu_cases.load_only", "clean_pkg"], sys_path=SYS_PATH)
    assert loaded.status == "clean"
    assert loaded.driver == DriverState(
        present=True, libcuda_mapped=True, initialized=False, fork_safe=True, cuinit_in_forked_child=0
    )
    assert "libcuda was loaded but not initialized" in format_text([loaded])
    assert clean.driver == DriverState(
        present=True, libcuda_mapped=False, initialized=False, fork_safe=True, cuinit_in_forked_child=0
    )


def test_text_states_problem_chain_and_fix_in_that_order(fake_driver):
    results = probe_modules(["gpu_cases.outer"], sys_path=SYS_PATH)
    lines = format_text(results).splitlines()
    assert lines[0].startswith("gpu_cases.outer: driver-initialized (import took ")
    assert lines[1] == (
        "  importing `gpu_cases.outer` initialized the CUDA driver; the driver became initialized "
        "while importing `gpu_cases.cuinit_then_import`, reached via "
        "`gpu_cases.outer -> gpu_cases.cuinit_then_import`; forked children cannot cuInit "
        '(CUDA_ERROR_NOT_INITIALIZED, error 3), the failure users see as "CUDA driver '
        'initialization failed"'
    )
    assert lines[2] == (
        "  fix: move the module-level code in `gpu_cases.cuinit_then_import` that initializes CUDA "
        "into a function that runs after workers fork"
    )


def _initialized(culprit_chain, sinks=()):
    return ProbeResult(
        module=culprit_chain[0], status="driver-initialized",
        driver=DriverState(True, True, True, False, 3),
        culprit=ImportedModule(culprit_chain[-1], tuple(culprit_chain)),
        sinks_imported=tuple(ImportedModule(s[-1], tuple(s)) for s in sinks),
    )


def test_fix_points_at_the_hop_into_the_sink_not_inside_it():
    sink_chain = ("pkg", "pkg.kernels", "cutlass")
    result = _initialized(sink_chain + ("cutlass.cute.typing", "cutlass.cute"), sinks=[sink_chain])
    lines = format_text([result]).splitlines()
    assert "while importing `cutlass.cute` (inside the sink `cutlass`), reached via " in lines[1]
    assert lines[-1].startswith("  fix: in `pkg.kernels`, import `cutlass` inside the function")


def test_fix_points_at_the_first_hop_out_of_the_project_without_a_sink():
    result = _initialized(("pkg.model", "pkg.ops", "thirdparty", "thirdparty.cuda"))
    assert format_text([result]).splitlines()[-1].startswith("  fix: in `pkg.ops`, import `thirdparty` inside")


# --- the child's report -> status ----------------------------------------------------


def _child(**overrides):
    data = {
        "module": "m",
        "import_ok": True,
        "error": None,
        "import_seconds": 0.5,
        "driver": {"present": True, "libcuda_mapped": True, "initialized": False,
                   "fork_safe": True, "cuinit_in_forked_child": 0},
        "culprit": None,
        "sinks_imported": [],
    }
    data.update(overrides)
    return data


def test_driver_initialization_outranks_an_import_error():
    error = {"type": "ImportError", "message": "x", "traceback": "", "chain": ["m"]}
    driver = {"present": True, "libcuda_mapped": True, "initialized": True, "fork_safe": False,
              "cuinit_in_forked_child": 3}
    result = result_from_child("m", _child(import_ok=False, error=error, driver=driver,
                                           culprit={"module": "m", "chain": ["m"]}))
    assert (result.status, result.error) == ("driver-initialized", "ImportError: x")


def test_status_without_driver_initialization():
    assert result_from_child("m", _child()).status == "clean"
    sink = {"module": "cutlass", "chain": ["m", "cutlass"]}
    assert result_from_child("m", _child(sinks_imported=[sink])).status == "sink-imported"


def test_no_driver_is_said_plainly():
    result = result_from_child("m", _child(
        sinks_imported=[{"module": "cutlass", "chain": ["m", "cutlass"]}],
        driver={"present": False, "libcuda_mapped": False, "initialized": False,
                "fork_safe": None, "cuinit_in_forked_child": None}))
    text = format_text([result])
    assert "no CUDA driver is present in this environment" in text
    assert "initialized the CUDA driver" not in text


# --- CLI -----------------------------------------------------------------------------


def _run(*args: str):
    try:
        runner = CliRunner(mix_stderr=False)  # click 8.1; 8.2 keeps stderr apart by default
    except TypeError:
        runner = CliRunner()
    return runner.invoke(cli, ["probe", "--config", str(PROBE / "pyproject.toml"), *args])


def test_cli_exit_codes_and_json():
    clean = _run("clean_pkg")
    assert clean.exit_code == 0, clean.output
    found = _run("clean_pkg", "reexport_pkg", "--format", "json")
    assert found.exit_code == 1
    document = json.loads(found.stdout)
    assert [r["status"] for r in document["results"]] == ["clean", "sink-imported"]
    assert document["results"][1]["sinks_imported"][0]["chain"] == ["reexport_pkg", "reexport_pkg.kernels", "cutlass"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["clean_pkg", "--python", "/nonexistent/python"], "--python /nonexistent/python: no such file"),
        (["not-a-module"], "'not-a-module' is not a module name"),
    ],
)
def test_cli_tool_errors_are_one_sentence(args, message):
    result = _run(*args)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("importguard: error: ")
    assert message in lines[0]
    assert "Traceback" not in result.stderr


def test_interpreter_too_old_is_refused(tmp_path):
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\nprintf 'CPython 3 6'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    with pytest.raises(UsageError, match="is CPython 3.6; the probe needs CPython 3.8 or newer"):
        probe_modules(["clean_pkg"], python=str(fake))


def test_other_interpreter_runs_the_stdlib_only_child():
    other = next((p for p in ("/usr/bin/python3", "/usr/local/bin/python3") if os.path.exists(p)
                  and os.path.realpath(p) != os.path.realpath(sys.executable)), None)
    if other is None:
        pytest.skip("no second Python interpreter on this machine")
    (result,) = probe_modules(["reexport_pkg"], python=other, sys_path=SYS_PATH, sink_modules=SINKS)
    assert result.status == "sink-imported", result.error


# --- check --confirm -----------------------------------------------------------------


def _finding(code: str, importer: str, sink: str = "cutlass") -> Finding:
    hop = Hop(importer=importer, imported=sink, path=f"{importer.replace('.', '/')}.py", line=1)
    return Finding(code=code, name="n", path=hop.path, line=1, column=1, message="m",
                   sink=sink, chain=(hop,))


def test_confirm_attaches_a_verdict_to_chain_findings_only():
    findings = [
        _finding("IG001", "reexport_pkg"),
        _finding("IG002", "clean_pkg"),
        _finding("IG003", "clean_pkg"),
        _finding("IG001", "reexport_pkg"),
    ]
    confirmed = confirm_findings(findings, python=None, sys_path=SYS_PATH, sink_modules=SINKS,
                                 timeout=30, jobs=2)
    assert [f.code for f in confirmed] == ["IG001", "IG002", "IG003", "IG001"]
    first = dict(confirmed[0].extra)["confirmation"]
    assert (first["status"], first["confirmed"]) == ("sink-imported", False)
    assert first["summary"].startswith(
        "not confirmed: importing `reexport_pkg` imported the sink `cutlass` via "
        "`reexport_pkg -> reexport_pkg.kernels -> cutlass`, but the CUDA driver was not initialized"
    )
    second = dict(confirmed[1].extra)["confirmation"]
    assert (second["status"], second["confirmed"]) == ("clean", False)
    assert second["summary"].startswith("not confirmed: importing `clean_pkg` imported no configured sink")
    assert confirmed[2].extra == ()
    json.dumps([dict(f.extra) for f in confirmed])  # serialisable as is


def test_confirm_probes_each_importer_once(monkeypatch):
    calls = []

    def fake_probe(modules, **kwargs):
        calls.append(list(modules))
        return [ProbeResult(module=m, status="driver-initialized",
                            driver=DriverState(True, True, True, False, 3),
                            culprit=ImportedModule("cutlass", (m, "cutlass"))) for m in modules]

    monkeypatch.setattr("importguard.probe.confirm.probe_modules", fake_probe)
    findings = [_finding("IG001", "a.b"), _finding("IG002", "a.b"), _finding("IG001", "c")]
    confirmed = confirm_findings(findings, python=None, sys_path=(), sink_modules=(), timeout=1, jobs=1)
    assert calls == [["a.b", "c"]]
    verdict = dict(confirmed[0].extra)["confirmation"]
    assert verdict["confirmed"] is True
    assert verdict["summary"].startswith(
        "confirmed: importing `a.b` initialized the CUDA driver here (while importing `cutlass`, "
        "reached via `a.b -> cutlass`); forked children cannot cuInit"
    )
