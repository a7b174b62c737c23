"""ANSI colour for the human formats, decided once per run: `--color always|never`, else
NO_COLOR (https://no-color.org), then FORCE_COLOR, else whether stdout is a terminal.
Without colour the text is byte-identical to what it always was."""

from __future__ import annotations

from typing import Mapping

_CODES = {"bold": "1", "red": "31", "cyan": "36", "yellow": "33", "green": "32", "dim": "2"}


def use_color(choice: str, is_tty: bool, environ: Mapping[str, str]) -> bool:
    if choice == "always":
        return True
    if choice == "never":
        return False
    if environ.get("NO_COLOR"):
        return False  # wins over FORCE_COLOR, as in the clicolors convention
    if environ.get("FORCE_COLOR"):
        return True
    return is_tty and environ.get("TERM") != "dumb"


class Style:
    def __init__(self, enabled: bool = False) -> None:
        self.enabled = enabled

    def __call__(self, text: str, *styles: str) -> str:
        if not self.enabled or not styles:
            return text
        codes = ";".join(_CODES[s] for s in styles)
        return f"\x1b[{codes}m{text}\x1b[0m"


PLAIN = Style(False)
