"""Runtime probe, parent side: import each module in its own fresh interpreter.

Each module gets a new process (subprocess, never a fork of importguard) running
`child.py` in a session of its own, so a timeout can kill its whole process
group. The child's result comes back through a file; its stdout and stderr are only
kept as a bounded tail for crash and timeout messages, and are never read to EOF (a
grandchild holding them open must not hang us).
"""

from __future__ import annotations

import errno
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
from dataclasses import asdict, dataclass, replace
from typing import Any, Callable, Iterable, Optional, Sequence, Union

from importguard.probe import strict_json
from importguard.errors import UsageError
from importguard.probe.cgroup import ProbeCgroup
from importguard.probe.process_tree import MARKER_VARIABLE, ProcessTree, new_marker
from importguard.probe.strict_json import BadJSON
from importguard.model import ModuleSink
from importguard.sinks import DEFAULT_SINK_CALLS

# The call sinks child.py wraps to keep the stack of the first driver call (CallRecorder):
# those that need no device argument (a tensor factory is called far too often).
RECORDED_CALLS = tuple(sorted({sink.name for sink in DEFAULT_SINK_CALLS if not sink.device}))

CHILD_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "child.py")

CLEAN = "clean"
SINK_IMPORTED = "sink-imported"
DRIVER_INITIALIZED = "driver-initialized"
IMPORT_ERROR = "import-error"
TIMEOUT = "timeout"
CRASHED = "crashed"
INVALID_RESULT = "invalid-result"
STATUSES = (CLEAN, SINK_IMPORTED, DRIVER_INITIALIZED, IMPORT_ERROR, TIMEOUT, CRASHED, INVALID_RESULT)

RESULT_MAX_BYTES = 32 * 1024 * 1024
INTERPRETER_OUTPUT_MAX_BYTES = 4096

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
class DriverCall:
    """The known call sink during which the driver became initialized (child.py's
    CallRecorder), and the Python stack that made it, outermost first: (path, line,
    function, module) per frame, module "" where no loaded module has that file."""

    call: str
    frames: tuple[tuple[str, int, str, str], ...]

    def to_dict(self) -> dict[str, Any]:
        return {"call": self.call, "frames": [{"path": p, "line": n, "function": f, "module": m}
                                              for p, n, f, m in self.frames]}


@dataclass(frozen=True)
class RuntimeTrace:
    """What else the import did, for the agreement report (not in the probe's JSON):
    every module it imported, the imports that raised ModuleNotFoundError (with their
    importer), and the `__version__` of the probed and sink packages."""

    modules_imported: frozenset[str] = frozenset()
    modules_not_found: tuple[tuple[str, Optional[str]], ...] = ()
    versions: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ProbeResult:
    module: str
    status: str
    driver: DriverState
    culprit: Optional[ImportedModule] = None
    sinks_imported: tuple[ImportedModule, ...] = ()
    import_seconds: Optional[float] = None
    error: Optional[str] = None
    # Processes the import started that could not be ended (pids); normally empty.
    left_running: tuple[int, ...] = ()
    trace: Optional[RuntimeTrace] = None
    driver_call: Optional[DriverCall] = None

    def to_dict(self) -> dict[str, Any]:
        data = _json_ready(asdict(self))
        del data["trace"]
        data["driver_call"] = None if self.driver_call is None else self.driver_call.to_dict()
        return data


def probe_modules(
    modules: Sequence[str],
    *,
    python: Optional[str] = None,
    sys_path: Iterable[Union[str, os.PathLike]] = (),
    sink_modules: Iterable[Union[str, ModuleSink]] = (),
    timeout: float = 60.0,
    jobs: Optional[int] = None,
    on_done: Optional[Callable[[ProbeResult], None]] = None,
) -> list[ProbeResult]:
    """Probe each module in a fresh interpreter; results in input order (duplicates once).
    `on_done` is called (from a worker thread) as each module finishes."""
    for module in modules:
        check_module_name(module)
    if timeout <= 0:
        raise UsageError(f"the probe timeout must be positive, not {timeout}")
    executable = check_interpreter(python, timeout)
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
            module: pool.submit(_probe_reporting, executable, module, paths, sinks, timeout, live, on_done)
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


def check_interpreter(python: Optional[str], timeout: float = 60.0) -> str:
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
    returncode, output = _ask_interpreter(python, [found, "-c", snippet], min(timeout, 60.0))
    words = output.decode("ascii", "replace").split()
    if returncode != 0 or len(words) != 3 or not all(w.isdigit() for w in words[1:]):
        raise UsageError(f"--python {python} is not a working Python interpreter")
    implementation, version = words[0], (int(words[1]), int(words[2]))
    if implementation != "CPython" or version < _MIN_PYTHON:
        raise UsageError(
            f"--python {python} is {implementation} {version[0]}.{version[1]}; "
            "the probe needs CPython 3.8 or newer"
        )
    return found


def _ask_interpreter(python: str, argv: list[str], timeout: float) -> tuple[int, bytes]:
    """Run `argv` in a session of its own, reading at most INTERPRETER_OUTPUT_MAX_BYTES;
    UsageError (after ending it and everything it started) if it floods or hangs."""
    not_python = f"--python {python} is not a working Python interpreter"
    try:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError as error:
        raise UsageError(f"{not_python} ({error.strerror or error})") from None
    tree = ProcessTree(process.pid)
    output = bytearray()
    problem = None
    assert process.stdout is not None
    fd = process.stdout.fileno()
    os.set_blocking(fd, False)
    deadline = time.monotonic() + timeout
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    problem = f"it did not answer within {timeout:g} s"
                    break
                tree.update()
                if selector.select(min(remaining, _TICK_S)):
                    try:
                        chunk = os.read(fd, 65536)
                    except BlockingIOError:
                        continue
                    if not chunk:
                        break
                    output.extend(chunk)
                    if len(output) > INTERPRETER_OUTPUT_MAX_BYTES:
                        problem = (f"it wrote more than {INTERPRETER_OUTPUT_MAX_BYTES} bytes when "
                                   "asked for its version")
                        break
        if problem is None:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                problem = f"it did not exit within {timeout:g} s"
    finally:
        _kill_group(process.pid)
        left = tree.end()
        process.stdout.close()
        process.wait()
    if problem is not None:
        if left:
            problem += f"; {len(left)} process(es) it started could not be ended: pid {', '.join(map(str, left))}"
        raise UsageError(f"{not_python}: {problem}")
    return process.returncode, bytes(output)


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


def _probe_reporting(
    executable: str,
    module: str,
    paths: list[str],
    sinks: list[str],
    timeout: float,
    live: _LiveGroups,
    on_done: Optional[Callable[[ProbeResult], None]],
) -> ProbeResult:
    result = _probe_one(executable, module, paths, sinks, timeout, live)
    if on_done is not None:
        on_done(result)
    return result


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
        for call in RECORDED_CALLS:
            argv += ["--call", call]
        marker = new_marker()
        cgroup = ProbeCgroup.create(f"importguard-probe-{marker}")
        if cgroup is not None:
            argv += ["--cgroup", cgroup.path]
        process = _start_child(argv, {**os.environ, MARKER_VARIABLE: marker}, time.monotonic() + timeout)
        if isinstance(process, OSError):
            if cgroup is not None:
                cgroup.end()
            return _failed(module, CRASHED, f"the child interpreter could not be started within {timeout:g} s: "
                           f"{process.strerror or process}", b"")
        live.add(process.pid)
        tree = ProcessTree(process.pid, marker)
        try:
            tail, timed_out = _watch(process, timeout, tree)
        finally:
            _kill_group(process.pid)  # whatever the imported code left running
            left = tree.end()  # ... also in sessions of their own
            live.discard(process.pid)
            if process.stdout is not None:
                process.stdout.close()
            process.wait()
            if cgroup is not None:  # what left the session and replaced its environment too
                left = sorted({*left, *cgroup.end()})
        if timed_out:
            return _failed(module, TIMEOUT, f"the import did not finish within {timeout:g} s; "
                           "the child and every process it started were killed", tail, left)
        try:
            data = strict_json.read_file(result_path, RESULT_MAX_BYTES)
        except FileNotFoundError:
            return _failed(module, CRASHED, _describe_exit(process.returncode), tail, left)
        except (OSError, BadJSON) as error:
            return _failed(module, INVALID_RESULT, f"the child's result is unusable: {error}", tail, left)
    try:
        result = result_from_child(module, data)
    except BadJSON as error:
        return _failed(module, INVALID_RESULT, f"the child's result is unusable: {error}", tail, left)
    return replace(result, left_running=tuple(sorted({*result.left_running, *left})))


def _start_child(argv: list[str], env: dict[str, str], deadline: float) -> Union[subprocess.Popen, OSError]:
    """The child, in a session of its own; or the error that kept it from starting
    past `deadline`. A process limit reached (another module's fork bomb, until that
    module's processes are ended) is waited out; other errors are not."""
    pause = 0.05
    while True:
        try:
            return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, start_new_session=True, env=env)
        except (BlockingIOError, MemoryError) as error:  # EAGAIN: out of processes or memory for now
            if time.monotonic() + pause > deadline:
                return error if isinstance(error, OSError) else OSError(errno.ENOMEM, "out of memory")
            time.sleep(pause)
            pause = min(pause * 2, 1.0)
        except OSError as error:
            return error


def _watch(process: subprocess.Popen, timeout: float, tree: ProcessTree) -> tuple[bytes, bool]:
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
            tree.update()
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


def _describe_exit(returncode: Optional[int]) -> str:
    if returncode is not None and returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"the child interpreter was killed by {name} before it reported a result"
    return f"the child interpreter exited with code {returncode} before it reported a result"


def _failed(module: str, status: str, reason: str, tail: bytes, left: Sequence[int] = ()) -> ProbeResult:
    text = printable(tail.decode("utf-8", errors="replace"))
    # importlib's frames and the probe's own in faulthandler's dumps say nothing useful.
    lines = [
        line
        for line in text.splitlines()
        if line.strip() and "<frozen importlib" not in line and CHILD_SCRIPT not in line
    ]
    if lines:
        reason += "\nlast output:\n" + "\n".join(lines[-TAIL_LINES_IN_ERROR:])
    return ProbeResult(module=module, status=status, driver=DriverState(), error=reason,
                       left_running=tuple(sorted(left)))


# Whatever the imported code printed or raised must not drive a terminal that shows it:
# C0 and C1 control characters (ESC, CSI...) but newline and tab become "?".
_CONTROL_CHARACTERS = {c: "?" for c in (*range(32), *range(127, 160)) if chr(c) not in "\n\t"} | {13: None}


def printable(text: str) -> str:
    return text.translate(_CONTROL_CHARACTERS)


_MAX_NAME = 1000
_MAX_TEXT = 256 * 1024


def _name(value: Any, what: str) -> str:
    return printable(strict_json.need_str(value, what, _MAX_NAME))


def _chain(value: Any, what: str) -> tuple[str, ...]:
    return tuple(_name(item, what) for item in strict_json.need_list(value, what, 100_000))


def driver_state(raw: dict[str, Any]) -> DriverState:
    """A result's "driver" object, validated."""
    return DriverState(
        present=strict_json.optional_bool(raw.get("present"), "driver.present"),
        libcuda_mapped=strict_json.optional_bool(raw.get("libcuda_mapped"), "driver.libcuda_mapped"),
        initialized=strict_json.optional_bool(raw.get("initialized"), "driver.initialized"),
        fork_safe=strict_json.optional_bool(raw.get("fork_safe"), "driver.fork_safe"),
        cuinit_in_forked_child=strict_json.optional_int(raw.get("cuinit_in_forked_child"),
                                                        "driver.cuinit_in_forked_child"),
    )


def imported_module(value: Any, what: str) -> ImportedModule:
    data = strict_json.need_dict(value, what)
    module = data.get("module")
    return ImportedModule(
        module=None if module is None else _name(module, f"{what}.module"),
        chain=_chain(data.get("chain"), f"{what}.chain"),
    )


def result_from_child(module: str, data: Any) -> ProbeResult:
    """Validate the child's JSON strictly and decide its status (BadJSON if it is not
    exactly what `_probe_child.py` writes)."""
    data = strict_json.need_dict(data, "the result")
    raw = strict_json.need_dict(data.get("driver"), "driver")
    driver = driver_state(raw)
    culprit = None if data.get("culprit") is None else imported_module(data["culprit"], "culprit")
    sinks = tuple(imported_module(item, "sinks_imported[]")
                  for item in strict_json.need_list(data.get("sinks_imported", []), "sinks_imported"))
    import_ok = strict_json.need_bool(data.get("import_ok"), "import_ok")
    error = None
    if data.get("error") is not None:
        error = _error_text(strict_json.need_dict(data["error"], "error"))
    if driver.initialized:
        status = DRIVER_INITIALIZED
    elif not import_ok:
        status = IMPORT_ERROR
    elif sinks:
        status = SINK_IMPORTED
    else:
        status = CLEAN
    seconds = strict_json.optional_number(data.get("import_seconds"), "import_seconds")
    return ProbeResult(
        module=module,
        status=status,
        driver=driver,
        culprit=culprit,
        sinks_imported=sinks,
        import_seconds=round(seconds, 3) if seconds is not None else None,
        error=error,
        left_running=_left(data.get("processes")),
        trace=_trace(data),
        driver_call=_driver_call(data.get("driver_call")),
    )


def _driver_call(value: Any) -> Optional[DriverCall]:
    if value is None:
        return None
    data = strict_json.need_dict(value, "driver_call")
    frames = []
    for item in strict_json.need_list(data.get("frames"), "driver_call.frames", 1000):
        frame = strict_json.need_dict(item, "driver_call.frames[]")
        line = strict_json.optional_int(frame.get("line"), "driver_call.frames[].line")
        frames.append((strict_json.need_str(frame.get("path"), "driver_call.frames[].path", 4096),
                       line or 0,
                       strict_json.need_str(frame.get("function"), "driver_call.frames[].function", 1000),
                       strict_json.need_str(frame.get("module", ""), "driver_call.frames[].module", 1000)))
    return DriverCall(strict_json.need_str(data.get("call"), "driver_call.call", 1000), tuple(frames))


def _left(value: Any) -> tuple[int, ...]:
    if value is None:
        return ()
    processes = strict_json.need_dict(value, "processes")
    left = strict_json.need_list(processes.get("left", []), "processes.left", 10_000)
    return tuple(sorted(strict_json.optional_int(pid, "processes.left[]") or 0 for pid in left))


def _trace(data: dict[str, Any]) -> RuntimeTrace:
    imported = strict_json.need_list(data.get("modules_imported", []), "modules_imported")
    not_found = []
    for pair in strict_json.need_list(data.get("modules_not_found", []), "modules_not_found"):
        pair = strict_json.need_list(pair, "modules_not_found[]")
        if len(pair) != 2:
            raise BadJSON("modules_not_found[] is not a pair")
        importer = pair[1]
        not_found.append((_name(pair[0], "modules_not_found[]"),
                          None if importer is None else _name(importer, "modules_not_found[]")))
    versions = strict_json.need_dict(data.get("versions", {}), "versions")
    return RuntimeTrace(
        modules_imported=frozenset(_name(m, "modules_imported[]") for m in imported),
        modules_not_found=tuple(not_found),
        versions=tuple(sorted((_name(k, "versions"), _name(v, "versions")) for k, v in versions.items())),
    )


def _error_text(error: dict[str, Any]) -> str:
    kind = printable(strict_json.need_str(error.get("type"), "error.type", _MAX_NAME))
    message = printable(strict_json.need_str(error.get("message", ""), "error.message", _MAX_TEXT))
    text = f"{kind}: {message}" if message else kind
    chain = _chain(error.get("chain") or [], "error.chain")
    if len(chain) > 1:
        text += f" (raised while importing `{chain[-1]}`, reached via `{' -> '.join(chain)}`)"
    trace = printable(strict_json.need_str(error.get("traceback") or "", "error.traceback", _MAX_TEXT)).rstrip()
    if trace:
        text += "\n" + trace
    return text
