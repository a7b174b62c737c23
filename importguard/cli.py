"""Command line: parses options, runs the engine, prints, maps the report to an exit code.

Exit codes: 0 clean, 1 findings, 2 tool error (2 wins). Tool errors are one sentence
on stderr; `--debug` adds the traceback.
"""

from __future__ import annotations

import functools
import sys
import traceback
from typing import Any, Callable

import click

from importguard import __version__
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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="importguard")
def cli() -> None:
    """importguard: find import paths that initialize CUDA before a fork."""


# Commands are registered from their own modules below.
from importguard import cli_check  # noqa: E402

cli.add_command(cli_check.check)
cli.add_command(cli_check.rule)
cli.add_command(cli_check.explain)
# Further commands register here (one import + add_command each).
from importguard import cli_verify  # noqa: E402
cli.add_command(cli_verify.verify_install)


def main() -> None:
    """Console-script entry point: quiet on Ctrl-C and on a closed pipe."""
    try:
        cli.main(prog_name="importguard")
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        # Python flushes stdout at exit; point it at devnull so that fails quietly too.
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(EXIT_FINDINGS)
