from __future__ import annotations

from importguard.rules.base import Case
from importguard.rules.problems import ProblemRule


class RelativeImportBeyondTopLevel(ProblemRule):
    """## What it does
    Reports a relative import that climbs above the top-level package of the module
    (`from ... import x` in a package only two levels deep, or any relative import in
    a module that is not in a package).

    ## Why is this bad?
    Python raises `ImportError: attempted relative import beyond top-level package`
    when the line runs, and importguard cannot tell which module was meant, so the
    chain is not followed.

    ## Known problems
    The module name comes from the `__init__.py` files above the file (and the `src`
    setting for namespace packages); a file imported under another name may be
    reported wrongly.

    ## Example
    ```python
    # pkg/mod.py
    from ..other import x
    ```

    ## Use instead
    ```python
    from pkg.other import x
    ```

    ## Options
    `src`.

    ## References
    - PEP 328 — Imports: Multi-Line and Absolute/Relative
    """

    code = "IG902"
    name = "relative-import-beyond-top-level"
    summary = "A relative import goes beyond the top-level package"
    fix = "use an absolute import, or set `src` so the file gets its real module name"
    INVALID = (
        Case({"pkg/__init__.py": "", "pkg/mod.py": "from ..other import x\n"}, expect=(("pkg/mod.py", 1),)),
    )
    VALID = (Case({"pkg/__init__.py": "", "pkg/mod.py": "from . import other\n", "pkg/other.py": ""}),)
