"""`python -m importguard`: as the `importguard` command, but Python put the working
directory first on `sys.path`, where a `typing.py` or `json.py` of the project being
checked would shadow the standard library's for every module imported from here on.
What ran before this line (the interpreter's startup, `importguard/__init__.py`, which
imports nothing) is already loaded; so the entry is dropped first. `python -P -m
importguard` (3.11+) or the `importguard` command never add it."""

import os
import sys

if __name__ == "__main__" and sys.path and not getattr(sys.flags, "safe_path", False):
    try:
        if os.path.realpath(sys.path[0] or os.curdir) == os.path.realpath(os.getcwd()):
            del sys.path[0]
    except OSError:  # the working directory is gone: nothing there to shadow anything
        del sys.path[0]

from importguard.entry import main  # noqa: E402

if __name__ == "__main__":
    main()
