"""Where importguard's documentation lives, for links in editors and SARIF logs.

importguard has no public home yet, so `REPOSITORY` is None and every link points to
the rule documentation installed with the package (`importguard/rules/docs/`, generated
by `python -m importguard.rules.documentation` like docs/rules/). Once the project is published,
set `REPOSITORY` and the links become web pages of the tagged version.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from importguard import __version__

REPOSITORY: Optional[str] = None  # e.g. "https://github.com/OWNER/importguard", once it exists
RULE_DOCS = Path(__file__).parent.parent / "rules" / "docs"


def rule_doc_uri(code: str) -> str:
    if REPOSITORY:
        return f"{REPOSITORY}/blob/v{__version__}/docs/rules/{code}.md"
    return (RULE_DOCS / f"{code}.md").absolute().as_uri()


def information_uri() -> Optional[str]:
    """The tool's home page, when there is one."""
    return REPOSITORY
