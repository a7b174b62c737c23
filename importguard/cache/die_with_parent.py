"""Child processes that end when importguard ends, however it ends.

A forked helper (the early parser, a pool worker) asks the kernel for SIGKILL when its
parent dies (Linux `prctl(PR_SET_PDEATHSIG)`), so `kill -9` of a check, a TERM or HUP,
or `subprocess.run(timeout=)` leaves no parser behind. The parent may have died before
the request took effect; checking `getppid()` afterwards closes that race. The signal
follows the thread that forked, so it is asked for only when the main thread forked.
"""

from __future__ import annotations

import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> None:
    """Call first thing in a child forked by `parent_pid`."""
    if sys.platform != "linux":
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # no prctl: the pipes still end an idle child
        return
    if os.getppid() != parent_pid:
        os._exit(1)
