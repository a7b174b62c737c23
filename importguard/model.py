"""Plain data shared by every stage. Imports nothing from importguard.

Facts are frozen dataclasses of strings, ints and tuples, so they can be cached as
JSON and returned from worker processes; `to_dict`/`from_dict` do the round trip.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
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


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class CallSite:
    """A call executed when the module is imported, named by its qualified name
    (resolved through the module's own import aliases)."""

    name: str
    line: int
    column: int
    end_line: int
    conditional: bool = False


@dataclass(frozen=True)
class Problem:
    """A problem with the user's file itself (syntax error, undecodable bytes...)."""

    code: str
    message: str
    line: int = 1
    column: int = 1


@dataclass(frozen=True)
class Suppression:
    """`# noqa` / `# importguard: ignore[...]` on a line; empty codes = every code."""

    line: int
    codes: tuple[str, ...]


@dataclass(frozen=True)
class ModuleFacts:
    module: str
    path: str
    is_package: bool
    imports: tuple[ImportSite, ...] = ()
    calls: tuple[CallSite, ...] = ()
    exports: Optional[tuple[str, ...]] = None  # literal __all__, when there is one
    suppressions: tuple[Suppression, ...] = ()
    problems: tuple[Problem, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModuleFacts":
        return cls(
            module=data["module"],
            path=data["path"],
            is_package=data["is_package"],
            imports=tuple(
                ImportSite(
                    module=s["module"],
                    names=tuple(s["names"]),
                    line=s["line"],
                    column=s["column"],
                    end_line=s["end_line"],
                    execution=Execution(s["execution"]),
                    kind=SiteKind(s["kind"]),
                    conditional=s["conditional"],
                )
                for s in data["imports"]
            ),
            calls=tuple(CallSite(**c) for c in data["calls"]),
            exports=None if data["exports"] is None else tuple(data["exports"]),
            suppressions=tuple(
                Suppression(line=s["line"], codes=tuple(s["codes"])) for s in data["suppressions"]
            ),
            problems=tuple(Problem(**p) for p in data["problems"]),
        )


@dataclass(frozen=True)
class SourceFile:
    """A Python file and the module name it has under its source root."""

    path: str
    module: str
    is_package: bool
    root: str


@dataclass(frozen=True)
class ModuleSink:
    """A module (and all its submodules) whose import is reported."""

    module: str
    reason: str

    def matches(self, name: str) -> bool:
        return name == self.module or name.startswith(self.module + ".")


@dataclass(frozen=True)
class CallSink:
    """A qualified call name that initializes the CUDA driver when executed."""

    name: str
    reason: str


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


@dataclass(frozen=True)
class SinkHit:
    """What a chain ends at: a sink module, or a project module with an eager call sink."""

    module: str
    reason: str
    call: str = ""  # set when `module` is a sink because it calls `call` at import
    path: str = ""  # where that call is
    line: int = 0


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
    # Filled by optional stages (e.g. the runtime probe's verdict under "confirmation").
    extra: tuple[tuple[str, Any], ...] = field(default=(), compare=False)

    @property
    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.path, self.line, self.column, self.code, self.message)

    @property
    def fix_text(self) -> str:
        """The fix hint as printed: the hint, then what blocks it."""
        return f"{self.fix}; but {self.blocker}" if self.blocker else self.fix

    def to_dict(self) -> dict[str, Any]:
        """Plain data without `extra` (optional stages add it after a run)."""
        data = asdict(self)
        del data["extra"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Finding":
        fields = dict(data)
        fields["chain"] = tuple(Hop(**hop) for hop in fields["chain"])
        return cls(**fields)


@dataclass(frozen=True)
class Report:
    findings: tuple[Finding, ...]
    files_checked: int
    warnings: tuple[str, ...] = ()
    # What decided this report besides the facts: files read or looked for, module
    # lookups (path probed, was a file), directories listed (directory, names taken,
    # names excluded); filled only when the caller asks, for replaying it later.
    consulted_files: tuple[str, ...] = field(default=(), compare=False)
    consulted_probes: tuple[tuple[str, bool], ...] = field(default=(), compare=False)
    consulted_listings: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = field(default=(), compare=False)
    # Directory lookups recorded by an earlier check whose findings this one reused
    # (lookups.py records), found unchanged at the start of this one.
    consulted_lookups: tuple[Any, ...] = field(default=(), compare=False)
