"""The language server keeps the module resolver and the graph between analyses
(cache/graph_memory.py). Whatever it keeps, every analysis must give what an analysis on a
fresh graph gives: the incremental series of edits, played through two sessions."""

from __future__ import annotations

import os
from pathlib import Path

from importguard.lsp.session import KeptGraphEngine, Session, check_engine

from conftest import write_tree
from test_incremental import SERIES, TREE


def analyse_all(session: Session, root: Path) -> dict[str, tuple]:
    found = {}
    for path in sorted(root.rglob("*.py")):
        analysis = session.analyse(str(path), path.read_text())
        found[str(path.relative_to(root))] = tuple(analysis.findings)
    return found


def contents(root: Path) -> dict[str, str]:
    return {str(path): path.read_text() for path in root.rglob("*.py")}


def test_a_kept_graph_answers_as_a_fresh_one_through_a_series_of_edits(tmp_path):
    root = write_tree(tmp_path / "tree", TREE)
    old = Path.cwd()
    os.chdir(root)
    try:
        kept_engine = KeptGraphEngine()
        kept = Session(use_cache=False, jobs=1, engine=kept_engine)
        fresh = Session(use_cache=False, jobs=1, engine=check_engine)
        assert analyse_all(kept, root) == analyse_all(fresh, root)
        reused = 0
        problems = []
        for name, edit, _ in SERIES:
            before = contents(root)
            edit(root)
            after = contents(root)
            # The session keeps a disk file's facts while its stat is the same; these
            # edits come faster than the clock ticks, so they say which files changed,
            # as a client's didChangeWatchedFiles does. The others keep their facts.
            edited = [path for path in before.keys() | after.keys() if before.get(path) != after.get(path)]
            kept.forget(edited)
            fresh.forget(edited)
            if analyse_all(kept, root) != analyse_all(fresh, root):
                problems.append(name)
            reused += kept_engine.memory.last_kept
        assert problems == []
        assert reused > 0  # not vacuous: some analyses did run on a kept graph
    finally:
        os.chdir(old)


def test_the_server_engine_computes_no_fix_plan(tmp_path):
    """The server shows no fix plan, so its engine does not cut one (a tenth of an edit)."""
    from importguard.config import load_config

    root = write_tree(tmp_path / "tree", TREE)
    config = load_config(None, root)
    target = [root / "tools" / "probe.py"]  # IG003: a CUDA call at import
    from importguard.engine import collect_serially

    assert check_engine(target, config, collect_serially, False).plan is not None
    report = KeptGraphEngine()(target, config, collect_serially, False)
    assert report.findings and report.plan is None
