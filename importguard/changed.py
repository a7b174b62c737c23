"""`check --changed-only`: the whole project is analysed, and a finding is reported
when a changed file is its site, any module its chain runs through, or its sink.

This is what pre-commit needs: it passes the changed files, but adding `import
cutlass` to `pkg/ops/gemm.py` creates a finding in `pkg/ops/__init__.py`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Sequence

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
    # A changed pyproject.toml (or any non-module file) may change every finding.
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

