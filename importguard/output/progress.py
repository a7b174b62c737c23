"""A progress bar on stderr for terminals only; silent everywhere else.

    with Progress(total_bytes, "hashing", unit="bytes") as progress:
        progress.advance(n)        # thread-safe

When the stream is not a TTY (CI, pipes, tests) nothing is ever written.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import IO, Optional

_WIDTH = 30
_INTERVAL_S = 0.1


class Progress:
    def __init__(
        self, total: int, label: str, unit: str = "", stream: Optional[IO[str]] = None
    ) -> None:
        self.total = max(total, 0)
        self.label = label
        self.unit = unit
        self.done = 0
        self._stream = stream if stream is not None else sys.stderr
        self._enabled = _is_tty(self._stream)
        self._lock = threading.Lock()
        self._last_draw = 0.0

    def __enter__(self) -> "Progress":
        self._draw(force=True)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._enabled:
            self._stream.write("\r\x1b[K")  # erase the bar: the report follows on a clean line
            self._stream.flush()

    def advance(self, amount: int = 1) -> None:
        with self._lock:
            self.done += amount
            self._draw()

    def _draw(self, force: bool = False) -> None:
        if not self._enabled:
            return
        now = time.monotonic()
        if not force and now - self._last_draw < _INTERVAL_S:
            return
        self._last_draw = now
        fraction = min(self.done / self.total, 1.0) if self.total else 1.0
        filled = int(fraction * _WIDTH)
        bar = "#" * filled + "." * (_WIDTH - filled)
        amount = (
            f"{_human(self.done)}/{_human(self.total)}"
            if self.unit == "bytes"
            else f"{self.done}/{self.total}{' ' + self.unit if self.unit else ''}"
        )
        self._stream.write(f"\r{self.label} [{bar}] {fraction:4.0%} {amount}")
        self._stream.flush()


def _is_tty(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def _human(count: float) -> str:
    if count < 1000:
        return f"{count:.0f} B"
    for suffix in ("KB", "MB", "GB"):
        count /= 1000
        if count < 1000 or suffix == "GB":
            break
    return f"{count:.1f} {suffix}"
