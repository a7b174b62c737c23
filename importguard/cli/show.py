"""`check --show-files` and `check --show-settings`: what a check would read, and with
which settings (as ruff's flags of the same names). Nothing is parsed."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any, Sequence

from importguard.config import Config
from importguard.discovery import discover
from importguard.engine import display_path


def files_text(config: Config, paths: Sequence[Path]) -> str:
    """One path a line, sorted, relative to the working directory where possible."""
    discovered = discover(paths, config.project_root, config.exclude, config.src,
                          config.exclude_package_data, config.respect_gitignore)
    lines = [display_path(source.path) for source in discovered.files]
    lines += [f"{display_path(path)} (unreadable: {reason})" for path, reason in discovered.unreadable]
    return "".join(f"{line}\n" for line in sorted(lines))


def settings_text(config: Config) -> str:
    lines = []
    for field in fields(config):
        lines.append(f"{field.name.replace('_', '-')} = {_value(getattr(config, field.name))}")
    return "\n".join(lines) + "\n"


def _value(value: Any) -> str:
    if isinstance(value, tuple):
        if not value:
            return "[]"
        return "[\n" + "".join(f"    {_value(item)},\n" for item in value) + "]"
    if hasattr(value, "module") and hasattr(value, "reason"):
        return f"{value.module!r}  # {value.reason}"
    if hasattr(value, "name") and hasattr(value, "reason"):
        return f"{value.name!r}  # {value.reason}"
    if isinstance(value, Path):
        return repr(str(value))
    return repr(value)
