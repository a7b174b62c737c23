"""What an interpreter's environment has installed, read without importing from it: the
version of every `*.dist-info` on its sys.path (METADATA's Version line, as
importlib.metadata reads it) and the top-level names a `import x` would find there."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import TYPE_CHECKING, Optional

from importguard.environment.profile import Profile, normalize
from importguard.installed.interpreter import distribution_dirs, iter_distributions, target_paths

if TYPE_CHECKING:
    from importguard.config import Config


def with_installed(profile: Profile, python: Optional[str]) -> Profile:
    """`profile` with the versions and modules of `python`'s environment (None: this
    interpreter). Versions given in the config win over the ones read."""
    paths = target_paths(python)
    versions: dict[str, str] = {}
    for distribution in iter_distributions(paths):
        versions.setdefault(normalize(distribution.name), distribution.version)  # the first on sys.path wins
    versions.update(dict(profile.versions))
    modules = set(paths.stdlib_module_names)
    for directory in distribution_dirs(paths):
        modules.update(_top_level_names(directory))
    return replace(profile, versions=tuple(sorted(versions.items())), modules=tuple(sorted(modules)),
                   source=f"read from {paths.describe()}")


def _top_level_names(directory: str) -> set[str]:
    names: set[str] = set()
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return names
    for entry in entries:
        name = entry.name
        if name.endswith(".py"):
            name = name[:-3]
        elif "." in name and not entry.is_dir():
            stem, _, suffix = name.partition(".")
            if not (suffix.endswith("so") or suffix.endswith("pyd")):
                continue
            name = stem
        elif not entry.is_dir():
            continue
        if name.isidentifier():
            names.add(name)
    return names


def apply_options(config: "Config", platform: Optional[str], python: Optional[str]) -> "Config":
    """The config with the command line's environment: `--platform`, and the versions of
    `--python`'s environment (or this interpreter's, with `read-installed = true`)."""
    profile = config.environment
    if platform is not None:
        profile = replace(profile, platform=platform)
    if python is not None or profile.read_installed:
        profile = with_installed(profile, python)
    return config if profile == config.environment else replace(config, environment=profile)
