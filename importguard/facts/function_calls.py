"""The calls each function body makes, read from the file's `ast` (the one skeleton.py
already parsed), so that LibCST never sees function bodies.

Only names matter here, and `ast` gives them at a fraction of LibCST's cost. Each
call comes out *raw*: collect.py finishes naming it with the module's own aliases,
which only the whole module knows (a function body runs after the whole module ran).

What is modelled inside a body:
- names: dotted names (`a.b.c()`), `getattr(a.b, "c")()`, the imports of the body
  itself (and of enclosing functions), nested `def`s, `self.m()` / `cls.m()` inside a
  class's method (the method of that class; inheritance is not followed), and
  `torch.zeros(1).cuda()` (a method of the tensor a `torch.*` call returns);
- guards: calls under `if torch.cuda.is_initialized():` (also `is_initialized()` as
  its first operand of `and`), and every statement after
  `if not torch.cuda.is_initialized(): return …` (or `raise`) in the same block;
- the literal CUDA device a call is given (`device="cuda"`, `torch.device("cuda:0")`,
  `.to("cuda")`);
- paths: a call on a branch (if, loop, handler, after an early exit, right of `or`, in
  a conditional expression) is `conditional`; right of `and` only, or after
  `if not x: return` only (the same as `x and rest`), it is also `right_of_and`
  (graph/reach.py follows those); an early exit whose test reads only globals
  the function itself assigns (`if _cache is not None: return _cache`) is taken on later
  calls only, so what follows it is not conditional;
- what each `return` gives (a class made by a factory function, graph/names.py), and the
  bases of each class;
- the import statements the body runs (`FunctionFacts.imports`: graph/reach.py follows
  them into the import graph), with the branch they sit on as for calls (after
  `if not x: return` an import is on some paths, not right of `and`); one under
  `if torch.cuda.is_initialized():` cannot be the first CUDA call and is left out.
Lambda bodies inside a function, and generator expressions' elements, are not calls
of that function's body (they run when called or consumed); nested functions and
classes are functions of their own.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, Callable, Iterator, Optional, Sequence, Union

import importguard.facts.conditions as _conditions
from importguard.facts.conditions import dotted_name
from importguard.facts.statement_blocks import blocks as _blocks
from importguard.model import APPLIED, POSITIONAL, Execution, ImportSite, SiteKind

_Function = Union[ast.FunctionDef, ast.AsyncFunctionDef]
# How a raw call's name is to be finished by collect.py.
QUALIFIED = "qualified"  # already absolute (bound by an import in the function)
LOCAL = "local"  # relative to the module: prefix the module name
RAW = "raw"  # the module's aliases decide (or it is dropped)
TENSOR_METHOD = "().".join(("", ""))  # "()." in `torch.zeros().cuda`


@dataclass(slots=True)  # one per call in a body: slots make them cheaper to make and free
class RawCall:
    dotted: str
    resolution: str
    line: int
    column: int  # 1-based, in characters
    end_line: int
    guard: str = ""  # the raw dotted name of the is_initialized() guarding it
    guard_resolution: str = RAW
    device: str = ""
    conditional: bool = False  # runs on some paths through the body only
    condition: str = ""  # the tests of those paths (facts/conditions.py)
    keywords: tuple[tuple[str, str], ...] = ()  # CallSite.keywords
    right_of_and: bool = False  # conditional only as an operand right of `and` (`a() and b()`)


@dataclass(slots=True)
class RawFunction:
    name: str  # qualified inside the module: f, Cls.m, outer.inner
    line: int
    calls: list[RawCall] = field(default_factory=list)
    is_class: bool = False
    environ: list[tuple[str, str, int]] = field(default_factory=list)  # as FunctionFacts.environ
    bases: list[RawCall] = field(default_factory=list)  # a class's bases, as raw names
    # What each `return` gives: the callee of a returned call (`return Backend()`), or None
    # for anything else (a bare `return`, a value that is no call, falling off the end).
    returns: list[Optional[RawCall]] = field(default_factory=list)
    imports: list[ImportSite] = field(default_factory=list)  # as FunctionFacts.imports
    # What each `return` gives back when it is a nested def by its name (`return wrapper`),
    # qualified inside the module; None for anything else (FunctionFacts.hands_back).
    hands_back: list[Optional[str]] = field(default_factory=list)


@dataclass
class FunctionCalls:
    functions: list[RawFunction]
    # Dotted names the module's functions return as strings (`return "pkg.cuda.CudaPlatform"
    # if ok else None`): the classes a `resolve_obj_by_qualname`-style lookup may give.
    qualnames: list[str] = field(default_factory=list)


def function_calls(tree: ast.Module, lines: Sequence[str], module: str, is_package: bool,
                   condition_names: Optional[dict[str, str]] = None,
                   kept: Optional[Callable[[str, str], bool]] = None) -> FunctionCalls:
    """`condition_names`: module-level names bound to a known test (conditions.module_names).
    `kept(name, resolution)`: whether a call of that raw name is kept by the caller (most
    calls, of builtins, locals and the standard library, are not): a call it would drop
    is not made into a RawCall at all; None keeps every call."""
    reader = _Reader(lines, module if is_package else module.rpartition(".")[0], condition_names or {})
    reader.kept = kept
    reader.containers = empty_containers(tree)
    reader.devices = device_names(tree)
    reader.definitions(tree.body, "", None, {})
    return FunctionCalls(reader.functions, sorted(reader.qualnames))


def module_definitions(tree: ast.Module) -> set[str]:
    """The names that module-level def/class statements bind: in the module's body and
    in the blocks of its if/try/for/with statements, not in class bodies."""
    names: set[str] = set()
    body_stack = [tree.body]
    while body_stack:
        for statement in body_stack.pop():
            if type(statement) in _DEFINITIONS:
                names.add(statement.name)  # type: ignore[attr-defined]
            else:
                body_stack += _blocks(statement)
    return names


def _literal(node: Optional[ast.AST]) -> Optional[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def call_keywords(node: ast.Call, applied: bool = False) -> tuple[tuple[str, str], ...]:
    """CallSite.keywords: a string literal's text, another literal's repr, else "*";
    first whether what the call returns is called at once, and the number of positional
    arguments, when there are some."""
    found = [(APPLIED, "1")] if applied else []
    args = node.args
    if args:
        starred = list(map(type, args)).count(ast.Starred)
        if len(args) > starred:
            found.append((POSITIONAL, str(len(args) - starred)))
        if starred:
            found.append(("*", "*"))
    for item in node.keywords:
        value = item.value
        if item.arg is None:
            found.append(("**", "*"))
        elif type(value) is ast.Constant:
            constant = value.value  # type: ignore[attr-defined]
            if type(constant) is str:
                found.append((item.arg, constant))
            elif type(constant) in _REPRESENTED:
                found.append((item.arg, repr(constant)))
            else:
                found.append((item.arg, "*"))
        else:
            found.append((item.arg, "*"))
    return tuple(found)


_REPRESENTED = frozenset({bool, int, float, type(None)})  # keyword constants kept by their repr


def cuda_device(node: Optional[ast.AST], names: Optional[dict[str, str]] = None) -> str:
    """"cuda" / "cuda:0" when `node` is that literal or `torch.device("cuda…")`, or a
    module-level name bound to one (`names`: device_names)."""
    if isinstance(node, ast.Name) and names:
        return names.get(node.id, "")
    if isinstance(node, ast.Call) and node.args and (dotted_name(node.func) or "").endswith("device"):
        node = node.args[0]
    value = _literal(node)
    return value if value is not None and (value == "cuda" or value.startswith("cuda:")) else ""


def top_level_bindings(tree: Optional[ast.Module]) -> Iterator[tuple[list[ast.expr], ast.expr]]:
    """(targets, value) of each assignment among the module's top-level statements, in order."""
    for statement in tree.body if tree is not None else ():
        if isinstance(statement, ast.Assign):
            yield statement.targets, statement.value
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            yield [statement.target], statement.value


def device_names(tree: Optional[ast.Module]) -> dict[str, str]:
    """Module-level names last bound, at the top level, to a CUDA device: `DEVICE =
    "cuda"`, `_DEV = torch.device("cuda:0")`. A later binding to anything else unbinds."""
    found: dict[str, str] = {}
    for targets, value in top_level_bindings(tree):
        device = cuda_device(value, found)
        for target in targets:
            if isinstance(target, ast.Name):
                if device:
                    found[target.id] = device
                else:
                    found.pop(target.id, None)
    return found


class _Reader:
    def __init__(self, lines: Sequence[str], package: str, condition_names: dict[str, str]) -> None:
        self.lines = lines
        self.package = package
        self.functions: list[RawFunction] = []
        self.conditional = 0  # depth of branches (if, loops, handlers, after an early exit)
        # The condition terms of those branches (one or more per level; `?` when no test).
        self.terms: list[str] = []
        self.condition_names = condition_names
        self.applied_calls: set[int] = set()  # ids of calls whose result is called at once
        # Early exits `if not x: return` passed: the rest runs when x is true, as `x and rest`.
        self.unless_exit = 0
        self.once: frozenset[str] = frozenset()  # globals the function being read assigns
        # Module-level names bound to an empty container (memo caches), less the function's locals.
        self.containers: frozenset[str] = frozenset()
        self.devices: dict[str, str] = {}  # module-level names bound to a CUDA device (device_names)
        self.qualnames: set[str] = set()
        self.kept: Optional[Callable[[str, str], bool]] = None  # function_calls' `kept`
        self.kept_answers: dict[tuple[str, str], bool] = {}  # (name, resolution) -> what `kept` said

    # -- definitions

    def definitions(
        self,
        body: Sequence[ast.stmt],
        prefix: str,
        owner: Optional[str],
        bound: dict[str, tuple[str, str]],
    ) -> None:
        """Every def/class in `body` (a module, class body or the blocks of a module-level
        if/try/for), named under `prefix`; `owner` is the enclosing class for methods."""
        for statement in body:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.function(statement, prefix + statement.name, owner, bound)
            elif isinstance(statement, ast.ClassDef):
                qualified = prefix + statement.name
                self.functions.append(self._class(statement, qualified, bound))
                self.definitions(statement.body, qualified + ".", qualified, bound)
            else:
                for block in _blocks(statement):
                    self.definitions(block, prefix, owner, bound)

    def function(
        self, node: _Function, name: str, owner: Optional[str], bound: dict[str, tuple[str, str]]
    ) -> None:
        facts = RawFunction(name, node.lineno)
        self.functions.append(facts)
        local = dict(bound)
        survey = _Survey(node.body)
        for statement in survey.binders:
            if type(statement) in _DEFINITIONS:
                local[statement.name] = (f"{name}.{statement.name}", LOCAL)  # type: ignore[union-attr]
            else:
                self._bind(statement, local)  # type: ignore[arg-type]
        body_owner = owner if _is_method(node, owner) else None
        facts.returns = [self._returned(statement, local, body_owner) for statement in survey.returns]
        for statement in survey.returns:
            self.qualnames.update(_returned_qualnames(statement.value))
            value = statement.value
            nested = local.get(value.id) if isinstance(value, ast.Name) else None
            facts.hands_back.append(nested[0] if nested is not None and nested[1] == LOCAL
                                    and nested[0].startswith(name + ".") else None)
        if type(node.body[-1]) not in _EXITS:
            facts.returns.append(None)  # may fall off the end: returns None
            facts.hands_back.append(None)
        outer, self.conditional = (self.conditional, self.unless_exit), 0
        self.unless_exit = 0
        outer_terms, self.terms = self.terms, []
        outer_once, self.once = self.once, _assigned_globals(survey)
        outer_containers = self.containers
        if outer_containers:  # most modules have none: then the locals need not be found
            self.containers = outer_containers - _local_names(node, survey)
        self._block(node.body, facts, local, body_owner, guard=None)
        (self.conditional, self.unless_exit), self.once, self.terms = outer, outer_once, outer_terms
        self.containers = outer_containers
        for statement in survey.binders:
            kind = type(statement)
            if kind is ast.FunctionDef or kind is ast.AsyncFunctionDef:
                self.function(statement, f"{name}.{statement.name}", None, local)  # type: ignore[arg-type,union-attr]
            elif kind is ast.ClassDef:
                qualified = f"{name}.{statement.name}"  # type: ignore[union-attr]
                self.functions.append(self._class(statement, qualified, local))  # type: ignore[arg-type]
                self.definitions(statement.body, qualified + ".", qualified, local)  # type: ignore[union-attr]

    def _returned(self, statement: ast.Return, local: dict[str, tuple[str, str]],
                  owner: Optional[str]) -> Optional[RawCall]:
        value = statement.value
        if not isinstance(value, ast.Call):
            return None
        dotted = dotted_name(value.func)
        if dotted is None:
            return None
        if dotted == "cls" and owner is not None:  # `return cls(...)` in a classmethod
            return RawCall(owner, LOCAL, value.lineno, value.col_offset + 1, value.lineno)
        name, resolution = self._resolve(dotted, local, owner)
        return None if name is None else RawCall(name, resolution, value.lineno, value.col_offset + 1, value.lineno)

    def _class(self, node: ast.ClassDef, qualified: str, bound: dict[str, tuple[str, str]]) -> RawFunction:
        facts = RawFunction(qualified, node.lineno, is_class=True)
        for base in node.bases:
            dotted = dotted_name(base)
            if dotted is not None:
                name, resolution = self._resolve(dotted, bound, None)
                if name is not None:
                    facts.bases.append(RawCall(name, resolution, base.lineno, base.col_offset + 1, base.lineno))
        return facts

    def _bind(self, statement: Union[ast.Import, ast.ImportFrom], local: dict[str, tuple[str, str]]) -> None:
        if isinstance(statement, ast.Import):
            for alias in statement.names:
                if alias.asname:
                    local[alias.asname] = (alias.name, QUALIFIED)
                else:
                    root = alias.name.partition(".")[0]
                    local[root] = (root, QUALIFIED)
            return
        module = self._from_module(statement)
        if module is None:
            return
        for alias in statement.names:
            if alias.name != "*":
                local[alias.asname or alias.name] = (f"{module}.{alias.name}", QUALIFIED)

    def _from_module(self, statement: ast.ImportFrom) -> Optional[str]:
        """The absolute module of a from-import; None beyond the top-level package."""
        module = statement.module or ""
        if statement.level:
            parts = self.package.split(".") if self.package else []
            if statement.level - 1 >= len(parts) or not parts:
                return None
            base = ".".join(parts[: len(parts) - (statement.level - 1)])
            module = f"{base}.{module}" if module else base
        return module

    def _import(self, statement: Union[ast.Import, ast.ImportFrom], facts: RawFunction) -> None:
        """An import statement the body runs: one site per module it names."""
        line = statement.lineno
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        place = (line, _char_column(text, statement.col_offset) + 1, statement.end_lineno or line)
        conditional = self.conditional > 0 or self.unless_exit > 0
        condition = _conditions.join([*self.terms, _conditions.UNKNOWN] if self.unless_exit and not self.conditional
                                     else self.terms) if conditional else ""
        if isinstance(statement, ast.Import):
            for alias in statement.names:
                facts.imports.append(ImportSite(alias.name, (), *place, Execution.EAGER, SiteKind.IMPORT,
                                                conditional, condition))
            return
        module = self._from_module(statement)
        if module:
            names = tuple(alias.name for alias in statement.names)
            facts.imports.append(ImportSite(module, names, *place, Execution.EAGER, SiteKind.FROM,
                                            conditional, condition))

    # -- bodies

    def _block(
        self,
        body: Sequence[ast.stmt],
        facts: RawFunction,
        local: dict[str, tuple[str, str]],
        owner: Optional[str],
        guard: Optional[ast.AST],
    ) -> None:
        entered, terms = (self.conditional, self.unless_exit), len(self.terms)
        try:
            self._statements(body, facts, local, owner, guard)
        finally:
            self.conditional, self.unless_exit = entered
            del self.terms[terms:]

    def _branch(self, body: Sequence[ast.stmt], facts: RawFunction, local: dict[str, tuple[str, str]],
                owner: Optional[str], guard: Optional[ast.AST], terms: Sequence[str] = (_conditions.UNKNOWN,)) -> None:
        self.conditional += 1
        self.terms.extend(terms)
        self._block(body, facts, local, owner, guard)
        del self.terms[len(self.terms) - len(terms):]
        self.conditional -= 1

    def _statements(
        self,
        body: Sequence[ast.stmt],
        facts: RawFunction,
        local: dict[str, tuple[str, str]],
        owner: Optional[str],
        guard: Optional[ast.AST],
    ) -> None:
        for statement in body:
            kind = type(statement)
            if kind is ast.Import or kind is ast.ImportFrom:
                if guard is None:
                    self._import(statement, facts)  # type: ignore[arg-type]
                continue
            if kind is ast.FunctionDef or kind is ast.AsyncFunctionDef:
                # Decorators and defaults run when the enclosing function does.
                for expression in (*statement.decorator_list, *statement.args.defaults,  # type: ignore[attr-defined]
                                   *(d for d in statement.args.kw_defaults if d is not None)):  # type: ignore[attr-defined]
                    self._expression(expression, facts, local, owner, guard)
                continue
            if kind is ast.ClassDef:
                for expression in (*statement.decorator_list, *statement.bases):  # type: ignore[attr-defined]
                    self._expression(expression, facts, local, owner, guard)
                continue
            if kind is ast.If:
                self._expression(statement.test, facts, local, owner, guard)  # type: ignore[attr-defined]
                test_guard = _is_initialized_test(statement.test)  # type: ignore[attr-defined]
                body_terms, else_terms = _conditions.branch_terms(statement.test, self.condition_names)  # type: ignore[attr-defined]
                first = self._first_call_takes(statement)  # type: ignore[arg-type]
                if first is True:  # a memo filled on the first call: that call runs the body
                    self._block(statement.body, facts, local, owner, test_guard or guard)  # type: ignore[attr-defined]
                else:
                    self._branch(statement.body, facts, local, owner, test_guard or guard, body_terms)  # type: ignore[attr-defined]
                if not statement.orelse:  # type: ignore[attr-defined]
                    pass  # most tests have no `else`: nothing to read there
                elif first is False:
                    self._block(statement.orelse, facts, local, owner, guard)  # type: ignore[attr-defined]
                else:
                    self._branch(statement.orelse, facts, local, owner, guard, else_terms)  # type: ignore[attr-defined]
                if statement.body and type(statement.body[-1]) in _EXITS \
                        and not self._first_call_guard(statement.test):  # type: ignore[attr-defined]
                    # The rest runs where the test was false (`if is_rocm(): return`: not on ROCm).
                    self.terms.extend(else_terms if not statement.orelse else (_conditions.UNKNOWN,))  # type: ignore[attr-defined]
                    negated = _negated_is_initialized(statement.test)  # type: ignore[attr-defined]
                    if negated is not None:
                        guard = guard or negated  # `if not is_initialized(): return`: the rest is guarded
                    if _is_not(statement.test) and not statement.orelse:  # type: ignore[attr-defined]
                        self.unless_exit += 1  # `if not x: return` then the rest: as `x and rest`
                    else:
                        self.conditional += 1  # after an early exit: the rest runs on some paths only
                continue
            if not self.conditional and (kind is ast.Assign or kind is ast.Expr):
                setting = _environ_setting(statement)
                if setting is not None:
                    facts.environ.append(setting)
            expressions, has_cases, has_handlers, has_body = _LAYOUT[kind]
            for name in expressions:
                value = getattr(statement, name)
                if type(value) is list:
                    for item in value:
                        if type(item) not in _LEAF_TYPES:  # a name or a constant holds no call
                            self._expression(item, facts, local, owner, guard)
                elif value is not None and type(value) not in _LEAF_TYPES:
                    self._expression(value, facts, local, owner, guard)
            if has_cases:
                for case in statement.cases:  # type: ignore[attr-defined]
                    if case.guard is not None:
                        self._expression(case.guard, facts, local, owner, guard)
            if has_handlers:
                for handler in statement.handlers:  # type: ignore[attr-defined]
                    if handler.type is not None:
                        self._expression(handler.type, facts, local, owner, guard)
            if kind in _BRANCHING:
                for block in _blocks(statement):
                    self._branch(block, facts, local, owner, guard)
                continue
            if has_body and statement.body:  # type: ignore[attr-defined]
                self._block(statement.body, facts, local, owner, guard)  # type: ignore[attr-defined]
            if has_handlers:
                for handler in statement.handlers:  # type: ignore[attr-defined]
                    self._branch(handler.body, facts, local, owner, guard)
            if kind in _TRIES:
                if statement.orelse:  # type: ignore[attr-defined]
                    self._branch(statement.orelse, facts, local, owner, guard)  # type: ignore[attr-defined]
                if statement.finalbody:  # type: ignore[attr-defined]
                    self._block(statement.finalbody, facts, local, owner, guard)  # type: ignore[attr-defined]
                if statement.body and type(statement.body[-1]) in _EXITS:  # type: ignore[attr-defined]
                    self.conditional += 1  # `try: return x` then a fallback: only after an exception
                    self.terms.append(_conditions.UNKNOWN)

    def _first_call_takes(self, statement: ast.If) -> Optional[bool]:
        """Whether the first call takes the body (True) or the `else` (False) of a memo's
        test, None when the test is no such thing: `if _x is None: _x = …` (or `if not
        _x:`) where the function declares `_x` global and assigns it; `if key not in _c:
        _c[key] = …` where `_c` is a module-level empty container the function fills.
        Once the memo is filled the body is skipped, but the first call, which is the one
        an import makes, runs it."""
        test = statement.test
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not) and isinstance(test.operand, ast.Name):
            return True if test.operand.id in self.once else None
        if isinstance(test, ast.Name):
            return False if test.id in self.once else None
        if not isinstance(test, ast.Compare) or len(test.ops) != 1:
            return None
        operator, right = test.ops[0], test.comparators[0]
        if isinstance(operator, (ast.Is, ast.IsNot)) and isinstance(right, ast.Constant) and right.value is None \
                and isinstance(test.left, ast.Name) and test.left.id in self.once:
            return isinstance(operator, ast.Is)
        if isinstance(operator, (ast.In, ast.NotIn)) and isinstance(right, ast.Name) and right.id in self.containers \
                and not any(isinstance(node, ast.Call) for node in ast.walk(test.left)) \
                and _fills(statement.body if isinstance(operator, ast.NotIn) else statement.orelse, right.id):
            return isinstance(operator, ast.NotIn)
        return None

    def _first_call_guard(self, test: ast.AST) -> bool:
        """`if _cache is not None: return _cache` where the function itself assigns the
        global `_cache`: the exit is taken on later calls; the first runs the rest."""
        if not self.once:  # most functions assign no global: no test can be such a guard
            return False
        names = {node.id for node in ast.walk(test) if isinstance(node, ast.Name)}
        return bool(names) and names <= self.once and not any(isinstance(node, ast.Call) for node in ast.walk(test))

    def _expression(
        self,
        node: ast.AST,
        facts: RawFunction,
        local: dict[str, tuple[str, str]],
        owner: Optional[str],
        guard: Optional[ast.AST],
    ) -> None:
        # 0: runs whenever the statement does; 1: on the statement's paths (self.terms);
        # 2: only right of `and` (followed unless the profile rules its paths out);
        # 3: on some paths through the expression (right of `or`, a branch of `x if t else y`).
        stack: list[tuple[ast.AST, int]] = [(node, 1 if self.conditional > 0 else 2 if self.unless_exit else 0)]
        pop, push = stack.pop, stack.append
        walked, children_of, attribute, call_type, leaf_types = _WALKED, _CHILDREN, ast.Attribute, ast.Call, _LEAF_TYPES
        # Children are pushed as they would be popped: an attribute chain as the node at
        # its base (`self.x`, `torch.cuda`: a name, not pushed at all), a keyword as its
        # value. Popping either would push just that next.
        while stack:
            current, conditional = pop()
            kind = type(current)
            while kind is attribute:  # the root of the walk may be one
                current = current.value  # type: ignore[attr-defined]
                kind = type(current)
            if kind is call_type:
                call = self._call(current, local, owner, guard, conditional)  # type: ignore[arg-type]
                if call is not None:
                    facts.calls.append(call)
                children = [current.func, *current.args]  # type: ignore[attr-defined]
                if current.keywords:  # type: ignore[attr-defined]
                    children += [keyword.value for keyword in current.keywords]  # type: ignore[attr-defined]
            elif kind in leaf_types:
                continue
            elif kind is ast.Lambda:
                args = current.args  # type: ignore[attr-defined]
                for default in (*args.defaults, *args.kw_defaults):
                    if default is not None:
                        push((default, conditional))
                continue
            elif kind is ast.GeneratorExp:
                push((current.generators[0].iter, conditional))  # type: ignore[attr-defined]
                continue  # the rest runs when consumed
            elif kind is ast.BoolOp:  # `a() and b()`: b() only on some paths
                values = current.values  # type: ignore[attr-defined]
                push((values[0], conditional))
                is_and = type(current.op) is ast.And  # type: ignore[attr-defined]
                right = 2 if is_and and conditional in (0, 2) else 3
                gates = _conditions.operand_gates(values, is_and, self.condition_names)
                for value, gate in zip(values[1:], gates):
                    self._push_gated(push, value, right, gate)
                continue
            elif kind is ast.IfExp:
                push((current.test, conditional))  # type: ignore[attr-defined]
                body_terms, else_terms = _conditions.branch_terms(current.test, self.condition_names)  # type: ignore[attr-defined]
                self._push_gated(push, current.body, 3, _conditions.decidable(body_terms))  # type: ignore[attr-defined]
                self._push_gated(push, current.orelse, 3, _conditions.decidable(else_terms))  # type: ignore[attr-defined]
                continue
            elif kind is _Terms:  # the end (or start) of an operand's walk under more terms
                self.terms = current.terms  # type: ignore[attr-defined]
                continue
            else:
                shape, fields = children_of[kind] if kind in children_of else _learn_children(current)
                if shape is _NODES or shape is _LIST:
                    children = fields(current)
                elif shape is _NODE:
                    children = (fields(current),)
                else:
                    children = []
                    for value in fields(current):
                        if type(value) is list:
                            children += value
                        else:
                            children.append(value)
            for item in children:
                kind = type(item)
                while kind is attribute:
                    item = item.value
                    kind = type(item)
                if walked[kind]:
                    push((item, conditional))

    def _push_gated(self, push, node: ast.AST, conditional: int, gate: list[str]) -> None:
        """Push `node` for the walk, to run where `gate`'s terms hold too: the walk
        pops the terms with them first, then `node` and all below it, then the old terms."""
        if not gate:
            push((node, conditional))
            return
        push((_Terms(self.terms), conditional))
        push((node, conditional))
        push((_Terms([*self.terms, *gate]), conditional))

    def _call(
        self,
        node: ast.Call,
        local: dict[str, tuple[str, str]],
        owner: Optional[str],
        guard: Optional[ast.AST],
        conditional: int,
    ) -> Optional[RawCall]:
        """The call `node` on the paths `conditional` says (as _expression counts them)."""
        func = node.func
        dotted = func.id if type(func) is ast.Name else dotted_name(func)  # type: ignore[attr-defined]
        if dotted is None:
            kind = type(func)
            if kind is ast.Call:  # `f(...)(x)`: what f returns is applied at once
                self.applied_calls.add(id(func))
                if dotted_name(func.func) == "getattr":  # type: ignore[attr-defined]
                    dotted = _getattr_name(func)  # type: ignore[arg-type]
            elif kind is ast.Attribute and type(func.value) is ast.Call \
                    and func.attr in ("cuda", "to"):  # type: ignore[attr-defined]
                inner = dotted_name(func.value.func)  # type: ignore[attr-defined]
                if inner is not None:
                    dotted = f"{inner}{TENSOR_METHOD}{func.attr}"  # type: ignore[attr-defined]
            if dotted is None:
                return None
        name, resolution = self._resolve(dotted, local, owner)
        if name is None:
            return None
        if self.kept is not None:
            key = (name, resolution)
            answers = self.kept_answers
            if not (answers[key] if key in answers else answers.setdefault(key, self.kept(name, resolution))):
                return None
        device = ""
        for item in node.keywords:
            if item.arg == "device":
                device = cuda_device(item.value, self.devices)
                break
        if not device and node.args and dotted.endswith(".to"):
            device = cuda_device(node.args[0], self.devices)
        guard_name, guard_resolution = "", RAW
        if guard is not None:
            guard_dotted = dotted_name(guard) or ""
            guard_name, guard_resolution = self._resolve(guard_dotted, local, None)
            guard_name = guard_name or ""
        line = node.lineno
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        column = _char_column(text, node.col_offset) + 1
        condition = "" if not conditional else _conditions.join(
            [*self.terms, _conditions.UNKNOWN] if conditional >= 2 else self.terms)
        return RawCall(name, resolution, line, column, node.end_lineno or line, guard_name, guard_resolution,
                       device, conditional > 0, condition, call_keywords(node, id(node) in self.applied_calls),
                       conditional == 2)

    @staticmethod
    def _resolve(
        dotted: str, local: dict[str, tuple[str, str]], owner: Optional[str]
    ) -> tuple[Optional[str], str]:
        root, dot, rest = dotted.partition(".")
        if root in local:
            base, resolution = local[root]
            return (f"{base}.{rest}" if rest else base), resolution
        if owner is not None and root in ("self", "cls") and rest and "." not in rest:
            return f"{owner}.{rest}", LOCAL
        if root in ("self", "cls", "super"):
            return None, RAW
        return dotted, RAW


class _Terms:
    """An entry of the expression walk's stack: from here on, the condition terms are `terms`."""

    __slots__ = ("terms",)

    def __init__(self, terms: list[str]) -> None:
        self.terms = terms


# Names, constants and contexts never hold a call; the field names of each node type
# are looked up once (ast.iter_child_nodes costs a generator per node).
_LEAVES = (ast.Name, ast.Constant, ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop)
_LEAF_TYPES = frozenset(
    t for t in vars(ast).values() if isinstance(t, type) and issubclass(t, _LEAVES)
)


# Fields the grammar never fills with a node to walk (names, operators, contexts, flags).
_NOT_NODES = frozenset({"ctx", "op", "ops", "attr", "id", "arg", "conversion", "kind", "is_async"})


# How the fields to walk of a node type are read, by one `attrgetter` call: _NODES, a
# tuple of nodes (or None); _NODE, one node (or None); _LIST, one list of nodes; _MIXED,
# a tuple of nodes and lists. Learnt from the first node of each type (a field is a list
# in every node of its type, or in none).
_NODES, _NODE, _LIST, _MIXED = "nodes", "node", "list", "mixed"
_CHILDREN: dict[type, tuple[str, Callable[[ast.AST], Any]]] = {}


def _learn_children(node: ast.AST) -> tuple[str, Callable[[ast.AST], Any]]:
    names = tuple(name for name in node._fields if name not in _NOT_NODES)
    lists = [type(getattr(node, name)) is list for name in names]
    if not names:
        found: tuple[str, Callable[[ast.AST], Any]] = (_LIST, lambda _: ())
    elif len(names) == 1:
        found = (_LIST if lists[0] else _NODE, attrgetter(names[0]))
    else:
        found = (_MIXED if any(lists) else _NODES, attrgetter(*names))
    _CHILDREN[type(node)] = found
    return found


class _Walked(dict):  # type of a field's value -> whether it is a node to walk
    def __missing__(self, value_type: type) -> bool:
        walked = issubclass(value_type, ast.AST) and not issubclass(value_type, _LEAVES)
        self[value_type] = walked
        return walked


_WALKED = _Walked()


# The fields of a statement that hold expressions run with it, in the order walked.
_EXPRESSION_FIELDS = ("test", "iter", "subject", "value", "exc", "cause", "target", "targets",
                      "items", "annotation", "msg", "returns")
_EXITS = frozenset({ast.Return, ast.Raise})
_BRANCHING = frozenset({ast.For, ast.AsyncFor, ast.While, ast.Match})  # each block on some paths only
_TRIES = frozenset({ast.Try, getattr(ast, "TryStar", ast.Try)})


class _Layout(dict):  # statement type -> (expression fields, has cases, has handlers, has body)
    def __missing__(self, kind: type) -> tuple[tuple[str, ...], bool, bool, bool]:
        names = kind._fields
        layout = (tuple(n for n in _EXPRESSION_FIELDS if n in names), "cases" in names, "handlers" in names,
                  "body" in names)
        self[kind] = layout
        return layout


_LAYOUT = _Layout()


def _walk_statements(body: Sequence[ast.stmt], found: Optional[list[ast.stmt]] = None) -> list[ast.stmt]:
    """The statements of a body and of its nested blocks, not inside nested defs, in
    document order."""
    if found is None:
        found = []
    for statement in body:
        found.append(statement)
        if type(statement) not in _DEFINITIONS:
            for block in _blocks(statement):
                _walk_statements(block, found)
    return found


_DEFINITIONS = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef})
_BINDERS = frozenset({ast.Import, ast.ImportFrom, *_DEFINITIONS})
_ASSIGNMENTS = frozenset({ast.Assign, ast.AugAssign, ast.AnnAssign})
_SCOPED = frozenset({ast.For, ast.AsyncFor, ast.With, ast.AsyncWith})


class _Survey:
    """What a function's statements (not those inside nested defs) hold, found in one pass
    in document order (as _walk_statements gives them): the statements that bind a local
    name (imports, nested def/class), each `return`, the names declared `global`, the
    assignments, and the outermost `for`/`with` statements (a walk of one of those covers
    every `for`/`with` inside it)."""

    def __init__(self, body: Sequence[ast.stmt]) -> None:
        self.binders: list[ast.stmt] = []
        self.returns: list[ast.Return] = []
        self.declared: set[str] = set()
        self.assignments: list[ast.stmt] = []
        self.scoped: list[ast.stmt] = []
        self._visit(body, False)

    def _visit(self, body: Sequence[ast.stmt], in_scoped: bool) -> None:
        for statement in body:
            kind = type(statement)
            if kind in _BINDERS:
                self.binders.append(statement)
                continue  # nested defs are surveyed on their own; imports hold no block
            if kind is ast.Return:
                self.returns.append(statement)  # type: ignore[arg-type]
            elif kind is ast.Global:
                self.declared.update(statement.names)  # type: ignore[attr-defined]
            elif kind in _ASSIGNMENTS:
                self.assignments.append(statement)
            else:
                scoped = in_scoped
                if kind in _SCOPED and not in_scoped:
                    self.scoped.append(statement)
                    scoped = True
                for block in _blocks(statement):
                    self._visit(block, scoped)


def _returned_qualnames(value: Optional[ast.AST]) -> list[str]:
    branches = [value.body, value.orelse] if isinstance(value, ast.IfExp) else [value]
    found = []
    for branch in branches:
        text = _literal(branch)
        if text is not None and text.count(".") >= 2 and all(part.isidentifier() for part in text.split(".")):
            found.append(text)
    return found


def _is_not(test: ast.AST) -> bool:
    return isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not)


_EMPTY_CALLS = frozenset({"dict", "list", "set", "OrderedDict", "collections.OrderedDict"})


def empty_containers(tree: Optional[ast.Module]) -> frozenset[str]:
    """Module-level names last bound, at the top level, to an empty `{}`, `[]`, `dict()`,
    `list()`, `set()` or `OrderedDict()`."""
    found: set[str] = set()
    for targets, value in top_level_bindings(tree):
        empty = (isinstance(value, ast.Dict) and not value.keys) or (isinstance(value, ast.List) and not value.elts) \
            or (isinstance(value, ast.Call) and not value.args and not value.keywords
                and dotted_name(value.func) in _EMPTY_CALLS)
        for target in targets:
            if isinstance(target, ast.Name):
                (found.add if empty else found.discard)(target.id)
    return frozenset(found)


def _local_names(node: _Function, survey: "_Survey") -> set[str]:
    """The names a function binds locally: its parameters and what it assigns without a
    `global` declaration (every name stored anywhere in a `for` or `with` statement)."""
    arguments = node.args
    names = {a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)}
    names.update(a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None)
    names.update(_assigned_names(survey.assignments))
    for statement in survey.scoped:
        names.update(n.id for n in ast.walk(statement) if type(n) is ast.Name and type(n.ctx) is ast.Store)
    return names - survey.declared


def _assigned_names(assignments: Sequence[ast.stmt]) -> Iterator[str]:
    """The plain names that assignment statements bind."""
    for statement in assignments:
        for target in statement.targets if type(statement) is ast.Assign else (statement.target,):  # type: ignore[attr-defined]
            if type(target) is ast.Name:
                yield target.id


def _fills(body: Sequence[ast.stmt], name: str) -> bool:
    """Whether `body` stores into `name[...]` or calls a method of `name` (`append`, `update`)."""
    for statement in _walk_statements(body):
        targets = statement.targets if isinstance(statement, ast.Assign) else \
            [statement.target] if isinstance(statement, (ast.AugAssign, ast.AnnAssign)) else []
        if any(isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name) and t.value.id == name for t in targets):
            return True
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call) \
                and (dotted_name(statement.value.func) or "").startswith(name + "."):
            return True
    return False


def _assigned_globals(survey: "_Survey") -> frozenset[str]:
    """The names a function declares `global` and assigns."""
    if not survey.declared:
        return frozenset()
    return frozenset(survey.declared.intersection(_assigned_names(survey.assignments)))


def _is_method(node: _Function, owner: Optional[str]) -> bool:
    if owner is None:
        return False
    return not any(dotted_name(d) == "staticmethod" for d in node.decorator_list)


def _getattr_name(call: ast.Call) -> Optional[str]:
    if len(call.args) != 2 or call.keywords:
        return None
    base = dotted_name(call.args[0])
    attribute = _literal(call.args[1])
    if base is None or attribute is None or not attribute.isidentifier():
        return None
    return f"{base}.{attribute}"


def _is_initialized_test(test: ast.AST) -> Optional[ast.AST]:
    """The callee of `is_initialized()` when `test` is that call (or `and` starting
    with it): the body runs only when CUDA is already up."""
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        test = test.values[0]
    if isinstance(test, ast.Call) and not test.args and (dotted_name(test.func) or "").endswith("is_initialized"):
        return test.func
    return None


def _negated_is_initialized(test: ast.AST) -> Optional[ast.AST]:
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return _is_initialized_test(test.operand)
    return None


def _environ_setting(statement: ast.stmt) -> Optional[tuple[str, str, int]]:
    """(KEY, V, line) of `os.environ["KEY"] = "V"` or `os.environ.setdefault("KEY", "V")`."""
    key = value = None
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        target = statement.targets[0]
        if isinstance(target, ast.Subscript) and dotted_name(target.value) == "os.environ":
            key, value = _literal(target.slice), _literal(statement.value)
    elif isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        call = statement.value
        if dotted_name(call.func) == "os.environ.setdefault" and len(call.args) == 2 and not call.keywords:
            key, value = _literal(call.args[0]), _literal(call.args[1])
    if key is None or value is None:
        return None
    return (key, value, statement.lineno)


def _char_column(content: str, utf8_offset: int) -> int:
    """ast columns count UTF-8 bytes; LibCST's count characters."""
    if content.isascii():
        return utf8_offset
    return len(content.encode("utf-8", "surrogatepass")[:utf8_offset].decode("utf-8", "replace"))
