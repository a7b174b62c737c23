"""Names resolved as Python binds them, over facts (never a syntax tree).

A qualified name such as `pkg.utils.is_cuda` or `pkg.platforms.current_platform.m` is
followed part by part: the longest prefix that is a project module decides, and the
next part is what that module binds at module level:
- a def or class of its own (`FunctionFacts`); `Cls.m` that `Cls` does not define is a
  class attribute bound in its body (`m = torch.cuda.is_available`, in `bindings` as
  `Cls.m`), or is looked up in its bases, in order (a depth-first approximation of the MRO);
- an import or alias (`bindings`: `from m import f`, `import m as n`, `x = f`,
  `x = functools.partial(f, ...)`, `lru_cache(maxsize=1)(partial(f, ...))`), whose
  target is followed in turn — a module object re-exported by a package too
  (`from vllm.triton_utils import triton`: `triton.runtime...` is triton's own);
- the result of a call (`instances`: `current_platform = CudaPlatform()`): when the
  callee is a project class, or a project function whose every `return` calls one
  (`def make(): return CudaPlatform()`, `return cls()` in a classmethod), through any
  number of such factories, `current_platform.m` is that class's method `m`;
- a name a star import brings in (`from m import *`): the names in m's `__all__`, else
  m's public names (not starting with `_`: its defs, imports, aliases, instances, and
  what its own star imports bring in), through chains of star imports, cycles ended.
  Of several star imports the last that binds the name wins; a module-level import or
  assignment of the name wins over any star import (the usual order: stars first), and
  so does a def or class, unless a star import below it binds the name again.
  When no project module binds it and a star import of a module outside the project
  is there, the name is taken to be that module's (`from torch.cuda import *`).

- a name the module declares without a value (`current_platform: Platform`) and serves
  from a PEP 562 `__getattr__`: one of the classes named by the dotted strings its
  functions return, `Platform` or derived from it (`Target.one_of`);

`Names.lookup` gives the canonical name (every project re-export followed, the name a
sink is known by), the functions a call of it runs (a class's constructors), and for a
method the class of the object it is called on (`receiver`): inside a method inherited
from a base, `self.m()` / `cls.m()` is the receiver's `m` (virtual dispatch).
`fetch` is how facts are read, so that the caller records what an answer read.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Optional

from importguard.model import Execution, FunctionFacts, ModuleFacts, SiteKind

MAX_STEPS = 24  # bindings followed for one name (a longer path is cut: its name stays as is)
MAX_TABLES = 256  # modules whose tables are kept
CONSTRUCTORS = ("__new__", "__init__", "__post_init__")


@dataclass(frozen=True, slots=True)
class Owner:
    """The module that defines a function: what a Target keeps of its facts (a resolved
    name is kept for the whole check, while engine.FactsStore keeps facts for a while)."""

    module: str
    path: str

    @classmethod
    def of(cls, facts: ModuleFacts) -> "Owner":
        return cls(facts.module, facts.path)


@dataclass(frozen=True)
class Target:
    canonical: str  # the name with every binding through project modules followed
    functions: tuple[tuple[Owner, FunctionFacts], ...] = ()  # what a call of it runs
    receiver: str = ""  # for a method or a class: the qualified class whose object runs it
    # When the object is one of several classes (a lazily provided module attribute):
    # each function's receiver, and the call runs one of them only.
    receivers: tuple[str, ...] = ()
    one_of: bool = False


class _Walk:
    """One lookup's budget of walk, and the receiver class its first method lookup met."""

    def __init__(self) -> None:
        self.steps = 0
        self.receiver = ""

    def step(self) -> bool:
        self.steps += 1
        return self.steps <= MAX_STEPS


@dataclass(frozen=True)
class _Tables:
    facts: ModuleFacts
    index: dict[str, FunctionFacts]
    bindings: dict[str, str]
    instances: dict[str, str]
    stars: tuple[str, ...]  # modules star-imported at import time, in order
    star_lines: tuple[int, ...]  # the line of each of them
    declared: dict[str, str]


class Names:
    def __init__(self, fetch: Callable[[str], Optional[ModuleFacts]]) -> None:
        self._fetch = fetch
        # By path; rebuilt when the facts object changes. The most recently used only:
        # each holds its module's facts, which engine.FactsStore does not keep for long.
        self._tables: OrderedDict[str, _Tables] = OrderedDict()

    def lookup(self, name: str) -> Target:
        walk = _Walk()
        canonical, facts, qualified = self._denote(name, walk, frozenset())
        if facts is None:
            return self._lazy_methods(canonical, walk) or Target(canonical)
        tables = self.tables(facts)
        entry = tables.index[qualified]
        if not entry.is_class:
            return Target(canonical, ((Owner.of(facts), entry),), walk.receiver)
        return Target(canonical, self._constructors(tables, qualified, walk), f"{facts.module}.{qualified}")

    def tables(self, facts: ModuleFacts) -> _Tables:
        known = self._tables.get(facts.path)
        if known is not None and known.facts is facts:
            self._tables.move_to_end(facts.path)
        else:
            star_sites = [
                site for site in facts.imports
                if site.kind is SiteKind.FROM and "*" in site.names and site.execution is Execution.EAGER
                and site.module != facts.module
            ]
            known = _Tables(facts, {f.name: f for f in facts.functions}, dict(facts.bindings),
                            dict(facts.instances), tuple(site.module for site in star_sites),
                            tuple(site.line for site in star_sites), dict(facts.declared))
            self._tables[facts.path] = known
            self._tables.move_to_end(facts.path)
            if len(self._tables) > MAX_TABLES:
                self._tables.popitem(last=False)
        return known

    # -- what a name denotes

    def _denote(self, name: str, walk: _Walk, seen: frozenset) -> tuple[str, Optional[ModuleFacts], str]:
        """(canonical name, facts of the project module that defines it, its name there)
        or (canonical name, None, "") when it is no def or class of a project module."""
        if not walk.step():
            return name, None, ""
        parts = name.split(".")
        for split in range(len(parts) - 1, 0, -1):
            module = ".".join(parts[:split])
            facts = self._fetch(module)
            if facts is None:
                continue
            return self._in_module(self.tables(facts), module, parts[split:], name, walk, seen)
        return name, None, ""

    def _in_module(self, tables: _Tables, module: str, rest: list[str], name: str, walk: _Walk,
                   seen: frozenset) -> tuple[str, Optional[ModuleFacts], str]:
        index = tables.index
        later = self._star_after(tables, rest[0], walk, seen)
        if later is not None:
            return self._denote(_join(f"{later}.{rest[0]}", rest[1:]), walk, seen)
        for size in range(len(rest), 0, -1):
            qualified = ".".join(rest[:size])
            entry = index.get(qualified)
            if entry is None:
                continue
            if size == len(rest):
                return name, tables.facts, qualified
            if entry.is_class and size == len(rest) - 1:
                found = self._method(tables, qualified, rest[-1], walk)
                if found is not None:
                    return found
            return name, None, ""
        attr, tail = rest[0], rest[1:]
        target = tables.bindings.get(attr)
        if target is not None and target != f"{module}.{attr}":
            return self._denote(_join(target, tail), walk, seen)
        callee = tables.instances.get(attr)
        if callee is not None:
            if len(tail) == 1:
                _, facts, qualified = self._denote(callee, walk, seen)
                # A factory: a function whose every return calls the same callee.
                while facts is not None and not self.tables(facts).index[qualified].is_class \
                        and self.tables(facts).index[qualified].returns and walk.step():
                    _, facts, qualified = self._denote(self.tables(facts).index[qualified].returns, walk, seen)
                if facts is not None and self.tables(facts).index[qualified].is_class:
                    found = self._method(self.tables(facts), qualified, tail[0], walk)
                    if found is not None:
                        return found
            return name, None, ""
        source = self._star_source(tables, attr, walk, seen, outside=True)
        if source is not None:
            return self._denote(_join(f"{source}.{attr}", tail), walk, seen)
        return name, None, ""

    def _method(self, tables: _Tables, cls: str, method: str,
                walk: _Walk) -> Optional[tuple[str, Optional[ModuleFacts], str]]:
        """`cls.method`, defined by the class or inherited from one of its bases."""
        if not walk.receiver:
            walk.receiver = f"{tables.facts.module}.{cls}"
        qualified = f"{cls}.{method}"
        if qualified in tables.index:
            return f"{tables.facts.module}.{qualified}", tables.facts, qualified
        bound = tables.bindings.get(qualified)  # a class attribute: `is_available = torch.cuda.is_available`
        if bound is not None and walk.step():
            return self._denote(bound, walk, frozenset())
        for base in tables.index[cls].bases:
            if not walk.step():
                return None
            _, facts, base_name = self._denote(base, walk, frozenset())
            if facts is None:
                continue
            owner = self.tables(facts)
            if owner.index[base_name].is_class:
                found = self._method(owner, base_name, method, walk)
                if found is not None:
                    return found
        return None

    def _constructors(self, tables: _Tables, cls: str, walk: _Walk) -> tuple[tuple[Owner, FunctionFacts], ...]:
        found = []
        for method in CONSTRUCTORS:
            hit = self._method(tables, cls, method, walk)
            if hit is not None and hit[1] is not None:
                found.append((Owner.of(hit[1]), self.tables(hit[1]).index[hit[2]]))
        return tuple(found)

    # -- a module attribute PEP 562 `__getattr__` provides

    def _lazy_methods(self, name: str, walk: _Walk) -> Optional[Target]:
        """`pkg.current_platform.m` where pkg declares `current_platform: Platform`
        without binding it and has a module `__getattr__` (vLLM's and sglang's
        `resolve_obj_by_qualname(...)()` there): the object is one of the classes, among
        the dotted names pkg's functions return as strings, that are `Platform` or derive
        from it; a call of `m` runs that class's `m`, one of them."""
        parts = name.split(".")
        if len(parts) < 3:
            return None
        facts = self._fetch(".".join(parts[:-2]))
        if facts is None:
            return None
        tables = self.tables(facts)
        declared = tables.declared.get(parts[-2])
        if declared is None or "__getattr__" not in tables.index or parts[-2] in tables.bindings:
            return None
        _, base_facts, base = self._denote(declared, walk, frozenset())
        if base_facts is None:
            return None
        root = f"{base_facts.module}.{base}"
        functions, receivers = [], []
        for qualname in facts.qualnames:
            _, cls_facts, cls = self._denote(qualname, _Walk(), frozenset())
            if cls_facts is None or not self.tables(cls_facts).index[cls].is_class:
                continue
            owner = self.tables(cls_facts)
            if not self._derives(owner, cls, root, _Walk()):
                continue
            hit = self._method(owner, cls, parts[-1], _Walk())
            if hit is not None and hit[1] is not None:
                functions.append((Owner.of(hit[1]), self.tables(hit[1]).index[hit[2]]))
                receivers.append(f"{cls_facts.module}.{cls}")
        if not functions:
            return None
        return Target(name, tuple(functions), receivers=tuple(receivers), one_of=True)

    def _derives(self, tables: _Tables, cls: str, root: str, walk: _Walk) -> bool:
        if f"{tables.facts.module}.{cls}" == root:
            return True
        for base in tables.index[cls].bases:
            if not walk.step():
                return False
            _, facts, name = self._denote(base, walk, frozenset())
            if facts is not None and self.tables(facts).index[name].is_class \
                    and self._derives(self.tables(facts), name, root, walk):
                return True
        return False

    # -- star imports

    def _star_source(self, tables: _Tables, attr: str, walk: _Walk, seen: frozenset,
                     outside: bool) -> Optional[str]:
        """The module whose `attr` a star import of `tables` binds (the last one that
        does), or None."""
        foreign = None
        for source in reversed(tables.stars):
            key = (source, attr)
            if key in seen:
                continue  # a cycle of star imports
            facts = self._fetch(source)
            if facts is None:
                foreign = foreign or source
                continue
            if self._exports(self.tables(facts), attr, walk, seen | {key}):
                return source
        return foreign if outside else None

    def _star_after(self, tables: _Tables, attr: str, walk: _Walk, seen: frozenset) -> Optional[str]:
        """The module whose `attr` a star import placed after the module's own def or class
        of it rebinds (the last such star that binds it), or None."""
        entry = tables.index.get(attr)
        if entry is None or not tables.stars:
            return None
        for source, line in reversed(tuple(zip(tables.stars, tables.star_lines))):
            key = (source, attr)
            if line <= entry.line or key in seen:
                continue
            facts = self._fetch(source)
            if facts is not None and self._exports(self.tables(facts), attr, walk, seen | {key}):
                return source
        return None

    def _exports(self, tables: _Tables, attr: str, walk: _Walk, seen: frozenset) -> bool:
        exports = tables.facts.exports
        if exports is not None:
            return attr in exports
        if attr.startswith("_"):
            return False
        if attr in tables.index or attr in tables.bindings or attr in tables.instances:
            return True
        if not walk.step():
            return False
        return self._star_source(tables, attr, walk, seen, outside=False) is not None


def _join(head: str, tail: list[str]) -> str:
    return ".".join((head, *tail)) if tail else head
