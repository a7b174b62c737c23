"""What every rule sees and returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Iterable, Optional, Union

from importguard.config import Config
from importguard.graph import Chain, ImportGraph
from importguard.model import Finding, ModuleFacts


@dataclass(frozen=True)
class Project:
    config: Config
    reported: tuple[ModuleFacts, ...]  # the files PATHS selected (or the part of them to check again)
    graph: ImportGraph
    # Every file PATHS selected, when `reported` holds only those whose findings an
    # incremental check computes again (the lazy re-export hint looks at all of them).
    all_reported: Optional[tuple[ModuleFacts, ...]] = None

    @property
    def everything_reported(self) -> tuple[ModuleFacts, ...]:
        return self.reported if self.all_reported is None else self.all_reported


@dataclass(frozen=True)
class Case:
    """A small project for a rule's examples: relative path -> source. `expect` lists
    (path, line) of the findings the rule must report on it (empty for VALID)."""

    files: dict[str, Union[str, bytes]]
    expect: tuple[tuple[str, int], ...] = ()


class Rule:
    """Base class. The subclass docstring is the rule's documentation, in ruff's
    sections; docs/rules/ and the README are generated from it."""

    code: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]
    VALID: ClassVar[tuple[Case, ...]] = ()
    INVALID: ClassVar[tuple[Case, ...]] = ()

    def check(self, project: Project) -> Iterable[Finding]:
        raise NotImplementedError


def chain_text(chain: Chain) -> str:
    """`pkg -> pkg.ops -> cutlass`, ending with the call when the sink is a call."""
    if not chain.hops:
        names = [chain.sink.module]
    else:
        names = [chain.hops[0].importer, *(hop.imported for hop in chain.hops)]
    text = " -> ".join(names)
    if chain.sink.call:
        text += f" (calls {chain.sink.call}() at line {chain.sink.line})"
    return text


def sink_text(chain: Chain) -> str:
    sink = chain.sink
    if sink.call:
        return f"`{sink.module}`, which calls `{sink.call}()` at import; that call {sink.reason}"
    return f"`{sink.module}`, which {sink.reason}"
