"""What every command shares: exit codes, the options and parsing several commands use,
and turning tool errors into one sentence. A command returns its exit code; the
wrapper here is the one place that exits."""

from __future__ import annotations

import functools
import sys
import traceback
from pathlib import Path
from typing import Any, Callable, Optional

import click

from importguard.config import Config, load_config
from importguard.errors import ImportguardError, UsageError

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_TOOL_ERROR = 2


def tool_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn ImportguardError (and unexpected crashes) into one line and exit 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = bool(kwargs.get("debug"))
        try:
            code = func(*args, **kwargs)
        except ImportguardError as error:
            if debug:
                traceback.print_exc()
            click.echo(f"importguard: error: {error}", err=True)
            sys.exit(EXIT_TOOL_ERROR)
        except (KeyboardInterrupt, BrokenPipeError):
            raise
        except click.exceptions.Exit:
            raise
        except click.ClickException:
            raise
        except SystemExit:
            raise
        except Exception as error:  # an internal bug: still one sentence, exit 2
            if debug:
                traceback.print_exc()
            click.echo(
                f"importguard: internal error: {type(error).__name__}: {error} "
                "(run with --debug for the traceback)",
                err=True,
            )
            sys.exit(EXIT_TOOL_ERROR)
        sys.exit(code or EXIT_CLEAN)

    return wrapper


debug_option = click.option("--debug", is_flag=True, help="Show tracebacks of tool errors.")

config_option = click.option(
    "--config", "config_path", help="pyproject.toml to read [tool.importguard] from."
)

# The probe's options, one spelling for every command that probes (probe, agree, check --confirm).
text_or_json_option = click.option("--format", "output_format", type=click.Choice(["text", "json"]),
                                   default="text", show_default=True)


def timeout_option(help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=60.0, show_default=True,
                        help=help)


def jobs_option(help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help=help)


def load(config_path: Optional[str], start: Path) -> Config:
    return load_config(Path(config_path) if config_path else None, start)


def parse_codes(values: tuple[str, ...]) -> Optional[tuple[str, ...]]:
    """`--select IG001,IG002 --select IG9` -> ("IG001", "IG002", "IG9")."""
    if not values:
        return None
    codes = tuple(c.strip().upper() for v in values for c in v.split(",") if c.strip())
    for code in codes:
        if not (code == "ALL" or (code.startswith("IG") and (code[2:].isdigit() or code == "IG"))):
            raise UsageError(f"{code!r} is not a rule code or prefix such as 'IG001' or 'IG0'")
    return codes
