"""The one rule for files importguard writes or copies into a report: symbolic links
never take it out of the project.

`--fix` and `--add-noqa` refuse a file that is, or lies under, a link resolving outside
the project root; SARIF snippets are not read from such a file. A path the user named
outside the project with no link on the way is the user's choice and stays allowed.
"""

from __future__ import annotations

import os
from typing import Optional, Union


def links_outside(path: Union[str, os.PathLike], project_root: Union[str, os.PathLike]) -> Optional[str]:
    """Where `path` really is, when links take it out of `project_root`; else None."""
    real = os.path.realpath(path)
    root = os.path.realpath(project_root)
    if real == root or real.startswith(root.rstrip(os.sep) + os.sep):
        return None
    if real == os.path.abspath(path):
        return None  # no link involved: a file the user named outside the project
    return real


def refusal(path: str, real: str, project_root: str, what: str) -> str:
    """The note given for a file left alone by `links_outside`."""
    return (f"{path}: {what}, it is a symbolic link to {real}, outside the project "
            f"({project_root}); change that file where it lives")
