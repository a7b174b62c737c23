"""`check --stdin-filename PATH` (as ruff's): the source comes from standard input and
is checked as if it were the file at PATH. The rest of the project is read from disk,
and a module that imports PATH's module sees the source given, as in the editor."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from importguard.errors import UsageError
from importguard.model import ModuleFacts, SourceFile
from importguard.workflow import CheckRequest, CheckResult

# Options that write files, run project code or pick files by git: with a source that
# is not on disk they would act on the file rather than on what was given.
REFUSED = ("fix", "diff", "add_noqa", "confirm", "changed_only", "verify_install")


def check_source(request: CheckRequest, path: Path, data: bytes) -> CheckResult:
    """The report of `data` standing for the file at `path` (which must exist: its
    directory and package decide its module name)."""
    from importguard.cache.loader import open_loader
    from importguard.cache.pool import collect_bounded
    from importguard.engine import run_check

    for option in REFUSED:
        if getattr(request, option):
            raise UsageError(f"--{option.replace('_', '-')} cannot be used with a source read from stdin")
    if not path.is_file():
        raise UsageError(f"--stdin-filename {path}: no such file (its place in the project names its module)")
    target = os.path.abspath(path)
    with open_loader(request.config, cache_dir=request.cache_dir, use_cache=request.use_cache,
                     jobs=request.jobs) as disk:
        def collect(sources: Sequence[SourceFile], *args: Any) -> list[ModuleFacts]:
            others = [source for source in sources if source.path != target]
            found = dict(zip((source.path for source in others), disk(others, *args))) if others else {}
            return [collect_bounded(source, data) if source.path == target else found[source.path]
                    for source in sources]

        report = run_check([path], request.config, select=request.select, ignore=request.ignore, collector=collect)
    return CheckResult(report, warnings=list(disk.warnings))
