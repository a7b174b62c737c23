"""The collector the CLI hands to the engine: the facts cache first, then parallel
collection of the misses, whose facts go back into the cache when the run ends."""

from __future__ import annotations

import gc
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence

from importguard.cache.directory import cache_directory
from importguard.cache.store import FactsCache
from importguard.config import Config
from importguard.cache.pool import Result, WorkerPool, facts_of
from importguard.model import ModuleFacts, SourceFile


class FactsLoader:
    def __init__(self, cache: Optional[FactsCache], pool: WorkerPool) -> None:
        self.cache = cache
        self.pool = pool
        self.collected = 0  # files parsed by this run (cache misses)

    def __call__(self, sources: Sequence[SourceFile],
                 meanwhile: Optional[Callable[[], None]] = None) -> list[ModuleFacts]:
        """The facts of `sources`, from the cache or collected; `meanwhile` is work
        to do while they are collected, where that happens in another process (it may
        not be called)."""
        found: dict[str, ModuleFacts] = {}
        misses: list[SourceFile] = []
        for source in sources:
            facts = self.cache.lookup(source) if self.cache is not None else None
            if facts is None:
                misses.append(source)
            else:
                found[source.path] = facts
        for source, facts in zip(misses, self.pool(misses, meanwhile, self._take)):
            found[source.path] = facts
        self.collected += len(misses)
        return [found[source.path] for source in sources]

    def _take(self, source: SourceFile, result: Result) -> ModuleFacts:
        """A worker's result as it arrives: its bytes to the cache as they are, its
        facts decoded once."""
        if self.cache is not None and result["digest"] is not None:
            self.cache.store_data(source, result["digest"], result["stat"], result["facts"], result["hash"])
        return facts_of(source, result)

    def facts_hashes(self, sources: Sequence[SourceFile],
                     meanwhile: Optional[Callable[[], None]] = None) -> Optional[list[str]]:
        """The hash of each file's facts (cache.py), collecting those not cached;
        None without a cache, or when a file's facts cannot be cached. `meanwhile` as
        for __call__."""
        if self.cache is None:
            return None
        hashes = [self.cache.facts_hash(source) for source in sources]
        missing = [source for source, hashed in zip(sources, hashes) if hashed is None]
        if missing:
            self(missing, meanwhile)
            hashes = [self.cache.stored_hash(source) if hashed is None else hashed
                      for source, hashed in zip(sources, hashes)]
        return None if None in hashes else hashes  # type: ignore[return-value]

    @property
    def warnings(self) -> list[str]:
        return list(self.cache.warnings) if self.cache is not None else []


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
        if gc_was_enabled:
            gc.freeze()
            gc.enable()
    if cache is not None:  # only after a run that finished: never save half a run
        cache.save()
