"""`check --fix` and `check --diff`: make eager re-exports in `__init__.py` lazy.

Notes (sites left alone, and why) go to stderr; `--diff` prints the unified diff to
stdout and writes nothing; `--fix` writes and says how many sites it rewrote.
"""

from __future__ import annotations

import click

from importguard.engine import Report


def apply_fixes(report: Report, *, write: bool) -> int:
    """Fix or diff what `report` found; returns how many files change."""
    from importguard.fix import fix_findings
    from importguard.fix import write as write_fix

    fixes = fix_findings(report.findings)
    changed = [fix for fix in fixes if fix.changed]
    for fix in fixes:
        for note in fix.notes:
            click.echo(f"note: {note}", err=True)
    if not write:
        for fix in changed:
            click.echo(fix.diff(), nl=False)
        return len(changed)
    written = []
    for fix in changed:
        try:
            write_fix(fix)
            written.append(fix)
        except OSError as error:
            click.echo(f"note: {fix.path}: not rewritten, cannot write it: {error.strerror or error}", err=True)
    changed = written
    sites = sum(len(fix.lines) for fix in changed)
    if changed:
        noun = "site" if sites == 1 else "sites"
        files = "file" if len(changed) == 1 else "files"
        click.echo(f"Fixed {sites} {noun} in {len(changed)} {files}.", err=True)
    return len(changed)
