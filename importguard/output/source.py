"""Where a finding sits, for the CI formats: its file relative to the repository root,
and its region to the end of the statement, read from the file's text.

The repository root is the nearest directory above the working directory with a `.git`
(found without running git), else the working directory, so SARIF URIs and annotation
paths are the same wherever a run starts and however its paths were spelled.
"""

from __future__ import annotations

import os
import tokenize
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from importguard.facts.budget import MAX_SOURCE_BYTES
from importguard.files.inside_project import links_outside
from importguard.files.regular_file import read_regular

SRCROOT = "%SRCROOT%"


def repository_root(start: Path) -> Path:
    """The nearest directory at or above `start` with a `.git` (a directory, or the file
    of a worktree or submodule), else `start`. No git command runs."""
    start = Path(os.path.normpath(start.absolute()))
    for candidate in (start, *start.parents):
        if (candidate / ".git").exists():
            return candidate
    return start


def artifact(path: str, root: Path) -> dict[str, str]:
    absolute = Path(os.path.normpath(Path(path).absolute()))
    try:
        relative = absolute.relative_to(root)
    except ValueError:
        return {"uri": absolute.as_uri()}
    # From the file name's bytes: a name that is not UTF-8 is percent-encoded as it is.
    return {"uri": quote(os.fsencode(relative.as_posix())), "uriBaseId": SRCROOT}


def repository_path(path: str, root: Path) -> str:
    """`path` relative to `root` with forward slashes, or absolute and normalised when it
    lies outside."""
    absolute = Path(os.path.normpath(Path(path).absolute()))
    try:
        return absolute.relative_to(root).as_posix()
    except ValueError:
        return absolute.as_posix()


def region(path: str, line: int, column: int, end_line: int) -> dict[str, int]:
    """startLine/startColumn to the end of the statement's last line (its trailing
    comment excluded); without the file's text, the lines alone."""
    end_line = max(end_line, line, 1)
    site = {"startLine": max(line, 1), "startColumn": max(column, 1), "endLine": end_line}
    lines = source_lines(path)
    if end_line <= len(lines):
        site["endColumn"] = max(code_end(lines[end_line - 1]) + 1, site["startColumn"] + 1 if end_line == line else 1)
    return site


def with_snippet(path: str, site: dict[str, int]) -> dict[str, Any]:
    """`site` with the text of its lines as SARIF's `snippet`."""
    lines = source_lines(path)
    if site["endLine"] > len(lines):
        return site
    text = "\n".join(lines[site["startLine"] - 1 : site["endLine"]])
    return {**site, "snippet": {"text": text}}


@lru_cache(maxsize=256)
def source_lines(path: str) -> tuple[str, ...]:
    """The file's lines without line ends (decoded as Python does), or () when it
    cannot be read. Only a regular file whose links stay inside the repository is read:
    a `pkg/env.py` linked to `/proc/self/environ` must not copy the environment into a
    report (files/inside_project.py)."""
    if links_outside(path, repository_root(Path.cwd())) is not None:
        return ()
    try:
        data = read_regular(path, MAX_SOURCE_BYTES)
    except OSError:
        return ()
    try:
        encoding, _ = tokenize.detect_encoding(iter(data.splitlines(keepends=True)).__next__)
        text = data.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError):
        text = data.decode("utf-8", errors="replace")
    return tuple(text.splitlines())


def code_end(line: str) -> int:
    """Characters of `line` before its trailing comment and whitespace."""
    try:
        tokens = list(tokenize.generate_tokens(iter([line + "\n"]).__next__))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return len(line.rstrip())
    for token in tokens:
        if token.type == tokenize.COMMENT:
            return len(line[: token.start[1]].rstrip())
    return len(line.rstrip())


