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
from typing import Any

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


def start_io(server: Any) -> None:
    """pygls' `start_io` (asynchronous stdio), with `read_messages` as its loop."""
    import asyncio
    import sys
    from threading import Event

    from pygls.io_ import StdinAsyncReader, StdoutWriter

    server._stop_event = Event()
    reader = StdinAsyncReader(sys.stdin.buffer, server.thread_pool)
    server.protocol.set_writer(StdoutWriter(sys.stdout.buffer))
    try:
        asyncio.run(read_messages(server._stop_event, reader, server.protocol, server.report_server_error))
    except (BrokenPipeError, KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.shutdown()
