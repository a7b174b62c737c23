from __future__ import annotations

from importguard.rules.base import Case
from importguard.rules.problems import ProblemRule


class SyntaxErrorRule(ProblemRule):
    """## What it does
    Reports a file that LibCST cannot parse, at the position of the error.

    ## Why is this bad?
    importguard cannot see the imports of a file it cannot parse, so chains through
    it are not followed. The rest of the project is still checked.

    ## Known problems
    LibCST accepts the grammar of Python 3.0 to 3.14 and PEP 810 `lazy import`; code
    valid only in a newer Python may be reported here.

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
