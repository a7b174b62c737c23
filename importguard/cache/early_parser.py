"""A parser process started before it is known to be needed.

Importing LibCST costs a run that parses one edited file about 0.1-0.15 s on a
2-core box, most of that run, and the run only learns that it must parse after its
own imports, the config, the discovery and the facts hashes. So when the console
script finds that an input of a `check`'s replay record changed (or the check is
`--changed-only`: entry.py), it forks this process at once: it
imports the collector on another core while the run does the rest, then collects
the files the run would have collected inline (pool.py). It collects as a pool
worker does (budget.start_worker: memory limit, per-file alarm, stderr silenced),
so a file that crashes the parser takes this process down, not the run, and the
run collects what is left the way the pool does after a worker died.

It dies with the run, however the run ends (cache/die_with_parent.py). A pool starting stops it, so does a check that finds it has nothing to parse (a
stored report replayed, every stored finding reused), and so does the run's end: a
run that parsed nothing leaves nothing running. Only where fork is safe and cheap (Linux, with no thread
started yet) and with a second CPU to run on.
"""

from __future__ import annotations

import atexit
import os
import signal
import struct
import sys
from typing import Any, Callable, Optional, Sequence

from importguard.cache.die_with_parent import die_with_parent

_HEADER = struct.Struct("!Q")

# The child's pid and the parent's ends of the two pipes; None when there is none.
_child: Optional[tuple[int, int, int]] = None


def start() -> None:
    """Fork the parser process (see the module's docstring for when it is not)."""
    global _child
    if _child is not None or sys.platform != "linux" or (os.cpu_count() or 1) < 2:
        return
    # Modules this process imports anyway that the parser process needs too: imported
    # once, before the fork, rather than in both (the two share two cores with the rest
    # of the run). The parser then imports LibCST and the collector alone.
    import importguard.facts.budget  # noqa: F401
    import importguard.facts.conditions  # noqa: F401
    import importguard.files.regular_file  # noqa: F401
    import importguard.model  # noqa: F401

    requests_read, requests_write = os.pipe()
    results_read, results_write = os.pipe()
    parent = os.getpid()
    try:
        pid = os.fork()
    except OSError:
        for fd in (requests_read, requests_write, results_read, results_write):
            os.close(fd)
        return
    if pid == 0:  # the child: never returns into the caller's code
        try:
            die_with_parent(parent)  # a killed check leaves no parser behind
            os.close(requests_write)
            os.close(results_read)
            _serve(requests_read, results_write)
        finally:
            os._exit(0)
    os.close(requests_read)
    os.close(results_write)
    _child = (pid, requests_write, results_read)
    atexit.register(stop)


def running() -> bool:
    return _child is not None


def collect(work: Callable[[list[Any]], list[Any]], sources: Sequence[Any],
            meanwhile: Optional[Callable[[], None]] = None) -> Optional[list[Any]]:
    """`work(sources)` (a module-level function: it travels by name), run in the
    parser process while this one calls `meanwhile`; None (and `meanwhile` not
    called) when there is none. Raises ChildProcessError when it died (the caller
    collects the files as after a pool worker died)."""
    if _child is None:
        return None
    import pickle  # only once something is parsed: a run that parses nothing skips it

    _, requests, results = _child
    try:
        _send(requests, (work, list(sources)))
    except OSError as error:
        stop()
        raise ChildProcessError("the parser process died") from error
    if meanwhile is not None:
        meanwhile()
    try:
        answer = _receive(results)
    except (OSError, EOFError, pickle.UnpicklingError, struct.error) as error:
        stop()
        raise ChildProcessError("the parser process died") from error
    if not isinstance(answer, list) or len(answer) != len(sources):
        stop()
        raise ChildProcessError("the parser process answered out of turn")
    return answer


def stop() -> None:
    """End the parser process (idle or still importing) and reap it."""
    global _child
    if _child is None:
        return
    pid, requests, results = _child
    _child = None
    for fd in (requests, results):
        try:
            os.close(fd)
        except OSError:
            pass
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (OSError, ChildProcessError):
        pass


def _serve(requests: int, results: int) -> None:
    """The child's loop: import the collector, then do each request's work until
    the parent closes its end."""
    import fcntl  # Linux only, as this process

    # A parent started with stdin or stdout closed got one of those numbers for a pipe.
    requests, results = (fcntl.fcntl(fd, fcntl.F_DUPFD, 3) if fd < 3 else fd for fd in (requests, results))
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):  # hold none of the parent's streams: its reader would wait for us
        os.dup2(devnull, fd)
    os.close(devnull)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    from importguard.facts import budget

    budget.start_worker()
    import importguard.facts.collect  # noqa: F401  (the import this process is for)

    while True:
        try:
            work, sources = _receive(requests)
        except (EOFError, OSError):
            return
        _send(results, work(sources))


def _send(fd: int, value: Any) -> None:
    import pickle

    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def _receive(fd: int) -> Any:
    import pickle

    (size,) = _HEADER.unpack(_read_exactly(fd, _HEADER.size))
    return pickle.loads(_read_exactly(fd, size))


def _read_exactly(fd: int, size: int) -> bytes:
    chunks = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            raise EOFError("the other end closed its pipe")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)
