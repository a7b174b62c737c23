"""The registry of output formats: name -> the function that renders findings.

A format's module is imported only when it is used (SARIF loads every rule's docs)."""

from __future__ import annotations

import importlib
from typing import Callable, Iterable

from importguard.model import Finding

Formatter = Callable[[Iterable[Finding]], str]

FORMATS = {
    "text": "importguard.output.text:format_text",
    "full": "importguard.output.text:format_full",
    "json": "importguard.output.json_report:format_json",
    "sarif": "importguard.output.sarif:format_sarif",
    "github": "importguard.output.github:format_github",
}


def formatter(name: str) -> Formatter:
    module, _, function = FORMATS[name].partition(":")
    return getattr(importlib.import_module(module), function)
