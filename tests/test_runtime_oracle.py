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
for name in ("torch.cuda", "cuda.bindings.driver"):
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
