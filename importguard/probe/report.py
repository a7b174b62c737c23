"""Text and JSON for `importguard probe` results.

JSON: {"version": 1, "results": [{"module", "status", "driver", "culprit",
"sinks_imported": [{"module", "chain"}], "import_seconds", "error",
"driver_call": {"call", "frames": [{"path", "line", "function", "module"}]} | null}]}, keys sorted,
results in input order. Text: one block per module: the problem, the chain, the fix.
Wording follows shared/cuda-evidence.md: libcuda being loaded is not initialization.
"""

from __future__ import annotations

import linecache
import os
from collections import Counter
from typing import Optional, Sequence

from importguard.probe import strict_json
from importguard.probe.runner import (
    CLEAN,
    CRASHED,
    DRIVER_INITIALIZED,
    IMPORT_ERROR,
    INVALID_RESULT,
    SINK_IMPORTED,
    STATUSES,
    TIMEOUT,
    DriverState,
    ImportedModule,
    ProbeResult,
)

JSON_VERSION = 1
CUDA_ERROR_NOT_INITIALIZED = 3
STARTUP = "before the probed import began (interpreter startup: a .pth file or sitecustomize)"


def format_json(results: Sequence[ProbeResult], run: Optional[dict] = None) -> str:
    """`run` (from `probe --all` and `--merge`): the packages and the shard."""
    document: dict = {"version": JSON_VERSION, "results": [r.to_dict() for r in results]}
    if run is not None:
        document["run"] = run
    return strict_json.dumps(document, indent=2, sort_keys=True) + "\n"


def format_text(results: Sequence[ProbeResult]) -> str:
    return "".join(format_block(result) + "\n" for result in results)


def summary(results: Sequence[ProbeResult], run: Optional[dict] = None) -> str:
    """`probed 3 modules: 2 clean, 1 timeout`; with a `--all` run, which packages and shard."""
    counts = Counter(result.status for result in results)
    parts = [f"{counts[status]} {status}" for status in STATUSES if counts[status]]
    noun = "module" if len(results) == 1 else "modules"
    scope = ""
    if run is not None and run.get("packages"):
        total = sum(package["modules"] for package in run["packages"])
        names = ", ".join(f"`{package['package']}`" for package in run["packages"])
        shard = run.get("shard")
        scope = f" ({'shard {index}/{count} '.format(**shard) if shard else ''}of the {total} in {names})"
    return f"probed {len(results)} {noun}{scope}: " + ", ".join(parts)


def chain_text(chain: Sequence[str]) -> str:
    return " -> ".join(chain)


def format_block(result: ProbeResult) -> str:
    seconds = "" if result.import_seconds is None else f" (import took {result.import_seconds:.2f} s)"
    lines = [f"{result.module}: {result.status}{seconds}"]
    lines += [f"  {line}" for line in _explain(result)]
    if result.left_running:
        pids = ", ".join(map(str, result.left_running))
        lines.append(f"  warning: {len(result.left_running)} process(es) started by the import could "
                     f"not be ended and are still running: pid {pids}")
    return "\n".join(lines)


def _explain(result: ProbeResult) -> list[str]:
    if result.status == DRIVER_INITIALIZED:
        return _driver_initialized(result)
    if result.status == SINK_IMPORTED:
        return _sink_imported(result)
    if result.status == CLEAN:
        return [
            (
                f"importing `{result.module}` imported no configured sink and left the CUDA "
                f"driver uninitialized; {driver_detail(result.driver)}"
            )
        ]
    if result.status == IMPORT_ERROR:
        first, *rest = (result.error or "unknown error").splitlines()
        return [
            f"importing `{result.module}` raised {first}",
            *(f"  {line}" for line in rest),
            (
                f"fix: make `{result.module}` importable by this interpreter (reproduce with "
                f"`python -c 'import {result.module}'`); the probe cannot judge a module that "
                "does not import"
            ),
        ]
    if result.status == TIMEOUT:
        return [
            f"importing `{result.module}`: " + _first_line(result.error),
            *_indented_rest(result.error),
            (
                "fix: if the import is only slow, raise --timeout; otherwise the traceback "
                "above shows where it hangs"
            ),
        ]
    if result.status == INVALID_RESULT:
        return [
            f"importing `{result.module}`: " + _first_line(result.error),
            *_indented_rest(result.error),
            (
                f"fix: the module (or something it imports) overwrote the probe's result file; "
                f"reproduce with `python -c 'import {result.module}'` and look for writes to "
                "paths taken from sys.argv"
            ),
        ]
    if result.status == CRASHED:
        return [
            f"importing `{result.module}`: " + _first_line(result.error),
            *_indented_rest(result.error),
            f"fix: reproduce with `python -X faulthandler -c 'import {result.module}'`",
        ]
    raise ValueError(f"unknown probe status {result.status!r}")


def _first_line(text: Optional[str]) -> str:
    return (text or "no details").splitlines()[0]


def _indented_rest(text: Optional[str]) -> list[str]:
    return [f"  {line}" for line in (text or "").splitlines()[1:]]


def _driver_initialized(result: ProbeResult) -> list[str]:
    module, culprit = result.module, result.culprit
    sentence = f"importing `{module}` initialized the CUDA driver; "
    if culprit is None or culprit.module is None:
        sentence += f"the driver was already initialized {STARTUP}"
        fix = "fix: find what initializes CUDA at interpreter startup (.pth files, sitecustomize)"
    elif len(culprit.chain) <= 1:
        sentence += f"the driver became initialized while importing `{culprit.module}` itself"
        fix = _move_code_fix(culprit.module)
    else:
        inside = next(
            (s.module for s in result.sinks_imported if _within(culprit.module, s.module)), None
        )
        sentence += (
            f"the driver became initialized while importing `{culprit.module}`"
            + (f" (inside the sink `{inside}`)" if inside and inside != culprit.module else "")
            + f", reached via `{chain_text(culprit.chain)}`"
        )
        fix = _culprit_fix(result, culprit)
    fix = _statement_fix(result) or fix
    lines = [sentence + "; " + fork_detail(result.driver)]
    lines += _driver_call_lines(result)
    if result.error:
        lines.append(f"the import then raised {_first_line(result.error)}")
    lines += [_sink_line(sink) for sink in result.sinks_imported]
    lines.append(fix)
    return lines


def _driver_call_lines(result: ProbeResult) -> list[str]:
    """Where the first driver call came from (child.py's CallRecorder): the call, the
    lines in the probed package that led there, and the library's own lines after them."""
    found = result.driver_call
    if found is None or not found.frames:
        return []
    top = result.module.split(".")[0]
    ours = [i for i, (_, _, _, module) in enumerate(found.frames) if _within(module, top)]
    library = found.frames[ours[-1] + 1:] if ours else found.frames
    where = lambda frame: f"{_shown(frame[0])}:{frame[1]} ({frame[3] or '?'}{_in(frame[2])})"  # noqa: E731
    lines = [f"  first driver call: `{found.call}()`, made at {where(found.frames[-1])}"]
    if ours:
        lines.append(f"  in `{top}`: " + " -> ".join(where(found.frames[i]) for i in ours))
    if library:
        lines.append("  then outside it: " + " -> ".join(map(where, library)))
    return lines


def _statement_fix(result: ProbeResult) -> Optional[str]:
    """The fix at the package's own module-level statement on the first driver call's
    stack, when that statement is no import (a decorator such as `@torch.compile`, a call):
    the modules the culprit chain names were then imported by the library at run time, and
    no import in the package can be moved."""
    found = result.driver_call
    if found is None:
        return None
    top = result.module.split(".")[0]
    statement = next((frame for frame in reversed(found.frames) if frame[2] == "<module>" and _within(frame[3], top)),
                     None)
    if statement is None:
        return None
    text = linecache.getline(statement[0], statement[1]).strip()
    if not text or text.startswith(("import ", "from ")):
        return None
    return (f"fix: in `{statement[3]}`, the statement at {_shown(statement[0])}:{statement[1]} (`{text[:60]}`) "
            "leads to the driver call at import; run it in a function after workers fork")


def _shown(path: str) -> str:
    """A frame's file relative to the working directory when it is below it."""
    here = os.getcwd()
    return os.path.relpath(path, here) if path.startswith(here + os.sep) else path


def _in(function: str) -> str:
    return "" if function == "<module>" else f", in {function}()"


def _within(module: str, package: Optional[str]) -> bool:
    return package is not None and (module == package or module.startswith(package + "."))


def _move_code_fix(module: str) -> str:
    return (
        f"fix: move the module-level code in `{module}` that initializes CUDA into a function "
        "that runs after workers fork"
    )


def _hop_fix(importer: str, imported: str, probed: str) -> str:
    return (
        f"fix: in `{importer}`, import `{imported}` inside the function that uses it (or "
        f"otherwise break this chain), so that importing `{probed}` leaves the CUDA driver "
        "uninitialized until after workers fork"
    )


def _culprit_fix(result: ProbeResult, culprit: ImportedModule) -> str:
    """Point at the hop the project controls: the one entering a configured sink, else
    the culprit's own code when it is in the probed module's top-level package, else
    the first hop that leaves that package."""
    chain, probed = culprit.chain, result.module
    sinks = {sink.module for sink in result.sinks_imported}
    for index in range(1, len(chain)):
        if chain[index] in sinks:
            return _hop_fix(chain[index - 1], chain[index], probed)
    top = probed.split(".")[0]
    if _within(str(culprit.module), top):
        return _move_code_fix(str(culprit.module))
    for index in range(1, len(chain)):
        if not _within(chain[index], top):
            return _hop_fix(chain[index - 1], chain[index], probed)
    return _move_code_fix(str(culprit.module))


def _sink_imported(result: ProbeResult) -> list[str]:
    first = result.sinks_imported[0]
    lines = [
        f"importing `{result.module}` imported the sink `{first.module}`, "
        + _reached(first)
        + f"; the CUDA driver was not initialized here: {driver_detail(result.driver)}"
    ]
    lines += [_sink_line(sink) for sink in result.sinks_imported[1:]]
    if len(first.chain) >= 2:
        lines.append(
            f"fix: in `{first.chain[-2]}`, import `{first.chain[-1]}` inside the function that "
            f"uses it, so that importing `{result.module}` does not reach it (whether importing it "
            "initializes CUDA depends on the installed version)"
        )
    return lines


def _reached(sink: ImportedModule) -> str:
    if not sink.chain:
        return STARTUP
    return f"reached via `{chain_text(sink.chain)}`"


def _sink_line(sink: ImportedModule) -> str:
    return f"also imported the sink `{sink.module}`, {_reached(sink)}"


def fork_detail(driver: DriverState) -> str:
    code = driver.cuinit_in_forked_child
    if code == CUDA_ERROR_NOT_INITIALIZED:
        return (
            "forked children cannot cuInit (CUDA_ERROR_NOT_INITIALIZED, error 3), the failure "
            'users see as "CUDA driver initialization failed"'
        )
    if code == 0:
        return "a forked child could still cuInit (0)"
    if code is not None:
        return f"cuInit in a forked child returned error {code}"
    return "whether a forked child can cuInit is unknown (the fork check gave no answer)"


def driver_detail(driver: DriverState) -> str:
    if driver.present is False:
        return "no CUDA driver is present in this environment, so the driver could not be checked"
    if driver.present is None:
        return "whether a CUDA driver is present is unknown (the fork check gave no answer)"
    loaded = (
        "libcuda was loaded but not initialized (loading it alone does not break forked children); "
        if driver.libcuda_mapped
        else ""
    )
    return loaded + fork_detail(driver)
