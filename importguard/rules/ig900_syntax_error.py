from __future__ import annotations

from importguard.rules.base import Case
from importguard.rules.problems import ProblemRule


class SyntaxErrorRule(ProblemRule):
    """## What it does
    Reports a file that Python refuses, with CPython's own message and position: a
    grammar or tokenizer error, or what only the compiler refuses (`return` outside a
    function, `def f(a, a)`, `break` outside a loop, `from __future__ import braces`,
    non-ASCII bytes in a `b''` literal, an expression too deep for CPython's parser).

    ## Why is this bad?
    Python cannot import the file, so its imports never run; importguard cannot see
    them either, so chains through it are not followed. The rest of the project is
    still checked.

    ## Known problems
    CPython is the interpreter running importguard. Syntax newer than it (PEP 695
    `type X = ...` on 3.11, PEP 810 `lazy import`) is left to LibCST, which knows it;
    only when LibCST refuses it too is it reported, with CPython's position.

    ## Example
    ```python
    from .ops import (gemm
    ```

    ## Use instead
    ```python
    from .ops import gemm
    ```

    ## Options
    None.

    ## References
    - flake8's E999 and ruff's syntax-error diagnostics
    """

    code = "IG900"
    name = "syntax-error"
    summary = "The file cannot be parsed"
    fix = "fix the syntax error; imports in this file are not analysed until then"
    INVALID = (Case({"m.py": "import os\nfrom .ops import (gemm\n"}, expect=(("m.py", 2),)),)
    VALID = (Case({"m.py": "import os\n"}),)
