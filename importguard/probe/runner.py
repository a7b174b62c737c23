"""Runtime probe, parent side: import each module in its own fresh interpreter.

Each module gets a new process (subprocess, never a fork of importguard) running
`child.py` in a session of its own, so a timeout can kill its whole process
group. The child's result comes back through a file; its stdout and stderr are only
kept as a bounded tail for crash and timeout messages, and are never read to EOF (a
grandchild holding them open must not hang us).
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Optional, Sequence, Union

from importguard.errors import UsageError
from importguard.model import ModuleSink

CHILD_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "child.py")

CLEAN = "clean"
SINK_IMPORTED = "sink-imported"
DRIVER_INITIALIZED = "driver-initialized"
IMPORT_ERROR = "import-error"
TIMEOUT = "timeout"
CRASHED = "crashed"
STATUSES = (CLEAN, SINK_IMPORTED, DRIVER_INITIALIZED, IMPORT_ERROR, TIMEOUT, CRASHED)

OUTPUT_TAIL_BYTES = 64 * 1024
TAIL_LINES_IN_ERROR = 15
_TICK_S = 0.1
_DUMP_WAIT_S = 0.5  # after asking a timed-out child for its traceback
_DRAIN_S = 0.2  # reading what is left in the pipe once the child exited
_MIN_PYTHON = (3, 8)


def _json_ready(value: Any) -> Any:
    """asdict() output with tuples as lists, as JSON (and the schema) has them."""
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(item) for item in value]
    return value


@dataclass(frozen=True)
class DriverState:
    """None means unknown (the child died before it could tell)."""

    present: Optional[bool] = None
    libcuda_mapped: Optional[bool] = None
    initialized: Optional[bool] = None
    fork_safe: Optional[bool] = None
    cuinit_in_forked_child: Optional[int] = None

    def to_dict(self) -> dict[str, Any]:
        return _json_ready(asdict(self))


@dataclass(frozen=True)
class ImportedModule:
    """A module and the import chain that reached it, from the probed module.

    For a culprit, `module` None with an empty chain means the driver was already
    initialized when the probed import began (interpreter startup). For a sink, an empty
    chain means it was imported before the probed import began.
    """

    module: Optional[str]
    chain: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return _json_ready(asdict(self))


@dataclass(frozen=True)
class ProbeResult:
    module: str
    status: str
    driver: DriverState
    culprit: Optional[ImportedModule] = None
    sinks_imported: tuple[ImportedModule, ...] = ()
    import_seconds: Optional[float] = None
    error: Optional[str] = None

    def to_dict(self) -> dict[str, Any]:
        return _json_ready(asdict(self))


def probe_modules(
    modules: Sequence[str],
    *,
    python: Optional[str] = None,
    sys_path: Iterable[Union[str, os.PathLike]] = (),
    sink_modules: Iterable[Union[str, ModuleSink]] = (),
    timeout: float = 60.0,
    jobs: Optional[int] = None,
) -> list[ProbeResult]:
    """Probe each module in a fresh interpreter; results in input order (duplicates once)."""
    for module in modules:
        check_module_name(module)
    if timeout <= 0:
        raise UsageError(f"the probe timeout must be positive, not {timeout}")
    executable = check_interpreter(python)
    paths = [os.path.abspath(os.fspath(p)) for p in sys_path]
    sinks = sorted({s.module if isinstance(s, ModuleSink) else str(s) for s in sink_modules})
    unique = list(dict.fromkeys(modules))
    if not unique:
        return []
    workers = max(1, min(jobs or os.cpu_count() or 1, len(unique)))
    live = _LiveGroups()
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        futures = {
            module: pool.submit(_probe_one, executable, module, paths, sinks, timeout, live)
            for module in unique
        }
        done = {module: future.result() for module, future in futures.items()}
    except BaseException:  # Ctrl-C included: our children are in sessions of their own
        pool.shutdown(wait=False, cancel_futures=True)
        live.kill_all()
        raise
    pool.shutdown()
    return [done[module] for module in modules]


def check_module_name(module: str) -> None:
    if not module or not all(part.isidentifier() for part in module.split(".")):
        raise UsageError(f"{module!r} is not a module name (expected a dotted name like pkg.module)")


def check_interpreter(python: Optional[str]) -> str:
    """The interpreter to run children with; UsageError unless it is CPython 3.8+ on POSIX."""
    if os.name != "posix":
        raise UsageError("the runtime probe needs a POSIX system (it forks to test cuInit)")
    if python is None:
        return sys.executable
    found = shutil.which(python) if os.sep not in python else python
    if found is None or not os.path.isfile(found):
        raise UsageError(f"--python {python}: no such file, and no such command on PATH")
    if not os.access(found, os.X_OK):
        raise UsageError(f"--python {python} is not executable")
    snippet = (
        "import sys, platform; sys.stdout.write('%s %d %d' % "
        "(platform.python_implementation(), sys.version_info[0], sys.version_info[1]))"
    )
    try:
        completed = subprocess.run(
            [found, "-c", snippet],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise UsageError(f"--python {python} is not a working Python interpreter ({error})") from None
    words = completed.stdout.decode("ascii", "replace").split()
    if completed.returncode != 0 or len(words) != 3 or not all(w.isdigit() for w in words[1:]):
        raise UsageError(f"--python {python} is not a working Python interpreter")
    implementation, version = words[0], (int(words[1]), int(words[2]))
    if implementation != "CPython" or version < _MIN_PYTHON:
        raise UsageError(
            f"--python {python} is {implementation} {version[0]}.{version[1]}; "
            "the probe needs CPython 3.8 or newer"
        )
    return found


class _LiveGroups:
    """Process groups of running children, so Ctrl-C can take them all down."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._groups: set[int] = set()

    def add(self, pgid: int) -> None:
        with self._lock:
            self._groups.add(pgid)

    def discard(self, pgid: int) -> None:
        with self._lock:
            self._groups.discard(pgid)

    def kill_all(self) -> None:
        with self._lock:
            groups = list(self._groups)
        for pgid in groups:
            _kill_group(pgid)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _probe_one(
    executable: str,
    module: str,
    paths: list[str],
    sinks: list[str],
    timeout: float,
    live: _LiveGroups,
) -> ProbeResult:
    with tempfile.TemporaryDirectory(prefix="importguard-probe-") as scratch:
        result_path = os.path.join(scratch, "result.json")
        argv = [executable, CHILD_SCRIPT, result_path, module, repr(time.time() + timeout)]
        for path in paths:
            argv += ["--path", path]
        for sink in sinks:
            argv += ["--sink", sink]
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        live.add(process.pid)
        try:
            tail, timed_out = _watch(process, timeout)
        finally:
            _kill_group(process.pid)  # whatever the imported code left running
            live.discard(process.pid)
            if process.stdout is not None:
                process.stdout.close()
            process.wait()
        if timed_out:
            return _failed(module, TIMEOUT, f"the import did not finish within {timeout:g} s; "
                           "the child and its process group were killed", tail)
        data = _read_result(result_path)
    if data is None:
        return _failed(module, CRASHED, _describe_exit(process.returncode), tail)
    try:
        return result_from_child(module, data)
    except (KeyError, TypeError, ValueError):
        return _failed(module, CRASHED, "the child wrote a malformed result", tail)


def _watch(process: subprocess.Popen, timeout: float) -> tuple[bytes, bool]:
    """Wait for the child, keeping the tail of its output; True if it timed out."""
    assert process.stdout is not None
    fd = process.stdout.fileno()
    os.set_blocking(fd, False)
    tail = bytearray()
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        output_open = True
        while process.poll() is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                # Ask for a traceback of where it hangs (the child registered SIGUSR1 with
                # faulthandler), and give it a moment to arrive before the kill.
                try:
                    os.kill(process.pid, signal.SIGUSR1)
                except ProcessLookupError:
                    pass
                _drain(fd, selector, tail, _DUMP_WAIT_S)
                return bytes(tail), True
            if output_open:
                if selector.select(min(remaining, _TICK_S)):
                    output_open = _read_some(fd, tail)
            else:
                time.sleep(min(remaining, _TICK_S))
        if output_open:
            _drain(fd, selector, tail, _DRAIN_S)
    return bytes(tail), False


def _read_some(fd: int, tail: bytearray) -> bool:
    """Read what is there into the bounded tail; False at end of file."""
    try:
        chunk = os.read(fd, 65536)
    except BlockingIOError:
        return True
    if not chunk:
        return False
    tail.extend(chunk)
    del tail[:-OUTPUT_TAIL_BYTES]
    return True


def _drain(fd: int, selector: selectors.BaseSelector, tail: bytearray, seconds: float) -> None:
    until = time.monotonic() + seconds
    while (left := until - time.monotonic()) > 0:
        if selector.select(left) and not _read_some(fd, tail):
            return


def _read_result(path: str) -> Optional[dict[str, Any]]:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _describe_exit(returncode: Optional[int]) -> str:
    if returncode is not None and returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"the child interpreter was killed by {name} before it reported a result"
    return f"the child interpreter exited with code {returncode} before it reported a result"


def _failed(module: str, status: str, reason: str, tail: bytes) -> ProbeResult:
    text = tail.decode("utf-8", errors="replace").translate(_CONTROL_CHARACTERS)
    # importlib's frames and the probe's own in faulthandler's dumps say nothing useful.
    lines = [
        line
        for line in text.splitlines()
        if line.strip() and "<frozen importlib" not in line and CHILD_SCRIPT not in line
    ]
    if lines:
        reason += "\nlast output:\n" + "\n".join(lines[-TAIL_LINES_IN_ERROR:])
    return ProbeResult(module=module, status=status, driver=DriverState(), error=reason)


# Whatever the imported code printed must not drive a terminal that shows the error.
_CONTROL_CHARACTERS = {c: "?" for c in range(32) if chr(c) not in "\n\t\r"} | {13: None, 127: "?"}


def _optional_bool(value: Any) -> Optional[bool]:
    return value if isinstance(value, bool) else None


def _imported(data: dict[str, Any]) -> ImportedModule:
    module = data["module"]
    if module is not None and not isinstance(module, str):
        raise TypeError("module")
    return ImportedModule(module=module, chain=tuple(str(m) for m in data["chain"]))


def result_from_child(module: str, data: dict[str, Any]) -> ProbeResult:
    """Turn the child's JSON into a ProbeResult and decide its status."""
    raw = data["driver"]
    code = raw.get("cuinit_in_forked_child")
    driver = DriverState(
        present=_optional_bool(raw.get("present")),
        libcuda_mapped=_optional_bool(raw.get("libcuda_mapped")),
        initialized=_optional_bool(raw.get("initialized")),
        fork_safe=_optional_bool(raw.get("fork_safe")),
        cuinit_in_forked_child=code if isinstance(code, int) and not isinstance(code, bool) else None,
    )
    culprit = None if data.get("culprit") is None else _imported(data["culprit"])
    sinks = tuple(_imported(item) for item in data.get("sinks_imported") or ())
    error = None
    if data.get("error") is not None:
        error = _error_text(module, data["error"])
    if driver.initialized:
        status = DRIVER_INITIALIZED
    elif not data["import_ok"]:
        status = IMPORT_ERROR
    elif sinks:
        status = SINK_IMPORTED
    else:
        status = CLEAN
    seconds = data.get("import_seconds")
    return ProbeResult(
        module=module,
        status=status,
        driver=driver,
        culprit=culprit,
        sinks_imported=sinks,
        import_seconds=round(float(seconds), 3) if isinstance(seconds, (int, float)) else None,
        error=error,
    )


def _error_text(module: str, error: dict[str, Any]) -> str:
    text = f"{error['type']}: {error['message']}" if error["message"] else str(error["type"])
    chain = [str(m) for m in error.get("chain") or ()]
    if len(chain) > 1:
        text += f" (raised while importing `{chain[-1]}`, reached via `{' -> '.join(chain)}`)"
    trace = str(error.get("traceback") or "").rstrip()
    if trace:
        text += "\n" + trace
    return text
