"""How a path is shown (discovery.display_path_from): relative to the working directory
where it lies below it, with forward slashes; its shortcut for normalised paths gives
what the general rule gives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from importguard.discovery import display_path_from


def general(path: str, cwd: str) -> str:
    relative = os.path.relpath(path, cwd)
    return Path(path if relative.startswith("..") else relative).as_posix()


@pytest.mark.parametrize("cwd", ["/work/tree", "/work/tree/pkg", "/", "/work"])
@pytest.mark.parametrize("path", [
    "/work/tree/pkg/a.py", "/work/tree/pkg/__init__.py", "/work/tree", "/work/treehouse/a.py",
    "/work/tree/./pkg/a.py", "/work/tree//pkg/a.py", "/work/tree/pkg/../a.py", "/work/tree/pkg/",
    "/work/tree/pkg/.", "/work/tree/pkg/..", "/elsewhere/a.py", "/work/tree/..x/a.py", "/work/tree/.hidden/a.py",
])
def test_the_shortcut_gives_what_relpath_gives(path, cwd):
    display_path_from.cache_clear()
    assert display_path_from(path, cwd) == general(path, cwd)
