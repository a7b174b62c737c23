from __future__ import annotations

from typing import Iterable

from importguard.rules.base import Case, Project, Rule, call_chain_text, condition_words, strength_text
from importguard.model import Finding


class CudaCallAtImport(Rule):
    """## What it does
    Reports a call that initializes the CUDA driver when it is executed at import
    time, directly or through the functions it runs: at module level, in `if`/`while`
    tests, loop bodies, comprehensions, class bodies, default values (of functions and
    lambdas), `match` guards, decorator expressions **and the decorator call itself**
    (`@deco` calls `deco(func)`), class instantiation (`Cls()` runs `__new__`,
    `__init__`, `__post_init__`) and annotations where they are evaluated. Calls are
    matched by qualified name through the module's own imports, the imports inside
    the function bodies, plain aliases (`f = torch.cuda.is_available`) and
    `getattr(torch.cuda, "is_available")`. The finding sits at the call that runs at
    import; its chain lists each call on the way (`pkg/config.py:3 pkg.utils.is_cuda()
    -> pkg/utils.py:4 torch.cuda.is_available()`).

    ## Why is this bad?
    Importing the module initializes the CUDA driver in whatever process imports it,
    typically the parent of a pool of forked workers, whose children then cannot use
    CUDA. Every module that imports this one eagerly inherits the problem (IG001 and
    IG002 follow chains to it).

    ## Known problems
    The default list holds only calls measured to initialize the driver on a real
    GPU: `torch.cuda.is_available()` does (unless `PYTORCH_NVML_BASED_CUDA_CHECK=1`:
    set `nvml-based-cuda-check = true`, or set the variable at module level in an
    ancestor package's `__init__.py`), `torch.cuda.device_count()` does not. A call
    under `if torch.cuda.is_initialized():`, or after
    `if not torch.cuda.is_initialized(): return`, is safe. Not followed: calls through
    variables holding functions other than plain module-level aliases, methods of
    objects (other than `self.m()` in a class and `.cuda()`/`.to("cuda")` on a
    module-level torch tensor), inherited constructors, what a decorator factory
    returns (`@deco(arg)` runs `deco(arg)`, which is followed, but not the function it
    returns), and code in `exec()` strings. An import a function that runs makes
    (`def backend(): import cutlass`) is followed into the import graph: the chain
    shows the calls, `f -> X` at that import, then the modules to the sink.
    Annotations are modelled as evaluated at import unless `from __future__ import
    annotations` is in effect; on Python 3.14+ (PEP 649) they are deferred, which the
    message says.

    ## Example
    ```python
    import torch
    CAPABILITY = torch.cuda.get_device_capability()

    def is_cuda():
        return torch.cuda.is_available()

    IS_CUDA = is_cuda()
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
    `sink-calls`, `extend-sink-calls`, `nvml-based-cuda-check`, `environment` (platform branches,
    variables: docs/environment.md).

    ## References
    - shared/cuda-evidence.md (measurements on an H100), docs/cuda-calls-evidence.md (H200)
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
                reached = project.graph.call_reach(facts, call)
                if reached is None:
                    continue
                sink = reached.sink
                words = condition_words(project, call.conditional, call.condition)
                condition = f" ({words})" if words else ""
                if call.context == "annotation":
                    condition += " (in an annotation: evaluated at import on Python < 3.14, deferred on 3.14+)"
                elif call.context == "decorator":
                    condition += " (the decorator is called with what it decorates)"
                if reached.conditional:
                    condition += " (on some paths: a function on the way makes the call only on a branch)"
                if len(reached.hops) == 1:
                    what = f"`{call.name}()` runs at import{condition}; it {sink.reason} [{strength_text(sink.strength)}]"
                else:
                    what = (
                        f"`{call.name}()` runs at import{condition} and reaches {reached.sink_words}, which "
                        f"{sink.reason} [{strength_text(sink.strength)}]: {call_chain_text(reached.hops)}"
                    )
                message = f"{what}: importing `{facts.module}` runs it; {self.fix}"
                yield Finding(
                    code=self.code,
                    name=self.name,
                    path=facts.path,
                    line=call.line,
                    column=call.column,
                    end_line=call.end_line,
                    message=message,
                    fix=self.fix,
                    sink=sink.name,
                    chain=reached.hops,
                    strength=sink.strength,
                )
