"""`check --changed-only`: the whole project is analysed, and a finding is reported
when a changed file is its site, any module its chain runs through, or its sink.

This is what pre-commit needs: it passes the changed files, but adding `import
cutlass` to `pkg/ops/gemm.py` creates a finding in `pkg/ops/__init__.py`.

A changed `pyproject.toml` reports every finding only when its `[tool.importguard]`
table differs from the one committed at HEAD (read with `git show`, which runs no hook
and no project code); a change to `[tool.ruff]` or the version touches nothing. Without
git, or outside a repository, any change to it counts.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, Optional, Sequence

from importguard.config import Config
from importguard.discovery import is_within, module_for
from importguard.model import Report
from importguard.model import Finding


def project_scope(config: Config) -> list[Path]:
    """What `--changed-only` analyses: the project of the config file, else the working
    directory (pre-commit runs hooks from the repository root)."""
    return [config.project_root if config.config_file is not None else Path(".")]


def only_touching(report: Report, changed: Sequence[Path], config: Config) -> Report:
    files = [path.absolute() for path in changed]
    if any(path.name == "pyproject.toml" and importguard_table_changed(path) for path in files):
        return report
    files = [path for path in files if path.name != "pyproject.toml"]
    # Any other non-module file may change every finding.
    if any(not path.is_dir() and path.suffix != ".py" for path in files):
        return report
    directories = [path for path in files if path.is_dir()]
    modules = {module_for(path, config.src).module for path in files if path.suffix == ".py"}
    paths = {str(path) for path in files}
    kept = tuple(f for f in report.findings if _touches(f, paths, modules, directories))
    return replace(report, findings=kept)


def _touches(finding: Finding, paths: set[str], modules: set[str], directories: Sequence[Path]) -> bool:
    site = Path(finding.path).absolute()
    if str(site) in paths or any(is_within(site, d) for d in directories):
        return True
    if finding.sink in modules:
        return True
    for hop in finding.chain:
        if hop.importer in modules or hop.imported in modules:
            return True
        if directories and any(is_within(Path(hop.path).absolute(), d) for d in directories):
            return True
    return False



_MISSING = object()


def importguard_table_changed(pyproject: Path) -> bool:
    """Does the `[tool.importguard]` table of this file (as staged: pre-commit checks the
    working tree with unstaged changes stashed) differ from the one at HEAD?"""
    now = _table(_read(pyproject))
    before = _table(_committed(pyproject))
    return now is None or before is None or now != before


def _read(path: Path) -> Optional[bytes]:
    try:
        return path.read_bytes()
    except OSError:
        return b""  # deleted: compare as an empty file


def _committed(path: Path) -> Optional[bytes]:
    """The file at HEAD; b"" when HEAD has no such file; None when git cannot tell."""
    directory = path.parent if path.parent.is_dir() else None
    if directory is None:
        return None
    try:
        inside = subprocess.run(["git", "rev-parse", "--verify", "--quiet", "HEAD"], cwd=directory,
                                capture_output=True, timeout=30)
        if inside.returncode != 0:
            # No repository (None), or one without commits yet (every file is new).
            top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=directory, capture_output=True, timeout=30)
            return b"" if top.returncode == 0 else None
        shown = subprocess.run(["git", "show", f"HEAD:./{path.name}"], cwd=directory, capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return shown.stdout if shown.returncode == 0 else b""


def _table(data: Optional[bytes]) -> Any:
    """The `[tool.importguard]` table (`_MISSING` when absent), or None when unknown
    (no data, or TOML that does not parse: that counts as a change)."""
    if data is None:
        return None
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    try:
        parsed = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    tool = parsed.get("tool")
    return tool.get("importguard", _MISSING) if isinstance(tool, dict) else _MISSING
