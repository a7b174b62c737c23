"""Console-script entry point: an unchanged `check` is replayed before click loads."""

from __future__ import annotations

import sys


def main() -> None:
    from importguard import fast_replay

    argv = sys.argv[1:]
    code = fast_replay.try_replay(argv)
    if code is not None:
        sys.exit(code)
    fast_replay.invocation = argv
    from importguard.cli import main as cli_main

    cli_main()
