"""`importguard agree`: static verdicts beside runtime ones, with the fake libcuda of
fixtures/probe standing in for the driver (tests/test_probe.py builds it)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from importguard.cli.main import cli
from importguard.config import load_config
from importguard.discovery import ModuleResolver
from importguard.engine import FactsStore, build_graph
from importguard.probe.agreement import compare, static_verdict
from importguard.probe.runner import DriverState, ImportedModule, ProbeResult

REPO = Path(__file__).resolve().parent.parent
AGREE = REPO / "fixtures" / "agree"




def _agree(*args: str):
    try:
        runner = CliRunner(mix_stderr=False)
    except TypeError:
        runner = CliRunner()
    return runner.invoke(cli, ["agree", "--config", str(AGREE / "pyproject.toml"), "--no-cache", "--jobs", "2",
                               "agree_cases", *args])


EXPECTED = {
    "agree_cases.dynamic_import": ("runtime-only", "nothing", "initialized"),
    "agree_cases.helper_call": ("runtime-only", "nothing", "initialized"),
    "agree_cases.branch_not_taken": ("static-only", "initializes", "not-initialized"),
    "agree_cases.optional_missing": ("static-only", "initializes", "not-initialized"),
    "agree_cases.version_no_longer": ("static-only", "initializes", "not-initialized"),
    "agree_cases": ("agree", "nothing", "not-initialized"),
    "agree_cases._driver": ("agree", "nothing", "not-initialized"),
    "agree_cases.both_initialize": ("agree", "initializes", "initialized"),
    "agree_cases.driver_api": ("agree", "driver-api", "not-initialized"),
    "agree_cases.nothing": ("agree", "nothing", "not-initialized"),
}


def test_json_report_sets_each_verdict_pair_with_disagreements_first(fake_libcuda, monkeypatch):
    monkeypatch.setenv("LD_LIBRARY_PATH", str(fake_libcuda))
    result = _agree("--format", "json")
    assert result.exit_code == 1, result.stderr

    def refuse(name):
        raise AssertionError(name)

    document = json.loads(result.stdout, parse_constant=refuse)
    rows = document["modules"]
    assert [row["module"] for row in rows] == list(EXPECTED)  # the report's order
    assert {row["module"]: (row["kind"], row["static"]["verdict"], row["runtime"]["verdict"]) for row in rows} == EXPECTED
    assert document["counts"] == {"runtime-only": 2, "static-only": 3, "unknown": 0, "agree": 5}
    reasons = {row["module"]: row["reasons"] for row in rows}
    assert reasons["agree_cases.optional_missing"][0].startswith(
        "optional dependency missing: `agree_cases.optional_missing` imports `missing_gpu_lib` (")
    assert reasons["agree_cases.branch_not_taken"][0].startswith(
        "branch not taken: the import of `gpulib` in `agree_cases.branch_not_taken` (")
    assert reasons["agree_cases.version_no_longer"] == [
        "every hop ran and the sink `gpulib` was imported (version gpulib 2.0), but the driver stayed "
        "uninitialized: this version no longer initializes it at import"]
    helper = reasons["agree_cases.helper_call"]
    assert helper[0] == "culprit: `agree_cases.helper_call`, reached via `agree_cases.helper_call`"
    assert helper[1].startswith("`agree_cases.helper_call` calls at import agree_cases._driver.start() (line 5), "
                                "none a configured call sink")
    assert reasons["agree_cases.dynamic_import"] == [
        "culprit: `gpuinit_at_import`, reached via `agree_cases.dynamic_import -> gpuinit_at_import`",
        "static analysis has no eager edge `agree_cases.dynamic_import -> gpuinit_at_import`: the import happens "
        "in a function called at import time, through importlib or __import__, or in code the collector marks "
        "deferred",
        "`gpuinit_at_import` calls the sink `fakegpu.init()` at import (line 5): the static side knows this sink, "
        "but no eager chain from `agree_cases.dynamic_import` reaches `gpuinit_at_import`",
    ]
    assert reasons["agree_cases.both_initialize"] == []  # the culprit is the static sink's module
    assert "agreement over 10 modules: 5 agree (1 initialize on both sides), 2 runtime-only, 3 static-only" in result.stderr


def test_text_report_lists_disagreements_first(fake_libcuda, monkeypatch):
    monkeypatch.setenv("LD_LIBRARY_PATH", str(fake_libcuda))
    lines = _agree("--disagreements-only").stdout.splitlines()
    assert lines[0] == ("runtime-only (2): initialized the driver at run time, with no static chain to an "
                        "initializing sink")
    assert lines[1] == "  agree_cases.dynamic_import: static nothing | runtime initialized (driver-initialized)"
    assert "static-only (3): a static chain to an initializing sink, but the driver stayed uninitialized" in lines
    assert "    static chain: agree_cases.version_no_longer -> gpulib" in lines
    assert not any(line.startswith("agree (") for line in lines)


def test_without_a_driver_nothing_is_claimed_to_agree(monkeypatch):
    monkeypatch.delenv("LD_LIBRARY_PATH", raising=False)
    result = _agree("--format", "json")
    rows = json.loads(result.stdout)["modules"]
    for row in rows:
        assert row["kind"] == "unknown", row
    assert result.exit_code == 0
    assert "0 agree" in result.stderr


def test_a_culprit_other_than_the_static_sink_is_said():
    config = load_config(AGREE / "pyproject.toml", AGREE)
    store = FactsStore(ModuleResolver([AGREE / "src", AGREE / "stubs"]))
    graph = build_graph(config, store)
    static = static_verdict(graph, "agree_cases.both_initialize")
    assert (static.verdict, static.chain.sink.call) == ("initializes", "fakegpu.init")
    result = ProbeResult(
        module="agree_cases.both_initialize", status="driver-initialized",
        driver=DriverState(True, True, True, False, 3),
        # through the module's own `import fakegpu`, not through the call
        culprit=ImportedModule("othergpu", ("agree_cases.both_initialize", "fakegpu", "othergpu")),
    )
    (row,) = compare(["agree_cases.both_initialize"], [result], graph, store.for_module)
    assert row.kind == "agree"
    assert row.reasons == (
        "the verdicts agree, but the static chain ends at `agree_cases.both_initialize` while the driver "
        "became initialized while importing `othergpu` (via `agree_cases.both_initialize -> fakegpu -> othergpu`)",)


def test_a_culprit_the_static_call_imported_at_run_time_is_the_same_event():
    # `both_initialize` calls fakegpu.init() at import; a culprit imported from inside that
    # call (no import statement of both_initialize names it) is the call's own doing.
    config = load_config(AGREE / "pyproject.toml", AGREE)
    store = FactsStore(ModuleResolver([AGREE / "src", AGREE / "stubs"]))
    graph = build_graph(config, store)
    static = static_verdict(graph, "agree_cases.both_initialize")
    assert "fakegpu_runtime_only" not in {edge.target for edge in graph.eager_edges("agree_cases.both_initialize")}
    result = ProbeResult(
        module="agree_cases.both_initialize", status="driver-initialized",
        driver=DriverState(True, True, True, False, 3),
        culprit=ImportedModule("fakegpu_runtime_only.backend",
                               ("agree_cases.both_initialize", "fakegpu_runtime_only", "fakegpu_runtime_only.backend")),
    )
    (row,) = compare(["agree_cases.both_initialize"], [result], graph, store.for_module)
    assert (row.kind, row.reasons) == ("agree", ())
