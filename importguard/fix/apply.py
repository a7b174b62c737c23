"""`check --fix` and `check --diff`: make eager re-exports in `__init__.py` lazy.

Notes (sites left alone, and why) go to stderr; `--diff` gives the unified diff and
writes nothing; `--fix` writes and says how many sites it rewrote. Prints nothing
itself: the caller renders what comes back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from importguard.fix.lazy_reexport import fix_findings
from importguard.fix.lazy_reexport import write as write_fix
from importguard.model import Report


@dataclass
class Applied:
    files_changed: int = 0
    notes: list[str] = field(default_factory=list)
    diff: str = ""


def apply_fixes(report: Report, *, write: bool) -> Applied:
    """Fix or diff what `report` found."""
    fixes = fix_findings(report.findings)
    changed = [fix for fix in fixes if fix.changed]
    applied = Applied(notes=[f"note: {note}" for fix in fixes for note in fix.notes])
    if not write:
        applied.diff = "".join(fix.diff() for fix in changed)
        applied.files_changed = len(changed)
        return applied
    written = []
    for fix in changed:
        try:
            write_fix(fix)
            written.append(fix)
        except OSError as error:
            applied.notes.append(f"note: {fix.path}: not rewritten, cannot write it: {error.strerror or error}")
    sites = sum(len(fix.lines) for fix in written)
    if written:
        noun = "site" if sites == 1 else "sites"
        files = "file" if len(written) == 1 else "files"
        applied.notes.append(f"Fixed {sites} {noun} in {len(written)} {files}.")
    applied.files_changed = len(written)
    return applied
