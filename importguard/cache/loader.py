"""The collector the CLI hands to the engine: the facts cache first, then parallel
collection of the misses, whose facts go back into the cache when the run ends."""

from __future__ import annotations

import gc
import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Callable, Iterator, Optional, Sequence

from importguard.cache.directory import cache_directory
from importguard.cache.store import FactsCache, decode
from importguard.config import Config
from importguard.cache.pool import Result, WorkerPool, facts_of
from importguard.model import ModuleFacts, SourceFile


class FactsLoader:
    """Facts from the cache, or collected in the pool. Facts handed out once can be
    read back (`read_back`) by the hash they had, from the cache or, for facts that
    are not cached (--no-cache), from their JSON kept aside (HeldFacts): a caller need
    not keep them decoded (engine.FactsStore), and they are the same facts for the
    whole run."""

    def __init__(self, cache: Optional[FactsCache], pool: WorkerPool) -> None:
        self.cache = cache
        self.pool = pool
        self.collected = 0  # files parsed by this run (cache misses)
        self._hashes: dict[str, str] = {}  # path -> the hash of its facts in this run
        self._held = HeldFacts()  # the JSON of facts not in the cache, by hash

    def __call__(self, sources: Sequence[SourceFile],
                 meanwhile: Optional[Callable[[], None]] = None) -> list[ModuleFacts]:
        """The facts of `sources`, from the cache or collected; `meanwhile` is work
        to do while they are collected, where that happens in another process (it may
        not be called)."""
        found: dict[str, ModuleFacts] = {}
        misses: list[SourceFile] = []
        for source in sources:
            facts = self._cached(source)
            if facts is None:
                misses.append(source)
            else:
                found[source.path] = facts
        for source, facts in zip(misses, self.pool(misses, meanwhile, self._take)):
            found[source.path] = facts
        self.collected += len(misses)
        return [found[source.path] for source in sources]

    def store(self, sources: Sequence[SourceFile], meanwhile: Optional[Callable[[], None]] = None) -> None:
        """Collect the facts of those of `sources` that are not cached, decoding none:
        they are read back when asked for. `meanwhile` as for __call__."""
        misses = [source for source in sources if self._hash(source) is None]
        self.pool(misses, meanwhile, self._keep)
        self.collected += len(misses)

    def read_back(self, source: SourceFile) -> Optional[ModuleFacts]:
        """The facts this run handed out or stored for `source`, decoded again; None
        when it has none (or another run dropped them from the cache meanwhile)."""
        hashed = self._hashes.get(source.path)
        if hashed is None:
            return None
        data = self._held.get(hashed)
        if data is not None:
            return decode(source, json.loads(data))
        facts = None if self.cache is None else self.cache.facts(source, hashed)
        if facts is None:
            del self._hashes[source.path]  # collected again when asked for
        return facts

    def _hash(self, source: SourceFile) -> Optional[str]:
        """The hash of the facts `source` has in this run, when known without collecting."""
        hashed = self._hashes.get(source.path)
        if hashed is None and self.cache is not None:
            hashed = self.cache.facts_hash(source)
            if hashed is not None:
                self._hashes[source.path] = hashed
        return hashed

    def _cached(self, source: SourceFile) -> Optional[ModuleFacts]:
        return None if self._hash(source) is None else self.read_back(source)

    def _keep(self, source: SourceFile, result: Result) -> None:
        """A worker's result as it arrives: its bytes to the cache as they are (or kept
        here when they are not to be cached), nothing decoded."""
        if self.cache is not None and result["digest"] is not None:
            self.cache.store_data(source, result["digest"], result["stat"], result["facts"], result["hash"])
        else:
            self._held.put(result["hash"], result["facts"])
        self._hashes[source.path] = result["hash"]

    def _take(self, source: SourceFile, result: Result) -> ModuleFacts:
        """As _keep, and the facts decoded once."""
        self._keep(source, result)
        return facts_of(source, result)

    def facts_hashes(self, sources: Sequence[SourceFile],
                     meanwhile: Optional[Callable[[], None]] = None) -> Optional[list[str]]:
        """The hash of each file's facts (cache.py), collecting those not cached;
        None without a cache, or when a file's facts cannot be cached. `meanwhile` as
        for __call__."""
        if self.cache is None:
            return None
        hashes = [self._hash(source) for source in sources]
        missing = [source for source, hashed in zip(sources, hashes) if hashed is None]
        if missing:
            self.store(missing, meanwhile)
            hashes = [self.cache.stored_hash(source) if hashed is None else hashed
                      for source, hashed in zip(sources, hashes)]
        return None if None in hashes else hashes  # type: ignore[return-value]

    def new_check(self) -> None:
        """A check begins (engine.FactsStore): facts are looked up again, since a file may
        have changed since the last check of this run (--fix checks again after its edits)."""
        self._hashes = {}

    def close(self) -> None:
        """Forget the facts kept aside (the facts cache keeps its own)."""
        self._held.close()
        self._hashes = {}

    @property
    def warnings(self) -> list[str]:
        return list(self.cache.warnings) if self.cache is not None else []


class HeldFacts:
    """The JSON of facts that are not cached (--no-cache, or a file whose facts must not
    be cached), kept for the rest of the run so that they can be decoded again: in an
    anonymous temporary file, which the operating system keeps in its page cache rather
    than in this process (vLLM's take 22 MB a copy of the tree), or in memory where no
    temporary file can be made."""

    def __init__(self) -> None:
        self._file: Optional[IO[bytes]] = None  # unbuffered: a failed write fails at once
        self._end = 0  # bytes written whole to the file
        self._spans: dict[str, tuple[int, int]] = {}  # hash -> offset and length in the file
        self._in_memory: dict[str, bytes] = {}  # where the file could not be made or written
        self._failed = False

    def put(self, hashed: str, data: bytes) -> None:
        if hashed in self._spans or hashed in self._in_memory:
            return
        file = self._open()
        if file is not None:
            try:
                view = memoryview(data)
                offset = self._end
                while view:  # a short write (a full disk, a file size limit) goes on or raises
                    written = os.pwrite(file.fileno(), view, offset + len(data) - len(view))
                    view = view[written:]
                self._end += len(data)
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
            data = os.pread(self._file.fileno(), span[1], span[0])
        except OSError:
            return None  # read back as if never kept: collected again
        return data if len(data) == span[1] else None

    def close(self) -> None:
        if self._file is not None:
            try:
                self._file.close()
            except OSError:
                pass
            self._file = None
        self._spans = {}
        self._in_memory = {}

    def _open(self) -> Optional[IO[bytes]]:
        if self._file is None and not self._failed:
            import tempfile  # only a run that collects facts it does not cache pays for it

            try:
                self._file = tempfile.TemporaryFile(prefix="importguard-facts-", buffering=0)
            except OSError:
                self._failed = True
        return self._file


@contextmanager
def open_loader(
    config: Config,
    *,
    cache_dir: Optional[Path] = None,
    use_cache: bool = True,
    jobs: Optional[int] = None,
) -> Iterator[FactsLoader]:
    cache = FactsCache.open(cache_directory(config, cache_dir), config) if use_cache else None
    pool = WorkerPool(jobs if jobs is not None else os.cpu_count() or 1)
    collector = FactsLoader(cache, pool)
    # A run allocates some 100,000 objects (facts, edges) and frees almost none, so the
    # cyclic GC keeps rescanning them: a quarter of a warm run. Collection leaves about
    # three cyclic objects per file, so nothing piles up while it is off. What is alive
    # at the end is frozen (never scanned again), or the first collection after it
    # would scan all of it: 7 ms of a check after an edit on sglang. Only the command
    # line opens a loader; the language server, which lives on, does not.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield collector
    finally:
        pool.close()
        collector.close()
        if gc_was_enabled:
            gc.freeze()
            gc.enable()
    if cache is not None:  # only after a run that finished: never save half a run
        cache.save()
