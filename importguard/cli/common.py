"""What every command shares: exit codes, the options and parsing several commands use,
and turning tool errors into one sentence. A command returns its exit code; the
wrapper here is the one place that exits."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import click

from importguard.config import Config, load_config
from importguard.errors import ImportguardError, UsageError
from importguard.selection import check_selectors

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
                _print_traceback()
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
                _print_traceback()
            click.echo(
                f"importguard: internal error: {type(error).__name__}: {error} "
                "(run with --debug for the traceback)",
                err=True,
            )
            sys.exit(EXIT_TOOL_ERROR)
        sys.exit(code or EXIT_CLEAN)

    return wrapper


def _print_traceback() -> None:
    import traceback  # only with --debug: every command imports this module

    traceback.print_exc()


debug_option = click.option("--debug", is_flag=True, help="Show tracebacks of tool errors.")

config_option = click.option(
    "--config", "config_path", multiple=True,
    help="A config file (pyproject.toml or importguard.toml), or a TOML `KEY = VALUE` pair that overrides "
         "one key of it (repeatable; as ruff's --config).",
)

# The probe's options, one spelling for every command that probes (probe, agree, check --confirm).
text_or_json_option = click.option("--format", "output_format", type=click.Choice(["text", "json"]),
                                   default="text", show_default=True)


def timeout_option(help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=60.0, show_default=True,
                        help=help)


def jobs_option(help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help=help)


def load(config_args: Sequence[str], start: Path) -> Config:
    """The config `--config` names (ruff's rule: an argument that is an existing file is
    the config file, any other must be a TOML `KEY = VALUE` override), else the one
    found above `start`. Every rule selector in it must name a rule."""
    files = [arg for arg in config_args if os.path.isfile(arg) or _names_a_file(arg)]
    if len(files) > 1:
        raise UsageError(f"--config names more than one config file: {', '.join(files)}")
    overrides = [arg for arg in config_args if arg not in files]
    return load_config(Path(files[0]) if files else None, start, overrides, rule_codes)


def rule_codes() -> list[str]:
    from importguard.rules import ALL_RULES  # the rules' modules: only when a config names rules

    return [rule.code for rule in ALL_RULES]


def _names_a_file(arg: str) -> bool:
    """An argument that is no `KEY = VALUE` pair but a path that exists (a directory, a
    pipe) or ends in .toml: a config file argument, so that its own error is shown."""
    return "=" not in arg and (os.path.lexists(arg) or arg.endswith(".toml"))


def parse_codes(values: tuple[str, ...], option: str = "--select") -> Optional[tuple[str, ...]]:
    """`--select IG001,IG002 --select IG9` -> ("IG001", "IG002", "IG9"); each must be
    `ALL` or a prefix of a rule code (exit 2 naming the nearest one)."""
    if not values:
        return None
    from importguard.rules import ALL_RULES  # the rules' modules: only when codes are given

    codes = tuple(c.strip().upper() for v in values for c in v.split(",") if c.strip())
    check_selectors(codes, [rule.code for rule in ALL_RULES], option)
    return codes
