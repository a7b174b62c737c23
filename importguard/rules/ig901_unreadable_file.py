from __future__ import annotations

from importguard.rules.base import Case
from importguard.rules.problems import ProblemRule


class UnreadableFile(ProblemRule):
    """## What it does
    Reports a Python file that cannot be read or decoded: a permission error, a
    broken or looping symbolic link, bytes that are not valid in the file's declared
    (or default UTF-8) encoding.

    ## Why is this bad?
    Python cannot import it either, and importguard cannot see its imports. The rest
    of the project is still checked.

    ## Known problems
    None known.

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
