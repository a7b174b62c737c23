"""What one file may cost to collect: its size, and a worker's memory and time.

LibCST's time and memory grow with the tokens it sees (about 1 GB and 20 s per MB of
`x = 1` lines on this box), and its native parser aborts the whole process when an
allocation fails. So files over MAX_SOURCE_BYTES are not parsed (IG901), files over
INLINE_MAX_BYTES are parsed only in a worker process, and each worker runs under an
address-space limit and, per file, a wall-clock alarm with a CPU-time limit behind it
(the alarm cannot interrupt native code; the CPU limit kills the worker). A worker that
dies is replaced and the file is reported (parallel.py); the run goes on. Workers' stderr
goes to /dev/null, so a native crash prints no backtrace.

The limits are module attributes read when used, so tests can lower them.
"""

from __future__ import annotations

import os
import resource
import signal
from contextlib import contextmanager
from typing import Iterator, Optional

MAX_SOURCE_BYTES = 4_000_000  # the largest file seen in vLLM, sglang, flashinfer: 1.24 MB
INLINE_MAX_BYTES = 256_000  # larger files are parsed in a worker, never in the main process
MEMORY_BUDGET_BYTES = 2 * 1024**3  # address space a worker may add to what it started with
TIME_BUDGET_SECONDS = 60.0  # per file


class OverBudget(Exception):
    pass


def over_budget_message(seconds: Optional[float] = None) -> str:
    seconds = TIME_BUDGET_SECONDS if seconds is None else seconds
    return (
        f"cannot analyse file: collecting it passed the budget of one worker "
        f"({MEMORY_BUDGET_BYTES // 1024**2} MB, {seconds:g} s) or crashed the parser"
    )


def too_large_message(size: int) -> str:
    return (
        f"cannot analyse file: it is {size:,} bytes, over the {MAX_SOURCE_BYTES:,} bytes "
        "importguard parses (LibCST needs about 1 GB per MB)"
    )


def start_worker() -> None:
    """Pool initializer: limit the worker's address space, silence its stderr."""
    try:
        with open("/proc/self/statm") as statm:
            start = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = start + MEMORY_BUDGET_BYTES
        if hard == resource.RLIM_INFINITY or limit < hard:
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (OSError, ValueError):  # no /proc (not Linux): no memory limit
        pass
    import faulthandler

    faulthandler.disable()  # a test runner's dump would bypass the silenced stderr
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    global _in_worker
    _in_worker = True


_in_worker = False


_expired = False


def expired() -> bool:
    """Whether the last file's alarm went off. The exception it raises can surface as
    another one (ast's C code turns it into a SystemError)."""
    return _expired


def _on_alarm(signum: int, frame: object) -> None:
    global _expired
    _expired = True
    raise OverBudget()


@contextmanager
def file_budget() -> Iterator[None]:
    """In a worker: OverBudget after TIME_BUDGET_SECONDS of wall time, and the worker
    killed (SIGXCPU) past twice that in CPU time when native code never yields."""
    if not _in_worker:
        yield
        return
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = int(used + 2 * TIME_BUDGET_SECONDS) + 1
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
    global _expired
    _expired = False
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, TIME_BUDGET_SECONDS)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        resource.setrlimit(resource.RLIMIT_CPU, (hard, hard))
