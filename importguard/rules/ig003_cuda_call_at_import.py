from __future__ import annotations

from typing import Iterable

from importguard.rules.base import Case, Project, Rule
from importguard.model import Finding


class CudaCallAtImport(Rule):
    """## What it does
    Reports a call that initializes the CUDA driver when it is executed at import
    time: at module level, in a class body, in a decorator or in a default argument
    value. Calls are matched by qualified name through the module's own imports
    (`import torch.cuda as tc; tc.get_device_capability()` is
    `torch.cuda.get_device_capability`).

    ## Why is this bad?
    Importing the module initializes the CUDA driver in whatever process imports it,
    typically the parent of a pool of forked workers, whose children then cannot use
    CUDA. Every module that imports this one eagerly inherits the problem (IG001 and
    IG002 follow chains to it).

    ## Known problems
    The default list holds only calls measured to initialize the driver on a real
    GPU: `torch.cuda.is_available()` does (unless `PYTORCH_NVML_BASED_CUDA_CHECK=1`),
    `torch.cuda.device_count()` does not. Calls reached through variables, and
    `torch.empty(..., device="cuda")`, are not recognised.

    ## Example
    ```python
    import torch
    CAPABILITY = torch.cuda.get_device_capability()
    ```

    ## Use instead
    ```python
    import functools
    import torch

    @functools.cache
    def capability():
        return torch.cuda.get_device_capability()
    ```

    ## Options
    `sink-calls`, `extend-sink-calls`.

    ## References
    - shared/cuda-evidence.md (measurements on an H100)
    """

    code = "IG003"
    name = "cuda-call-at-import"
    summary = "A call that initializes the CUDA driver runs at import time"
    fix = "call it inside a function, after the fork (e.g. cache the result with functools.cache)"

    VALID = (
        Case({"m.py": "import torch\nN = torch.cuda.device_count()\n"}),
        Case({"m.py": "import torch\ndef cap():\n    return torch.cuda.get_device_capability()\n"}),
        Case({"m.py": "import torch\nif __name__ == '__main__':\n    torch.cuda.is_available()\n"}),
    )
    INVALID = (
        Case(
            {"m.py": "import torch.cuda as tc\nCAP = tc.get_device_capability()\n"},
            expect=(("m.py", 2),),
        ),
        Case(
            {"m.py": "from torch import cuda\nclass K:\n    ok = cuda.is_available()\n"},
            expect=(("m.py", 3),),
        ),
        Case(
            {"m.py": "import jax\ndef f(devices=jax.devices()):\n    pass\n"},
            expect=(("m.py", 2),),
        ),
    )

    def check(self, project: Project) -> Iterable[Finding]:
        for facts in project.reported:
            for call in facts.calls:
                sink = project.graph.call_sink(call.name)
                if sink is None:
                    continue
                condition = " (conditionally)" if call.conditional else ""
                message = (
                    f"`{call.name}()` runs at import{condition}; it {sink.reason}: "
                    f"importing `{facts.module}` runs it; {self.fix}"
                )
                yield Finding(
                    code=self.code,
                    name=self.name,
                    path=facts.path,
                    line=call.line,
                    column=call.column,
                    end_line=call.end_line,
                    message=message,
                    fix=self.fix,
                    sink=call.name,
                )
