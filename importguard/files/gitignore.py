"""What git ignores below a directory, for discovery's `respect-gitignore` (ruff's).

Asked of git itself, once per walked directory: `git ls-files --others --ignored
--exclude-standard --directory` applies every rule git applies (nested `.gitignore`
files, `.git/info/exclude`, the global excludes file, negations) and names an ignored
directory once instead of listing what is under it, so the walk never enters it. A
matcher of our own (the `pathspec` library) would have to find and order those files
as git does. As with git, a file that is tracked is never ignored. Outside a work tree,
or without git, nothing is ignored. A directory named on the command line is walked
even when git ignores it as a whole (as ruff does with a path given explicitly).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

# `-c core.fsmonitor=false`: a repository's config could name a program for git to run.
_COMMAND = ("git", "-c", "core.fsmonitor=false", "ls-files", "-z", "--others", "--ignored",
            "--exclude-standard", "--directory")
_TIMEOUT_S = 120


@dataclass(frozen=True)
class GitIgnored:
    paths: frozenset[str]  # relative to the directory asked about; a directory's ends with "/"
    files: tuple[str, ...]  # the ignore files above it that git read, present or absent


def git_ignored(top: Path) -> Optional[GitIgnored]:
    """What git ignores below `top`, or None outside a work tree (or without git)."""
    directory = os.path.abspath(top)
    dot_git = _dot_git_above(directory)
    if dot_git is None:
        return None
    import subprocess  # only inside a work tree: a run outside one skips importing it

    try:
        done = subprocess.run(_COMMAND, cwd=directory, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=_TIMEOUT_S, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    paths = frozenset(p for p in os.fsdecode(done.stdout).split("\0") if p)
    if "./" in paths:
        paths = frozenset()  # the directory itself is ignored: given explicitly, it is walked whole
    return GitIgnored(paths, _ignore_files(directory, dot_git))


def _dot_git_above(directory: str) -> Optional[str]:
    while True:
        candidate = os.path.join(directory, ".git")
        if os.path.lexists(candidate):
            return candidate
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def _ignore_files(directory: str, dot_git: str) -> tuple[str, ...]:
    """The `.gitignore` of `directory` and of each directory up to the work tree's
    root, the repository's `info/exclude` and the default global excludes file (the
    walk adds the `.gitignore` of each directory below)."""
    root = os.path.dirname(dot_git)
    files = []
    while True:
        files.append(os.path.join(directory, ".gitignore"))
        if directory == root or os.path.dirname(directory) == directory:
            break
        directory = os.path.dirname(directory)
    files.append(os.path.join(_common_dir(dot_git), "info", "exclude"))
    config_home = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    files.append(os.path.join(config_home, "git", "ignore"))
    return tuple(files)


def _common_dir(dot_git: str) -> str:
    """The repository directory that holds `info/exclude`: `.git` itself, or, where
    `.git` is a file (a linked worktree, a submodule), the directory it points to, or
    that one's common directory."""
    if os.path.isdir(dot_git):
        return dot_git
    try:
        with open(dot_git, encoding="utf-8") as handle:
            line = handle.readline().strip()
    except (OSError, UnicodeDecodeError):
        return dot_git
    if not line.startswith("gitdir:"):
        return dot_git
    git_dir = os.path.join(os.path.dirname(dot_git), line.partition(":")[2].strip())
    try:
        with open(os.path.join(git_dir, "commondir"), encoding="utf-8") as handle:
            return os.path.normpath(os.path.join(git_dir, handle.read().strip()))
    except (OSError, UnicodeDecodeError):
        return os.path.normpath(git_dir)
