"""The test of a branch, as data: the `condition` of a conditional site.

A condition is the conjunction of the tests of the branches a site sits in, each test a
*term*, joined by `AND` (" && ", which no Python test contains):
- `platform:rocm`: a known platform check (`current_platform.is_rocm()`, `is_hip()`,
  `torch.version.hip`, or a module-level name bound to one: `_is_hip = is_hip()`);
  `platform:cuda|rocm` for `is_cuda_alike()` or `_is_cuda or _is_hip`;
- `installed:flash_attn`: the module is importable (`find_spec("flash_attn") is not None`,
  or a name a module-level `try: import flash_attn` sets to True);
- `when:<source>`: any other test, by its source (named in messages; never decided);
- `env:[...]`: a test of an environment variable with the value the code reads when it
  is unset (`os.environ.get("X", "0") == "1"`, `int(os.getenv("LEVEL", "0")) >= 5`, `"X"
  in os.environ`, or a module-level name bound to such a read: `_LEVEL = int(...)`), as
  JSON: [name, default or null, conversions, operator or null, operand];
- `?`: a branch without a test (a loop, a handler, after an early return);
- `not <term>`: the `else` of a test, or `if not …:`.
The environment profile (importguard/profile.py) decides each term; this module only
reads syntax (`ast`, which both collectors can give), and imports nothing from importguard.
"""

from __future__ import annotations

import ast
import json
from typing import Any, Optional, Sequence

AND = " && "
UNKNOWN = "?"
NOT = "not "
PLATFORM = "platform:"
INSTALLED = "installed:"
WHEN = "when:"
ENV = "env:"
_MAX_SOURCE = 80  # longer tests are cut: the message names them, the profile cannot decide them

# The name of a zero-argument check (its last attribute: `current_platform.is_rocm()`,
# `sglang.srt.utils.is_hip()`) -> the platforms on which it is true.
PLATFORM_CHECKS: dict[str, tuple[str, ...]] = {
    "is_cuda": ("cuda",),
    "is_rocm": ("rocm",),
    "is_hip": ("rocm",),
    "is_cuda_alike": ("cuda", "rocm"),
    "is_xpu": ("xpu",),
    "is_cpu": ("cpu",),
    "is_tpu": ("tpu",),
    "is_npu": ("npu",),
    "is_hpu": ("hpu",),
    "is_musa": ("musa",),
    "is_neuron": ("neuron",),
}
# `torch.version.hip` is a string on ROCm builds of torch, None elsewhere; `.cuda` the reverse.
PLATFORM_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "torch.version.hip": ("rocm",),
    "torch.version.cuda": ("cuda",),
}
_FIND_SPEC = ("importlib.util.find_spec", "util.find_spec", "find_spec")
# `current_platform.device_type == "tpu"` (vLLM; its ROCm platform says "cuda" too).
DEVICE_TYPES: dict[str, tuple[str, ...]] = {
    "cuda": ("cuda", "rocm"), "tpu": ("tpu",), "xpu": ("xpu",), "cpu": ("cpu",), "hpu": ("hpu",), "npu": ("npu",),
}
# False at run time; `if TYPE_CHECKING:` itself never runs (collect.py), but it also
# appears as an operand (`if TYPE_CHECKING or not is_rocm():`) and as the test of an `else`.
NEVER = "never"
_TYPE_CHECKING = ("TYPE_CHECKING", "typing.TYPE_CHECKING")


def join(terms: Sequence[str]) -> str:
    found = dict.fromkeys(terms)
    found.pop("", None)
    return AND.join(found)


def split(condition: str) -> list[str]:
    return condition.split(AND) if condition else []


def negate(term: str) -> str:
    return term[len(NOT):] if term.startswith(NOT) else NOT + term


def dotted_name(node: ast.AST) -> Optional[str]:
    """`a.b.c` for an attribute chain on a name, else None."""
    kind = type(node)
    if kind is ast.Name:  # most often
        return node.id  # type: ignore[attr-defined]
    parts = []
    while kind is ast.Attribute:
        parts.append(node.attr)  # type: ignore[attr-defined]
        node = node.value  # type: ignore[attr-defined]
        kind = type(node)
    if kind is ast.Name:
        parts.append(node.id)  # type: ignore[attr-defined]
        parts.reverse()
        return ".".join(parts)
    return None


def _platforms(term: str) -> Optional[set[str]]:
    return set(term[len(PLATFORM):].split("|")) if term.startswith(PLATFORM) else None


def _platform_term(platforms: set[str]) -> str:
    return PLATFORM + "|".join(sorted(platforms))


def known_term(test: ast.expr, names: dict[str, str]) -> Optional[str]:
    """The term of a test the profile can decide, or None."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = known_term(test.operand, names)
        return None if inner is None else negate(inner)
    if isinstance(test, ast.Call) and not test.args and not test.keywords:
        dotted = dotted_name(test.func)
        if dotted is not None and dotted.rpartition(".")[2] in PLATFORM_CHECKS:
            return _platform_term(set(PLATFORM_CHECKS[dotted.rpartition(".")[2]]))
    term = env_term(test, names)
    if term is not None:
        return term
    dotted = dotted_name(test)
    if dotted in _TYPE_CHECKING:
        return NEVER
    if isinstance(test, ast.Name):
        return names.get(test.id)
    if dotted in PLATFORM_ATTRIBUTES:
        return _platform_term(set(PLATFORM_ATTRIBUTES[dotted]))
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.Or):
        # Each operand's term once: operands nest (`not (a or not (b or …))` in generated
        # code), and reading one twice per level is exponential in the depth.
        return or_term([known_term(v, names) for v in test.values])
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], (ast.Eq, ast.NotEq)) \
            and (dotted_name(test.left) or "").endswith(".device_type") and isinstance(test.comparators[0], ast.Constant) \
            and test.comparators[0].value in DEVICE_TYPES:
        term = _platform_term(set(DEVICE_TYPES[test.comparators[0].value]))
        return term if isinstance(test.ops[0], ast.Eq) else negate(term)
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.comparators[0], ast.Constant) \
            and test.comparators[0].value is None and isinstance(test.ops[0], (ast.Is, ast.IsNot)):
        module = _found_spec(test.left)
        if module is not None:
            term = INSTALLED + module
            return term if isinstance(test.ops[0], ast.IsNot) else negate(term)
        if dotted_name(test.left) in PLATFORM_ATTRIBUTES:  # `torch.version.hip is not None`
            term = _platform_term(set(PLATFORM_ATTRIBUTES[dotted_name(test.left) or ""]))
            return term if isinstance(test.ops[0], ast.IsNot) else negate(term)
    return None


def or_term(operand_terms: Sequence[Optional[str]]) -> Optional[str]:
    """known_term of `a or b or …` from its operands' known_term: `_is_cuda or _is_hip`
    is one platform term when every operand is one; an operand that is never true
    (TYPE_CHECKING) drops out."""
    terms = [term for term in operand_terms if term != NEVER]
    if len(terms) == 1:
        return terms[0]
    found: set[str] = set()
    for term in terms:
        platforms = _platforms(term) if term else None
        if platforms is None:
            return None
        found |= platforms
    return _platform_term(found) if found else NEVER


def chain_gates(operands: Sequence[ast.expr], is_and: bool, names: dict[str, str], count: int) -> list[list[str]]:
    """What `operand_gates` gives the last `count` operands of `a and b and …` (`or`),
    last first, each read from the terms of the operands before it as `branch_terms`
    of the whole left side (`ast` keeps `a and b and c` one BoolOp) would give them,
    reading each operand once: for `and`, the terms true in each operand's body, one
    after the other; for `or`, the chain's own known_term when it has one (negated),
    else the terms true in each operand's `else`."""
    found: list[list[str]] = []
    read = [branch_terms(operand, names) for operand in operands[:-1]]
    known = [] if is_and else [known_term(operand, names) for operand in operands[:-1]]
    for left in range(len(operands) - 1, max(0, len(operands) - 1 - count), -1):  # operands in the left side
        if not is_and and left > 1:
            term = or_term(known[:left])
            if term is not None:
                found.append(decidable([negate(term)]))
                continue
        found.append(decidable([t for terms in read[:left] for t in terms[0 if is_and else 1]]))
    return found


def _found_spec(node: ast.AST) -> Optional[str]:
    if isinstance(node, ast.Call) and len(node.args) == 1 and dotted_name(node.func) in _FIND_SPEC:
        argument = node.args[0]
        if isinstance(argument, ast.Constant) and isinstance(argument.value, str) and argument.value:
            return argument.value.partition(".")[0]
    return None


def branch_terms(test: ast.expr, names: dict[str, str], source: str = "") -> tuple[list[str], list[str]]:
    """(terms true in the body, terms true in the `else`) of `if test:`. `source`, when
    given, names a test the profile cannot decide (`when:<source>`); without it such a
    test is `?`."""
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        body: list[str] = []
        for value in test.values:
            body += branch_terms(value, names, _source_of(value, source))[0]
        return body, [_negated_unknown(source)]
    term = known_term(test, names)
    if term is not None:
        return [term], [negate(term)]
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.Or):
        orelse: list[str] = []
        for value in test.values:
            orelse += branch_terms(value, names, _source_of(value, source))[1]
        return [_unknown(source)], orelse
    return [_unknown(source)], [_negated_unknown(source)]


def operand_gates(operands: Sequence[ast.expr], is_and: bool, names: dict[str, str]) -> list[list[str]]:
    """For each operand of `a and b and c` (`or`) after the first, the terms the
    profile can decide that hold whenever it runs: the operands before it were true
    (false). `torch.version.hip and torch.cuda.is_available()` calls nothing on CUDA."""
    gates: list[list[str]] = []
    held: list[str] = []
    for operand in operands[:-1]:
        held = held + decidable(branch_terms(operand, names)[0 if is_and else 1])
        gates.append(held)
    return gates


def decidable(terms: Sequence[str]) -> list[str]:
    """The terms a profile can decide: not `?` or `when:` (a site under only those is
    marked as on some paths by its caller anyway)."""
    found = []
    for term in terms:
        bare = term[len(NOT):] if term.startswith(NOT) else term
        if bare != UNKNOWN and not bare.startswith(WHEN):
            found.append(term)
    return found


def _negated_unknown(source: str) -> str:
    unknown = _unknown(source)
    return UNKNOWN if unknown == UNKNOWN else negate(unknown)


def _unknown(source: str) -> str:
    text = " ".join(source.split())
    if not text:
        return UNKNOWN
    return WHEN + (text if len(text) <= _MAX_SOURCE else text[: _MAX_SOURCE - 1] + "…")


def _source_of(node: ast.expr, whole: str) -> str:
    return ast.unparse(node) if whole else ""


def module_names(tree: Optional[ast.Module]) -> dict[str, str]:
    """Module-level names bound to a known test: `_is_hip = is_hip()`,
    `HAS_FA = find_spec("flash_attn") is not None`, and `try: import x …; HAS_X = True
    except ImportError: HAS_X = False` (installed:x). Read from the top-level
    statements and the blocks of top-level if/try statements."""
    names: dict[str, str] = {}
    if tree is None:
        return names
    for statement in tree.body:
        _note(statement, names)
    return names


def _note(statement: ast.stmt, names: dict[str, str]) -> None:
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name):
        target = statement.targets[0].id
        read = _env_read(statement.value, names)
        names.pop(_READ + target, None)
        if read is not None:  # `_LEVEL = int(os.environ.get("LEVEL", "0"))`: its tests are decided later
            names[_READ + target] = json.dumps(read)
        term = known_term(statement.value, names)
        if term is not None:
            names[target] = term
        else:
            names.pop(target, None)
    elif isinstance(statement, ast.Try):
        imported = next((_first_module(s) for s in statement.body if _first_module(s)), None)
        for inner in statement.body:
            if imported and _assigns_true(inner):
                names[inner.targets[0].id] = INSTALLED + imported  # type: ignore[attr-defined]
            else:
                _note(inner, names)
    elif isinstance(statement, ast.If):
        for inner in (*statement.body, *statement.orelse):
            _note(inner, names)


def _first_module(statement: ast.stmt) -> Optional[str]:
    if isinstance(statement, ast.Import) and statement.names:
        return statement.names[0].name.partition(".")[0]
    if isinstance(statement, ast.ImportFrom) and statement.module and not statement.level:
        return statement.module.partition(".")[0]
    return None


def _assigns_true(statement: ast.stmt) -> bool:
    return (isinstance(statement, ast.Assign) and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
            and isinstance(statement.value, ast.Constant) and statement.value.value is True)


# --- environment variables ------------------------------------------------------------

_READ = "env read: "  # module_names key: a name bound to a read of a variable, as JSON
_GETS = ("os.environ.get", "environ.get", "os.getenv", "getenv")
_ENVIRON = ("os.environ", "environ")
_CONVERSIONS = {"int", "float", "bool", "str"}
_METHODS = {"lower", "upper", "strip"}
_OPERATORS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
              ast.In: "in", ast.NotIn: "not in"}


def _literal(node: ast.AST) -> tuple[bool, Any]:
    """(True, value) for a constant, or a tuple/list/set of constants; (False, None) else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int, float, bool, type(None))):
        return True, node.value
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        values = [_literal(item) for item in node.elts]
        if all(ok for ok, _ in values):
            return True, [value for _, value in values]
    return False, None


def _env_read(node: ast.AST, names: dict[str, str]) -> Optional[list]:
    """[name, default, conversions] for `os.environ.get("X", "d")` (default None when
    absent), wrapped in `int(...)`/`float(...)`/`bool(...)`/`str(...)` and
    `.lower()`/`.upper()`/`.strip()`, or a module-level name bound to one; None else."""
    if isinstance(node, ast.Name):
        bound = names.get(_READ + node.id)
        return json.loads(bound) if bound is not None else None
    if not isinstance(node, ast.Call) or node.keywords:
        return None
    func = node.func
    dotted = dotted_name(func)
    if dotted in _GETS and 1 <= len(node.args) <= 2:
        name_ok, name = _literal(node.args[0])
        default_ok, default = _literal(node.args[1]) if len(node.args) == 2 else (True, None)
        if name_ok and isinstance(name, str) and default_ok and (default is None or isinstance(default, str)):
            return [name, default, []]
        return None
    if dotted in _CONVERSIONS and len(node.args) == 1:
        inner = _env_read(node.args[0], names)
        return None if inner is None else [inner[0], inner[1], [*inner[2], dotted]]
    if isinstance(func, ast.Attribute) and func.attr in _METHODS and not node.args:
        inner = _env_read(func.value, names)
        return None if inner is None else [inner[0], inner[1], [*inner[2], func.attr]]
    return None


def env_term(test: ast.expr, names: dict[str, str]) -> Optional[str]:
    """The `env:` term of a test of an environment variable, or None."""
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        operator = _OPERATORS.get(type(test.ops[0]))
        right = test.comparators[0]
        if operator in ("in", "not in") and dotted_name(right) in _ENVIRON:
            ok, name = _literal(test.left)  # `"X" in os.environ`
            if ok and isinstance(name, str):
                term = ENV + json.dumps([name, None, [], "set", None])
                return term if operator == "in" else negate(term)
            return None
        read = _env_read(test.left, names)
        ok, operand = _literal(right)
        if read is None or operator is None or not ok:
            return None
        return ENV + json.dumps([*read, operator, operand])
    read = _env_read(test, names)
    return None if read is None else ENV + json.dumps([*read, None, None])


def env_value(term: str, variables: dict[str, str]) -> Optional[bool]:
    """Whether an `env:` term holds with `variables` set and every other variable unset;
    None when the code would fail or the term is not understood."""
    try:
        name, default, conversions, operator, operand = json.loads(term[len(ENV):])
    except (ValueError, TypeError):
        return None
    if operator == "set":
        return name in variables
    value: Any = variables.get(name, default)
    try:
        for conversion in conversions:
            if value is None:
                return None  # int(None): the module itself fails
            value = {"int": int, "float": float, "bool": bool, "str": str}[conversion](value) \
                if conversion in _CONVERSIONS else getattr(value, conversion)()
        if operator is None:
            return bool(value)
        if operator in ("in", "not in"):
            inside = value in operand
            return inside if operator == "in" else not inside
        compare = {"==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
                   "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}[operator]
        return bool(compare(value, operand))
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
