"""Every process a probe child started, found through /proc, so that none outlives it.

A process group is not enough: imported code can start a grandchild in a session of
its own (`start_new_session=True`, a daemon's double fork). The probe child makes
itself a child subreaper, so such orphans stay below it while it lives, and ends them
itself before it exits; this module is the parent's backstop for a child that dies
first. It notes each descendant (pid and start time, against pid reuse) while the
child runs, and ends the ones still alive afterwards. A descendant that left the
child's session and outlived it between two looks (the child exited at once) is found
by the marker the parent put in the child's environment, which every descendant
inherits: a sweep of /proc reads the environment of each process of this user. A
process that replaced its environment (`execve` with a new one) escapes that sweep,
not the cgroup the module runs in where one can be made (cgroup.py). Linux only: elsewhere it finds nothing and says so through
`supported`.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Optional

_KILL_WAIT_S = 1.0
MARKER_VARIABLE = "IMPORTGUARD_PROBE_MARKER"
_SWEEPS = 3  # a process may fork while its siblings are being killed


def supported() -> bool:
    return os.path.isdir("/proc/self/task")


def _stat_fields(pid: int) -> Optional[list[bytes]]:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None


def start_time(pid: int) -> Optional[int]:
    fields = _stat_fields(pid)
    return int(fields[19]) if fields is not None and len(fields) > 19 else None


def is_running(pid: int) -> bool:
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != b"Z"


def children(pid: int) -> list[int]:
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    found: list[int] = []
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found.extend(int(word) for word in handle.read().split())
        except (OSError, ValueError):
            return _children_by_scan(pid)
    return found


def _children_by_scan(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields is not None and len(fields) > 1 and fields[1] == str(pid).encode():
                found.append(int(entry))
    return found


def descendants(pid: int) -> list[int]:
    result: list[int] = []
    todo = [pid]
    while todo:
        for child in children(todo.pop()):
            if child not in result:
                result.append(child)
                todo.append(child)
    return result


def new_marker() -> str:
    return f"{os.getpid()}-{os.urandom(8).hex()}"


def marked(marker: str) -> list[int]:
    """Processes of this user whose environment (as it was at their start) holds
    MARKER_VARIABLE=`marker`."""
    needle = f"{MARKER_VARIABLE}={marker}".encode()
    uid = os.getuid()
    found = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    for entry in entries:
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            if os.stat(f"/proc/{entry}").st_uid != uid:
                continue
            with open(f"/proc/{entry}/environ", "rb") as handle:
                environ = handle.read()
        except OSError:
            continue
        if needle in environ.split(b"\0"):
            found.append(int(entry))
    return found


class ProcessTree:
    """The descendants of one root process seen so far, and those that carry `marker`."""

    def __init__(self, root: int, marker: Optional[str] = None) -> None:
        self.root = root
        self.marker = marker
        self.seen: dict[int, Optional[int]] = {}

    def update(self) -> None:
        for pid in descendants(self.root):
            if pid not in self.seen:
                self.seen[pid] = start_time(pid)

    def end(self) -> list[int]:
        """SIGKILL every noted descendant that is still the same process; the pids
        still running after a short wait (unkillable, or not ours to kill)."""
        self.update()
        alive = [pid for pid, started in self.seen.items() if started is not None and start_time(pid) == started]
        _kill(alive)
        for _ in range(_SWEEPS if self.marker is not None else 0):
            found = [pid for pid in marked(self.marker) if is_running(pid)]
            if not found:
                break
            for pid in found:
                self.seen.setdefault(pid, start_time(pid))
            _kill(found)
            alive += [pid for pid in found if pid not in alive and self.seen[pid] is not None]
        until = time.monotonic() + _KILL_WAIT_S
        left = [pid for pid in alive if is_running(pid)]
        while left and time.monotonic() < until:
            time.sleep(0.02)
            left = [pid for pid in left if is_running(pid) and start_time(pid) == self.seen[pid]]
        return sorted(left)


def _kill(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
