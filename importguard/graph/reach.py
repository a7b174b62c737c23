"""Which calls reach a sink call through the functions they run.

A call *reaches* a sink call when it is one (`call_sink_for`), by its written name or
its canonical one (graph/names.py: re-exports, star imports, module objects, aliases and
wrappers followed), or when the function it names (graph/names.py finds it) makes an
unguarded call that reaches one. A class call runs the class's `__new__`, `__init__`
and `__post_init__` (its own or inherited); in a method inherited by the class of the
object it is called on, `self.m()` is that class's `m`. A call on some paths of its
function is followed where the environment profile decides its paths run, and where it
cannot decide them only with `undecided-calls = "follow"`, or right of `and` (also
after `if not x: return`), unless the profile rules those paths out. The search is
depth-first over function facts, memoised per (name, NVML check); a cycle ends the
path it closes (the result of a name whose search met a cycle is not memoised when it
is negative), and paths longer than MAX_DEPTH calls are not followed.

`torch.cuda.is_available()`, and a summary's sink whose only driver call it is
(`nvml_off`), does not initialize the driver with
PYTORCH_NVML_BASED_CUDA_CHECK=1 (measured): with the `nvml-based-cuda-check` setting,
or when the module whose import runs the call sets it above the call, or one of its
ancestor packages (they run first) sets it at module level or imports, unconditionally at
module level, a module that does (`nvml_check_set`), it is no sink. The order of the
statements inside that ancestor is not checked.

An import a reached function's body runs (`FunctionFacts.imports`) is an edge into the
import graph: the imported module's eager chain to a sink (a sink module, or a module
whose calls at import reach a sink call: graph/imports.py finds it, where Python would
import something new: not the function's module or its ancestors, nor what that module
imported above the function's `def`) makes the call reach that sink. Its hops follow the call hops: `f ->
X` at the function's import line (kind "import"), then the chain's import hops, then
its sink's call hops. Such an import on a branch of the body is followed as a call on a
branch is, except after `if not x: return` (on some paths, not right of `and`); where
the function sets PYTORCH_NVML_BASED_CUDA_CHECK=1 above it, a chain whose sink is quiet
under the NVML check is dropped (a stronger sink further down it is not looked for).
Following an import runs a search that may reach functions again (MAX_NESTED imports
deep, MAX_DEPTH calls in all); an import that leads back to a module whose calls are
being followed is a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable, Optional, Sequence

from importguard.environment.profile import Profile
from importguard.graph.names import Names, Owner, Target
from importguard.sinks import IS_AVAILABLE, NVML_CHECK
from importguard.model import (
    APPLIED, POSITIONAL, RIGHT_OF_AND, CallSink, CallSite, Execution, FunctionFacts, Hop, ImportSite, ModuleFacts,
    ModuleSink, SinkHit, SiteKind,
)

# graph/imports.py's chain_from_function_import (facts, site, the line of the function's
# `def`): (the chain or None, the modules it read).
ImportChain = Callable[[ModuleFacts, ImportSite, int], tuple[Optional[Any], Iterable[str]]]

MAX_DEPTH = 40
MAX_NESTED = 8  # imports of functions followed inside the search of another one
_PLAIN_IMPORTS = (SiteKind.IMPORT, SiteKind.FROM)


BEST = (False, False, 1)  # Reached.rank of a sink called directly, on every path, NVML or not


def quiet_under_nvml(sink: CallSink) -> bool:
    """The call initializes nothing with PYTORCH_NVML_BASED_CUDA_CHECK=1 set."""
    return sink.name == IS_AVAILABLE or sink.nvml_off


def sets_nvml_check(environ: Iterable[tuple[str, str, int]], line: Optional[int] = None) -> bool:
    """An `environ` setting (KEY, V, line) sets PYTORCH_NVML_BASED_CUDA_CHECK=1, above
    `line` when one is given."""
    return any(k == NVML_CHECK and v == "1" and (line is None or at < line) for k, v, at in environ)


@dataclass(frozen=True)
class Reached:
    """The call hops from a call to the sink call it reaches (the last hop's
    `imported` is the sink call), and that sink."""

    hops: tuple[Hop, ...]
    sink: CallSink
    # Some call on the way sits on a branch of its function (if, loop, handler, after an
    # early return, right of `and`/`or`): the sink runs on some paths only.
    conditional: bool = False

    @property
    def rank(self) -> tuple[bool, bool, int]:
        """Smaller is better: on every path, then a sink that initializes even with
        PYTORCH_NVML_BASED_CUDA_CHECK=1 (a path that goes on from `is_available()` to
        `get_device_capability()` is named by the latter), then the shortest."""
        return (self.conditional, quiet_under_nvml(self.sink), len(self.hops))

    @property
    def sink_words(self) -> str:
        """The sink as a message names it: `torch.cuda.is_available()`, or `cutlass`
        when the path ends at the import of a sink module (a function's import)."""
        return f"`{self.sink.name}`" if self.hops[-1].kind == "import" else f"`{self.sink.name}()`"


def call_hop(owner: str, call: CallSite, path: str, in_function: bool = False, some_paths: bool = False) -> Hop:
    notes = []
    if call.context == "decorator":
        notes.append("decorator: called with the function it decorates")
    if call.device:
        notes.append(f'device "{call.device}"')
    if some_paths and in_function:
        notes.append(ON_SOME_PATHS)
    return Hop(owner, call.name, path, call.line, ", ".join(notes), kind="call")


ON_SOME_PATHS = "only on some paths through the caller"


def _applied(sink: CallSink, call: CallSite) -> bool:
    """What the call returns is applied to a function (CallSink.applied): a decorator,
    called at once (`torch.compile(dynamic=True)(f)`), or given positional arguments
    (`*args` included) or the sink's `applied_keyword`."""
    if call.context == "decorator":
        return True
    given = dict(call.keywords)
    return APPLIED in given or POSITIONAL in given or "*" in given or "**" in given or (
        bool(sink.applied_keyword) and sink.applied_keyword in given)


def _under_keywords(sink: CallSink, call: CallSite) -> Optional[CallSink]:
    """`sink` when the call's keywords meet its summary's condition (CallSink.when); None
    when a literal rules it out; when a keyword is no literal, `sink` with the condition
    named in its reason (the effect depends on a value the facts do not hold)."""
    given = dict(call.keywords)
    undecided = []
    for keyword, values in sink.when:
        value = given.get(keyword, given.get("**", ""))
        if value == "*":
            allowed = " or ".join("absent" if v == "" else f'"{v}"' for v in values)
            undecided.append(f"`{keyword}` is {allowed}")
        elif value not in values:
            return None
    if not undecided:
        return sink
    return replace(sink, reason=f"{sink.reason}; here only when {' and '.join(undecided)} "
                                "(not a literal at this call)")


def _in_order(function: FunctionFacts) -> Sequence[object]:
    """The calls and imports of a function body in the order of their lines."""
    if not function.imports:
        return function.calls
    return sorted((*function.calls, *function.imports), key=lambda step: (step.line, step.column))


def _dispatched(call: CallSite, defining_class: str, receiver: str) -> CallSite:
    """In a method that `receiver` inherits from `defining_class`, `self.m()` is the
    receiver's `m` (function facts name it `defining_class.m`)."""
    prefix = defining_class + "."
    if not call.name.startswith(prefix) or "." in call.name[len(prefix):]:
        return call
    return replace(call, name=receiver + call.name[len(defining_class):])


class CallReach:
    def __init__(
        self,
        facts_for: Callable[[str], Optional[ModuleFacts]],
        sink_calls: Sequence[CallSink],
        nvml_based_cuda_check: bool = False,
        profile: Profile = Profile(),
    ) -> None:
        self._facts_for = facts_for
        # Decides which calls on a branch run; one whose test it cannot decide is followed
        # only when asked (`undecided-calls`): on real trees most of them never run
        # (docs/calls-precision.md).
        self._profile = profile
        self._sinks = {sink.name: sink for sink in sink_calls}
        self._nvml_everywhere = nvml_based_cuda_check
        self._memo: dict[tuple[str, bool], Optional[Reached]] = {}
        self._resolved: dict[str, Target] = {}
        self._in_progress: set[tuple[str, bool]] = set()
        self._cycles = 0
        self.names = Names(self._fetch)
        self._ancestor_sets: dict[str, bool] = {}  # package -> its import sets the NVML check
        # The modules whose facts each answer read (cache/results.py: an edit of one of
        # them changes the answer, though no eager edge may lead there), per memo entry,
        # and a stack of the answers being computed (begin/end).
        self._deps: list[set[str]] = []
        self._memo_deps: dict[tuple[str, bool], frozenset[str]] = {}
        self._resolved_deps: dict[str, frozenset[str]] = {}
        self._ancestor_deps: dict[str, frozenset[str]] = {}
        # module -> (an ancestor's import sets the NVML check, what that read)
        self._by_ancestors: dict[str, tuple[bool, frozenset[str]]] = {}
        self._import_chain: Optional[ImportChain] = None  # see follow_imports
        self._module_sink: Callable[[str], Optional[ModuleSink]] = lambda module: None
        self._nested = 0  # imports of functions being followed, one inside the other
        self._depth_base = 0  # calls on the way to the import being followed

    def follow_imports(self, import_chain: ImportChain, module_sink: Callable[[str], Optional[ModuleSink]]) -> None:
        """Follow the imports reached functions run, through the graph's search
        (`module_sink`: the sink a module is, for the NVML check)."""
        self._import_chain = import_chain
        self._module_sink = module_sink

    @property
    def cycles(self) -> int:
        return self._cycles

    @property
    def nested(self) -> bool:
        """A function's import is being followed: answers may be cut by a cycle through
        something outside them."""
        return self._nested > 0

    def cut_cycle(self) -> None:
        """The graph met a cycle on a path this search follows: a negative answer that
        depends on it is not memoised."""
        self._cycles += 1

    def rebind(self, facts_for: Callable[[str], Optional[ModuleFacts]]) -> None:
        self._facts_for = facts_for

    def forget(self, changed: set[str]) -> None:
        """Drop every answer that read the facts of a `changed` module."""
        for key in [k for k, deps in self._memo_deps.items() if deps & changed]:
            self._memo.pop(key, None)
            self._memo_deps.pop(key, None)
        # An answer cut short by a cycle was not memoised; nothing else is kept without deps.
        for key in [k for k in self._memo if k not in self._memo_deps]:
            self._memo.pop(key)
        for name in [n for n, deps in self._resolved_deps.items() if deps & changed]:
            self._resolved.pop(name, None)
            self._resolved_deps.pop(name, None)
        for name in [n for n, deps in self._ancestor_deps.items() if deps & changed]:
            self._ancestor_sets.pop(name, None)
            self._ancestor_deps.pop(name, None)
        for module in [m for m, (_, deps) in self._by_ancestors.items() if deps & changed]:
            del self._by_ancestors[module]
        self.names = Names(self._fetch)  # its tables are by path; cheap to build again

    # -- what an answer read

    def begin(self) -> set[str]:
        """Start recording the modules whose facts are read; `end` stops (what was
        recorded counts for the answer around this one too)."""
        deps: set[str] = set()
        self._deps.append(deps)
        return deps

    def end(self) -> None:
        deps = self._deps.pop()
        if self._deps:
            self._deps[-1].update(deps)

    def _read(self, deps: Iterable[str]) -> None:
        if self._deps:
            self._deps[-1].update(deps)

    def _fetch(self, module: str) -> Optional[ModuleFacts]:
        facts = self._facts_for(module)
        # A name that is no project module is no dependency: one appearing there would
        # change a module lookup, and then nothing is reused anyway.
        if self._deps and facts is not None:
            self._deps[-1].add(module)
        return facts

    # -- sinks

    def call_sink_for(self, call: CallSite, nvml: bool = False) -> Optional[CallSink]:
        """The sink `call` is, by its name or by the re-export rule: `a.b.sub.f` is
        `a.b.f` when `a.b.f` is a sink (torch defines or imports its torch.cuda
        functions in submodules: torch.cuda.memory.mem_get_info, torch.cuda.streams.Stream)."""
        return self._sink_named(call, call.name, nvml)

    def _sink_named(self, call: CallSite, name: str, nvml: bool) -> Optional[CallSink]:
        sink = self._sinks.get(name)
        if sink is None:
            parts = name.split(".")
            if len(parts) >= 4 and parts[-2].islower():
                sink = self._sinks.get(".".join((*parts[:-2], parts[-1])))
        if sink is None or (sink.device and not call.device):
            return None
        if nvml and quiet_under_nvml(sink):
            return None
        if sink.applied and not _applied(sink, call):
            return None
        if sink.when:
            return _under_keywords(sink, call)
        return sink

    def known_sink_name(self, name: str) -> bool:
        """`name` is a sink under some condition (a device argument, keywords, the NVML
        check): the model knows what a call of it does."""
        parts = name.split(".")
        return name in self._sinks or (
            len(parts) >= 4 and parts[-2].islower() and ".".join((*parts[:-2], parts[-1])) in self._sinks)

    def nvml_check_set(self, facts: ModuleFacts, line: int) -> bool:
        """PYTORCH_NVML_BASED_CUDA_CHECK=1 is set before code at `line` of `facts`
        runs: by the setting, by an ancestor package's `__init__` at module level, or
        by this module above that line."""
        if self._nvml_everywhere:
            return True
        if sets_nvml_check(facts.environ, line):
            return True
        known = self._by_ancestors.get(facts.module)
        if known is None:
            deps = self.begin()
            try:
                sets = self._set_by_ancestor(facts)
            finally:
                self.end()
            known = self._by_ancestors[facts.module] = (sets, frozenset(deps))
        else:
            self._read(known[1])
        return known[0]

    def _set_by_ancestor(self, facts: ModuleFacts) -> bool:
        parts = facts.module.split(".")
        for index in range(1, len(parts)):
            name = ".".join(parts[:index])
            sets = self._ancestor_sets.get(name)
            if sets is None:
                deps = self.begin()
                try:
                    ancestor = self._fetch(name)
                    sets = ancestor is not None and ancestor is not facts and self._sets_nvml_check(ancestor, True)
                finally:
                    self.end()
                self._ancestor_sets[name] = sets
                self._ancestor_deps[name] = frozenset(deps)
            else:
                self._read(self._ancestor_deps[name])
            if sets:
                return True
        return False

    def _sets_nvml_check(self, facts: ModuleFacts, follow_imports: bool) -> bool:
        """`facts` sets it at module level, or (one level deep) a module it imports
        unconditionally at module level does (vLLM's `import vllm.env_override`)."""
        if sets_nvml_check(facts.environ):
            return True
        if not follow_imports:
            return False
        for site in facts.imports:
            if site.execution is not Execution.EAGER or site.conditional or site.kind not in _PLAIN_IMPORTS:
                continue
            for module in (site.module, *(f"{site.module}.{name}" for name in site.names if name != "*")):
                imported = self._fetch(module) if module != facts.module else None
                if imported is not None and self._sets_nvml_check(imported, False):
                    return True
        return False

    # -- reaching

    def from_call(self, facts: ModuleFacts, call: CallSite, owner: str = "") -> Optional[Reached]:
        """What a call in `facts` reaches (`owner`: who makes it, the module by default)."""
        if call.guarded or self._profile.decide(call.conditional, call.condition) is False:
            return None
        # The NVML check only takes sinks away, so a call that reaches none without it
        # reaches none with it: it is looked up (with what that reads) only after a hit.
        reached = self._from_call(facts, call, owner, False)
        if reached is None or not self.nvml_check_set(facts, call.line):
            return reached
        return self._from_call(facts, call, owner, True)

    def _from_call(self, facts: ModuleFacts, call: CallSite, owner: str, nvml: bool) -> Optional[Reached]:
        hop = call_hop(owner or facts.module, call, facts.path)
        return self._through(hop, call, nvml, self._depth_base)

    def _through(self, hop: Hop, call: CallSite, nvml: bool, depth: int, some_paths: bool = False) -> Optional[Reached]:
        """What `call` (made at `hop`; on `some_paths` of its function) reaches: the sink
        it is, by its written or its canonical name (graph/names.py), or what the function it
        runs reaches."""
        sink = self.call_sink_for(call, nvml)
        if sink is None:
            canonical = self.canonical(call.name)
            if canonical != call.name:
                sink = self._sink_named(call, canonical, nvml)
                if sink is not None:
                    hop = Hop(hop.importer, canonical, hop.path, hop.line, hop.via, hop.kind)
        if sink is not None:
            return Reached((hop,), sink, some_paths)
        inner = self._function(call.name, nvml, depth)
        found = None if inner is None else Reached((hop, *inner.hops), inner.sink, inner.conditional or some_paths)
        if APPLIED in dict(call.keywords) and (found is None or found.rank != BEST):
            applied = self._applied_function(hop, call, nvml, depth, some_paths)
            if applied is not None and (found is None or applied.rank < found.rank):
                found = applied
        return found

    def _applied_function(self, hop: Hop, call: CallSite, nvml: bool, depth: int,
                          some_paths: bool) -> Optional[Reached]:
        """What the nested def that `call` gives back reaches when it is applied at once:
        `@factory(arg)` runs `factory(arg)`, then what it returns on the decorated function."""
        best: Optional[Reached] = None
        for owner, function in self.resolve(call.name):
            if not function.hands_back:
                continue
            qualified = f"{owner.module}.{function.hands_back}"
            inner = self._function(qualified, nvml, depth + 1)
            if inner is None:
                continue
            facts = self._fetch(owner.module)
            functions = facts.functions if facts is not None else ()
            nested = next((f for f in functions if f.name == function.hands_back), None)
            applied = Hop(f"{owner.module}.{function.name}", qualified, owner.path,
                          nested.line if nested is not None else function.line,
                          "the function it returns, applied at once", "call")
            found = Reached((hop, applied, *inner.hops), inner.sink, inner.conditional or some_paths)
            if best is None or found.rank < best.rank:
                best = found
        return best

    def function(self, name: str) -> Optional[Reached]:
        """What calling the function (or class) `name` reaches through its body's calls
        (summaries/generate.py asks this of a library's functions)."""
        return self._function(name, False, 0)

    def _function(self, name: str, nvml: bool, depth: int) -> Optional[Reached]:
        key = (name, nvml)
        if key in self._memo:
            self._read(self._memo_deps.get(key, ()))
            return self._memo[key]
        if key in self._in_progress:
            self._cycles += 1
            return None
        if depth >= MAX_DEPTH:
            self._cycles += 1  # not memoised: a shorter way in may reach further
            return None
        deps = self.begin()
        try:
            best = self._function_body(key, name, nvml, depth)
        finally:
            self.end()
        if key in self._memo:
            self._memo_deps[key] = frozenset(deps)
        return best

    def _function_body(self, key: tuple[str, bool], name: str, nvml: bool, depth: int) -> Optional[Reached]:
        target = self._target(name)
        targets = target.functions
        if not targets:
            self._memo[key] = None
            return None
        self._in_progress.add(key)
        cycles_before = self._cycles
        best: Optional[Reached] = None
        for index, (defined_in, function) in enumerate(targets):
            owner = f"{defined_in.module}.{function.name}"
            defining_class = owner.rpartition(".")[0]
            receiver = target.receivers[index] if target.receivers else target.receiver
            for step in _in_order(function):
                if type(step) is ImportSite:
                    found = self._imported(owner, defined_in, function, step, nvml, depth)
                    if found is not None and target.one_of and not found.conditional:
                        found = Reached(found.hops, found.sink, True)
                    if found is not None and (best is None or found.rank < best.rank):
                        best = found
                    continue
                call = step
                decided = self._profile.decide(call.conditional, call.condition)
                if call.guarded or decided is False:
                    continue
                if decided is None and not (self._profile.follows(call.conditional, call.condition)
                                            or call.context == RIGHT_OF_AND):
                    continue  # a call right of `and` is followed (on some paths), as the issue asks
                some_paths = decided is None
                if receiver and receiver != defining_class:
                    call = _dispatched(call, defining_class, receiver)
                hop = call_hop(owner, call, defined_in.path, in_function=True, some_paths=some_paths)
                if target.one_of:  # the object is one of several classes, decided at run time
                    hop = Hop(hop.importer, hop.imported, hop.path, hop.line,
                              ", ".join(filter(None, (f"when the object is a {receiver}", hop.via))), hop.kind)
                # PYTORCH_NVML_BASED_CUDA_CHECK=1 set by the function above the call.
                call_nvml = nvml or sets_nvml_check(function.environ, call.line)
                found = self._through(hop, call, call_nvml, depth + 1, some_paths)
                if found is not None and target.one_of and not found.conditional:
                    found = Reached(found.hops, found.sink, True)
                if found is not None and (best is None or found.rank < best.rank):
                    best = found
                    if best.rank == BEST:
                        break
            if best is not None and best.rank == BEST:
                break
        self._in_progress.discard(key)
        if best is not None or self._cycles == cycles_before:
            self._memo[key] = best
        return best

    def _imported(self, owner: str, defined_in: Owner, function: FunctionFacts, site: ImportSite, nvml: bool,
                  depth: int) -> Optional[Reached]:
        """What the import `site` in `function` (of module `defined_in`; `owner` is its
        qualified name) reaches through the import graph, as call hops would be:
        `owner -> X`, then the chain's hops."""
        decided = self._profile.decide(site.conditional, site.condition)
        if decided is False or (decided is None and not self._profile.follows(site.conditional, site.condition)):
            return None
        if self._import_chain is None:
            return None
        facts = self._fetch(defined_in.module)
        if facts is None:
            return None
        if self._nested >= MAX_NESTED or depth + 1 >= MAX_DEPTH:
            self._cycles += 1  # not memoised: a shorter way in may reach further
            return None
        outer = (self._nested, self._depth_base)
        self._nested, self._depth_base = self._nested + 1, depth + 1
        try:
            chain, read = self._import_chain(facts, site, function.line)
        finally:
            self._nested, self._depth_base = outer
        self._read(read)
        if chain is None or not chain.hops:
            return None
        hit: SinkHit = chain.sink
        if (nvml or sets_nvml_check(function.environ, site.line)) and self._quiet_under_nvml(hit):
            return None
        notes = ", ".join(filter(None, (ON_SOME_PATHS if decided is None else "", chain.hops[0].via)))
        first = Hop(owner, chain.hops[0].imported, facts.path, site.line, notes, kind="import")
        hops = (first, *chain.hops[1:], *hit.calls)
        if hit.calls:
            sink = CallSink(hit.call, hit.reason, hit.strength)
        else:
            sink = CallSink(hit.module, hit.reason, hit.strength)
        return Reached(hops, sink, hit.conditional or decided is None)

    def _quiet_under_nvml(self, hit: SinkHit) -> bool:
        """The sink initializes nothing with PYTORCH_NVML_BASED_CUDA_CHECK=1 set."""
        if hit.calls:
            known = self._sinks.get(hit.call)
            return hit.call == IS_AVAILABLE or (known is not None and quiet_under_nvml(known))
        sink = self._module_sink(hit.module)
        return sink is not None and sink.nvml_off

    # -- names

    def resolve(self, name: str) -> tuple[tuple[Owner, FunctionFacts], ...]:
        """The functions a call of `name` runs: the function itself, or a class's
        constructors; () when `name` is no function of a known module."""
        return self._target(name).functions

    def canonical(self, name: str) -> str:
        """`name` with every binding through project modules followed (graph/names.py)."""
        return self._target(name).canonical

    def _target(self, name: str) -> Target:
        if name in self._resolved:
            self._read(self._resolved_deps[name])
            return self._resolved[name]
        deps = self.begin()
        try:
            found = self.names.lookup(name)
        finally:
            self.end()
        self._resolved[name] = found
        self._resolved_deps[name] = frozenset(deps)
        return found


    def defines(self, name: str) -> bool:
        """Whether `name` is a function or class the model knows (in a module whose facts
        it has, followed through bindings, star imports and instances: graph/names.py): a call
        of it can be followed."""
        target = self._target(name)
        return bool(target.functions) or bool(target.receiver)  # a class, even without constructors
