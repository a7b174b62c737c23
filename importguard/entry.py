"""Console-script entry point: an unchanged `check` is replayed before click loads;
quiet on Ctrl-C and on a closed pipe, whichever path printed."""

from __future__ import annotations

import atexit
import gc
import os
import sys

EXIT_INTERRUPTED = 130
EXIT_CLOSED_PIPE = 1  # as cli_common.EXIT_FINDINGS, without importing click for it


def main() -> None:
    from importguard.cache import fast_replay
    argv = sys.argv[1:]
    if sys.stderr is None:  # started with it closed (`2>&-`)
        sys.stderr = open(os.devnull, "w")
    if sys.stdout is None:  # `importguard check >&-`: the exit code still tells
        sys.stdout = open(os.devnull, "w")
        print("importguard: standard output is closed: the report is not shown", file=sys.stderr)
    for stream in (sys.stdout, sys.stderr):  # a text we failed to make printable still prints
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (OSError, ValueError):  # a closed stream: what writes to it says so
                pass
    try:
        # The record is a few thousand small objects, none of them cyclic: a collection
        # while it loads is a tenth of a replay. A `check` that goes on keeps the
        # collector off too: a short-lived run whose imports, stored findings and
        # report are not cyclic (its analysis runs with it off anyway, cache/loader.py),
        # where the collections cost a run without a replay a few milliseconds.
        gc.disable()
        try:
            code = fast_replay.try_replay(argv)
        finally:
            gc.enable()
        if code is None:
            if argv and argv[0] == "check":
                if _follows_a_change(argv):
                    from importguard.cache import early_parser

                    early_parser.start()  # forked with the collector on: LibCST's trees are cyclic
                gc.disable()
            fast_replay.invocation = argv
            from importguard.cli.main import cli

            if not argv or argv[0] != "check":
                cli.main(prog_name="importguard")
                return
            try:
                cli.main(prog_name="importguard")
            except SystemExit as done:
                if done.code is not None and type(done.code) is not int:
                    raise  # a message for Python to print
                _exit_without_teardown(done.code or 0)
            return
        # Replayed: all printed and flushed, nothing to close. Tearing down the record's
        # objects at exit would cost a replay another tenth.
        _flush_and_exit(code)
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    except BrokenPipeError:
        # Python flushes stdout at exit; point it at devnull so that fails quietly too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = EXIT_CLOSED_PIPE
    sys.exit(code)


def _follows_a_change(argv: list[str]) -> bool:
    """Whether this check is likely to parse a file, so that starting the parser process
    (cache/early_parser.py) now pays: its replay record was found with an input changed,
    or it is the pre-commit hook's `--changed-only` (never recorded; given the files that
    changed). Otherwise (a new way of asking about an unchanged tree, whose findings are
    all stored; a first run, which the pool's workers parse) the process would only take
    a core from the run while it imports LibCST. A wrong guess costs time, never output:
    without the process, the run parses inline or in its pool."""
    from importguard.cache import fast_replay

    return fast_replay.outdated is not None or "--changed-only" in argv


def _exit_without_teardown(code: int) -> None:
    """A check's exit: the exit handlers run (the early parser's, the standard
    library's) and what was printed is flushed, but the interpreter does not free its
    objects one by one, a tenth of a check that printed stored findings."""
    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)
    if run_exit_handlers is None:  # not CPython: the usual exit
        sys.exit(code)
    run_exit_handlers()
    _flush_and_exit(code)


def _flush_and_exit(code: int) -> None:
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(code)
