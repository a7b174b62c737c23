"""Workers build LibCST nodes without its checks (pool.skip_node_validation): the facts
are those of the main process, which keeps the checks."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from conftest import FIXTURES

from importguard.cache import pool as parallel
from importguard.cache.pool import WorkerPool
from importguard.discovery import discover
from importguard.facts.collect import collect_file


def _builds_an_invalid_name() -> bool:
    try:
        cst.Name("not a name")
    except cst.CSTValidationError:
        return False
    return True


def test_workers_skip_the_checks_and_give_the_same_facts(tmp_path: Path) -> None:
    files = discover([FIXTURES], tmp_path, (), refuse_duplicates=False).files
    assert len(files) > parallel.POOL_MIN_FILES
    pool = WorkerPool(jobs=2)
    try:
        in_pool = [parallel.facts_of(s, r) for s, r in zip(files, pool(files))]
        assert pool._start().submit(_builds_an_invalid_name).result() is True
    finally:
        pool.close()
    assert in_pool == [collect_file(source) for source in files]
    with pytest.raises(cst.CSTValidationError):  # the main process keeps them
        cst.Name("not a name")
