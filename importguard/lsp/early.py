"""The language server's first answers, before pygls is imported.

Importing pygls and lsprotocol costs a fresh process about 0.4 s of CPU, most of what a
warm first analysis of vLLM costs. An editor waits for it twice: before `initialize`
is answered and before the first file's diagnostics. So `importguard lsp` starts here,
with the standard library and the analysis alone: it answers `initialize` with the
capabilities the pygls server would give (`capabilities`; a test compares the two),
waits for the first `didOpen` of a Python file, analyses it and publishes its
diagnostics. Then it hands over: the pygls server (server.py) reads every byte this read
first, as if it had read them itself, drops its own answer to `initialize`, takes the
analysed session, and knows the file's diagnostics were published.

A client that shows work-done progress sees the analysis' progress when it is not a
replay (`_FirstProgress`: window/workDoneProgress/create, then begin, reports, end).

Anything else first (a request, a client that pulls diagnostics, an unexpected
message, a frame it cannot read, an analysis with something to tell) ends the early
start at once, answering nothing more: the server answers it as it always did.
"""

from __future__ import annotations

import json
import os
import select
import sys
import time
from typing import Any, BinaryIO, Optional

from importguard import __version__

MAX_EARLY_MESSAGE_BYTES = 1 << 24  # larger: the server's reader (and its limits) takes it
_MAX_HEADER_LINE = 1 << 12
# Notifications that may wait for the server: the first diagnostics do not depend on them.
_LATER = frozenset({"initialized", "$/setTrace", "workspace/didChangeConfiguration"})
_ENCODINGS = ("utf-8", "utf-16", "utf-32")  # pygls' supported position encodings
# After `initialized`, a client opens its files at once; one that waits (for the file
# watchers the server registers, say) gets the server after this long.
OPEN_WAIT_S = 0.2
# Work-done progress of the first analysis (progress.py does it for the server's).
CREATE_WAIT_S = 2.0  # for the answer to window/workDoneProgress/create
_PROGRESS_TOKEN = "importguard-first-analysis"


def capabilities(params: dict[str, Any]) -> dict[str, Any]:
    """The InitializeResult the pygls server (server.py) returns for these params."""
    client = params.get("capabilities") or {}
    synchronization = (client.get("textDocument") or {}).get("synchronization") or {}
    # Told by the client, pygls says false for these (the server has no handler for them).
    will_save = {key: False for key in ("willSave", "willSaveWaitUntil") if synchronization.get(key) is not None}
    return {
        "capabilities": {
            "positionEncoding": _position_encoding(params),
            "textDocumentSync": {"openClose": True, "change": 2, **will_save, "save": True},
            "codeActionProvider": {"codeActionKinds": ["quickfix", "source.fixAll.importguard"]},
            "executeCommandProvider": {"commands": []},
            "diagnosticProvider": {"interFileDependencies": True, "workspaceDiagnostics": False,
                                   "identifier": "importguard"},
            "workspace": {"workspaceFolders": {"supported": True, "changeNotifications": True}, "fileOperations": {}},
        },
        "serverInfo": {"name": "importguard", "version": __version__},
    }


def _position_encoding(params: dict[str, Any]) -> str:
    """The client's first encoding that pygls supports, else UTF-16 (pygls' rule)."""
    general = (params.get("capabilities") or {}).get("general") or {}
    for encoding in general.get("positionEncodings") or ():
        if encoding in _ENCODINGS:
            return str(encoding)
    return "utf-16"


def _shows_progress(params: dict[str, Any]) -> bool:
    window = (params.get("capabilities") or {}).get("window") or {}
    return window.get("workDoneProgress") is True


def _pulls(params: dict[str, Any]) -> bool:
    """The client asks for diagnostics (textDocument/diagnostic): the server answers those."""
    text_document = (params.get("capabilities") or {}).get("textDocument") or {}
    return text_document.get("diagnostic") is not None


class EarlyStart:
    def __init__(self, stdin: int, stdout: BinaryIO) -> None:
        self.stdin = stdin  # a file descriptor, read unbuffered: what was read is in `consumed`
        self.stdout = stdout
        self.consumed: list[bytes] = []  # every byte read, for the server to read again
        self._buffer = bytearray()  # read, not yet taken as a message
        self.answered: Optional[Any] = None  # the id of the `initialize` answered here
        self.session: Optional[Any] = None
        self.published: Optional[tuple[str, int, Any]] = None  # (uri, version, Analysis)
        self.shows_progress = False  # the client takes window/workDoneProgress/create
        self.interrupted = False  # a message came while this waited for the client: the server takes over
        self._read = 0  # bytes read from stdin so far
        self.started_at = 0  # where the last message read begins in what was read

    def run(self) -> None:
        message = self._next()
        if message is None or message.get("method") != "initialize" or "id" not in message:
            return
        params = message.get("params")
        if not isinstance(params, dict) or _pulls(params):
            return
        self._send({"jsonrpc": "2.0", "id": message["id"], "result": capabilities(params)})
        self.answered = message["id"]
        self.shows_progress = _shows_progress(params)
        initialized = False
        while True:
            message = self._next(OPEN_WAIT_S if initialized else None)
            if message is None or "id" in message:
                return  # a request (or a response): the server answers it
            method = message.get("method")
            initialized = initialized or method == "initialized"
            if method == "textDocument/didOpen":
                self._open(message.get("params"))
                return
            if method not in _LATER:
                return

    def _open(self, params: Any) -> None:
        from pygls.uris import to_fs_path

        document = params.get("textDocument") if isinstance(params, dict) else None
        if not isinstance(document, dict):
            return
        uri, version, text = document.get("uri"), document.get("version"), document.get("text")
        if not (isinstance(uri, str) and isinstance(version, int) and isinstance(text, str)):
            return
        path = to_fs_path(uri) if uri.startswith("file:") else None
        if not path or not path.endswith(".py"):
            return
        from importguard.lsp.diagnostics import LOG, diagnostic_json
        from importguard.lsp.session import Session

        session = Session()
        progress = _FirstProgress(self) if self.shows_progress else None
        try:
            result = session.analyse(path, text, progress.tell if progress is not None else None)
        except Exception:  # noqa: BLE001 - the server analyses again and reports it
            return
        finally:
            if progress is not None:
                progress.end()
        self.session = session
        if result.config_error or self.session.warnings or self.interrupted:
            return  # messages to show, or one to answer: the server does, analysing again
        self._send({"jsonrpc": "2.0", "method": "window/logMessage",
                    "params": {"type": LOG, "message": "importguard: analysed " + json.dumps(result.summary(path))}})
        lines = text.splitlines(True)
        self._send({"jsonrpc": "2.0", "method": "textDocument/publishDiagnostics",
                    "params": {"uri": uri, "diagnostics": [diagnostic_json(f, lines) for f in result.findings],
                               "version": version}})
        self.published = (uri, version, result)

    def _next(self, wait: Optional[float] = None) -> Optional[dict[str, Any]]:
        """The next message, or None (having kept what it read) for anything unexpected,
        or when none began within `wait` seconds."""
        length = None
        self.started_at = self._read - len(self._buffer)  # where this message begins in the stream
        while True:
            line = self._line(wait)
            if line is None:
                return None
            wait = None  # a message has begun: the rest of it follows
            if not line.strip():
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                try:
                    length = int(value.strip())
                except ValueError:
                    return None
        if length is None or not 0 < length <= MAX_EARLY_MESSAGE_BYTES:
            return None
        while len(self._buffer) < length:
            if not self._fill(None):
                return None
        body = bytes(self._buffer[:length])
        del self._buffer[:length]
        try:
            message = json.loads(body)
        except ValueError:
            return None
        return message if isinstance(message, dict) else None

    def _line(self, wait: Optional[float]) -> Optional[bytes]:
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                line = bytes(self._buffer[:end + 1])
                del self._buffer[:end + 1]
                return line
            if len(self._buffer) > _MAX_HEADER_LINE or not self._fill(wait):
                return None

    def _fill(self, wait: Optional[float]) -> bool:
        """Read what stdin has (waiting at most `wait` seconds for it); False at its end
        or when nothing came in time."""
        if wait is not None and not select.select([self.stdin], [], [], wait)[0]:
            return False
        data = os.read(self.stdin, 1 << 16)
        self._read += len(data)
        self.consumed.append(data)
        self._buffer += data
        return bool(data)

    def _forget_last(self) -> None:
        """Leave the message just read out of what the server reads again (the answer
        to a request of this early start: the server never made that request)."""
        end = self._read - len(self._buffer)
        stream = b"".join(self.consumed)
        self.consumed = [stream[:self.started_at] + stream[end:]]

    def _send(self, message: dict[str, Any]) -> None:
        body = json.dumps(message).encode()
        self.stdout.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.stdout.flush()


class _FirstProgress:
    """Work-done progress of the early start's analysis: created when the analysis
    turns out not to be a replay (the session's first `tell`), then begin, reports,
    end. The client's answer to the create request is read here, in the analysis;
    anything else read instead ends the early start once the analysis is done."""

    def __init__(self, early: EarlyStart) -> None:
        self.early = early
        self.state = "new"  # -> begun | refused
        self.reported_at = 0.0

    def tell(self, message: str) -> None:
        from importguard.lsp.session import REPORT_EVERY_S

        if self.state == "new":
            self._create(message)
        elif self.state == "begun" and time.monotonic() - self.reported_at >= REPORT_EVERY_S:
            self.reported_at = time.monotonic()
            self._progress({"kind": "report", "message": message})

    def _create(self, message: str) -> None:
        from importguard.lsp.session import PROGRESS_TITLE

        self.state = "refused"
        early = self.early
        early._send({"jsonrpc": "2.0", "id": _PROGRESS_TOKEN, "method": "window/workDoneProgress/create",
                     "params": {"token": _PROGRESS_TOKEN}})
        answer = early._next(CREATE_WAIT_S)
        if answer is None or answer.get("id") != _PROGRESS_TOKEN or "method" in answer:
            early.interrupted = True  # the server reads it (or its end) and answers
            return
        early._forget_last()
        if "error" in answer:
            return
        self.state = "begun"
        self.reported_at = time.monotonic()
        self._progress({"kind": "begin", "title": PROGRESS_TITLE, "message": message, "cancellable": False})

    def end(self) -> None:
        if self.state == "begun":
            self.state = "ended"
            self._progress({"kind": "end", "message": "done"})

    def _progress(self, value: dict[str, Any]) -> None:
        self.early._send({"jsonrpc": "2.0", "method": "$/progress", "params": {"token": _PROGRESS_TOKEN, "value": value}})


def serve() -> None:
    """`importguard lsp`: the early start, then the pygls server."""
    early = EarlyStart(sys.stdin.fileno(), sys.stdout.buffer)
    if os.name != "nt":  # where select() cannot wait on a pipe, the server starts at once
        try:
            early.run()
        except (OSError, ValueError):
            pass  # a closed pipe, a bad frame: the server meets it too, and deals with it
    from importguard.lsp.server import serve_after

    serve_after(early.session, early.published, early.consumed, early.answered)
