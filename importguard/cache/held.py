"""The JSON of facts that are not cached (--no-cache, or a file whose facts must not be
cached), kept for the rest of the run so that they can be decoded again
(cache/loader.py): in an anonymous temporary file, which the operating system keeps
in its page cache rather than in this process (vLLM's take 22 MB a copy of the tree),
or in memory where no temporary file can be made."""

from __future__ import annotations

from typing import IO, Optional


class HeldFacts:
    def __init__(self) -> None:
        self._file: Optional[IO[bytes]] = None
        self._spans: dict[str, tuple[int, int]] = {}  # hash -> offset and length in the file
        self._in_memory: dict[str, bytes] = {}  # where the file could not be made or written
        self._failed = False

    def put(self, hashed: str, data: bytes) -> None:
        if hashed in self._spans or hashed in self._in_memory:
            return
        file = self._open()
        if file is not None:
            try:
                offset = file.seek(0, 2)
                file.write(data)
                self._spans[hashed] = (offset, len(data))
                return
            except OSError:
                self._failed = True
        self._in_memory[hashed] = data

    def get(self, hashed: str) -> Optional[bytes]:
        span = self._spans.get(hashed)
        if span is None:
            return self._in_memory.get(hashed)
        if self._file is None:
            return None  # closed
        try:
            self._file.seek(span[0])
            data = self._file.read(span[1])
        except OSError:
            return None  # read back as if never kept: collected again
        return data if len(data) == span[1] else None

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._spans = {}
        self._in_memory = {}

    def _open(self) -> Optional[IO[bytes]]:
        if self._file is None and not self._failed:
            import tempfile  # only a run that collects facts it does not cache pays for it

            try:
                self._file = tempfile.TemporaryFile(prefix="importguard-facts-")
            except OSError:
                self._failed = True
        return self._file
