"""Plain data shared by every stage. Imports nothing from importguard.

Facts are frozen dataclasses of strings, ints, enums and tuples, so they can be cached
as JSON and returned from worker processes; cache/codec.py derives the round trip from
the fields (a field that a later stage fills, not stored, says `metadata={"stored": False}`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Optional


class Execution(str, Enum):
    """When an import site or call runs relative to the import of its module."""

    EAGER = "eager"
    DEFERRED = "deferred"
    TYPE_CHECKING = "type-checking"


class SiteKind(str, Enum):
    IMPORT = "import"  # import a.b.c
    FROM = "from"  # from a.b import c
    DYNAMIC = "dynamic"  # importlib.import_module("a") / __import__("a")
    LAZY_ATTACH = "lazy-attach"  # lazy_loader.attach(__name__, submodules=[...])


@dataclass(frozen=True, slots=True)
class ImportSite:
    """One place in source that imports a module.

    `module` is absolute (relative imports are resolved at collection). For a
    from-import, `names` holds the imported names ("*" for a star import); each may
    be a submodule of `module`, which the graph decides.
    """

    module: str
    names: tuple[str, ...]
    line: int
    column: int
    end_line: int
    execution: Execution
    kind: SiteKind
    conditional: bool = False
    # The tests of the branches it sits in, as data (facts/conditions.py): "platform:rocm",
    # "not platform:rocm && when:envs.X"; the environment profile decides them.
    condition: str = ""


POSITIONAL = "#positional"  # CallSite.keywords: how many positional arguments
APPLIED = "#applied"  # CallSite.keywords: what the call returns is called at once, `f(...)(x)`

RIGHT_OF_AND = "right of and"  # CallSite.context: runs when the operands before it are true


@dataclass(frozen=True, slots=True)
class CallSite:
    """A call, named by its qualified name (resolved through the module's import
    aliases, the imports of the enclosing function, and the names the module itself
    defines: a call of a module-level `f` is `pkg.mod.f`).

    In `ModuleFacts.calls` it runs when the module is imported; in a
    `FunctionFacts.calls` it runs when that function does.
    `guarded`: under `if torch.cuda.is_initialized():` or after
    `if not torch.cuda.is_initialized(): return`, so it cannot be the first CUDA call.
    `device`: the literal CUDA device it is given (`device="cuda"`, `.to("cuda:0")`).
    `context`: why it runs at import when that is not plain (`decorator`: `@deco`
    calls `deco(func)`; `annotation`: evaluated on Python < 3.14 only), or, in a
    function, why a conditional call is still followed (RIGHT_OF_AND: `a() and b()`)."""

    name: str
    line: int
    column: int
    end_line: int
    conditional: bool = False
    guarded: bool = False
    device: str = ""
    context: str = ""
    condition: str = ""  # as ImportSite.condition
    # Its keyword arguments, for summaries whose effect depends on one (`backend="eager"`):
    # (name, value): a string literal's text, another literal's repr, "*" for any other
    # expression; `**mapping` is ("**", "*"), `*args` ("*", "*"); first come (APPLIED, "1")
    # when what the call returns is called at once (`f(...)(x)`) and (POSITIONAL, "N")
    # when it has N positional arguments.
    keywords: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class FunctionFacts:
    """A function or method the module defines (`name` is its qualified name inside
    the module: `f`, `Cls.method`, `outer.inner`; a class is an entry of its own with
    `is_class` and no calls, so that `Cls()` runs its `__new__`/`__init__`/
    `__post_init__`) and the calls its body makes, each once (its first unguarded
    occurrence)."""

    name: str
    line: int
    calls: tuple[CallSite, ...] = ()
    is_class: bool = False
    # `os.environ[KEY] = "V"` / `setdefault` in the body, outside any branch: (KEY, V, line).
    environ: tuple[tuple[str, str, int], ...] = ()
    # For a class: its bases, qualified as calls are (a method it does not define is
    # looked up in them, in order).
    bases: tuple[str, ...] = ()
    # For a function: the qualified callee every `return` calls (`return CudaPlatform()`),
    # "" when the returns differ or are no calls.
    returns: str = ""
    # For a function: the nested def every `return` gives back (`return wrapper` in a
    # decorator factory), qualified inside the module (`factory.wrapper`); "" otherwise.
    hands_back: str = ""
    # The import statements the body runs when the function does (not those of nested
    # defs, which are functions of their own), absolute, `execution` EAGER; on a branch of
    # the body they are `conditional` with its `condition` (as CallSite's); under
    # `if TYPE_CHECKING:` the condition is one the profile rules out; one under
    # `if torch.cuda.is_initialized():` is left out (it cannot be the first CUDA call).
    imports: tuple[ImportSite, ...] = ()


@dataclass(frozen=True, slots=True)
class Problem:
    """A problem with the user's file itself (syntax error, undecodable bytes...)."""

    code: str
    message: str
    line: int = 1
    column: int = 1


@dataclass(frozen=True, slots=True)
class Suppression:
    """`# noqa` / `# importguard: ignore[...]` on a line; empty codes = every code.
    A file-level `# importguard: noqa` (directive "file") covers the whole file."""

    line: int
    codes: tuple[str, ...]
    directive: str = field(default="noqa", compare=False)  # "noqa", "ignore" (importguard's own) or "file"


@dataclass(frozen=True, slots=True)
class ModuleFacts:
    module: str
    path: str
    is_package: bool
    imports: tuple[ImportSite, ...] = ()
    calls: tuple[CallSite, ...] = ()
    exports: Optional[tuple[str, ...]] = None  # literal __all__, when there is one
    suppressions: tuple[Suppression, ...] = ()
    problems: tuple[Problem, ...] = ()
    functions: tuple[FunctionFacts, ...] = ()
    # Module-level names bound by imports or plain aliases (`f = torch.cuda.is_available`)
    # to qualified names, for following a call through a re-export.
    bindings: tuple[tuple[str, str], ...] = ()
    # Module-level `os.environ[KEY] = "V"` / `os.environ.setdefault(KEY, "V")`: (KEY, V, line).
    environ: tuple[tuple[str, str, int], ...] = ()
    # Things at import time that cannot be followed (exec of a string...): (line, text).
    notes: tuple[tuple[int, str], ...] = ()
    # Module-level names bound to the result of a call (`current_platform = CudaPlatform()`):
    # (name, the qualified callee); graph/names.py makes a call of `name.m` the class's method `m`.
    instances: tuple[tuple[str, str], ...] = ()
    # Module-level names declared without a value (`current_platform: Platform`, e.g. under
    # TYPE_CHECKING, served by a PEP 562 `__getattr__`): (name, the qualified annotation).
    declared: tuple[tuple[str, str], ...] = ()
    # Dotted names the module's functions return as strings (`return "pkg.cuda.CudaPlatform"`).
    qualnames: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourceFile:
    """A Python file and the module name it has under its source root."""

    path: str
    module: str
    is_package: bool
    root: str


# How sure a sink is to initialize the driver; decides the SARIF level and the LSP
# severity (error for an initializer, warning otherwise), in the same words everywhere.
INITIALIZER = "initializer"  # measured to initialize the CUDA driver
DRIVER_API = "driver-api"  # the driver API, imported; no call of it was seen
CONFIGURED = "configured"  # named in the user's configuration
# Measured to initialize the driver in some versions of its distribution and not in
# others, the installed one unknown (sinks.VERSIONED_SINK_MODULES; a warning).
VERSION_DEPENDENT = "version-dependent"
STRENGTH_WORDS = {
    INITIALIZER: "measured CUDA initializer",
    DRIVER_API: "CUDA driver API, imported without a call",
    CONFIGURED: "configured CUDA sink",
    VERSION_DEPENDENT: "CUDA initializer in some versions (measured)",
}
WARNING_STRENGTHS = frozenset({DRIVER_API, VERSION_DEPENDENT})  # reported as warnings, not errors


@dataclass(frozen=True)
class ModuleSink:
    """A module (and all its submodules) whose import is reported."""

    module: str
    reason: str
    strength: str = CONFIGURED
    nvml_off: bool = False  # as CallSink.nvml_off

    def matches(self, name: str) -> bool:
        return name == self.module or name.startswith(self.module + ".")


@dataclass(frozen=True)
class CallSink:
    """A qualified call name that initializes the CUDA driver when executed.
    `device`: only when given a literal CUDA device (`torch.empty(1, device="cuda")`)."""

    name: str
    reason: str
    strength: str = CONFIGURED
    device: bool = False
    # A summary's keyword condition: the call is this sink only when each keyword named
    # here is absent ("" in the values) or a literal among the values; a keyword that is no
    # literal leaves it undecided (the finding names the condition).
    when: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # The effect needs what the call returns applied to a function: the call is a
    # decorator (`@torch.compile`, `@torch.compile(...)`) or is given positional
    # arguments or the `applied_keyword` (`torch.compile(f)`, `torch.compile(model=f)`).
    applied: bool = False
    applied_keyword: str = ""
    # Its only driver call is `torch.cuda.is_available()`, which PYTORCH_NVML_BASED_CUDA_CHECK=1
    # makes NVML-based: with that set before it runs, it initializes nothing (measured).
    nvml_off: bool = False


@dataclass(frozen=True)
class Hop:
    """One step of a chain: `importer` imports `imported` at path:line.

    `via` says why the hop exists when it is not a plain import of `imported`, e.g.
    "parent package of a.b.c" or "calls torch.cuda.is_available()".
    """

    importer: str
    imported: str
    path: str
    line: int
    via: str = ""
    # "import": `importer` imports `imported`; "call": code in module `importer` calls
    # `imported` (a qualified function name) at path:line.
    kind: str = "import"

    def to_dict(self) -> dict[str, Any]:
        return {"importer": self.importer, "imported": self.imported, "path": self.path, "line": self.line,
                "via": self.via, "kind": self.kind}

    def at_path(self, path: str) -> "Hop":
        """This hop with its path spelled `path`: dataclasses.replace, without the
        field lookups that cost a report of thousands of hops a few milliseconds."""
        return self if path == self.path else Hop(self.importer, self.imported, path, self.line, self.via, self.kind)


@dataclass(frozen=True)
class SinkHit:
    """What a chain ends at: a sink module, or a project module with an eager call sink."""

    module: str
    reason: str
    call: str = ""  # set when `module` is a sink because it calls `call` at import
    path: str = ""  # where that call is
    line: int = 0
    strength: str = CONFIGURED
    # When the call at import reaches the sink call through functions: the call hops,
    # the first at `path:line` in `module`, the last the sink call itself.
    calls: tuple["Hop", ...] = ()
    conditional: bool = False  # a function on the way makes the call only on a branch


@dataclass(frozen=True)
class Finding:
    code: str
    name: str
    path: str
    line: int
    column: int
    message: str
    fix: str = ""  # the rule's fix hint
    sink: Optional[str] = None
    chain: tuple[Hop, ...] = ()
    end_line: int = 0  # last line of the site; a suppression comment may sit on any of them
    # Why the fix hint's usual edit would not help here (e.g. a lazy re-export that another
    # module's `from pkg import name` runs at once); "" when nothing blocks it.
    blocker: str = ""
    strength: str = ""  # of the sink reached: INITIALIZER, DRIVER_API, CONFIGURED ("" for 9xx)
    # (line, column) of the later eager imports of the same module in the file, which import
    # nothing new once this one ran: they are reported with it, and --fix rewrites them with it.
    repeats: tuple[tuple[int, int], ...] = ()
    # Filled by optional stages (e.g. the runtime probe's verdict under "confirmation").
    extra: tuple[tuple[str, Any], ...] = field(default=(), compare=False, metadata={"stored": False})

    @property
    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.path, self.line, self.column, self.code, self.message)

    @property
    def sites(self) -> tuple[tuple[int, int], ...]:
        """(line, column) of every site this finding reports: its own, then its repeats."""
        return ((self.line, self.column), *self.repeats)

    @property
    def fix_text(self) -> str:
        """The fix hint as printed: the hint, then what blocks it."""
        return f"{self.fix}; but {self.blocker}" if self.blocker else self.fix


@dataclass(frozen=True)
class PlanEdit:
    """One site of a fix plan: an import to move into a function (or make lazy), or a
    call to defer. `findings` counts the reported findings with an eager path to it
    that passes no other edit of the plan."""

    path: str
    line: int
    kind: str  # "import" or "call"
    what: str  # e.g. "`pkg.ops` imports `cutlass`"
    findings: int = 0


@dataclass(frozen=True)
class Plan:
    """The fewest sites whose change clears every finding a site edit can clear.

    `exact`: a minimum vertex cut of the eager graph (max-flow); otherwise a greedy
    answer, with `method` saying why. `cleared` counts the findings the edits clear."""

    edits: tuple[PlanEdit, ...]
    cleared: int
    exact: bool
    method: str
    # Calls at import on the paths from the findings' sites that the model could not
    # resolve (no function, class, sink or summary of that name), sorted, each as a
    # PlanEdit of kind "unresolved" (`what`: `name()`). The plan clears what the model
    # sees; these may still reach the driver.
    unresolved: tuple[PlanEdit, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "edits": tuple({"path": e.path, "line": e.line, "kind": e.kind, "what": e.what, "findings": e.findings}
                           for e in self.edits),
            "cleared": self.cleared, "exact": self.exact, "method": self.method,
            "unresolved": tuple({"path": e.path, "line": e.line, "kind": e.kind, "what": e.what,
                                 "findings": e.findings} for e in self.unresolved),
        }


@dataclass(frozen=True)
class Report:
    findings: tuple[Finding, ...]
    files_checked: int
    warnings: tuple[str, ...] = ()
    plan: Optional[Plan] = None  # the fix plan for the chain and call findings
    # What decided this report besides the facts: files read or looked for, module
    # lookups (path probed, was a file), directories listed (directory, names taken,
    # names excluded); filled only when the caller asks, for replaying it later.
    consulted_files: tuple[str, ...] = field(default=(), compare=False)
    consulted_probes: tuple[tuple[str, bool], ...] = field(default=(), compare=False)
    # (taken and excluded are None for a directory the walk could not list)
    consulted_listings: tuple[tuple[str, Optional[tuple[str, ...]], Optional[tuple[str, ...]]], ...] = field(
        default=(), compare=False)
    # Directory lookups recorded by an earlier check whose findings this one reused
    # (lookups.py records), found unchanged at the start of this one.
    consulted_lookups: tuple[Any, ...] = field(default=(), compare=False)
