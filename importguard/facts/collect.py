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

import io
import re
import tokenize
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Iterable, Optional, Sequence, Union

import libcst as cst
from libcst.helpers import get_full_name_for_node

from importguard.facts.comments import suppressions
from importguard.facts.positions import Positions
from importguard.facts.skeleton import Skeleton, import_time_skeleton
from importguard.model import (
    CallSite,
    Execution,
    ImportSite,
    ModuleFacts,
    Problem,
    SiteKind,
    SourceFile,
)

SYNTAX_ERROR = "IG900"
UNREADABLE = "IG901"
RELATIVE_BEYOND_TOP = "IG902"

_IMPORT_NODES = (cst.Import, cst.ImportFrom, cst.LazyImport, cst.LazyImportFrom)
_LAZY_NODES = (cst.LazyImport, cst.LazyImportFrom)
_DYNAMIC_IMPORT_CALLS = frozenset({"importlib.import_module", "__import__"})
_LAZY_ATTACH_CALLS = frozenset({"lazy_loader.attach"})
_TYPING_MODULES = frozenset({"typing", "typing_extensions"})


def collect_file(source: SourceFile) -> ModuleFacts:
    """Read and collect one file; unreadable files become an IG901 problem."""
    try:
        data = Path(source.path).read_bytes()
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
    if _nesting_exceeds(data, MAX_BRACKET_NESTING):
        return _failed(
            source,
            Problem(
                SYNTAX_ERROR,
                f"syntax error: brackets nested more than {MAX_BRACKET_NESTING} deep "
                "(Python's parser refuses this too)",
            ),
        )
    skeleton = import_time_skeleton(text) if reduce_bodies else None
    module = _parse_skeleton(skeleton)
    try:
        if module is None:
            module = cst.parse_module(data)
    except cst.ParserSyntaxError as error:
        message = f"syntax error: {error.message}".rstrip()
        return _failed(source, Problem(SYNTAX_ERROR, message, error.raw_line, error.raw_column + 1))
    except RecursionError:
        return _failed(source, Problem(SYNTAX_ERROR, "syntax error: too deeply nested to parse"))
    except (SyntaxError, ValueError) as error:  # e.g. NUL bytes rejected by the tokenizer
        return _failed(source, Problem(SYNTAX_ERROR, f"syntax error: {error}"))

    walker = _Walker(source.module, source.is_package)
    try:
        walker.walk_module(module)
        positions = Positions.compute(module, walker.position_targets(), skeleton, walker.import_nodes)
    except RecursionError:
        return _failed(source, Problem(SYNTAX_ERROR, "syntax error: too deeply nested to analyse"))

    return ModuleFacts(
        module=source.module,
        path=source.path,
        is_package=source.is_package,
        imports=walker.import_sites(positions),
        calls=walker.call_sites(positions),
        exports=walker.exports,
        suppressions=suppressions(text),
        problems=tuple(walker.problems(positions)),
    )


# CPython's parser refuses more than 200 nested brackets; LibCST's native parser
# overflows its stack (a segfault, not an exception) a few thousand deep.
MAX_BRACKET_NESTING = 200
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"()[]{}")
_INNERMOST_PAIR = re.compile(rb"\(\)|\[\]|\{\}")


def _nesting_exceeds(data: bytes, limit: int) -> bool:
    """Bracket depth, ignoring strings and comments (an upper bound that real code
    never gets near). Each pass strips the innermost pairs, so passes = depth."""
    brackets = data.translate(None, _NOT_BRACKETS)
    if len(brackets) <= 2 * limit:
        return False
    for _ in range(limit):
        reduced = _INNERMOST_PAIR.sub(b"", brackets)
        if len(reduced) == len(brackets):
            return False
        brackets = reduced
    return _INNERMOST_PAIR.search(brackets) is not None


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

    def under(self, **changes: object) -> "_Context":
        values = {
            "execution": self.execution,
            "conditional": self.conditional,
            "scope": self.scope,
            "in_try_or_with": self.in_try_or_with,
        }
        values.update(changes)
        return _Context(**values)  # type: ignore[arg-type]

    def deferred(self) -> "_Context":
        # Code under TYPE_CHECKING never runs, whether or not it is in a function.
        execution = (
            Execution.TYPE_CHECKING
            if self.execution is Execution.TYPE_CHECKING
            else Execution.DEFERRED
        )
        return self.under(execution=execution, scope="function")


@dataclass
class _PendingSite:
    node: cst.CSTNode
    top: int  # index of the top-level statement it is in
    module: str
    names: tuple[str, ...]
    kind: SiteKind
    context: _Context
    lazy_keyword: bool = False


@dataclass
class _PendingCall:
    node: cst.Call
    top: int
    dotted: str
    context: _Context


@dataclass
class _PendingProblem:
    node: cst.CSTNode
    top: int
    code: str
    message: str


# ----------------------------------------------------------------------------- walker


class _Walker:
    def __init__(self, module_name: str, is_package: bool) -> None:
        self.module_name = module_name
        self.package = module_name if is_package else module_name.rpartition(".")[0]
        self.sites: list[_PendingSite] = []
        self.calls: list[_PendingCall] = []
        self.pending_problems: list[_PendingProblem] = []
        self.bindings: dict[str, str] = {}  # local name -> qualified module/attribute
        self.type_checking_names: set[str] = {"TYPE_CHECKING"}
        self.lazy_modules: set[str] = set()
        self.exports: Optional[tuple[str, ...]] = None
        self.top = 0
        self.import_nodes: list[cst.BaseSmallStatement] = []  # in document order

    # -- statements

    def walk_module(self, module: cst.Module) -> None:
        for index, statement in enumerate(module.body):
            self.top = index
            self._walk_body((statement,), _Context())

    def _walk_body(self, body: Sequence[cst.BaseStatement], ctx: _Context) -> None:
        for statement in body:
            if isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    self._small_statement(small, ctx)
            else:
                self._compound_statement(statement, ctx)

    def _block(self, suite: cst.BaseSuite, ctx: _Context) -> None:
        if isinstance(suite, cst.IndentedBlock):
            self._walk_body(suite.body, ctx)
        else:  # SimpleStatementSuite: `if x: import y`
            for small in suite.body:
                self._small_statement(small, ctx)

    def _small_statement(self, small: cst.BaseSmallStatement, ctx: _Context) -> None:
        if isinstance(small, _IMPORT_NODES):
            self._import(small, ctx)
            return
        if ctx.scope == "module":
            self._note_module_assignment(small)
        if ctx.execution is Execution.EAGER:
            self._scan(small, ctx)

    def _compound_statement(self, statement: cst.BaseCompoundStatement, ctx: _Context) -> None:
        eager = ctx.execution is Execution.EAGER
        if isinstance(statement, cst.FunctionDef):
            if eager:
                for decorator in statement.decorators:
                    self._scan(decorator, ctx)
                self._scan_parameter_defaults(statement.params, ctx)
            self._block(statement.body, ctx.deferred())
        elif isinstance(statement, cst.ClassDef):
            if eager:
                for decorator in statement.decorators:
                    self._scan(decorator, ctx)
                for arg in (*statement.bases, *statement.keywords):
                    self._scan(arg, ctx)
            class_ctx = ctx if ctx.scope == "function" else ctx.under(scope="class")
            self._block(statement.body, class_ctx)
        elif isinstance(statement, cst.If):
            self._if(statement, ctx)
        elif isinstance(statement, (cst.Try, cst.TryStar)):
            guarded = ctx.under(conditional=True, in_try_or_with=True)
            self._block(statement.body, guarded)
            for handler in statement.handlers:
                if eager and handler.type is not None:
                    self._scan(handler.type, ctx)
                self._block(handler.body, guarded)
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
            loop_ctx = ctx.under(conditional=True)
            self._block(statement.body, loop_ctx)
            if statement.orelse is not None:
                self._block(statement.orelse.body, loop_ctx)
        elif isinstance(statement, cst.Match):
            if eager:
                self._scan(statement.subject, ctx)
            for case in statement.cases:
                self._block(case.body, ctx.under(conditional=True))

    def _if(self, statement: cst.If, ctx: _Context) -> None:
        test = statement.test
        if ctx.execution is Execution.EAGER:
            self._scan(test, ctx)
        if self._is_type_checking_test(test):
            body_ctx = ctx.under(execution=Execution.TYPE_CHECKING)
        elif _is_main_guard(test):
            # Runs only when the file is executed as a script, never on import.
            body_ctx = ctx.deferred().under(scope=ctx.scope)
        else:
            body_ctx = ctx.under(conditional=True)
        self._block(statement.body, body_ctx)
        orelse = statement.orelse
        if isinstance(orelse, cst.If):  # elif
            self._if(orelse, ctx.under(conditional=True))
        elif orelse is not None:
            self._block(orelse.body, ctx.under(conditional=True))

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
                name = get_full_name_for_node(alias.name)
                if not name:
                    continue
                self._add_site(node, name, (), SiteKind.IMPORT, ctx, lazy)
                if ctx.execution is Execution.EAGER and ctx.scope != "function" and not lazy:
                    bound = _alias_name(alias)
                    self.bindings[bound or name.partition(".")[0]] = (
                        name if bound else name.partition(".")[0]
                    )
            return
        assert isinstance(node, (cst.ImportFrom, cst.LazyImportFrom))
        module = self._resolve_from_module(node)
        if module is None:
            return
        if isinstance(node.names, cst.ImportStar):
            names: tuple[str, ...] = ("*",)
        else:
            names = tuple(alias.name.value for alias in node.names if isinstance(alias.name, cst.Name))
        self._add_site(node, module, names, SiteKind.FROM, ctx, lazy)
        if ctx.execution is Execution.EAGER and ctx.scope != "function" and not lazy:
            if module in _TYPING_MODULES and not isinstance(node.names, cst.ImportStar):
                for alias in node.names:
                    if alias.name.value == "TYPE_CHECKING":  # type: ignore[union-attr]
                        self.type_checking_names.add(_alias_name(alias) or "TYPE_CHECKING")
            if not isinstance(node.names, cst.ImportStar):
                for alias in node.names:
                    if isinstance(alias.name, cst.Name):
                        bound = _alias_name(alias) or alias.name.value
                        self.bindings[bound] = f"{module}.{alias.name.value}"

    def _resolve_from_module(self, node: Union[cst.ImportFrom, cst.LazyImportFrom]) -> Optional[str]:
        written = get_full_name_for_node(node.module) if node.module is not None else ""
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

    def _note_module_assignment(self, small: cst.BaseSmallStatement) -> None:
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

    # -- expressions executed at import time

    def _scan(self, node: cst.CSTNode, ctx: _Context) -> None:
        _ExpressionScanner(self, ctx).scan(node)

    def _scan_parameter_defaults(self, params: cst.Parameters, ctx: _Context) -> None:
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            if param.default is not None:
                self._scan(param.default, ctx)

    def record_call(self, call: cst.Call, ctx: _Context) -> None:
        dotted = get_full_name_for_node(call.func)
        if dotted:
            self.calls.append(_PendingCall(call, self.top, dotted, ctx))

    # -- results

    def _qualify(self, dotted: str) -> Optional[str]:
        root, _, rest = dotted.partition(".")
        if root in self.bindings:
            base = self.bindings[root]
            return f"{base}.{rest}" if rest else base
        if dotted == "__import__":
            return dotted
        return None

    def position_targets(self) -> list[tuple[int, cst.CSTNode]]:
        """(top-level statement index, node) of every node that becomes a site."""
        targets: list[tuple[int, cst.CSTNode]] = [(site.top, site.node) for site in self.sites]
        targets += [(call.top, call.node) for call in self.calls if self._qualify(call.dotted)]
        targets += [(problem.top, problem.node) for problem in self.pending_problems]
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
        qualified = self._qualify(call.dotted)
        if qualified is None:
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
            ImportSite(module, (), line, column, end_line, execution, kind, conditional)
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
            qualified = self._qualify(call.dotted)
            if qualified is None or qualified in _DYNAMIC_IMPORT_CALLS:
                continue
            line, column, end_line = positions.of(call.node)
            sites.append(CallSite(qualified, line, column, end_line, call.context.conditional))
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
        self.deferred_ctx = ctx.deferred().under(scope=ctx.scope)

    def scan(self, node: cst.CSTNode, in_lambda: bool = False) -> None:
        if isinstance(node, _NOT_RUN_AT_IMPORT):
            return
        if isinstance(node, cst.Call):
            self.walker.record_call(node, self.deferred_ctx if in_lambda else self.ctx)
        elif isinstance(node, cst.Lambda):
            in_lambda = True
        for name in _child_fields(type(node)):
            value = getattr(node, name)
            if isinstance(value, cst.CSTNode):
                self.scan(value, in_lambda)
            elif isinstance(value, (list, tuple)):
                for item in value:
                    if isinstance(item, cst.CSTNode):
                        self.scan(item, in_lambda)


_NOT_RUN_AT_IMPORT = (cst.FunctionDef, cst.ClassDef)
# Whitespace, comments and tokens never hold a call.
_LEAVES = (
    cst.BaseParenthesizableWhitespace, cst.Comment, cst.EmptyLine, cst.Newline,
    cst.TrailingWhitespace, cst.Name, cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString,
)
_FIELDS: dict[type, tuple[str, ...]] = {}


def _child_fields(node_type: type) -> tuple[str, ...]:
    names = _FIELDS.get(node_type)
    if names is None:
        names = () if issubclass(node_type, _LEAVES) else tuple(f.name for f in fields(node_type))
        _FIELDS[node_type] = names
    return names


# ----------------------------------------------------------------------------- helpers


def _alias_name(alias: cst.ImportAlias) -> Optional[str]:
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return alias.asname.name.value
    return None


def _is_main_guard(test: cst.BaseExpression) -> bool:
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
