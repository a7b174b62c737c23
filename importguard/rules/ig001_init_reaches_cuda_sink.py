from __future__ import annotations

from importguard.rules._chain_rule import ChainRule
from importguard.rules.base import Case, Project
from importguard.model import ModuleFacts


class InitReachesCudaSink(ChainRule):
    """## What it does
    Reports every eager import site in a package's `__init__.py` whose chain of eager
    imports reaches a CUDA sink: a sink module (such as `cutlass`) or a module that
    calls a CUDA-initializing function (such as `torch.cuda.get_device_capability()`)
    at import time. The finding sits at the import statement and carries the
    shortest chain.

    ## Why is this bad?
    Importing any submodule first runs every parent package's `__init__.py`. An
    `__init__` that re-exports a module which imports `cutlass` at top level makes
    *every* import of the package, and of any of its submodules, pay for it. Where the
    sink initializes the CUDA driver, a serving process that forks workers after
    startup breaks every child ("CUDA driver initialization failed"). vLLM shipped and
    fixed exactly this (PR 43791, "Fix early CUDA init").

    ## Known problems
    Whether a sink module really initializes the driver depends on the installed
    version: `import cutlass` from nvidia-cutlass-dsl 4.5.2 does, 4.8.0 and 4.8.1 do not
    (measured). The finding says the import path *reaches* the sink; run
    `importguard check --confirm` to learn whether it initializes the driver in your
    environment. Imports whose target is computed at run time are not followed.

    ## Example
    ```python
    # pkg/ops/__init__.py
    from .gemm import gemm  # gemm.py does `import cutlass` at top level
    ```

    ## Use instead
    ```python
    # pkg/ops/__init__.py: keep it empty, and import the leaf where it is used
    def run(x):
        from pkg.ops.gemm import gemm
        return gemm(x)
    ```
    or make the re-export lazy with a module-level `__getattr__` (PEP 562).

    ## Options
    `sink-modules`, `extend-sink-modules`, `sink-calls`, `extend-sink-calls`, `environment`
    (platform, installed versions: docs/environment.md).

    ## References
    - PEP 562 — Module `__getattr__` and `__dir__`
    - vLLM PR 43791, "Fix early CUDA init"
    """

    code = "IG001"
    name = "init-imports-cuda-sink"
    summary = "Eager import in a package `__init__.py` reaches a CUDA sink"
    problem = "eager import in package `__init__`"
    fix = (
        "import it inside the function that uses it, or make the re-export lazy "
        "with a module `__getattr__` (PEP 562)"
    )

    VALID = (
        Case({"pkg/__init__.py": "", "pkg/gemm.py": "import cutlass\n"}),
        Case(
            {
                "pkg/__init__.py": "def gemm(x):\n    from pkg.gemm import gemm\n    return gemm(x)\n",
                "pkg/gemm.py": "import cutlass\n",
            }
        ),
        Case(
            {
                "pkg/__init__.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .gemm import gemm\n",
                "pkg/gemm.py": "import cutlass\n",
            }
        ),
    )
    INVALID = (
        Case(
            {"pkg/__init__.py": '"""Ops."""\nfrom .gemm import gemm\n', "pkg/gemm.py": "import cutlass\n"},
            expect=(("pkg/__init__.py", 2),),
        ),
        Case(
            {
                "pkg/__init__.py": "from pkg import a\n",
                "pkg/a.py": "from pkg.b import run\n",
                "pkg/b.py": "import torch\nCAP = torch.cuda.get_device_capability()\n",
            },
            expect=(("pkg/__init__.py", 1),),
        ),
    )

    def applies_to(self, facts: ModuleFacts, project: Project) -> bool:
        return facts.is_package
