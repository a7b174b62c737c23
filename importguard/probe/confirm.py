"""`check --confirm`: probe the importer of each chain finding and attach the verdict.

The verdict goes into `finding.extra` under "confirmation", a JSON-serialisable dict:
{"module", "status", "confirmed" (true / false / null when unknown), "summary",
"driver", "culprit", "sinks_imported", "error"}.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Iterable, Optional, Sequence, Union

from importguard.probe.runner import (
    CLEAN,
    CRASHED,
    DRIVER_INITIALIZED,
    IMPORT_ERROR,
    INVALID_RESULT,
    SINK_IMPORTED,
    TIMEOUT,
    ProbeResult,
    probe_modules,
)
from importguard.probe.report import chain_text, driver_detail, fork_detail
from importguard.model import Finding, ModuleSink

CONFIRMABLE_CODES = frozenset({"IG001", "IG002"})


def confirm_findings(
    findings: Sequence[Finding],
    *,
    python: Optional[str] = None,
    sys_path: Iterable[Union[str, os.PathLike]] = (),
    sink_modules: Iterable[Union[str, ModuleSink]] = (),
    timeout: float = 60.0,
    jobs: Optional[int] = None,
) -> list[Finding]:
    """Findings in the same order, each confirmable one with a "confirmation" added."""
    importers = [_importer(f) for f in findings]
    to_probe = list(dict.fromkeys(m for m in importers if m and _is_module_name(m)))
    results = probe_modules(
        to_probe,
        python=python,
        sys_path=sys_path,
        sink_modules=sink_modules,
        timeout=timeout,
        jobs=jobs,
    )
    by_module = dict(zip(to_probe, results))
    confirmed = []
    for finding, importer in zip(findings, importers):
        if importer is None:
            confirmed.append(finding)
            continue
        verdict = verdict_for(by_module[importer]) if importer in by_module else _unprobeable(importer)
        confirmed.append(dataclasses.replace(finding, extra=finding.extra + (("confirmation", verdict),)))
    return confirmed


def _importer(finding: Finding) -> Optional[str]:
    if finding.code not in CONFIRMABLE_CODES or not finding.chain:
        return None
    return finding.chain[0].importer


def _is_module_name(name: str) -> bool:
    return all(part.isidentifier() for part in name.split("."))


def _unprobeable(module: str) -> dict[str, Any]:
    return {
        "module": module,
        "status": None,
        "confirmed": None,
        "summary": f"unknown: `{module}` is not a module name that can be imported",
        "driver": None,
        "culprit": None,
        "sinks_imported": [],
        "error": None,
    }


def verdict_for(result: ProbeResult) -> dict[str, Any]:
    data = result.to_dict()
    confirmed, summary = _judge(result)
    return {
        "module": result.module,
        "status": result.status,
        "confirmed": confirmed,
        "summary": summary,
        "driver": data["driver"],
        "culprit": data["culprit"],
        "sinks_imported": data["sinks_imported"],
        "error": result.error,
    }


def _judge(result: ProbeResult) -> tuple[Optional[bool], str]:
    module = f"`{result.module}`"
    if result.status == DRIVER_INITIALIZED:
        where = ""
        culprit = result.culprit
        if culprit is not None and culprit.module is not None and len(culprit.chain) > 1:
            where = f" (while importing `{culprit.module}`, reached via `{chain_text(culprit.chain)}`)"
        return True, (
            f"confirmed: importing {module} initialized the CUDA driver here{where}; "
            + fork_detail(result.driver)
        )
    if result.status == SINK_IMPORTED:
        sink = result.sinks_imported[0]
        via = f" via `{chain_text(sink.chain)}`" if sink.chain else ""
        return False, (
            f"not confirmed: importing {module} imported the sink `{sink.module}`{via}, but the "
            "CUDA driver was not initialized in this environment (no GPU/driver, or this "
            f"version of the sink does not initialize it): {driver_detail(result.driver)}"
        )
    if result.status == CLEAN:
        return False, (
            f"not confirmed: importing {module} imported no configured sink at runtime and left "
            "the CUDA driver uninitialized (the static chain may pass through a branch not "
            "taken here)"
        )
    first_line = (result.error or "").splitlines()[0] if result.error else ""
    reasons = {
        IMPORT_ERROR: f"importing {module} raised {first_line}",
        TIMEOUT: f"importing {module}: {first_line}",
        CRASHED: f"importing {module}: {first_line}",
        INVALID_RESULT: f"importing {module}: {first_line}",
    }
    return None, f"unknown: {reasons.get(result.status, result.status)}, so the finding could not be checked"
