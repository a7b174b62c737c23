"""Collect facts in worker processes.

Workers return plain data (the facts' JSON as the facts cache keeps it, its hash, and
the content hash and stat the cache keys on: the main process stores those bytes
without encoding them again, and decodes them once) and never raise: a crash of the
collector on one file becomes a problem in that file's facts. Each result is handed to
the caller as it arrives (`each`), so a run need not hold the results of a whole batch.
A single file, or a few before any pool exists, is collected inline, which costs less
than starting a pool; once started, the pool stays up for the rest of the run, so each
breadth-first level of the graph search reuses it. Large files
go first, but the source being parsed at once stays under a budget (`ast` of the whole
file plus LibCST of its skeleton took about 120 MB per MB of source on flashinfer's
largest generated modules; LibCST on whole files took about 1 GB per MB).
"""

from __future__ import annotations

import os
import sys
from collections import deque
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any, Callable, ContextManager, Optional, Sequence

from importguard.cache import early_parser
from importguard.cache.codec import Codec, codec
from importguard.cache.die_with_parent import die_with_parent
from importguard.facts import budget
from importguard.output.progress import Progress
from importguard.model import ModuleFacts, Problem, SourceFile

if TYPE_CHECKING:  # imported when a pool starts: a warm run needs none of it
    from concurrent.futures import Future, ProcessPoolExecutor

UNREADABLE = "IG901"  # collect.UNREADABLE; not imported, to keep libcst out of warm runs
PROGRESS_MIN_FILES = 100
POOL_MIN_FILES = 4  # below this, starting a pool costs more than it saves
_MAX_CHUNK = 16
_BIG_FILE = 64_000
BYTES_IN_FLIGHT = 8_000_000  # about 1 GB over all workers
TRIM_AFTER_BYTES = 512_000  # source collected in one chunk, about 60 MB of parse trees

Result = dict[str, Any]


def facts_codec() -> Codec:
    return codec(ModuleFacts)


def facts_of(source: SourceFile, result: Result) -> ModuleFacts:
    """The facts a worker's result carries (`source` is the file it was asked for)."""
    import json

    from importguard.cache.store import decode

    return decode(source, json.loads(result["facts"]))


def collect_entry(source: SourceFile) -> Result:
    """Facts of one file as plain data: `facts` their JSON without the fields naming
    the file (store.facts_json), `hash` its digest, and `digest` and `stat` for the
    cache (`digest` is None when the facts must not be cached)."""
    return _packed(_collected(source))


def _collected(source: SourceFile) -> Result:
    from importguard.cache.store import digest, file_stat
    from importguard.files.regular_file import FileTooLarge, read_regular

    stat = file_stat(source.path)  # before reading: a later edit then fails the fast path
    try:
        data = read_regular(source.path, budget.MAX_SOURCE_BYTES)
    except FileTooLarge as error:
        return _failure(source, budget.too_large_message(error.size))
    except OSError as error:
        return _failure(source, f"cannot read file: {error.strerror or error}")
    return _collect_within_budget(source, data, lambda: (digest(data), stat))


def _packed(result: Result) -> Result:
    """`result` with its encoded facts as the bytes the cache stores, hashed here, in
    the worker: the main process neither encodes them again nor hashes them."""
    from importguard.cache.store import digest, facts_json, without_identity

    data = facts_json(without_identity(result["facts"]))
    return {**result, "facts": data, "hash": digest(data)}


def _collect_within_budget(source: SourceFile, data: bytes,
                           cache_key: Callable[[], tuple[Optional[str], Any]]) -> Result:
    """Facts of `data` under the per-file budgets; a budget passed, or a collector bug,
    is that file's IG901. `cache_key` gives (digest, stat) of facts that may be cached."""
    from importguard.facts.collect import collect_source

    try:
        with budget.file_budget():
            facts = collect_source(data, source)
    except (budget.OverBudget, MemoryError):
        return _failure(source, budget.over_budget_message())
    except Exception as error:  # noqa: BLE001 - a collector bug must not end the run
        if budget.expired():
            return _failure(source, budget.over_budget_message())
        return _failure(source, f"cannot analyse file: internal error: {type(error).__name__}: {error}")
    found_digest, stat = cache_key()
    return {"facts": facts_codec().encode(facts), "digest": found_digest, "stat": stat}


def collect_bounded(source: SourceFile, data: Optional[bytes] = None, time_budget: Optional[float] = None) -> ModuleFacts:
    """Facts of one file, or of `data` standing for it (an editor buffer), for a caller
    that a big or hostile file must not block for long or crash (the language server):
    small inputs inline, larger ones in a fresh worker under the budgets, with
    `time_budget` seconds instead of the default."""
    size = len(data) if data is not None else _size(source)
    if size <= budget.INLINE_MAX_BYTES:
        return facts_of(source, _entry_for(source, data))
    if size > budget.MAX_SOURCE_BYTES:
        return facts_of(source, _packed(_failure(source, budget.too_large_message(size))))
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    context = multiprocessing.get_context("fork") if sys.platform == "linux" else None
    with ProcessPoolExecutor(max_workers=1, mp_context=context, initializer=_start_worker, initargs=_worker_args()) as pool:
        try:
            result = pool.submit(_entry_for, source, data, time_budget).result()
        except BrokenProcessPool:
            result = _packed(_failure(source, budget.over_budget_message(time_budget)))
    return facts_of(source, result)


def _entry_for(source: SourceFile, data: Optional[bytes], time_budget: Optional[float] = None) -> Result:
    if time_budget is not None:
        budget.TIME_BUDGET_SECONDS = time_budget  # in this worker only
    if data is None:
        return collect_entry(source)
    return _packed(_collect_within_budget(source, data, lambda: (None, None)))  # a buffer: never cached


def _worker_args() -> tuple[int, bool]:
    import threading

    return os.getpid(), threading.current_thread() is threading.main_thread()


def _start_worker(parent_pid: int, forked_by_main_thread: bool) -> None:
    """Pool initializer: die with the run (a killed check leaves no worker behind), then
    the budgets. PR_SET_PDEATHSIG fires when the forking thread ends, so a pool started
    from another thread (the language server's) relies on its pipes instead."""
    if forked_by_main_thread:
        die_with_parent(parent_pid)
    budget.start_worker()
    from importguard.facts.collect import skip_node_validation

    skip_node_validation()


def _failure(source: SourceFile, message: str) -> Result:
    facts = ModuleFacts(source.module, source.path, source.is_package, problems=(Problem(UNREADABLE, message),))
    return {"facts": facts_codec().encode(facts), "digest": None, "stat": None}


def _collect_chunk(sources: Sequence[SourceFile], size: Optional[int] = None) -> list[Result]:
    """`size`: the bytes of source in `sources`, when the caller knows them."""
    results = [collect_entry(source) for source in sources]
    if (sum(map(_size, sources)) if size is None else size) >= TRIM_AFTER_BYTES:
        _release_memory()
    return results


def _release_memory() -> None:
    """Give a big parse tree's memory back to the system: glibc keeps what was freed,
    and an idle worker should not sit on it while another one parses. Only after a
    chunk of at least TRIM_AFTER_BYTES of source: after smaller ones what glibc keeps is
    a few megabytes, which the next chunk reuses, while trimming it made the next chunk
    fault its pages in again (8 times the page faults on sglang, 2% of collecting)."""
    try:
        import ctypes

        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def _itself(source: SourceFile, result: Result) -> Result:
    return result


def _size(source: SourceFile) -> int:
    try:
        return os.stat(source.path).st_size
    except OSError:
        return 0


class WorkerPool:
    """`collector(sources) -> [Result]` in the order given, or `[each(source, result)]`."""

    def __init__(self, jobs: int) -> None:
        self.jobs = max(1, jobs)
        self._pool: Optional[ProcessPoolExecutor] = None

    def __call__(self, sources: Sequence[SourceFile], meanwhile: Optional[Callable[[], None]] = None,
                 each: Optional[Callable[[SourceFile, Result], Any]] = None) -> list[Any]:
        """`meanwhile`: work to do while the parser process started early
        (early_parser.py) collects, if it does; it is not called otherwise. `each`:
        what to keep of a result, called as each arrives (the result itself if not
        given)."""
        if not sources:
            return []
        keep = each if each is not None else _itself
        with self._progress(len(sources)) as progress:
            if not any(_size(s) > budget.INLINE_MAX_BYTES for s in sources) and (
                self.jobs == 1 or len(sources) == 1 or (self._pool is None and len(sources) < POOL_MIN_FILES)
            ):
                try:
                    early = early_parser.collect(_collect_chunk, sources, meanwhile)
                except ChildProcessError:  # it died on one of them: find which, as below
                    return [keep(source, _isolated(source)) for source in sources]
                if early is not None:
                    return [keep(source, result) for source, result in zip(sources, early)]
                results = []
                for source in sources:
                    results.append(keep(source, collect_entry(source)))
                    if progress is not None:
                        progress.advance()
                return results
            return self._in_pool(sources, progress, keep)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _progress(self, count: int) -> ContextManager[Optional[Progress]]:
        if count < PROGRESS_MIN_FILES:
            return nullcontext()
        return Progress(count, "collecting facts", unit="files")

    def _start(self) -> ProcessPoolExecutor:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        if self._pool is None:
            early_parser.stop()  # the pool's workers parse from here on
            context = None
            if sys.platform == "linux":
                # Forked workers inherit LibCST already imported, and share its pages.
                import importguard.facts.collect  # noqa: F401

                context = multiprocessing.get_context("fork")
            self._pool = ProcessPoolExecutor(
                max_workers=self.jobs, mp_context=context, initializer=_start_worker, initargs=_worker_args()
            )
        return self._pool

    def _in_pool(self, sources: Sequence[SourceFile], progress: Optional[Progress],
                 keep: Callable[[SourceFile, Result], Any] = lambda source, result: result) -> list[Any]:
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool

        queue = _chunks(sources, self.jobs)
        by_path: dict[str, Any] = {}
        running: dict[Future[list[Result]], _Chunk] = {}
        in_flight = 0
        try:
            pool = self._start()
            while queue or running:
                while queue and len(running) < self.jobs * 2:
                    chunk = _next_chunk(queue, in_flight if running else None)
                    if chunk is None:
                        break
                    running[pool.submit(_collect_chunk, chunk[1], chunk[0])] = chunk
                    in_flight += chunk[0]
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    size, files = running[future]
                    results = future.result()  # a dead worker leaves the chunk running
                    del running[future]
                    in_flight -= size
                    for source, result in zip(files, results):
                        by_path[source.path] = keep(source, result)
                    del results
                    if progress is not None:
                        progress.advance(len(files))
        except BrokenProcessPool:
            self.close()
            for _, files in [*running.values(), *queue]:
                for source in files:
                    if source.path not in by_path:
                        by_path[source.path] = keep(source, _isolated(source))
        return [by_path[source.path] for source in sources]


_Chunk = tuple[int, list[SourceFile]]  # bytes of source, files


def _chunks(sources: Sequence[SourceFile], jobs: int) -> deque[_Chunk]:
    """Largest first, so that no worker is left with a big file at the end; big files
    alone, small ones in groups to save round trips."""
    sized = sorted(((_size(s), s) for s in sources), key=lambda pair: pair[0], reverse=True)
    chunks: deque[_Chunk] = deque((size, [s]) for size, s in sized if size >= _BIG_FILE)
    small = [(size, s) for size, s in sized if size < _BIG_FILE]
    step = max(1, min(_MAX_CHUNK, len(small) // (jobs * 8)))
    for i in range(0, len(small), step):
        group = small[i : i + step]
        chunks.append((sum(size for size, _ in group), [s for _, s in group]))
    return chunks


def _next_chunk(queue: deque[_Chunk], in_flight: Optional[int]) -> Optional[_Chunk]:
    """Collecting needs about 120 MB per MB of source, so the source being parsed at
    once stays under a budget: the largest chunk that fits, else the smallest, else
    none until something finishes. Alone, any chunk goes."""
    if in_flight is None or in_flight + queue[0][0] <= BYTES_IN_FLIGHT:
        return queue.popleft()
    if in_flight + queue[-1][0] <= BYTES_IN_FLIGHT:
        return queue.pop()
    return None


def _isolated(source: SourceFile) -> Result:
    """After a worker died (e.g. the native parser crashed), retry one file alone so
    that only the file that kills a worker is marked."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    context = multiprocessing.get_context("fork") if sys.platform == "linux" else None
    with ProcessPoolExecutor(max_workers=1, mp_context=context, initializer=_start_worker, initargs=_worker_args()) as pool:
        try:
            return pool.submit(collect_entry, source).result()
        except BrokenProcessPool:
            return _packed(_failure(source, budget.over_budget_message()))
