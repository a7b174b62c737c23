"""Console-script entry point: an unchanged `check` is replayed before click loads;
quiet on Ctrl-C and on a closed pipe, whichever path printed."""

from __future__ import annotations

import os
import sys

EXIT_INTERRUPTED = 130
EXIT_CLOSED_PIPE = 1  # as cli_common.EXIT_FINDINGS, without importing click for it


def main() -> None:
    from importguard.cache import fast_replay
    argv = sys.argv[1:]
    try:
        code = fast_replay.try_replay(argv)
        if code is None:
            fast_replay.invocation = argv
            from importguard.cli.main import cli

            cli.main(prog_name="importguard")
            return
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    except BrokenPipeError:
        # Python flushes stdout at exit; point it at devnull so that fails quietly too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = EXIT_CLOSED_PIPE
    sys.exit(code)
