"""A cgroup per probed module, where this process may make one, so that every process
the import started is found and ended, also one that left the child's session and
replaced its environment (which the /proc sweep of process_tree.py would miss).

The parent makes an empty cgroup beside its own (cgroup v2, or v1's `pids` hierarchy),
the child moves itself in before it imports anything (child.py `--cgroup`), and every
process started from there on is born in it. Afterwards the parent kills what is left
in it (`cgroup.kill` where the kernel has it, else SIGKILL to each member until none is
left) and removes it. Where no cgroup can be made (no permission: the usual case for a
user without a delegated cgroup) the probe does without, and says so nowhere: the
sweep still runs.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Optional

from importguard.probe.process_tree import is_running

_KILL_WAIT_S = 1.0
_ROOTS = (("", "/sys/fs/cgroup"), ("", "/sys/fs/cgroup/unified"), ("pids", "/sys/fs/cgroup/pids"))


def _own_paths() -> dict[str, str]:
    """Controller ("" for v2) -> this process's cgroup path, from /proc/self/cgroup."""
    paths = {}
    try:
        with open("/proc/self/cgroup") as handle:
            for line in handle:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                for controller in controllers.split(",") if controllers else [""]:
                    paths[controller] = path
    except (OSError, ValueError):
        pass
    return paths


class ProbeCgroup:
    def __init__(self, path: str) -> None:
        self.path = path

    @classmethod
    def create(cls, name: str) -> Optional["ProbeCgroup"]:
        own = _own_paths()
        for controller, mount in _ROOTS:
            if controller not in own or not os.path.isfile(os.path.join(mount, "cgroup.procs")):
                continue
            if controller == "" and not os.path.isfile(os.path.join(mount, "cgroup.controllers")):
                continue  # a v1 mount, not the unified hierarchy
            path = os.path.join(mount + own[controller].rstrip("/"), name)
            try:
                os.mkdir(path)
            except OSError:
                continue
            return cls(path)
        return None

    def members(self) -> list[int]:
        """The live processes in the cgroup (a zombie waits for its parent, not for us)."""
        try:
            with open(os.path.join(self.path, "cgroup.procs")) as handle:
                return [pid for pid in map(int, handle.read().split()) if is_running(pid)]
        except (OSError, ValueError):
            return []

    def end(self) -> list[int]:
        """Kill every process in the cgroup and remove it; the pids still there after a
        short wait."""
        try:
            with open(os.path.join(self.path, "cgroup.kill"), "w") as handle:
                handle.write("1")
        except OSError:
            pass
        until = time.monotonic() + _KILL_WAIT_S
        left = self.members()
        while left and time.monotonic() < until:
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.02)
            left = self.members()
        try:
            os.rmdir(self.path)
        except OSError:
            pass
        return sorted(left)
