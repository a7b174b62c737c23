"""Static analysis and Python must agree: for every module of the oracle fixtures,
the sinks importguard says an import reaches are exactly the sinks a fresh
interpreter imports or calls (stub sinks record both)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from importguard.config import Config
from importguard.environment.profile import Profile
from importguard.discovery import module_for
from importguard.engine import explanation
from importguard.sinks import DEFAULT_SINK_MODULES

from conftest import FIXTURES

ORACLE = FIXTURES / "oracle"
STUBS = FIXTURES / "stubs"
MODULES = sorted(module_for(path, [FIXTURES]).module for path in ORACLE.rglob("*.py"))

CHILD = """
import importlib, json, sys
sys.path[:0] = [{stubs!r}, {root!r}]
importlib.import_module({module!r})
calls = []
for name in ("torch.cuda", "cuda.bindings.driver", "triton.runtime.driver"):
    if name in sys.modules:
        calls += getattr(sys.modules[name], "CALLS", [])
print(json.dumps({{"modules": sorted(sys.modules), "calls": calls}}))
"""


def sink_name(module: str) -> str:
    return next(s.module for s in DEFAULT_SINK_MODULES if s.matches(module))


def runtime_sinks(module: str) -> set[str]:
    code = CHILD.format(stubs=str(STUBS), root=str(FIXTURES), module=module)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.splitlines()[-1])
    imported = {sink_name(m) for m in seen["modules"] if any(s.matches(m) for s in DEFAULT_SINK_MODULES)}
    return imported | set(seen["calls"])


def static_sinks(module: str, conditional_calls: bool = True) -> set[str]:
    """With `undecided-calls = "follow"` the model follows every call a function makes,
    as the runtime does when the branch runs; the default leaves out calls that run on
    some paths only, and must then never claim more than the runtime saw."""
    undecided = "follow" if conditional_calls else "skip"
    config = Config(project_root=FIXTURES, environment=Profile(undecided_calls=undecided))
    _, chains, _ = explanation(module, config, [FIXTURES])
    return {chain.sink.call or sink_name(chain.sink.module) for chain in chains}


def test_oracle_covers_every_scenario():
    assert len(MODULES) >= 30
    assert any(runtime_sinks(m) for m in MODULES) and not all(runtime_sinks(m) for m in MODULES[:3])


@pytest.mark.parametrize("module", MODULES)
def test_static_verdict_matches_runtime(module):
    assert static_sinks(module) == runtime_sinks(module)


@pytest.mark.parametrize("module", MODULES)
def test_the_default_claims_no_more_than_runtime(module):
    assert static_sinks(module, conditional_calls=False) <= runtime_sinks(module)


# Issue 28's shapes (one package per family under fixtures/oracle; tests/test_names_shapes.py
# pins the same shapes' findings inline): what each module's import runs, so that a fixture
# that stopped exercising its shape (a typo, a stub that stopped recording) cannot agree
# trivially. Every other module of those packages (helpers, quiet twins) runs no sink.
CAP, NAME, CURRENT, AVAILABLE = ("torch.cuda.get_device_capability", "torch.cuda.get_device_name",
                                 "torch.cuda.current_device", "torch.cuda.is_available")
TARGET, COMPILE, CPP_EXTENSION = ("triton.runtime.driver.active.get_current_target", "torch.compile",
                                  "torch.utils.cpp_extension")
SHAPES = {
    "stars": {"layer": AVAILABLE, "listed_user": CAP, "public_rebound": NAME, "chain_user": NAME,
              "self_star": AVAILABLE, "lib_star": CAP},
    "modobj": {"ops": TARGET, "star_ops": TARGET, "torch_ops": CAP},
    "wrappers": {"use_partial": CAP, "use_chained_alias": CAP, "use_alias": CAP, "use_dotted": CURRENT,
                 "use_cache": CAP, "use_wrapped": NAME, "use_wraps_call": NAME},
    "instances": {"kernel_pdl": CURRENT, "kernel_inherited": CAP, "kernel_self": CURRENT,
                  "kernel_classmethod": CAP, "factory": CURRENT, "factory_classmethod": CURRENT},
    "lazyplat": {"kernel": CURRENT},
    "classattr": {"through_class": AVAILABLE, "through_subclass": AVAILABLE},
    "nfkc": {"imported_fullwidth": AVAILABLE, "called_fullwidth": AVAILABLE, "attribute_fullwidth": CURRENT},
    "flow": {"right_of_and": CAP, "right_of_or": CURRENT, "after_early_return": CAP, "cached_global": NAME,
             "module_and": CURRENT},
    "compiled": {name: COMPILE for name in ("decorator", "decorator_dynamic", "decorator_inductor", "applied_call",
                                            "from_import", "method")},
    "jit": {**{name: CPP_EXTENSION for name in ("import_only", "from_import", "load_inline_cpp")}, "tvm_user": "tvm_ffi"},
}
SHAPE_MODULES = [m for m in MODULES if m.split(".")[1] in SHAPES]
QUIET_TWINS = ("stars.layer_quiet", "stars.listed_quiet", "stars.all_excludes", "stars.private_kept",
               "stars.chain_quiet", "stars.self_star_quiet", "stars.lib_star_quiet", "modobj.placeholder_ops",
               "modobj.torch_quiet", "wrappers.use_quiet", "wrappers.use_cached_quiet", "instances.kernel_quiet",
               "instances.base_only", "instances.factory_quiet", "lazyplat.kernel_quiet", "classattr.quiet",
               "nfkc.quiet", "flow.right_of_and_quiet", "flow.after_early_return_quiet", "flow.module_and_quiet",
               "compiled.eager", "compiled.disabled", "compiled.not_applied", "compiled.in_function", "jit.deferred")


def expected_sinks(module: str) -> set[str]:
    _, family, *rest = module.split(".")
    sink = SHAPES[family].get(".".join(rest))
    return {sink} if sink else set()


def test_every_shape_and_its_quiet_twin_is_a_module():
    named = {f"oracle.{family}.{name}" for family, names in SHAPES.items() for name in names}
    assert named | {f"oracle.{twin}" for twin in QUIET_TWINS} <= set(SHAPE_MODULES)


@pytest.mark.parametrize("module", SHAPE_MODULES)
def test_each_shape_fixture_runs_the_sink_it_is_named_for(module):
    assert runtime_sinks(module) == expected_sinks(module)
