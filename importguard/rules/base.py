"""What every rule sees and returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Iterable, Optional, Union

from importguard.config import Config
from importguard.model import STRENGTH_WORDS, Finding, Hop, ModuleFacts

if TYPE_CHECKING:  # a check whose findings are all stored never builds a graph
    from importguard.graph.imports import Chain, ImportGraph


@dataclass(frozen=True)
class Project:
    config: Config
    reported: tuple[ModuleFacts, ...]  # the files PATHS selected (or the part of them to check again)
    graph: ImportGraph
    # The lazy re-export hint's index (_lazy_blockers.py) over every file PATHS selected,
    # when `reported` holds only those whose findings an incremental check computes again.
    blockers: Optional[dict[tuple[str, str], tuple[str, str, int]]] = None


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
    opt_in: ClassVar[bool] = False  # runs only when `select` names it (as ruff's RUF100)

    def check(self, project: Project) -> Iterable[Finding]:
        raise NotImplementedError


def chain_text(chain: Chain) -> str:
    """`pkg -> pkg.ops -> cutlass`, ending with the calls when the sink is a call:
    `pkg -> pkg.cfg (calls pkg.utils.is_cuda() at line 3 -> torch.cuda.is_available())`."""
    if not chain.hops:
        names = [chain.sink.module]
    else:
        names = [chain.hops[0].importer, *(hop.imported for hop in chain.hops)]
    text = " -> ".join(names)
    calls = chain.sink.calls
    if len(calls) > 1:
        text += f" (calls {calls[0].imported}() at line {calls[0].line} -> {call_chain_text(calls[1:])})"
    elif chain.sink.call:
        text += f" (calls {chain.sink.call}() at line {chain.sink.line})"
    return text


def call_chain_text(hops: "tuple[Hop, ...]") -> str:
    """`pkg.utils.is_cuda() -> torch.cuda.is_available()`; an import a function runs,
    and the import hops after it: `pkg.utils.backend() -> import cutlass`."""
    return " -> ".join(f"{hop.imported}()" if hop.kind == "call" else f"import {hop.imported}" for hop in hops)


def condition_words(project: Project, conditional: bool, condition: str) -> str:
    """How a site's branch reads in a message: "" when the environment profile says it
    runs, the tests it cannot decide ("when flash_attn is installed"), else "conditionally"."""
    profile = project.config.environment
    if profile.decide(conditional, condition) is not None:
        return ""
    return profile.undecided_text(condition) or "conditionally"


def strength_text(strength: str) -> str:
    """The same words in every output: message, SARIF, LSP (see types.STRENGTH_WORDS)."""
    return STRENGTH_WORDS.get(strength, STRENGTH_WORDS["configured"])


def sink_text(chain: Chain) -> str:
    sink = chain.sink
    words = strength_text(sink.strength)
    if len(sink.calls) > 1:
        paths = " on some paths" if sink.conditional else ""
        # The calls may end at the import of a sink module (a function's import).
        what, noun = (f"`{sink.call}`", "import") if sink.calls[-1].kind == "import" else (f"`{sink.call}()`", "call")
        return (
            f"`{sink.module}`, whose import calls `{sink.calls[0].imported}()`, which reaches "
            f"{what}{paths}; that {noun} {sink.reason} [{words}]"
        )
    if sink.call:
        paths = " on some paths" if sink.conditional else ""
        return f"`{sink.module}`, which calls `{sink.call}()` at import{paths}; that call {sink.reason} [{words}]"
    return f"`{sink.module}`, which {sink.reason} [{words}]"
