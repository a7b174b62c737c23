"""Work-done progress (`$/progress`) while the pygls server analyses a file, for clients
that can show it (`window.workDoneProgress`). Server-initiated: the token is created
(`window/workDoneProgress/create`) once an analysis has run PROGRESS_AFTER_S, so the
quick analyses after an edit show nothing; then `begin`, a `report` with what the
session last told (files read, parsed) at most every REPORT_EVERY_S, and `end`.
The early start (early.py) reports the first analysis itself, before pygls loads.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any, Optional

from lsprotocol import types as lsp

from importguard.lsp.session import PROGRESS_TITLE as TITLE, REPORT_EVERY_S

PROGRESS_AFTER_S = 0.3
_TOKENS = itertools.count(1)


class AnalysisProgress:
    """One analysis' progress, driven from the event loop; `tell` may be called from
    the analysis' worker thread."""

    def __init__(self, server: Any, loop: asyncio.AbstractEventLoop, message: str) -> None:
        self.server = server
        self.loop = loop
        self.message = message
        self.token = f"importguard-analysis-{next(_TOKENS)}"
        self.state = "waiting"  # -> creating -> begun -> ended (or waiting -> ended)
        self.finished = False
        self.reported_at = 0.0
        self._timer: Optional[asyncio.TimerHandle] = loop.call_later(PROGRESS_AFTER_S, self._create)
        self._task: Optional[asyncio.Task[None]] = None

    def tell(self, message: str) -> None:
        self.loop.call_soon_threadsafe(self._update, message)

    def finish(self) -> None:
        self.finished = True
        if self._timer is not None:
            self._timer.cancel()
        if self.state == "begun":
            self._end()
        elif self.state == "waiting":
            self.state = "ended"
        # creating: _created ends it once the client has answered

    def _update(self, message: str) -> None:
        self.message = message
        if self.state == "begun" and time.monotonic() - self.reported_at >= REPORT_EVERY_S:
            self.reported_at = time.monotonic()
            self.server.work_done_progress.report(self.token, lsp.WorkDoneProgressReport(message=message))

    def _create(self) -> None:
        self._timer = None
        if self.finished:
            return
        self.state = "creating"
        self._task = self.loop.create_task(self._created())

    async def _created(self) -> None:
        try:
            await self.server.work_done_progress.create_async(self.token)
        except Exception:  # noqa: BLE001 - the client refused: no progress, the analysis goes on
            self.state = "ended"
            return
        self.server.work_done_progress.begin(
            self.token, lsp.WorkDoneProgressBegin(title=TITLE, message=self.message, cancellable=False)
        )
        self.state = "begun"
        self.reported_at = time.monotonic()
        if self.finished:
            self._end()

    def _end(self) -> None:
        self.state = "ended"
        self.server.work_done_progress.end(self.token, lsp.WorkDoneProgressEnd(message="done"))
