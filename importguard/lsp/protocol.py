"""The language server's side of JSON-RPC over stdio, robust to a bad client.

pygls' own loop matches `Content-Length` only at the start of a header line, so after one
frame whose length is wrong, the rest of that frame prefixes every later header and all
later messages are ignored. This loop finds the header anywhere in the line, so a bad
frame costs that frame alone, and it never reads a body larger than MAX_MESSAGE_BYTES
into memory (it skips it). After `shutdown`, requests get InvalidRequest, as the
specification asks, where pygls drops them without an answer.
"""

from __future__ import annotations

import json
import logging
import re
from io import BytesIO
from typing import Any, BinaryIO, Sequence

from lsprotocol import types as lsp
from pygls.protocol import LanguageServerProtocol

MAX_MESSAGE_BYTES = 64_000_000  # a 30 MB buffer fits; the file cap then makes it a finding
_SKIP_CHUNK = 1 << 20
_CONTENT_LENGTH = re.compile(rb"Content-Length:\s*(\d+)\s*$", re.IGNORECASE)
_logger = logging.getLogger(__name__)


class RobustProtocol(LanguageServerProtocol):
    def handle_message(self, message: Any) -> None:
        method = getattr(message, "method", None)
        if self._shutdown and method != lsp.EXIT and method is not None and hasattr(message, "id"):
            self._send_response(
                message.id,
                error=lsp.ResponseError(lsp.ErrorCodes.InvalidRequest, f"{method}: the server is shut down"),
            )
            return
        super().handle_message(message)


async def read_messages(stop_event: Any, reader: Any, protocol: Any, error_handler: Any = None) -> None:
    """pygls.io_.run_async, resynchronising after a bad frame and bounding bodies."""
    content_length = None
    while not stop_event.is_set():
        header = await reader.readline()
        if not header:
            break
        match = _CONTENT_LENGTH.search(header)
        if match:
            content_length = int(match.group(1))
            continue
        if header.strip() or content_length is None:
            continue  # another header, or garbage between frames
        length, content_length = content_length, None
        if length > MAX_MESSAGE_BYTES:
            _logger.error("skipping a message of %d bytes (over %d)", length, MAX_MESSAGE_BYTES)
            while length > 0:
                chunk = await reader.readexactly(min(length, _SKIP_CHUNK))
                if not chunk:
                    return
                length -= len(chunk)
            continue
        body = await reader.readexactly(length)
        if not body:
            break
        try:
            message = json.loads(body, object_hook=protocol.structure_message)
            protocol.handle_message(message)
        except Exception as error:  # noqa: BLE001 - one bad message must not stop the server
            _logger.error("ignoring a message that cannot be handled: %s: %s", type(error).__name__, error)
            if error_handler is not None:
                from pygls.exceptions import JsonRpcException

                error_handler(error, JsonRpcException)


def start_io(server: Any, consumed: Sequence[bytes] = (), answered: Any = None) -> None:
    """pygls' `start_io` (asynchronous stdio), with `read_messages` as its loop.
    `consumed`: what early.py read from stdin first, read again here; `answered`:
    the id of the `initialize` it answered, whose second answer is not sent."""
    import asyncio
    import sys
    from threading import Event

    from pygls.io_ import StdinAsyncReader, StdoutWriter

    server._stop_event = Event()
    reader = StdinAsyncReader(_Prefixed(b"".join(consumed), sys.stdin.buffer), server.thread_pool)
    writer = StdoutWriter(sys.stdout.buffer)
    server.protocol.set_writer(writer if answered is None else _AnsweredOnce(writer, answered))
    try:
        asyncio.run(read_messages(server._stop_event, reader, server.protocol, server.report_server_error))
    except (BrokenPipeError, KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.shutdown()


class _Prefixed:
    """A binary stream that yields `prefix`, then `stream`."""

    def __init__(self, prefix: bytes, stream: BinaryIO) -> None:
        self._prefix = BytesIO(prefix)
        self._left = len(prefix)
        self._stream = stream

    def readline(self) -> bytes:
        if not self._left:
            return self._stream.readline()
        line = self._prefix.readline()
        self._left -= len(line)
        if self._left or line.endswith(b"\n"):
            return line
        return line + self._stream.readline()

    def read(self, size: int) -> bytes:
        if not self._left:
            return self._stream.read(size)
        data = self._prefix.read(size)
        self._left -= len(data)
        if len(data) < size:
            data += self._stream.read(size - len(data))
        return data


class _AnsweredOnce:
    """A writer that drops the response to request `answered` (already sent), once."""

    def __init__(self, writer: Any, answered: Any) -> None:
        self._writer = writer
        self._answered = answered

    def close(self) -> None:
        self._writer.close()

    def write(self, data: bytes) -> None:
        if self._answered is not None:
            _, _, body = data.partition(b"\r\n\r\n")
            try:
                message = json.loads(body)
            except ValueError:
                message = None
            if isinstance(message, dict) and "method" not in message and message.get("id") == self._answered:
                self._answered = None
                return
        self._writer.write(data)
