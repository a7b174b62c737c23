"""`importguard lsp`: start the language server on stdin/stdout."""

from __future__ import annotations

import click

from importguard.cli.common import debug_option, tool_errors
from importguard.errors import UsageError


@click.command()
@debug_option
@tool_errors
def lsp(debug: bool) -> None:
    """Run the importguard language server over stdio (for editors).

    Needs pygls 2 (the `lsp` extra): pip install 'pygls>=2,<3'.
    """
    try:
        _require_pygls()
    except ImportError as error:
        if error.name not in ("pygls", "lsprotocol") and not str(error.name or "").startswith(("pygls.", "lsprotocol.")):
            raise
        raise UsageError(
            "`importguard lsp` needs pygls, which is not installed; "
            "install it with: pip install 'pygls>=2,<3'"
        ) from None
    from importguard.lsp.early import serve

    serve()


def _require_pygls() -> None:
    """ImportError unless pygls and lsprotocol are there, without importing either's
    bulk (the server answers first without them: lsp/early.py)."""
    import importlib.util

    import pygls.uris  # noqa: F401

    if importlib.util.find_spec("lsprotocol") is None:
        raise ImportError("No module named 'lsprotocol'", name="lsprotocol")
