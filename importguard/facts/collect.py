"""SourceFile -> ModuleFacts. With positions.py and fix/, the only modules that import libcst.

Cost model (see the speed issue and docs/performance.md): LibCST's time and memory grow
with every token it sees, a `CSTVisitor` rebuilds each node it passes, and
MetadataWrapper positions more than double the parse. So this module
- parses a skeleton of the file (skeleton.py): function bodies reduced to their import
  statements, which never run on import anyway; the facts are those of the whole file;
- walks statements structurally, and walks the fields of expression nodes itself, only
  over code that executes at import time (module-level statements, class bodies,
  decorators, default values);
- takes the positions of import statements from the same `ast` pass that made the
  skeleton, and generates code (LibCST's own code generator, to count lines and
  columns) only for the top-level statements that hold other sites.
"""

from __future__ import annotations

import ast
import builtins
import io
import sys
import tokenize
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from typing import Any, Iterable, Iterator, Optional, Sequence, Union

import libcst as cst
from libcst.helpers import get_full_name_for_node

import importguard.facts.budget as budget
import importguard.facts.conditions as conditions
from importguard.facts.comments import suppressions
from importguard.facts.cpython_verdict import (
    LIBCST_MAX_DEPTH,
    Refusal,
    bracket_nesting_exceeds,
    cpython_verdict,
    too_deep_for_libcst,
)
from importguard.facts.positions import Positions
from importguard.facts.function_calls import (
    LOCAL,
    QUALIFIED,
    TENSOR_METHOD,
    FunctionCalls,
    RawCall,
    device_names,
    function_calls,
    module_definitions,
)
from importguard.facts.skeleton import Skeleton, import_time_skeleton, statement_places
from importguard.model import (
    APPLIED,
    POSITIONAL,
    RIGHT_OF_AND,
    CallSite,
    Execution,
    FunctionFacts,
    ImportSite,
    ModuleFacts,
    Problem,
    SiteKind,
    SourceFile,
)
from importguard.files.regular_file import FileTooLarge, read_regular

SYNTAX_ERROR = "IG900"
UNREADABLE = "IG901"
RELATIVE_BEYOND_TOP = "IG902"

_IMPORT_NODES = (cst.Import, cst.ImportFrom, cst.LazyImport, cst.LazyImportFrom)
_LAZY_NODES = (cst.LazyImport, cst.LazyImportFrom)
_IMPORT_TYPES = frozenset(_IMPORT_NODES)
_DYNAMIC_IMPORT_CALLS = frozenset({"importlib.import_module", "__import__", "builtins.__import__"})
_EXEC_CALLS = frozenset({"exec", "builtins.exec"})
_IS_INITIALIZED = "torch.cuda.is_initialized"
# Builtins that consume a generator expression passed to them right away.
_CONSUMERS = frozenset({"all", "any", "dict", "frozenset", "list", "max", "min", "set", "sorted", "sum", "tuple"})
# Calls into the standard library never reach a CUDA sink; function facts leave them
# out to stay small (module-level calls keep them: they are few).
_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ())) - {"builtins"}
_LAZY_ATTACH_CALLS = frozenset({"lazy_loader.attach"})
_TYPING_MODULES = frozenset({"typing", "typing_extensions"})
# Callables whose result, when called, runs the function given first: `partial(f, 1)` and
# `cache(f)` directly ("direct"), `lru_cache(maxsize=1)(f)` and `wraps(w)(f)` through the
# decorator they return ("factory"), `lru_cache(f)` either way.
_WRAPPERS = {
    "functools.partial": "direct", "functools.cache": "direct", "functools.lru_cache": "either",
    "functools.wraps": "factory",
}
_BUILTINS = frozenset(dir(builtins))


def collect_file(source: SourceFile) -> ModuleFacts:
    """Read and collect one file; unreadable files become an IG901 problem."""
    try:
        data = read_regular(source.path, budget.MAX_SOURCE_BYTES)
    except FileTooLarge as error:
        return _failed(source, Problem(UNREADABLE, budget.too_large_message(error.size)))
    except OSError as error:
        reason = error.strerror or str(error)
        return _failed(source, Problem(UNREADABLE, f"cannot read file: {reason}"))
    return collect_source(data, source)


def collect_source(data: bytes, source: SourceFile, *, reduce_bodies: bool = True) -> ModuleFacts:
    """`reduce_bodies=False` parses the whole file; the facts are the same (slower)."""
    try:
        text = _decode(data)
    except (SyntaxError, UnicodeDecodeError, LookupError) as error:
        return _failed(source, Problem(UNREADABLE, f"cannot decode file: {error}"))
    verdict = cpython_verdict(text, source.path)
    refusal = verdict.refusal
    if refusal is not None and (refusal.final or bracket_nesting_exceeds(text)):
        return _failed(source, _syntax_problem(refusal))
    if verdict.tree is not None and too_deep_for_libcst(text, verdict.tree):
        return _failed(source, Problem(
            UNREADABLE,
            f"cannot analyse file: an expression nests more than {LIBCST_MAX_DEPTH:,} deep "
            "(each operand of `and`/`or` counts), more than LibCST's parser survives; Python accepts it",
        ))
    with _deep_recursion():
        skeleton = import_time_skeleton(text, reduce=reduce_bodies, tree=verdict.tree,
                                        lines=verdict.lines) if verdict.tree else None
        module = _parse_skeleton(skeleton)
        try:
            if module is None:
                module = cst.parse_module(data)
        except cst.ParserSyntaxError as error:
            if refusal is not None:  # CPython's position and words are the right ones
                return _failed(source, _syntax_problem(refusal))
            # Python accepts the file: a limit of LibCST's (e.g. 5,000 adjacent string
            # literals), not a syntax error.
            message = f"cannot analyse file: LibCST cannot parse it, though Python accepts it: {error.message}"
            return _failed(source, Problem(UNREADABLE, message.rstrip(), error.raw_line, error.raw_column + 1))
        except RecursionError:
            return _failed(source, Problem(UNREADABLE, "cannot analyse file: too deeply nested for LibCST"))
        except (SyntaxError, ValueError) as error:
            return _failed(source, Problem(SYNTAX_ERROR, f"syntax error: {error}"))

        bodies: Optional[FunctionCalls] = None
        condition_names = conditions.module_names(verdict.tree)
        tree, lines = (skeleton.tree, skeleton.lines) if skeleton is not None else (verdict.tree, ())
        # A file without functions may still define classes (their bases and attributes
        # decide what `Cls.attr` is); their entries come from the same reader, with no calls.
        reads_bodies = tree is not None and (skeleton is not None or "class" in text)
        devices = device_names(verdict.tree)
        try:
            # The module-level walk first: what it binds decides which calls in function
            # bodies are kept (function_facts), so the bodies' reader skips the others.
            walker = _Walker(source.module, source.is_package, module_definitions(tree) if reads_bodies else ())
            walker.condition_names, walker.devices = condition_names, devices
            walker.walk_module(module)
            if reads_bodies:
                try:
                    bodies = function_calls(tree, lines, source.module, source.is_package, condition_names,
                                            walker.keeps_call)
                except RecursionError:
                    # Without the bodies, the module-level walk knows no module-level
                    # def/class names beforehand (as a walk of the module alone would).
                    walker = _Walker(source.module, source.is_package)
                    walker.condition_names, walker.devices = condition_names, devices
                    walker.walk_module(module)
            targets = walker.position_targets()
            places = skeleton
            if places is None and targets and verdict.tree is not None:
                places = statement_places(text, verdict.tree, verdict.lines)  # no skeleton: no functions
            positions = Positions.compute(module, targets, places if reduce_bodies else None, walker.import_nodes)
        except RecursionError:
            return _failed(source, Problem(UNREADABLE, "cannot analyse file: too deeply nested to analyse"))

    return ModuleFacts(
        module=source.module,
        path=source.path,
        is_package=source.is_package,
        imports=walker.import_sites(positions),
        calls=walker.call_sites(positions),
        exports=walker.exports,
        suppressions=suppressions(text, verdict.tree),
        problems=tuple(walker.problems(positions)),
        functions=walker.function_facts(bodies),
        bindings=tuple(sorted(walker.bindings.items())),
        environ=walker.environ_settings(positions),
        notes=walker.notes(positions),
        instances=tuple(sorted(walker.instances.items())),
        declared=tuple(sorted(walker.declared.items())),
        qualnames=tuple(bodies.qualnames) if bodies else (),
    )


def skip_node_validation() -> None:
    """LibCST checks every node it builds (`CSTNode.__post_init__` calls `_validate`),
    also each node its parser builds from source, which passes by construction (LibCST's
    own comment there says the checks could leave parsing): they were an eighth of
    parsing sglang's skeletons. Turned off only in a worker, where nodes come from the
    parser alone; the main process and the language server, whose fixes build nodes, keep
    them (cache/pool.py calls this in each worker)."""
    from libcst._nodes.base import CSTNode

    CSTNode.__post_init__ = _unchecked  # type: ignore[method-assign]


def _unchecked(node: Any) -> None:
    pass


def _syntax_problem(refusal: Refusal) -> Problem:
    return Problem(SYNTAX_ERROR, f"syntax error: {refusal.message}", refusal.line, refusal.column)


# Python's default limit of 1,000 frames is less than what the walker and LibCST's code
# generator need on expressions CPython accepts (a 2,990-term `1 + 1 + ...`); CPython's
# refusal above bounds the depth, so a higher limit cannot run away.
_RECURSION_LIMIT = 30_000


@contextmanager
def _deep_recursion() -> Iterator[None]:
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, _RECURSION_LIMIT))
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def _parse_skeleton(skeleton: Optional[Skeleton]) -> Optional[cst.Module]:
    """The file with function bodies reduced to their imports (skeleton.py), or None:
    then the whole file is parsed, so syntax errors are always LibCST's own."""
    if skeleton is None or skeleton.source is None:
        return None
    try:
        return cst.parse_module(skeleton.source)
    except (cst.ParserSyntaxError, RecursionError, SyntaxError, ValueError):
        return None


def _decode(data: bytes) -> str:
    """Decode as Python would (PEP 263 cookie, BOM, UTF-8 default)."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return data.decode(encoding)


def _failed(source: SourceFile, problem: Problem) -> ModuleFacts:
    return ModuleFacts(source.module, source.path, source.is_package, problems=(problem,))


# ----------------------------------------------------------------------------- context


@dataclass(frozen=True)
class _Context:
    execution: Execution = Execution.EAGER
    conditional: bool = False
    scope: str = "module"  # module | class | function
    in_try_or_with: bool = False
    fallback: bool = False  # in an except handler: runs only when the try body failed
    guarded: bool = False  # under `if torch.cuda.is_initialized():` (see CallSite)
    context: str = ""  # CallSite.context
    condition: str = ""  # ImportSite.condition / CallSite.condition

    def on_branch(self, terms: Sequence[str], **changes: object) -> "_Context":
        """This context inside a branch whose test gives `terms`."""
        return self.under(conditional=True, condition=conditions.join([*conditions.split(self.condition), *terms]),
                          **changes)

    def under(self, **changes: object) -> "_Context":
        # Few contexts exist; `replace` for each statement and scan cost 3% of collecting.
        key = (self, *changes.items())
        found = _CONTEXTS.get(key)
        if found is None:
            found = _CONTEXTS[key] = replace(self, **changes)  # type: ignore[arg-type]
        return found

    def deferred(self) -> "_Context":
        # Code under TYPE_CHECKING never runs, whether or not it is in a function.
        execution = (
            Execution.TYPE_CHECKING
            if self.execution is Execution.TYPE_CHECKING
            else Execution.DEFERRED
        )
        return self.under(execution=execution, scope="function")


_CONTEXTS: dict[tuple, _Context] = {}
_EMPTY_MODULE = cst.Module([])


@dataclass
class _PendingSite:
    node: cst.CSTNode
    top: tuple[int, int]  # _Walker.top where it is
    module: str
    names: tuple[str, ...]
    kind: SiteKind
    context: _Context
    lazy_keyword: bool = False


@dataclass
class _PendingCall:
    node: cst.CSTNode  # a Call; for a decorator's own call, the decorator expression
    top: tuple[int, int]
    dotted: str
    context: _Context
    device: str = ""
    fixed: bool = False  # `dotted` is already qualified (a module-level tensor's method)
    keywords: tuple[tuple[str, str], ...] = ()


@dataclass
class _PendingNote:
    node: cst.CSTNode
    top: tuple[int, int]
    text: str
    key: str = ""  # for an os.environ setting: (key, value)
    value: str = ""


@dataclass
class _PendingProblem:
    node: cst.CSTNode
    top: tuple[int, int]
    code: str
    message: str


# ----------------------------------------------------------------------------- walker


class _Walker:
    def __init__(self, module_name: str, is_package: bool, module_names: Iterable[str] = ()) -> None:
        self.module_name = module_name
        # Names the module's own def/class statements bind (a call of one is `module.name`).
        self.module_names: set[str] = set(module_names)
        self.tensors: set[str] = set()  # module-level names bound to a `torch.*(...)` result
        self.future_annotations = False
        self.pending_notes: list[_PendingNote] = []
        self.pending_environ: list[_PendingNote] = []
        self.package = module_name if is_package else module_name.rpartition(".")[0]
        self.sites: list[_PendingSite] = []
        self.calls: list[_PendingCall] = []
        self.applied_calls: set[int] = set()  # ids of calls whose result is called at once
        self.pending_problems: list[_PendingProblem] = []
        self.bindings: dict[str, str] = {}  # local name -> qualified module/attribute
        self.instances: dict[str, str] = {}  # local name -> the qualified callee whose result it is
        self.declared: dict[str, str] = {}  # `name: Annotation` without a value -> the qualified annotation
        self.star_imported = False  # a module-level star import binds names not seen here
        self.classes: list[str] = []  # the class bodies being walked, outermost first
        self.type_checking_names: set[str] = {"TYPE_CHECKING"}
        self.lazy_modules: set[str] = set()
        self.exports: Optional[tuple[str, ...]] = None
        # Where the walk is, for positions.py: the index of the top-level statement, and
        # within the body of a top-level class, the index of the statement there (else -1).
        self.top = (0, -1)
        self._class_body: Optional[Sequence[cst.BaseStatement]] = None
        self.import_nodes: list[cst.BaseSmallStatement] = []  # in document order
        self.condition_names: dict[str, str] = {}  # conditions.module_names
        self.devices: dict[str, str] = {}  # function_calls.device_names
        self._kept_names: dict[tuple[str, str], Optional[str]] = {}  # (dotted, resolution) -> _kept_name
        self._chain_gates: dict[int, list[str]] = {}  # id of an inner level of a long chain -> its gate

    # -- statements

    def walk_module(self, module: cst.Module) -> None:
        for index, statement in enumerate(module.body):
            self.top = (index, -1)
            self._class_body = (
                statement.body.body
                if type(statement) is cst.ClassDef and type(statement.body) is cst.IndentedBlock else None
            )
            self._walk_body((statement,), _Context())

    def _walk_body(self, body: Sequence[cst.BaseStatement], ctx: _Context) -> None:
        in_class_body = body is self._class_body
        for index, statement in enumerate(body):
            if in_class_body:
                self.top = (self.top[0], index)
            if type(statement) is cst.SimpleStatementLine:
                for small in statement.body:
                    self._small_statement(small, ctx)
            else:
                self._compound_statement(statement, ctx)
        if in_class_body:
            self.top = (self.top[0], -1)

    def _block(self, suite: cst.BaseSuite, ctx: _Context) -> None:
        if isinstance(suite, cst.IndentedBlock):
            self._walk_body(suite.body, ctx)
        else:  # SimpleStatementSuite: `if x: import y`
            for small in suite.body:
                self._small_statement(small, ctx)

    def _small_statement(self, small: cst.BaseSmallStatement, ctx: _Context) -> None:
        if type(small) in _IMPORT_TYPES:  # concrete classes: no ABC isinstance per statement
            self._import(small, ctx)
            return
        if ctx.scope == "module":
            self._note_module_assignment(small, ctx)
            if ctx.execution is Execution.EAGER:
                self._note_environ(small, ctx)
        elif ctx.scope == "class" and self.classes:
            self._note_alias(small, ".".join(self.classes) + ".", fallback=ctx.fallback)
        if ctx.execution is not Execution.EAGER or isinstance(small, cst.TypeAlias):
            return  # `type X = …` evaluates its value lazily (PEP 695)
        if isinstance(small, cst.AnnAssign):
            self._scan(small.target, ctx)
            if small.value is not None:
                self._scan(small.value, ctx)
            self._scan_annotation(small.annotation, ctx)
            return
        self._scan(small, ctx)

    def _compound_statement(self, statement: cst.BaseCompoundStatement, ctx: _Context) -> None:
        eager = ctx.execution is Execution.EAGER
        if isinstance(statement, cst.FunctionDef):
            if eager:
                self._decorators(statement.decorators, ctx)
                self._scan_parameter_defaults(statement.params, ctx)
                self._scan_parameter_annotations(statement, ctx)
            if ctx.scope == "module":
                self.module_names.add(_ident(statement.name.value))
            self._block(statement.body, ctx.deferred())
        elif isinstance(statement, cst.ClassDef):
            if eager:
                self._decorators(statement.decorators, ctx)
                for arg in (*statement.bases, *statement.keywords):
                    self._scan(arg, ctx)
            if ctx.scope == "module":
                self.module_names.add(_ident(statement.name.value))
            class_ctx = ctx if ctx.scope == "function" else ctx.under(scope="class")
            if ctx.scope != "function":
                self.classes.append(_ident(statement.name.value))
            self._block(statement.body, class_ctx)
            if ctx.scope != "function":
                self.classes.pop()
        elif isinstance(statement, cst.If):
            self._if(statement, ctx)
        elif isinstance(statement, (cst.Try, cst.TryStar)):
            guarded = ctx.on_branch((conditions.UNKNOWN,), in_try_or_with=True)
            self._try_body(statement.body, guarded)
            for handler in statement.handlers:
                if eager and handler.type is not None:
                    self._scan(handler.type, ctx)
                self._block(handler.body, guarded.under(fallback=True))
            if statement.orelse is not None:
                self._block(statement.orelse.body, guarded)
            if statement.finalbody is not None:
                self._block(statement.finalbody.body, ctx.under(in_try_or_with=True))
        elif isinstance(statement, cst.With):
            if eager:
                for item in statement.items:
                    self._scan(item, ctx)
            self._block(statement.body, ctx.under(in_try_or_with=True))
        elif isinstance(statement, (cst.For, cst.While)):
            if eager:
                self._scan(statement.iter if isinstance(statement, cst.For) else statement.test, ctx)
            loop_ctx = ctx.on_branch((conditions.UNKNOWN,))
            if isinstance(statement, cst.While) and _never_true(statement.test):
                loop_ctx = ctx.under(execution=Execution.TYPE_CHECKING)  # `while False:` never runs
            self._block(statement.body, loop_ctx)
            if statement.orelse is not None:
                self._block(statement.orelse.body, loop_ctx if loop_ctx.conditional else ctx)
        elif isinstance(statement, cst.Match):
            if eager:
                self._scan(statement.subject, ctx)
            for case in statement.cases:
                case_ctx = ctx.on_branch((conditions.UNKNOWN,))
                if eager and case.guard is not None:
                    self._scan(case.guard, case_ctx)
                self._block(case.body, case_ctx)

    def _if(self, statement: cst.If, ctx: _Context) -> None:
        test = statement.test
        if ctx.execution is Execution.EAGER:
            self._scan(test, ctx)
        body_terms, else_terms = self._branch_terms(test)
        else_ctx = ctx.on_branch(else_terms)
        if self._is_type_checking_test(test) or _never_true(test):
            # `if TYPE_CHECKING:`, and dead code (`if False:`, `if 0:`), never run.
            body_ctx = ctx.under(execution=Execution.TYPE_CHECKING)
            if _never_true(test):
                else_ctx = ctx
        elif _is_main_guard(test):
            # Runs only when the file is executed as a script, never on import.
            body_ctx = ctx.deferred().under(scope=ctx.scope)
        elif self._is_initialized_test(test):
            body_ctx = ctx.on_branch(body_terms, guarded=True)
        else:
            body_ctx = ctx.on_branch(body_terms)
        self._block(statement.body, body_ctx)
        orelse = statement.orelse
        if isinstance(orelse, cst.If):  # elif
            self._if(orelse, else_ctx)
        elif orelse is not None:
            self._block(orelse.body, else_ctx)

    def _branch_terms(self, test: cst.BaseExpression) -> tuple[list[str], list[str]]:
        """conditions.branch_terms of an `if` test, read through `ast`."""
        source, expression = _through_ast(test)
        if expression is None:
            return [conditions.UNKNOWN], [conditions.UNKNOWN]
        return conditions.branch_terms(expression, self.condition_names, source)

    def _operand_gate(self, operation: cst.BooleanOperation) -> list[str]:
        """The terms a profile can decide that hold when `operation`'s right operand
        runs (conditions.operand_gates), read through `ast`."""
        gate = self._chain_gates.pop(id(operation), None)
        if gate is not None:
            return gate
        levels = _chain_levels(operation)
        if len(levels) > _GATED_LEVELS:
            # A long chain: reading each level's left side would read its first operands
            # once per level; the gates of its outer levels come from one read of each operand.
            operands = [_through_ast(levels[-1].left)[1], *(_through_ast(level.right)[1] for level in reversed(levels))]
            if all(operand is not None for operand in operands):
                gates = conditions.chain_gates(operands, isinstance(operation.operator, cst.And),  # type: ignore[arg-type]
                                               self.condition_names, _GATED_LEVELS)
                self._chain_gates.update((id(level), gate) for level, gate in zip(levels[1:], gates[1:]))
                return gates[0]
        _, left = _through_ast(operation.left)
        if left is None:
            return []
        terms = conditions.branch_terms(left, self.condition_names)
        return conditions.decidable(terms[0] if isinstance(operation.operator, cst.And) else terms[1])

    def _try_body(self, body: cst.BaseSuite, ctx: _Context) -> None:
        """A try body: what follows `import x` there runs only when x is installed."""
        if not isinstance(body, cst.IndentedBlock):
            self._block(body, ctx)
            return
        for statement in body.body:
            self._walk_body((statement,), ctx)
            if isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    if isinstance(small, (cst.Import, cst.ImportFrom)):
                        term = self._installed_term(small)
                        if term:
                            ctx = ctx.on_branch((term,))

    def _installed_term(self, small: Union[cst.Import, cst.ImportFrom]) -> Optional[str]:
        if isinstance(small, cst.Import):
            name = get_full_name_for_node(small.names[0].name) if small.names else None
        elif small.relative or small.module is None:
            return None
        else:
            name = get_full_name_for_node(small.module)
        return conditions.INSTALLED + name.partition(".")[0] if name else None

    def _is_initialized_test(self, test: cst.BaseExpression) -> bool:
        if isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.And):
            return self._is_initialized_test(test.left)
        if not (isinstance(test, cst.Call) and not test.args):
            return False
        dotted = _full_name(test.func)
        return bool(dotted) and _is_initialized_name(self._qualify(dotted))

    def _is_type_checking_test(self, test: cst.BaseExpression) -> bool:
        if isinstance(test, cst.Name):
            return test.value in self.type_checking_names
        if isinstance(test, cst.Attribute):
            return test.attr.value == "TYPE_CHECKING" and isinstance(test.value, cst.Name)
        if isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.And):
            # `TYPE_CHECKING and X` is false at run time; `TYPE_CHECKING or X` is not.
            return self._is_type_checking_test(test.left) or self._is_type_checking_test(
                test.right
            )
        return False

    # -- imports

    def _import(self, node: cst.BaseSmallStatement, ctx: _Context) -> None:
        self.import_nodes.append(node)
        lazy = isinstance(node, _LAZY_NODES)
        if isinstance(node, (cst.Import, cst.LazyImport)):
            for alias in node.names:
                name = _full_name(alias.name)
                if not name:
                    continue
                self._add_site(node, name, (), SiteKind.IMPORT, ctx, lazy)
                if ctx.execution is Execution.EAGER and ctx.scope != "function" and not lazy:
                    bound = _alias_name(alias)
                    self._bind(bound or name.partition(".")[0], name if bound else name.partition(".")[0], ctx)
            return
        assert isinstance(node, (cst.ImportFrom, cst.LazyImportFrom))
        module = self._resolve_from_module(node)
        if module is None:
            return
        if isinstance(node.names, cst.ImportStar):
            names: tuple[str, ...] = ("*",)
        else:
            names = tuple(_ident(alias.name.value) for alias in node.names if isinstance(alias.name, cst.Name))
        self._add_site(node, module, names, SiteKind.FROM, ctx, lazy)
        if module == "__future__" and not isinstance(node.names, cst.ImportStar):
            if any(isinstance(a.name, cst.Name) and a.name.value == "annotations" for a in node.names):
                self.future_annotations = True
        if ctx.execution is Execution.EAGER and ctx.scope != "function" and not lazy:
            if isinstance(node.names, cst.ImportStar) and ctx.scope == "module":
                self.star_imported = True
            if module in _TYPING_MODULES and not isinstance(node.names, cst.ImportStar):
                for alias in node.names:
                    if alias.name.value == "TYPE_CHECKING":  # type: ignore[union-attr]
                        self.type_checking_names.add(_alias_name(alias) or "TYPE_CHECKING")
            if not isinstance(node.names, cst.ImportStar):
                for alias in node.names:
                    if isinstance(alias.name, cst.Name):
                        imported = _ident(alias.name.value)
                        self._bind(_alias_name(alias) or imported, f"{module}.{imported}", ctx)

    def _bind(self, name: str, target: str, ctx: _Context) -> None:
        # `try: from a import f` / `except ImportError: from b import f`: f is a.f whenever
        # the try body succeeds; a handler's binding counts only for a name still unbound.
        if not (ctx.fallback and name in self.bindings):
            self.bindings[name] = target

    def _resolve_from_module(self, node: Union[cst.ImportFrom, cst.LazyImportFrom]) -> Optional[str]:
        written = _full_name(node.module) if node.module is not None else ""
        level = len(node.relative)
        if level == 0:
            return written
        resolved = self._resolve_relative(level, written or "")
        if resolved is None:
            dots = "." * level
            self.pending_problems.append(
                _PendingProblem(
                    node,
                    self.top,
                    RELATIVE_BEYOND_TOP,
                    f"relative import `from {dots}{written or ''} import …` goes beyond the "
                    f"top-level package of `{self.module_name}`",
                )
            )
        return resolved

    def _resolve_relative(self, level: int, name: str) -> Optional[str]:
        if not self.package:
            return None
        parts = self.package.split(".")
        if level - 1 >= len(parts):
            return None
        base = ".".join(parts[: len(parts) - (level - 1)])
        return f"{base}.{name}" if name else base

    def _add_site(
        self,
        node: cst.CSTNode,
        module: str,
        names: tuple[str, ...],
        kind: SiteKind,
        ctx: _Context,
        lazy_keyword: bool = False,
    ) -> None:
        self.sites.append(_PendingSite(node, self.top, module, names, kind, ctx, lazy_keyword))

    # -- module-level names that change meaning

    def _note_module_assignment(self, small: cst.BaseSmallStatement, ctx: _Context) -> None:
        self._note_alias(small, fallback=ctx.fallback)
        if isinstance(small, cst.AnnAssign) and small.value is None and isinstance(small.target, cst.Name):
            annotation = small.annotation.annotation
            written = _literal_string(annotation) if isinstance(annotation, cst.SimpleString) else _full_name(annotation)
            declared = self._qualify(written) if written and all(p.isidentifier() for p in written.split(".")) else None
            if declared is not None:
                self.declared[_ident(small.target.value)] = declared
        if isinstance(small, cst.Assign) and len(small.targets) == 1:
            target = small.targets[0].target
            value = small.value
            augment = False
        elif isinstance(small, cst.AnnAssign) and small.value is not None:
            target, value, augment = small.target, small.value, False
        elif isinstance(small, cst.AugAssign) and isinstance(small.operator, cst.AddAssign):
            target, value, augment = small.target, small.value, True
        else:
            return
        if not isinstance(target, cst.Name):
            return
        strings = _literal_strings(value)
        if strings is None:
            return
        if target.value == "__all__":
            self.exports = (self.exports or ()) + strings if augment else strings
        elif target.value == "__lazy_modules__":
            self.lazy_modules.update(strings)

    def _note_alias(self, small: cst.BaseSmallStatement, prefix: str = "", fallback: bool = False) -> None:
        """`f = torch.cuda.is_available` makes `f()` that call, and so do wrappers that run
        the function they wrap (`f = functools.partial(g, 1)`,
        `f = lru_cache(maxsize=1)(partial(g, ...))`); `p = Platform()` makes `p.m()` the
        class's method (`instances`, graph/names.py); `t = torch.zeros(1)` makes `t` a
        module-level tensor (`t.cuda()`). `a = b = value` binds each name. In a class
        body (`prefix` "Cls.") the names are the class's attributes."""
        if isinstance(small, cst.Assign):
            targets = [item.target for item in small.targets]
            value = small.value
        elif isinstance(small, cst.AnnAssign) and small.value is not None:
            targets, value = [small.target], small.value
        else:
            return
        names = [prefix + _ident(target.value) for target in targets if isinstance(target, cst.Name)]
        if fallback:  # in an except handler: what the try body bound stays (see _bind)
            names = [name for name in names if name not in self.bindings]
        if not names:
            return
        for name in names:
            self.tensors.discard(name)
            self.instances.pop(name, None)
        qualified = self._runs(value)
        if qualified is not None:
            for name in names:
                if qualified != f"{self.module_name}.{name}":
                    self.bindings[name] = qualified
            return
        if prefix:
            return  # an instance held by a class attribute is not followed
        if isinstance(value, cst.Call):
            called = _full_name(value.func)
            produced = self._qualify(called) if called else None
            if produced is None or produced.partition(".")[0] in _STDLIB:
                return
            for name in names:
                self.instances[name] = produced
                if produced.startswith("torch.") and produced.count(".") == 1:
                    self.tensors.add(name)

    def _runs(self, value: cst.BaseExpression, depth: int = 0) -> Optional[str]:
        """The qualified function a call of `value` runs, when `value` names one or
        wraps one in a wrapper that calls it (functools.partial, cache, lru_cache, wraps);
        of `a if test else b`, the first alternative (an approximation: the other is not kept)."""
        if isinstance(value, (cst.Name, cst.Attribute)):
            dotted = _full_name(value)
            return self._qualify(dotted) if dotted else None
        if isinstance(value, cst.IfExp) and depth <= 8:
            # `A if nvml_available else B`: the first alternative, what runs when the test holds
            return self._runs(value.body, depth + 1)
        if not isinstance(value, cst.Call) or depth > 8:
            return None
        dotted = _getattr_name(value)
        if dotted is not None:
            return self._qualify(dotted)
        func = value.func
        wrapper = func.func if isinstance(func, cst.Call) else func  # `lru_cache(maxsize=1)(g)`
        named = _full_name(wrapper) if isinstance(wrapper, (cst.Name, cst.Attribute)) else None
        kind = _WRAPPERS.get(self._qualify(named) or "") if named else None
        applied = isinstance(func, cst.Call)  # the wrapper a factory returned, applied to the function
        if kind is None or (kind == "direct" and applied) or (kind == "factory" and not applied):
            return None
        positional = [arg.value for arg in value.args if arg.keyword is None and not arg.star]
        return self._runs(positional[0], depth + 1) if positional else None

    def _note_environ(self, small: cst.BaseSmallStatement, ctx: _Context) -> None:
        """`os.environ["K"] = "V"` and `os.environ.setdefault("K", "V")`, unconditional."""
        if ctx.conditional:
            return
        key = value = None
        if isinstance(small, cst.Assign) and len(small.targets) == 1:
            target = small.targets[0].target
            if isinstance(target, cst.Subscript) and len(target.slice) == 1:
                index = target.slice[0].slice
                base = _full_name(target.value)
                if isinstance(index, cst.Index) and base and self._qualify(base) == "os.environ":
                    key, value = _literal_string(index.value), _literal_string(small.value)
        elif isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
            call = small.value
            func = _full_name(call.func)
            if func and self._qualify(func) == "os.environ.setdefault" and len(call.args) == 2:
                key, value = _literal_string(call.args[0].value), _literal_string(call.args[1].value)
        if key is not None and value is not None:
            self.pending_environ.append(_PendingNote(small, self.top, "", key, value))

    # -- expressions executed at import time

    def _scan(self, node: cst.CSTNode, ctx: _Context) -> None:
        _ExpressionScanner(self, ctx).scan(node)

    def _decorators(self, decorators: Sequence[cst.Decorator], ctx: _Context) -> None:
        """A decorator's expression runs, and then the decorator itself is called with
        the function or class (`@deco` runs `deco(func)`)."""
        for decorator in decorators:
            first = len(self.calls)
            self._scan(decorator, ctx)
            expression = decorator.decorator
            # `@factory(...)` (also `@factory(...) if c else other`): what the call returns
            # is called with the function; the call's own site says so (a summary may need
            # it applied: torch.compile).
            factories = {id(node) for node in _decorator_calls(expression)}
            for pending in self.calls[first:] if factories else ():
                if id(pending.node) in factories:
                    pending.context = ctx.under(context="decorator")
                    if all(key != APPLIED for key, _ in pending.keywords):
                        pending.keywords = ((APPLIED, "1"), *pending.keywords)
            if isinstance(expression, (cst.Name, cst.Attribute)):
                dotted = _full_name(expression)
                if dotted:
                    self.calls.append(_PendingCall(expression, self.top, dotted, ctx.under(context="decorator")))

    def _scan_annotation(self, annotation: Optional[cst.Annotation], ctx: _Context) -> None:
        # Not evaluated under `from __future__ import annotations`; evaluated at
        # definition on Python < 3.14, deferred (PEP 649) on 3.14+: the call site says so.
        if annotation is not None and not self.future_annotations:
            self._scan(annotation, ctx.under(context="annotation"))

    def _scan_parameter_annotations(self, function: cst.FunctionDef, ctx: _Context) -> None:
        params = function.params
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            self._scan_annotation(param.annotation, ctx)
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                self._scan_annotation(star.annotation, ctx)
        self._scan_annotation(function.returns, ctx)

    def _scan_parameter_defaults(self, params: cst.Parameters, ctx: _Context) -> None:
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            if param.default is not None:
                self._scan(param.default, ctx)

    def record_call(self, call: cst.Call, ctx: _Context) -> None:
        func = call.func
        if isinstance(func, cst.Call):  # `f(...)(x)`: what f returns is applied at once
            self.applied_calls.add(id(func))
        dotted = _full_name(func)
        fixed = False
        if isinstance(func, cst.Call):
            dotted = _getattr_name(func)
        elif isinstance(func, cst.Attribute) and func.attr.value in ("cuda", "to"):
            receiver = func.value
            if isinstance(receiver, cst.Name) and receiver.value in self.tensors:
                dotted, fixed = f"torch.Tensor.{func.attr.value}", True
            elif isinstance(receiver, cst.Call):
                inner = _full_name(receiver.func)
                dotted = f"{inner}{TENSOR_METHOD}{func.attr.value}" if inner else None
        if not dotted:
            return
        device = _cuda_device(next((a.value for a in call.args if a.keyword and a.keyword.value == "device"), None),
                              self.devices)
        if not device and dotted.endswith(".to") and call.args and call.args[0].keyword is None:
            device = _cuda_device(call.args[0].value, self.devices)
        keywords = _keywords(call)
        if id(call) in self.applied_calls:
            keywords = ((APPLIED, "1"), *keywords)
        self.calls.append(_PendingCall(call, self.top, dotted, ctx, device, fixed, keywords))
        if ctx.execution is Execution.EAGER and dotted in _EXEC_CALLS and "exec" not in self.bindings:
            self.pending_notes.append(
                _PendingNote(call, self.top, "`exec()` runs code from a string at import: "
                             "importguard cannot follow the imports or calls in it")
            )

    # -- results

    def _qualify(self, dotted: str) -> Optional[str]:
        if TENSOR_METHOD in dotted:  # `torch.zeros(1).cuda()`: a method of a torch tensor
            head, _, method = dotted.partition(TENSOR_METHOD)
            produced = self._qualify(head)
            if produced is not None and produced.startswith("torch.") and produced.count(".") == 1:
                return f"torch.Tensor.{method}"
            return None
        root, _, rest = dotted.partition(".")
        if root in self.bindings:
            base = self.bindings[root]
            return f"{base}.{rest}" if rest else base
        if root in self.module_names:
            return f"{self.module_name}.{dotted}"
        if rest and root in self.instances and root not in self.tensors \
                and self.instances[root].partition(".")[0] == self.module_name.partition(".")[0]:
            # A method of an object this module made from its own package's class or factory
            # (`p = CudaPlatform(); p.m()`): graph/names.py follows `instances`. Objects of
            # library classes stay unrecorded, as before.
            return f"{self.module_name}.{dotted}"
        if dotted in ("__import__", "exec"):
            return dotted
        if self.star_imported and root not in _BUILTINS and root not in ("self", "cls", "super"):
            # Maybe bound by the star import: graph/names.py looks `module.root` up there.
            return f"{self.module_name}.{dotted}"
        return None

    def _qualify_pending(self, call: _PendingCall) -> Optional[str]:
        return call.dotted if call.fixed else self._qualify(call.dotted)

    def _finish(self, raw: RawCall) -> Optional[str]:
        if TENSOR_METHOD in raw.dotted and raw.resolution == QUALIFIED:
            head, _, method = raw.dotted.partition(TENSOR_METHOD)
            return f"torch.Tensor.{method}" if head.startswith("torch.") and head.count(".") == 1 else None
        if raw.resolution == QUALIFIED:
            return raw.dotted
        if raw.resolution == LOCAL:
            return f"{self.module_name}.{raw.dotted}"
        return self._qualify(raw.dotted)

    def keeps_call(self, dotted: str, resolution: str) -> bool:
        """Whether function_facts keeps a call in a function body of this raw name (once
        the module-level walk is done, which decides it)."""
        return self._kept_name(dotted, resolution) is not None

    def _kept_name(self, dotted: str, resolution: str) -> Optional[str]:
        """The name of a call in a function body, or None: left out."""
        key = (dotted, resolution)
        names = self._kept_names
        if key in names:
            return names[key]
        name = self._finish(RawCall(dotted, resolution, 0, 0, 0))
        if name is not None and name.partition(".")[0] in _STDLIB:
            name = None
        names[key] = name
        return name

    def function_facts(self, bodies: Optional[FunctionCalls]) -> tuple[FunctionFacts, ...]:
        if bodies is None:
            return ()
        kept_name = self._kept_name
        functions = []
        for raw in bodies.functions:
            # One occurrence per condition and keywords: which of them runs is the profile's
            # to decide, and a summary's effect may depend on the keywords.
            chosen: dict[tuple[Any, ...], tuple[tuple[bool, int], str, bool, RawCall]] = {}
            for call in raw.calls:
                name = kept_name(call.dotted, call.resolution)
                if name is None:
                    continue
                guarded = False
                if call.guard:
                    guard = self._finish(RawCall(call.guard, call.guard_resolution, 0, 0, 0))
                    guarded = _is_initialized_name(guard)
                key = (name, call.device, call.condition, call.keywords)
                rank = (guarded, 0 if not call.conditional else 1 if call.right_of_and else 2)
                known = chosen.get(key)
                # Keep the occurrence most likely to run: unguarded, then unconditional, then right of `and`.
                if known is None or known[0] > rank:
                    chosen[key] = (rank, name, guarded, call)
            # An unguarded occurrence on every path makes the others redundant.
            plain = {(n, d, k) for (n, d, c, k), (_, _, guarded, _) in chosen.items() if not c and not guarded}
            kept = [
                CallSite(name, call.line, call.column, call.end_line, call.conditional, guarded=guarded,
                         device=call.device, context=RIGHT_OF_AND if call.right_of_and else "",
                         condition=call.condition, keywords=call.keywords)
                for (n, d, c, k), (_, name, guarded, call) in chosen.items() if not c or (n, d, k) not in plain
            ]
            ordered = sorted(kept, key=lambda c: (c.line, c.column, c.name))
            bases = tuple(base for base in map(self._finish, raw.bases) if base is not None)
            returned = {None if call is None else self._finish(call) for call in raw.returns}
            returns = next(iter(returned)) if len(returned) == 1 else None
            functions.append(FunctionFacts(raw.name, raw.line, tuple(ordered), raw.is_class, bases=bases,
                                           returns=returns or "", environ=tuple(raw.environ),
                                           imports=tuple(raw.imports), hands_back=_one(raw.hands_back)))
        return tuple(functions)

    def environ_settings(self, positions: "Positions") -> tuple[tuple[str, str, int], ...]:
        return tuple((n.key, n.value, positions.of(n.node)[0]) for n in self.pending_environ)

    def notes(self, positions: "Positions") -> tuple[tuple[int, str], ...]:
        return tuple(sorted((positions.of(n.node)[0], n.text) for n in self.pending_notes))

    def position_targets(self) -> list[tuple[tuple[int, int], cst.CSTNode]]:
        """(where, as `top` says, node) of every node that becomes a site."""
        targets: list[tuple[tuple[int, int], cst.CSTNode]] = [(site.top, site.node) for site in self.sites]
        targets += [(call.top, call.node) for call in self.calls if self._qualify_pending(call)]
        targets += [(problem.top, problem.node) for problem in self.pending_problems]
        targets += [(note.top, note.node) for note in (*self.pending_notes, *self.pending_environ)]
        return targets

    def import_sites(self, positions: "Positions") -> tuple[ImportSite, ...]:
        sites: list[ImportSite] = []
        for pending in self.sites:
            execution = pending.context.execution
            if pending.lazy_keyword or self._listed_lazy(pending):
                execution = Execution.DEFERRED
            line, column, end_line = positions.of(pending.node)
            sites.append(
                ImportSite(
                    module=pending.module,
                    names=pending.names,
                    line=line,
                    column=column,
                    end_line=end_line,
                    execution=execution,
                    kind=pending.kind,
                    conditional=pending.context.conditional and execution is Execution.EAGER,
                    condition=pending.context.condition if execution is Execution.EAGER else "",
                )
            )
        for pending_call in self.calls:
            sites.extend(self._dynamic_sites(pending_call, positions))
        sites.sort(key=lambda s: (s.line, s.column, s.module, s.names))
        return tuple(sites)

    def _listed_lazy(self, site: _PendingSite) -> bool:
        # PEP 810: `__lazy_modules__` makes plain module-scope imports of the listed
        # modules lazy; imports inside try/with blocks, classes and functions stay as is.
        return (
            site.kind in (SiteKind.IMPORT, SiteKind.FROM)
            and site.module in self.lazy_modules
            and site.context.scope == "module"
            and not site.context.in_try_or_with
            and site.context.execution is Execution.EAGER
        )

    def _dynamic_sites(self, call: _PendingCall, positions: "Positions") -> list[ImportSite]:
        qualified = self._qualify_pending(call)
        if qualified is None or not isinstance(call.node, cst.Call) or call.context.context:
            return []
        modules: list[str] = []
        kind = SiteKind.DYNAMIC
        execution = call.context.execution
        if qualified in _DYNAMIC_IMPORT_CALLS:
            target = self._dynamic_target(call.node)
            if target:
                modules.append(target)
        elif qualified in _LAZY_ATTACH_CALLS:
            kind = SiteKind.LAZY_ATTACH
            execution = Execution.DEFERRED
            modules.extend(self._lazy_attach_targets(call.node))
        if not modules:
            return []
        line, column, end_line = positions.of(call.node)
        conditional = call.context.conditional and execution is Execution.EAGER
        return [
            ImportSite(module, (), line, column, end_line, execution, kind, conditional,
                       call.context.condition if conditional else "")
            for module in modules
        ]

    def _dynamic_target(self, call: cst.Call) -> Optional[str]:
        if not call.args:
            return None
        name = _literal_string(call.args[0].value)
        if name is None:
            return None
        if not name.startswith("."):
            return name
        package_arg = next(
            (a.value for a in call.args[1:] if a.keyword is None or a.keyword.value == "package"),
            None,
        )
        if not (isinstance(package_arg, cst.Name) and package_arg.value in ("__package__", "__name__")):
            return None
        level = len(name) - len(name.lstrip("."))
        if package_arg.value == "__name__" and self.package != self.module_name:
            return None  # __name__ of a plain module is not a package
        return self._resolve_relative(level, name.lstrip("."))

    def _lazy_attach_targets(self, call: cst.Call) -> list[str]:
        if not call.args:
            return []
        first = call.args[0].value
        if not (isinstance(first, cst.Name) and first.value == "__name__"):
            return []
        targets: list[str] = []
        for arg in call.args[1:]:
            keyword = arg.keyword.value if arg.keyword is not None else None
            if keyword == "submodules":
                targets += list(_literal_strings(arg.value) or ())
            elif keyword == "submod_attrs" and isinstance(arg.value, cst.Dict):
                for element in arg.value.elements:
                    if isinstance(element, cst.DictElement):
                        key = _literal_string(element.key)
                        if key:
                            targets.append(key)
        return [f"{self.module_name}.{t}" for t in sorted(set(targets))]

    def call_sites(self, positions: "Positions") -> tuple[CallSite, ...]:
        sites = []
        for call in self.calls:
            if call.context.execution is not Execution.EAGER:
                continue
            qualified = self._qualify_pending(call)
            if qualified is None or qualified in _DYNAMIC_IMPORT_CALLS or qualified in _EXEC_CALLS:
                continue
            line, column, end_line = positions.of(call.node)
            ctx = call.context
            sites.append(CallSite(qualified, line, column, end_line, ctx.conditional, ctx.guarded,
                                  call.device, ctx.context, condition=ctx.condition, keywords=call.keywords))
        sites.sort(key=lambda c: (c.line, c.column, c.name))
        return tuple(sites)

    def problems(self, positions: "Positions") -> Iterable[Problem]:
        for pending in self.pending_problems:
            line, column, _ = positions.of(pending.node)
            yield Problem(pending.code, pending.message, line, column)


class _ExpressionScanner:
    """Finds calls in code that runs at import time. Lambda bodies and nested
    function definitions do not run then.

    Walks the dataclass fields of each node itself: a `CSTVisitor` rebuilds every node
    it passes through (`_visit_and_replace_children`), which made scanning cost a
    quarter of the collector's time. Calls are sorted by position afterwards, so the
    order of the walk does not matter."""

    def __init__(self, walker: _Walker, ctx: _Context) -> None:
        self.walker = walker
        self.ctx = ctx
        self._deferred_ctx: Optional[_Context] = None
        self.consumed: set[int] = set()
        self.open_chains = 0  # `and`/`or` operations this scan is inside the left operand of

    @property
    def deferred_ctx(self) -> _Context:
        if self._deferred_ctx is None:  # few scans meet a lambda or a generator
            self._deferred_ctx = self.ctx.deferred().under(scope=self.ctx.scope)
        return self._deferred_ctx

    def scan(self, node: cst.CSTNode, in_lambda: bool = False) -> None:
        # LibCST's node classes have no subclasses: `type(node) is` is isinstance here.
        kind = type(node)
        if kind is cst.Call:
            self.walker.record_call(node, self.deferred_ctx if in_lambda else self.ctx)  # type: ignore[arg-type]
            if _consumes(node):  # type: ignore[arg-type]  # `any(f() for x in xs)` runs f() right away
                for arg in node.args:  # type: ignore[attr-defined]
                    if isinstance(arg.value, cst.GeneratorExp):
                        self.consumed.add(id(arg.value))
        elif kind is cst.Lambda:
            # Default values are evaluated where the lambda is; its body when called.
            self.scan(node.params, in_lambda)  # type: ignore[attr-defined]
            self.scan(node.body, True)  # type: ignore[attr-defined]
            return
        elif kind is cst.GeneratorExp and id(node) not in self.consumed:
            # Only the first iterable is evaluated where a generator is created.
            self.scan(node.for_in.iter, in_lambda)  # type: ignore[attr-defined]
            self.scan(node.elt, True)  # type: ignore[attr-defined]
            self.scan(node.for_in, True)  # type: ignore[attr-defined]
            return
        elif kind is cst.IfExp and not self.ctx.conditional:
            # `a if test() else b()`: each branch runs where its test says, which the
            # profile decides as for an `if` (`"cuda" if is_cuda_alike() else probe()`)
            self.scan(node.test, in_lambda)  # type: ignore[attr-defined]
            body_terms, else_terms = self.walker._branch_terms(node.test)  # type: ignore[attr-defined]
            _ExpressionScanner(self.walker, self.ctx.on_branch(body_terms)).scan(node.body, in_lambda)  # type: ignore[attr-defined]
            _ExpressionScanner(self.walker, self.ctx.on_branch(else_terms)).scan(node.orelse, in_lambda)  # type: ignore[attr-defined]
            return
        elif kind is cst.BooleanOperation:
            # `a() and b()`: b() runs only when a() is true (`or`: when false), on some
            # paths, and never where the profile rules out a() being true (false). The
            # gate reads the left operand's source, so only the outermost levels of a
            # chain read it: `a and b and ...` nests to the left, and reading every
            # level's left costs a chain of n operands n**2 (100 s at 3,000).
            gate = self.walker._operand_gate(node) if self.open_chains < _GATED_LEVELS else []  # type: ignore[arg-type]
            self.open_chains += 1
            self.scan(node.left, in_lambda)  # type: ignore[attr-defined]
            self.open_chains -= 1
            if gate:
                right = self.ctx.on_branch((*gate, conditions.UNKNOWN))
            else:
                right = self.ctx.under(conditional=True)
            _ExpressionScanner(self.walker, right).scan(node.right, in_lambda)  # type: ignore[attr-defined]
            return
        elif kind in _NOT_RUN_AT_IMPORT:
            return
        # A node without fields to walk (a leaf, _LEAVES), or a value that is no node,
        # holds no call: not scanned.
        for name in _child_fields(kind):
            value = getattr(node, name)
            if type(value) in _SEQUENCES:
                for item in value:
                    if _child_fields(type(item)):
                        self.scan(item, in_lambda)
            elif _child_fields(type(value)):
                self.scan(value, in_lambda)


_SEQUENCES = frozenset({list, tuple})
_GATED_LEVELS = 16  # of one `and`/`or` chain: its last 16 operands get the gate of those before them
_NOT_RUN_AT_IMPORT = frozenset({cst.FunctionDef, cst.ClassDef})
# Whitespace, comments and tokens never hold a call.
_LEAVES = (
    cst.BaseParenthesizableWhitespace, cst.Comment, cst.EmptyLine, cst.Newline,
    cst.TrailingWhitespace, cst.Name, cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString,
)


class _Fields(dict):  # type -> the names of its fields to walk; a dict lookup when known
    # (isinstance against LibCST's classes goes through ABCMeta: slow in a hot loop)
    def __missing__(self, node_type: type) -> tuple[str, ...]:
        walked = issubclass(node_type, cst.CSTNode) and not issubclass(node_type, _LEAVES)
        names = tuple(f.name for f in fields(node_type)) if walked else ()
        self[node_type] = names
        return names


_FIELDS = _Fields()
_child_fields = _FIELDS.__getitem__


# ----------------------------------------------------------------------------- helpers


def _chain_levels(operation: cst.BooleanOperation) -> list[cst.BooleanOperation]:
    """`operation` and the levels of its chain below it, outermost first: LibCST nests
    `a and b and c` to the left; a parenthesized left side, or one of the other operator,
    is an operand (as `ast` keeps it one)."""
    levels = [operation]
    operator = type(operation.operator)
    node = operation.left
    while type(node) is cst.BooleanOperation and type(node.operator) is operator and not node.lpar:  # type: ignore[attr-defined]
        levels.append(node)  # type: ignore[arg-type]
        node = node.left  # type: ignore[attr-defined]
    return levels


def _through_ast(expression: cst.BaseExpression) -> tuple[str, Optional[ast.expr]]:
    """An expression's source, and `ast`'s tree of it (None where `ast` refuses it)."""
    source = _EMPTY_MODULE.code_for_node(expression).strip()
    try:
        return source, ast.parse(f"({source})", mode="eval").body
    except (SyntaxError, ValueError, RecursionError):
        return source, None


def _ident(text: str) -> str:
    """Python binds identifiers NFKC-normalised: `ｉｓ_cuda` is `is_cuda` (ast does this;
    LibCST keeps the text as written)."""
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


def _full_name(node: cst.CSTNode) -> Optional[str]:
    name = _dotted(node)
    return _ident(name) if name else name


def _dotted(node: cst.CSTNode) -> Optional[str]:
    """get_full_name_for_node, at less cost for the names and attribute chains that most
    nodes given are."""
    kind = type(node)
    if kind is cst.Name:
        return node.value  # type: ignore[attr-defined]
    if kind is cst.Attribute:
        base = _dotted(node.value)  # type: ignore[attr-defined]
        return f"{base}.{node.attr.value}" if base else get_full_name_for_node(node)  # type: ignore[attr-defined]
    return get_full_name_for_node(node)


def _alias_name(alias: cst.ImportAlias) -> Optional[str]:
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return _ident(alias.asname.name.value)
    return None


def _never_true(test: cst.BaseExpression) -> bool:
    """`False` or `0`, written as such: dead code."""
    if isinstance(test, cst.Name):
        return test.value == "False"
    return isinstance(test, cst.Integer) and test.value in ("0", "0x0", "0o0", "0b0")


def _is_initialized_name(name: Optional[str]) -> bool:
    """`torch.cuda.is_initialized`, or a torch.cuda submodule's re-export of it."""
    return name is not None and (
        name == _IS_INITIALIZED or (name.startswith("torch.cuda.") and name.endswith(".is_initialized"))
    )


def _consumes(call: cst.Call) -> bool:
    func = call.func
    if isinstance(func, cst.Name):
        return func.value in _CONSUMERS
    return isinstance(func, cst.Attribute) and func.attr.value == "join"


def _getattr_name(call: cst.Call) -> Optional[str]:
    """`getattr(torch.cuda, "is_available")` -> "torch.cuda.is_available"."""
    if not (isinstance(call.func, cst.Name) and call.func.value == "getattr" and len(call.args) == 2):
        return None
    base = _full_name(call.args[0].value)
    attribute = _literal_string(call.args[1].value)
    if not base or attribute is None or not attribute.isidentifier():
        return None
    return f"{base}.{attribute}"


def _decorator_calls(expression: cst.BaseExpression) -> list[cst.Call]:
    """The calls whose result a decorator expression applies: the expression itself, or
    the branches of a conditional expression."""
    if isinstance(expression, cst.Call):
        return [expression]
    if isinstance(expression, cst.IfExp):
        return [*_decorator_calls(expression.body), *_decorator_calls(expression.orelse)]
    return []


def _keywords(call: cst.Call) -> tuple[tuple[str, str], ...]:
    """CallSite.keywords: a string literal's text, another literal's repr, else "*";
    the number of positional arguments first, when there are some."""
    found = []
    positional = 0
    for arg in call.args:
        if arg.star == "**":
            found.append(("**", "*"))
        elif arg.star == "*":
            found.append(("*", "*"))
        elif arg.keyword is None:
            positional += 1
        else:
            value = arg.value
            text = _literal_string(value)
            if text is None:
                if isinstance(value, cst.Name) and value.value in ("True", "False", "None"):
                    text = value.value
                elif isinstance(value, (cst.Integer, cst.Float)):
                    text = value.value
                else:
                    text = "*"
            found.append((arg.keyword.value, text))
    return ((POSITIONAL, str(positional)),) + tuple(found) if positional else tuple(found)


def _one(values: Sequence[Optional[str]]) -> str:
    """The value every entry has, "" when they differ, one is None, or there are none."""
    found = set(values)
    return next(iter(found)) or "" if len(found) == 1 else ""


def _cuda_device(node: Optional[cst.CSTNode], names: dict[str, str]) -> str:
    """"cuda" / "cuda:0" when `node` is that literal or `torch.device("cuda…")`, or a
    module-level name bound to one (function_calls.device_names)."""
    if isinstance(node, cst.Name):
        return names.get(node.value, "")
    if isinstance(node, cst.Call) and node.args:
        name = _full_name(node.func) or ""
        if name.endswith("device"):
            node = node.args[0].value
    value = _literal_string(node)
    return value if value is not None and (value == "cuda" or value.startswith("cuda:")) else ""


def _is_main_guard(test: cst.BaseExpression) -> bool:
    if isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.And):
        # `if __name__ == "__main__" and not ci():` runs only as a script too.
        return _is_main_guard(test.left) or _is_main_guard(test.right)
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return False
    target = test.comparisons[0]
    if not isinstance(target.operator, cst.Equal):
        return False
    sides = [test.left, target.comparator]
    names = {s.value for s in sides if isinstance(s, cst.Name)}
    strings = {_literal_string(s) for s in sides}
    return names == {"__name__"} and "__main__" in strings


def _literal_string(node: Optional[cst.CSTNode]) -> Optional[str]:
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def _literal_strings(node: cst.BaseExpression) -> Optional[tuple[str, ...]]:
    if not isinstance(node, (cst.List, cst.Tuple, cst.Set)):
        return None
    values = []
    for element in node.elements:
        value = _literal_string(element.value)
        if value is None:
            return None
        values.append(value)
    return tuple(values)
