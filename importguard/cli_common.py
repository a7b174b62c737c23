"""What every command shares: exit codes and turning tool errors into one sentence."""

from __future__ import annotations

import functools
import sys
import traceback
from typing import Any, Callable

import click

from importguard.errors import ImportguardError

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_TOOL_ERROR = 2


def tool_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn ImportguardError (and unexpected crashes) into one line and exit 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = bool(kwargs.get("debug"))
        try:
            return func(*args, **kwargs)
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

    return wrapper


debug_option = click.option("--debug", is_flag=True, help="Show tracebacks of tool errors.")
