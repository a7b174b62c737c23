from __future__ import annotations

import fnmatch

from importguard.rules._chain_rule import ChainRule
from importguard.rules.base import Case, Project
from importguard.model import ModuleFacts


class CudaFreeReachesCudaSink(ChainRule):
    """## What it does
    Reports every eager import site in a module matched by the `cuda-free` setting
    whose chain of eager imports reaches a CUDA sink.

    ## Why is this bad?
    Entry points, configuration and registries are imported by the parent process
    before it forks workers. If importing one of them reaches a module that
    initializes the CUDA driver, every forked worker fails to use CUDA. Marking such
    modules `cuda-free` states the contract; this rule keeps it.

    ## Known problems
    The chain shows that the sink is *reached*; whether it initializes the driver in
    your environment is for `importguard check --confirm` to say. Parent packages of
    a `cuda-free` module run first too: their `__init__.py` files are checked by
    IG001.

    ## Example
    ```toml
    [tool.importguard]
    cuda-free = ["app.entrypoints.*"]
    ```
    ```python
    # app/entrypoints/serve.py
    from app.kernels import fused_moe  # kernels.py imports cutlass at top level
    ```

    ## Use instead
    ```python
    # app/entrypoints/serve.py
    def load_model():
        from app.kernels import fused_moe  # runs in the worker, after the fork
    ```

    ## Options
    `cuda-free` (module-name globs: `app.config`, `app.entrypoints.*`), and the sink
    options.

    ## References
    - Python's `multiprocessing` start methods, and CUDA's fork restrictions
    """

    code = "IG002"
    name = "cuda-free-module-imports-cuda-sink"
    summary = "Eager import in a `cuda-free` module reaches a CUDA sink"
    problem = "eager import in `cuda-free` module"
    fix = (
        "move the import into the function that needs it, or under `if TYPE_CHECKING:` "
        "if only type hints use it"
    )

    _CONFIG = '[tool.importguard]\ncuda-free = ["app.entry"]\n'
    VALID = (
        Case(
            {
                "pyproject.toml": _CONFIG,
                "app/__init__.py": "",
                "app/entry.py": "def main():\n    import app.kernels\n",
                "app/kernels.py": "import cutlass\n",
            }
        ),
    )
    INVALID = (
        Case(
            {
                "pyproject.toml": _CONFIG,
                "app/__init__.py": "",
                "app/entry.py": "import os\nimport app.kernels\n",
                "app/kernels.py": "import cutlass\n",
            },
            expect=(("app/entry.py", 2),),
        ),
    )

    def applies_to(self, facts: ModuleFacts, project: Project) -> bool:
        return any(fnmatch.fnmatchcase(facts.module, p) for p in project.config.cuda_free)
