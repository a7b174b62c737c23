from __future__ import annotations

from importguard.rules.base import Case
from importguard.rules.problems import ProblemRule


class UnreadableFile(ProblemRule):
    """## What it does
    Reports a Python file that cannot be read, decoded or analysed: a permission
    error, a broken or looping symbolic link, a `.py` that is not a regular file (a
    named pipe, a link to a device such as `/dev/zero`: never opened for reading), a
    file over 4 MB (importguard's size cap), bytes that are not valid in the file's
    declared (or default UTF-8) encoding, or a file whose analysis passed a worker's
    budget (2 GB of memory, 60 s) or crashed the parser.

    ## Why is this bad?
    importguard cannot see its imports, so chains through it are not followed. The
    rest of the project is still checked.

    ## Known problems
    LibCST needs about 1 GB and 20 s per MB of some generated code (e.g. a long run of
    `x = 1` lines); such a file, valid Python, can pass the budget and be reported here.
    So are the few inputs Python accepts and LibCST cannot take: more than 4,000 levels
    of nesting when each operand of `and`/`or` counts as one (LibCST's native parser
    would crash), or some 5,000 adjacent string literals (LibCST refuses them).

    ## Example
    A file saved as Latin-1 without a `# -*- coding: latin-1 -*-` line.

    ## Use instead
    Save the file as UTF-8, or declare its encoding on the first or second line.

    ## Options
    None.

    ## References
    - PEP 263 — Defining Python Source Code Encodings
    """

    code = "IG901"
    name = "unreadable-file"
    summary = "The file cannot be read or decoded"
    fix = "make the file readable and valid in its declared encoding (UTF-8 by default)"
    INVALID = (Case({"m.py": b"x = 'caf\xe9'\n"}, expect=(("m.py", 1),)),)
    VALID = (Case({"m.py": b"# -*- coding: latin-1 -*-\nx = 'caf\xe9'\n"}),)
