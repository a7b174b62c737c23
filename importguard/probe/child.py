"""Child side of the runtime probe: import one module here and report what happened.

Run as a script by a freshly spawned interpreter (never a fork of importguard):

    python child.py RESULT_PATH MODULE DEADLINE [--path DIR]... [--sink NAME]... [--call NAME]... [--cgroup DIR]

RESULT_PATH receives one JSON object (written atomically at the end); stdout and stderr
belong to the imported code. DEADLINE is a time.time() value bounding the fork check.
Standard library only, and runnable on CPython 3.8+: it runs inside the environment
under test, not importguard's.

How the driver state is read (shared/cuda-evidence.md): libcuda is looked up among the
already-loaded objects with dlopen(RTLD_NOLOAD), and once it is there `cuDeviceGetCount`
is called through it: 3 (CUDA_ERROR_NOT_INITIALIZED) until someone called cuInit, and it
initializes nothing itself. Nothing in this process ever calls cuInit; only a forked
grandchild does, after the import, to see whether a forked worker could still use CUDA.
"""

import os
import sys

# Running a script puts its folder (importguard/probe/) first on sys.path, where a
# module of ours could shadow a standard one for the imported code. Drop it first.
_HERE = os.path.dirname(os.path.abspath(__file__))
if sys.path and sys.path[0] and os.path.realpath(sys.path[0]) == os.path.realpath(_HERE):
    del sys.path[0]

# Everything this script needs is imported now, before the project's paths go on
# sys.path: a json.py or select.py in a source root must not replace ours.
import _thread  # noqa: E402
import ctypes  # noqa: E402
import faulthandler  # noqa: E402
import json  # noqa: E402
import select  # noqa: E402
import signal  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
import warnings  # noqa: E402

LIBCUDA = "libcuda.so.1"
CUDA_ERROR_NOT_INITIALIZED = 3
NO_DRIVER = "no-driver"
FORK_CHECK_MAX_S = 20.0
MAX_LISTED = 20000  # modules listed in the result, at most
PR_SET_CHILD_SUBREAPER = 36


def become_subreaper():
    """Linux: orphaned descendants (a daemon's double fork, start_new_session=True)
    become children of this process instead of init, so they can be found and ended."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _children_of(pid):
    """Direct children of `pid` from /proc; None where /proc cannot tell."""
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return None
    found = []
    for task in tasks:
        try:
            with open("/proc/%d/task/%s/children" % (pid, task)) as handle:
                found.extend(int(word) for word in handle.read().split())
        except (OSError, ValueError):
            return None
    return found


def _children_by_scan(pid):
    found = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry, "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 1 and fields[1] == str(pid).encode():
            found.append(int(entry))
    return found


def descendants(pid):
    result, todo = [], [pid]
    while todo and len(result) < MAX_LISTED:
        parent = todo.pop()
        children = _children_of(parent)
        if children is None:
            children = _children_by_scan(parent)
        for child in children:
            if child not in result:
                result.append(child)
                todo.append(child)
    return result


def end_descendants():
    """SIGKILL every process this one left behind; return (ended, still_there)."""
    ended = 0
    for _ in range(3):  # a process may fork while its siblings are being killed
        found = descendants(os.getpid())
        if not found:
            break
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
                ended += 1
            except OSError:
                pass
        _reap(found, 1.0)
    left = [pid for pid in descendants(os.getpid()) if not _is_zombie(pid)]
    return ended, left


def _reap(pids, seconds):
    """Collect the killed processes that are (or became) our children, without ever
    blocking on one that does not die."""
    until = time.monotonic() + seconds
    waiting = list(pids)
    while waiting and time.monotonic() < until:
        for pid in list(waiting):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except OSError:  # not our child: init or its own parent reaps it
                done = pid
            if done:
                waiting.remove(pid)
        if waiting:
            time.sleep(0.01)


def _is_zombie(pid):
    try:
        with open("/proc/%d/stat" % pid, "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return True


class _PhdrInfo(ctypes.Structure):
    # The leading fields of glibc's/musl's struct dl_phdr_info, up to dlpi_adds.
    _fields_ = [
        ("addr", ctypes.c_void_p),
        ("name", ctypes.c_char_p),
        ("phdr", ctypes.c_void_p),
        ("phnum", ctypes.c_uint16),
        ("adds", ctypes.c_ulonglong),
    ]


_PHDR_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(_PhdrInfo), ctypes.c_size_t, ctypes.c_void_p
)


class LoadCounter:
    """How many shared objects the dynamic linker has ever loaded (dlpi_adds).

    Reading it costs about a microsecond, against tens of microseconds for a failing
    dlopen(RTLD_NOLOAD) and hundreds for reading /proc/self/maps, so the driver is only
    looked for again when it changed. None when the platform does not tell.
    """

    def __init__(self):
        self._value = None
        self._callback = _PHDR_CALLBACK(self._first_object)
        try:
            self._iterate = ctypes.CDLL(None).dl_iterate_phdr
            self._iterate.argtypes = [_PHDR_CALLBACK, ctypes.c_void_p]
            self._iterate.restype = ctypes.c_int
        except (OSError, AttributeError):
            self._iterate = None

    def _first_object(self, info, size, _data):
        if size >= ctypes.sizeof(_PhdrInfo):
            self._value = info.contents.adds
        return 1  # stop after the first object: dlpi_adds is the same for all

    def read(self):
        if self._iterate is None:
            return None
        self._value = None
        self._iterate(self._callback, None)
        return self._value


def libcuda_in_maps():
    """The path of a mapped libcuda.so from /proc/self/maps, or None (also without /proc)."""
    try:
        with open("/proc/self/maps", "rb") as handle:
            for line in handle:
                path = line.rstrip(b"\n").split(None, 5)[5:]
                if path and os.path.basename(path[0]).startswith(b"libcuda.so"):
                    return path[0].decode("utf-8", "replace")
    except OSError:
        pass
    return None


class DriverWatch:
    """Reads whether the CUDA driver in this process is initialized, without initializing it."""

    def __init__(self):
        self._counter = LoadCounter()
        self._last_adds = -1
        self._get_count = None
        self.initialized = False
        self.last_code = None

    def _find_loaded(self, name):
        try:
            lib = ctypes.CDLL(name, mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
        except OSError:
            return None
        get_count = lib.cuDeviceGetCount
        get_count.argtypes = [ctypes.POINTER(ctypes.c_int)]
        get_count.restype = ctypes.c_int
        return get_count

    def poll(self):
        """True once the driver is initialized (it never goes back)."""
        if self.initialized:
            return True
        if self._get_count is None:
            adds = self._counter.read()
            if adds is not None and adds == self._last_adds:
                return False
            self._last_adds = adds if adds is not None else -1
            self._get_count = self._find_loaded(LIBCUDA)
            if self._get_count is None:
                return False
        count = ctypes.c_int(0)
        self.last_code = self._get_count(ctypes.byref(count))
        self.initialized = self.last_code == 0
        return self.initialized

    def final(self):
        """The state after the import, also catching a libcuda mapped under another name."""
        mapped = libcuda_in_maps()
        if self._get_count is None and mapped is not None:
            self._get_count = self._find_loaded(mapped)
        self.poll()
        return mapped


MAX_FRAMES = 40  # innermost frames kept of the stack that made the first driver call


class CallRecorder:
    """Wraps the known call sinks (`--call torch.cuda.is_available`) as their modules get
    imported, to keep the Python stack of the call during which the driver became
    initialized: the line in the probed package that led there, and the library's own
    lines (shared/cuda-evidence.md, 2026-12-06, recorded the "via" column this way).

    Only a function that is an attribute of the module itself is wrapped
    (`torch.cuda.is_available`; not a class such as `torch.cuda.Stream`, and not
    `triton.runtime.driver.active.get_current_target`, whose owner is an object); a call
    made through another name (a submodule's own binding) is not seen either, and then
    only the import chain names the culprit.
    """

    def __init__(self, names, driver):
        self._driver = driver
        self._by_module = {}
        for name in names:
            module, _, attribute = name.rpartition(".")
            if module and attribute:
                self._by_module.setdefault(module, []).append(attribute)
        self.found = None  # {"call", "frames": [{"path", "line", "function"}]}

    def loaded(self, module_name):
        attributes = self._by_module.pop(module_name, None)
        module = sys.modules.get(module_name)
        if not attributes or module is None:
            return
        for attribute in attributes:
            original = getattr(module, attribute, None)
            # A class (torch.cuda.Stream) stays as it is: a wrapper would break isinstance.
            if callable(original) and not isinstance(original, type) \
                    and not getattr(original, "_importguard_wrapped", False):
                try:
                    setattr(module, attribute, self._wrap(module_name + "." + attribute, original))
                except (AttributeError, TypeError):
                    pass

    def loaded_before(self):
        for name in list(self._by_module):
            if name in sys.modules:
                self.loaded(name)

    def _wrap(self, name, original):
        recorder = self

        def wrapper(*args, **kwargs):
            # Initialized already (by something not wrapped): this call did not do it.
            if recorder.found is not None or recorder._driver.poll():
                return original(*args, **kwargs)
            try:
                return original(*args, **kwargs)
            finally:
                if recorder.found is None and recorder._driver.poll():
                    recorder.found = {"call": name, "frames": _caller_frames(sys._getframe(1))}

        for key in ("__name__", "__qualname__", "__doc__", "__module__", "__wrapped__"):
            try:
                setattr(wrapper, key, getattr(original, key) if key != "__wrapped__" else original)
            except (AttributeError, TypeError):
                pass
        wrapper._importguard_wrapped = True
        return wrapper


def _caller_frames(frame):
    """The stack from the outermost frame to `frame`, without importlib's and this
    script's frames: [{"path", "line", "function"}], the innermost MAX_FRAMES."""
    frames = []
    here = os.path.abspath(__file__)
    while frame is not None:
        code = frame.f_code
        path = code.co_filename
        if "<frozen importlib" not in path and os.path.abspath(path) != here:
            frames.append({"path": path, "line": frame.f_lineno, "function": code.co_name})
        frame = frame.f_back
    frames.reverse()
    return frames[-MAX_FRAMES:]


def frame_modules(frames):
    """Each frame's module name, from the `__file__` of the loaded modules ("" if none)."""
    by_file = {}
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if isinstance(path, str) and isinstance(name, str):
            by_file.setdefault(os.path.abspath(path), name)
    for frame in frames:
        frame["module"] = by_file.get(os.path.abspath(frame["path"]), "")
    return frames


class ImportWatcher:
    """Wraps importlib's _find_and_load, the one function every module import goes through.

    CPython looks `_find_and_load` up on importlib._bootstrap at each import, from the
    `import` statement, __import__ and importlib.import_module alike, and it covers finding,
    creating and executing the module for every kind of loader (extension modules run
    their init in create_module). It is what `python -X importtime` measures. A
    sys.meta_path wrapper would have to replace each spec's loader (visible to the imported
    code as __loader__), and a builtins.__import__ wrapper misses importlib.import_module.
    """

    def __init__(self, bootstrap, sinks, driver, recorder=None):
        self._recorder = recorder
        self._bootstrap = bootstrap
        self._original = bootstrap._find_and_load
        self._sinks = sinks
        self._sinks_left = list(sinks)
        self._driver = driver
        self._stacks = {}
        self._lock = _thread.allocate_lock()
        self.sinks_imported = []
        self._pending = {}  # sink -> (module, chain) of its first import still running
        self.culprit = None
        self.failed = (None, None)  # (exception, chain) of the innermost failed import
        self.not_found = {}  # module -> importer, for imports that raised ModuleNotFoundError

    def install(self):
        self._bootstrap._find_and_load = self._find_and_load

    def uninstall(self):
        self._bootstrap._find_and_load = self._original

    def preloaded_sinks(self):
        """Sinks imported before the probed import began (by a .pth file, sitecustomize...)."""
        for sink in list(self._sinks_left):
            for name in sorted(sys.modules):
                if name == sink or name.startswith(sink + "."):
                    self.sinks_imported.append({"module": name, "chain": []})
                    self._sinks_left.remove(sink)
                    break

    def _sink_of(self, name):
        for sink in self._sinks_left:
            if (name == sink or name.startswith(sink + ".")) and sink not in self._pending:
                return sink
        return None

    def _check_driver(self, chain):
        if self.culprit is None and self._driver.poll():
            self.culprit = {"module": chain[-1], "chain": list(chain)}

    def _find_and_load(self, name, import_):
        if name in sys.modules:  # being initialized elsewhere: nothing is loaded here
            return self._original(name, import_)
        stack = self._stacks.setdefault(_thread.get_ident(), [])
        with self._lock:
            # The module executing now (top of the stack) may have initialized the driver
            # before starting this import; this catches it before `name` gets the blame.
            if stack:
                self._check_driver(stack)
            # A sink is reported as the first of its modules whose import *started*
            # (`cutlass`, not the `cutlass._mlir` that finishes first), once that succeeded.
            sink = self._sink_of(name)
            chain = stack + [name]
            if sink is not None:
                self._pending[sink] = chain
        stack.append(name)
        succeeded = False
        try:
            module = self._original(name, import_)
            succeeded = True
        except BaseException as error:
            if self.failed[0] is not error:
                self.failed = (error, chain)
            if isinstance(error, ModuleNotFoundError) and len(self.not_found) < MAX_LISTED:
                self.not_found.setdefault(name, chain[-2] if len(chain) > 1 else None)
            raise
        finally:
            stack.pop()
            if succeeded and self._recorder is not None:
                self._recorder.loaded(name)
            with self._lock:
                self._check_driver(chain)
                if sink is not None:
                    del self._pending[sink]
                    if succeeded:
                        self.sinks_imported.append({"module": name, "chain": chain})
                        self._sinks_left.remove(sink)
        return module


def _fork_when_possible(deadline):
    """os.fork(), waiting out a process limit reached (EAGAIN) for a while; None if it
    never gave way."""
    pause = 0.05
    until = min(time.time() + FORK_CHECK_MAX_S, deadline - 1.0)
    while True:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # 3.12+ warns about forking a threaded process
                return os.fork()
        except (BlockingIOError, MemoryError):
            if time.time() + pause > until:
                return None
            time.sleep(pause)
            pause = min(pause * 2, 1.0)


def fork_check(deadline):
    """Fork, call cuInit(0) in the forked child; return its code, NO_DRIVER, or None."""
    read_end, write_end = os.pipe()
    pid = _fork_when_possible(deadline)
    if pid is None:  # the process limit held all along (another module's fork bomb): unknown
        os.close(read_end)
        os.close(write_end)
        return None
    if pid == 0:
        try:
            os.close(read_end)
            try:
                lib = ctypes.CDLL(LIBCUDA)
            except OSError:
                answer = NO_DRIVER
            else:
                lib.cuInit.argtypes = [ctypes.c_uint]
                lib.cuInit.restype = ctypes.c_int
                answer = str(lib.cuInit(0))
            os.write(write_end, answer.encode("ascii"))
        finally:
            os._exit(0)
    os.close(write_end)
    answer = b""
    wait_s = max(0.0, min(FORK_CHECK_MAX_S, deadline - time.time() - 1.0))
    try:
        ready, _, _ = select.select([read_end], [], [], wait_s)
        if ready:
            answer = os.read(read_end, 64)
    finally:
        os.close(read_end)
        if not answer:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        os.waitpid(pid, 0)
    text = answer.decode("ascii", "replace")
    if text == NO_DRIVER:
        return NO_DRIVER
    try:
        return int(text)
    except ValueError:
        return None


def describe_error(error, chain):
    lines = traceback.format_exception(type(error), error, error.__traceback__)
    # Drop this script's own frame and importlib's frozen frames: they are noise.
    kept = [
        line
        for line in lines
        if "<frozen importlib" not in line and os.path.abspath(__file__) not in line
    ]
    kind = type(error)
    qualname = kind.__name__ if kind.__module__ == "builtins" else kind.__module__ + "." + kind.__qualname__
    return {
        "type": qualname,
        "message": str(error),
        "traceback": "".join(kept[-12:]),
        "chain": chain,
    }


def _versions(module, sinks):
    """`__version__` of the probed module's top package and of each sink imported."""
    found = {}
    for name in [module] + [sink["module"] for sink in sinks]:
        top = name.split(".")[0]
        version = getattr(sys.modules.get(top), "__version__", None)
        if isinstance(version, str) and len(version) < 100:
            found[top] = version
    return found


def parse_args(argv):
    result_path, module, deadline = argv[0], argv[1], float(argv[2])
    found = {"--path": [], "--sink": [], "--call": [], "--cgroup": []}
    rest = argv[3:]
    for flag, value in zip(rest[::2], rest[1::2]):
        found.get(flag, found["--sink"]).append(value)
    cgroup = found["--cgroup"][-1] if found["--cgroup"] else None
    return result_path, module, deadline, found["--path"], found["--sink"], found["--call"], cgroup


def join_cgroup(path):
    """Move into the cgroup the parent made for this module (probe/cgroup.py), so that
    every process the import starts is born in it; without it, the parent's sweeps."""
    if path is None:
        return
    try:
        with open(os.path.join(path, "cgroup.procs"), "w") as handle:
            handle.write(str(os.getpid()))
    except OSError:
        pass


def write_result(result_path, result):
    temporary = result_path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    os.replace(temporary, result_path)


def main(argv):
    result_path, module, deadline, paths, sinks, calls, cgroup = parse_args(argv)
    join_cgroup(cgroup)
    main_pid = os.getpid()
    subreaper = become_subreaper()
    sys.path[0:0] = paths
    faulthandler.enable()  # a crash leaves a Python traceback in the captured output
    if hasattr(faulthandler, "register"):
        faulthandler.register(signal.SIGUSR1, all_threads=True)  # sent before a timeout kill

    driver = DriverWatch()
    recorder = CallRecorder(calls, driver)
    watcher = ImportWatcher(sys.modules["_frozen_importlib"], sinks, driver, recorder)
    watcher.preloaded_sinks()
    recorder.loaded_before()
    before = set(sys.modules)
    initialized_before = driver.poll()
    error = None
    watcher.install()
    start = time.perf_counter()
    try:
        __import__(module)
    except BaseException as caught:  # SystemExit and KeyboardInterrupt at import included
        error = caught
    seconds = time.perf_counter() - start
    watcher.uninstall()
    if os.getpid() != main_pid:  # the imported code forked and this is its copy
        os._exit(0)

    mapped = driver.final()
    culprit = watcher.culprit
    if initialized_before:
        culprit = {"module": None, "chain": []}
    elif driver.initialized and culprit is None:
        culprit = {"module": module, "chain": [module]}
    # The import's processes end before the fork check, so a module that used up the
    # process limit (a fork bomb) does not keep the check from forking; then whatever
    # the check itself left.
    ended_first, _ = end_descendants()
    fork = fork_check(deadline)
    ended, left = end_descendants()
    ended += ended_first
    imported = sorted(name for name in list(sys.modules) if name not in before and isinstance(name, str))
    present = mapped is not None or (fork is not None and fork != NO_DRIVER)
    if fork is None and mapped is None:
        present = None
    cuinit = fork if isinstance(fork, int) else None
    result = {
        "module": module,
        "import_ok": error is None,
        "error": None,
        "import_seconds": seconds,
        "driver": {
            "present": present,
            "libcuda_mapped": mapped is not None,
            "initialized": driver.initialized,
            "fork_safe": {0: True, CUDA_ERROR_NOT_INITIALIZED: False}.get(cuinit),
            "cuinit_in_forked_child": cuinit,
        },
        "culprit": culprit,
        "driver_call": None if recorder.found is None else {
            "call": recorder.found["call"], "frames": frame_modules(recorder.found["frames"])},
        "sinks_imported": watcher.sinks_imported,
        "modules_imported": imported[:MAX_LISTED],
        "modules_not_found": sorted(watcher.not_found.items(), key=lambda item: item[0]),
        "versions": _versions(module, watcher.sinks_imported),
        "processes": {"subreaper": subreaper, "ended": ended, "left": left},
    }
    if error is not None:
        failed, chain = watcher.failed
        result["error"] = describe_error(error, chain if failed is error else [module])
    write_result(result_path, result)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    # Skip interpreter shutdown: non-daemon threads or atexit handlers of the imported
    # code must not keep the child alive after the result is written.
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
