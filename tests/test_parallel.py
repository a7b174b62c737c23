"""Parallel collection gives exactly the facts a single process gives, and a failure
in a worker becomes a problem in the facts instead of an exception."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from conftest import FIXTURES, write_tree

from importguard.cache import pool as parallel
from importguard.facts import collect
from importguard.facts.collect import collect_file
from importguard.discovery import discover
from importguard.cache.pool import WorkerPool
from importguard.model import ModuleFacts

ODD_FILES = {
    "odd/__init__.py": "from .a import *\n__all__ = ['a']\n",
    "odd/a.py": "import torch  # noqa: IG003\ntorch.cuda.is_available()\n",
    "odd/syntax.py": "def broken(:\n",
    "odd/latin.py": b"# -*- coding: latin-1 -*-\nname = '\xe9'\n",
    "odd/undecodable.py": b"x = '\xff\xfe'\n",
    "odd/nul.py": b"x = 1\x00\n",
    "odd/relative.py": "from .... import nothing\n",
}


def sources(tmp_path: Path):
    for relative, content in ODD_FILES.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    # Every fixture tree at once, some with packages of the same name: only their facts are compared.
    found = discover([FIXTURES, tmp_path], tmp_path, (), refuse_duplicates=False).files
    assert len(found) > parallel.POOL_MIN_FILES
    return found


def facts_of(files, results) -> list[ModuleFacts]:
    return [parallel.facts_of(source, result) for source, result in zip(files, results)]


def test_parallel_facts_equal_serial_facts(tmp_path: Path) -> None:
    files = sources(tmp_path)
    serial = [collect_file(source) for source in files]
    pool = WorkerPool(jobs=2)
    try:
        in_pool = facts_of(files, pool(files))
        again = facts_of(files, pool(files[:3]))  # the pool stays up between batches
    finally:
        pool.close()
    assert in_pool == serial
    assert again == serial[:3]
    assert any(f.problems for f in serial) and any(f.imports for f in serial)


@pytest.mark.parametrize("jobs", [1, 2])
def test_each_result_is_handed_over_as_it_arrives(tmp_path: Path, jobs: int) -> None:
    """`each` sees every result once and the batch keeps only what it returns: a run
    never holds the encoded facts of a whole batch."""
    files = sources(tmp_path)
    seen: list[str] = []

    def each(source, result):
        seen.append(source.path)
        assert isinstance(result["facts"], bytes) and len(result["hash"]) == 32
        return source.module

    pool = WorkerPool(jobs=jobs)
    try:
        kept = pool(files, each=each)
    finally:
        pool.close()
    assert kept == [source.module for source in files]
    assert sorted(seen) == sorted(source.path for source in files)


def test_one_job_collects_inline_with_the_same_results(tmp_path: Path) -> None:
    files = sources(tmp_path)
    inline = WorkerPool(jobs=1)
    assert facts_of(files, inline(files)) == [collect_file(source) for source in files]
    assert inline._pool is None


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_collector_crash_becomes_a_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int) -> None:
    files = sources(tmp_path)
    victim = files[-1].path
    original = collect.collect_source

    def flaky(data, source):
        if source.path == victim:
            raise RuntimeError("boom")
        return original(data, source)

    monkeypatch.setattr(collect, "collect_source", flaky)  # forked workers inherit it
    pool = WorkerPool(jobs=jobs)
    try:
        results = pool(files)
    finally:
        pool.close()
    crashed = [r for r in facts_of(files, results) if r.path == victim]
    (problem,) = crashed[0].problems
    assert problem.code == "IG901" and "internal error: RuntimeError: boom" in problem.message
    crashed = [r for s, r in zip(files, results) if s.path == victim]
    assert crashed[0]["digest"] is None  # never cached
    assert sum(r["digest"] is None for r in results) == 1


def test_progress_shows_on_a_terminal_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_tree(tmp_path, {f"many/m{i}.py": "import os\n" for i in range(parallel.PROGRESS_MIN_FILES)})
    files = discover([tmp_path], tmp_path, ()).files

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    for stream, shown in ((io.StringIO(), False), (Terminal(), True)):
        monkeypatch.setattr("sys.stderr", stream)
        WorkerPool(jobs=1)(files)
        assert ("collecting facts" in stream.getvalue()) is shown


def test_source_being_parsed_at_once_stays_under_the_budget() -> None:
    from collections import deque

    from importguard.cache.pool import BYTES_IN_FLIGHT, _next_chunk

    big, bigger, small = BYTES_IN_FLIGHT * 3 // 5, BYTES_IN_FLIGHT * 3 // 4, 10_000
    queue = deque([(bigger, ["a"]), (big, ["b"]), (small, ["c"])])
    assert _next_chunk(queue, None) == (bigger, ["a"])  # alone, any chunk goes
    assert _next_chunk(queue, bigger) == (small, ["c"])  # `b` would not fit beside `a`
    assert _next_chunk(queue, bigger + small) is None
    assert _next_chunk(queue, 0) == (big, ["b"])


def test_memory_goes_back_to_the_system_only_after_a_big_chunk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Trimming after every chunk made the next one fault its pages in again; after a
    chunk of little source, glibc keeps only what the next chunk reuses."""
    trims = []
    monkeypatch.setattr(parallel, "_release_memory", lambda: trims.append(1))
    small = [tmp_path / f"small{i}.py" for i in range(3)]
    for path in small:
        path.write_text("import os\n")
    big = tmp_path / "big.py"
    big.write_text("x = 1\n" * (parallel.TRIM_AFTER_BYTES // 6 + 1))
    files = discover([tmp_path], tmp_path, ()).files
    by_name = {Path(source.path).name: source for source in files}
    results = parallel._collect_chunk([by_name[path.name] for path in small])
    assert len(results) == 3 and not trims
    parallel._collect_chunk([by_name["big.py"]])
    assert len(trims) == 1
    parallel._collect_chunk([by_name["small0.py"]], parallel.TRIM_AFTER_BYTES)  # the size the pool knew
    assert len(trims) == 2
