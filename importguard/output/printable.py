"""Text every output encoding accepts.

File names that are not UTF-8 reach Python with their bytes as lone surrogates
(PEP 383); no encoder takes those, and JSON with them is not valid Unicode. Outputs show
such a byte as `\\xNN`, the way Python's `repr` would."""

from __future__ import annotations

from typing import Any


def printable(text: str) -> str:
    if text.isascii():
        return text
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def printable_data(value: Any) -> Any:
    """`printable` on every string of a JSON document (keys too)."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {printable_data(k): printable_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [printable_data(v) for v in value]
    return value
