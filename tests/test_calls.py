"""Calls followed into the functions they run (issue 15) and module-level verdicts
(issue 12): one test per construct and guard, positives and negatives."""

from __future__ import annotations

import json

import pytest

from importguard.cache.store import decode, encode
from importguard.facts.collect import collect_source
from importguard.model import DRIVER_API, INITIALIZER, SourceFile
from importguard.output.json_report import format_json
from importguard.output.sarif import format_sarif
from importguard.output.text import format_full

from conftest import check_tree, write_tree


def findings(tmp_path, files, **kwargs):
    root = write_tree(tmp_path, files)
    report = check_tree(root, **kwargs)
    return [(f.code, f.path, f.line) for f in report.findings], report


CONDITIONAL = {"pyproject.toml": '[tool.importguard]\nenvironment = { undecided-calls = "follow" }\n'}


def ig003_lines(tmp_path, source, extra=None, conditional=False):
    files = {"m.py": source, **(extra or {}), **(CONDITIONAL if conditional else {})}
    found, _ = findings(tmp_path, files)
    return [line for code, path, line in found if code == "IG003" and path == "m.py"]


UTIL = {
    "helpers.py": (
        "import torch\n"
        "def is_cuda():\n"
        "    return torch.cuda.is_available()\n"
        "def nothing():\n"
        "    return torch.cuda.device_count()\n"
    )
}


# ----------------------------------------------------------------------------- constructs


@pytest.mark.parametrize(
    "source, lines",
    [
        ("from helpers import is_cuda\nX = is_cuda()\n", [2]),
        ("from helpers import is_cuda\nif is_cuda():\n    pass\n", [2]),
        ("from helpers import is_cuda\nwhile is_cuda():\n    break\n", [2]),
        ("from helpers import is_cuda\nfor _ in [1]:\n    is_cuda()\n", [3]),
        ("from helpers import is_cuda\nX = [is_cuda() for _ in [1]]\n", [2]),
        ("from helpers import is_cuda\nX = {k: is_cuda() for k in [1]}\n", [2]),
        ("from helpers import is_cuda\nclass K:\n    x = is_cuda()\n", [3]),
        ("from helpers import is_cuda\ndef f(x=is_cuda()):\n    pass\n", [2]),
        ("from helpers import is_cuda\nL = lambda x=is_cuda(): x\n", [2]),
        ("import helpers\nX = helpers.is_cuda()\n", [2]),
        ("import helpers as h\nX = h.is_cuda()\n", [2]),
        ("from helpers import is_cuda as c\nf = c\nX = f()\n", [3]),
        ("import helpers\nX = getattr(helpers, 'is_cuda')()\n", [2]),
        ("from helpers import is_cuda\nX = any(is_cuda() for _ in [1])\n", [2]),
    ],
)
def test_module_level_constructs_reach_through_a_helper(tmp_path, source, lines):
    assert ig003_lines(tmp_path, source, UTIL) == lines


@pytest.mark.parametrize(
    "source",
    [
        "from helpers import is_cuda\ndef f():\n    return is_cuda()\n",
        "from helpers import is_cuda\ndef f():\n    return is_cuda()\ndef g():\n    return f()\n",
        "from helpers import is_cuda\nL = lambda: is_cuda()\n",
        "from helpers import is_cuda\nG = (is_cuda() for _ in [1])\n",
        "from helpers import nothing\nN = nothing()\n",
        "from helpers import is_cuda\nif __name__ == '__main__':\n    is_cuda()\n",
        "from helpers import is_cuda\nif False:\n    is_cuda()\n",
        "from helpers import is_cuda\nif 0:\n    is_cuda()\n",
        "from helpers import is_cuda\nwhile False:\n    is_cuda()\n",
        "from typing import TYPE_CHECKING\nfrom helpers import is_cuda\nif TYPE_CHECKING:\n    is_cuda()\n",
    ],
)
def test_code_that_does_not_run_at_import_stays_quiet(tmp_path, source):
    assert ig003_lines(tmp_path, source, UTIL) == []


def test_dead_if_keeps_its_else_branch(tmp_path):
    assert ig003_lines(tmp_path, "import torch\nif False:\n    pass\nelse:\n    torch.cuda.is_available()\n") == [5]


def test_local_function_two_modules_away_with_full_chain(tmp_path):
    found, report = findings(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/utils.py": "import torch\ndef device_sm():\n    major, minor = torch.cuda.get_device_capability()\n    return major\n",
        "pkg/config.py": "from pkg.utils import device_sm\ndef _compute():\n    return device_sm() > 80\nENABLE = _compute()\n",
    })
    assert ("IG003", "pkg/config.py", 4) in found
    finding = next(f for f in report.findings if f.code == "IG003")
    assert [(h.kind, h.importer, h.imported, h.path, h.line) for h in finding.chain] == [
        ("call", "pkg.config", "pkg.config._compute", "pkg/config.py", 4),
        ("call", "pkg.config._compute", "pkg.utils.device_sm", "pkg/config.py", 3),
        ("call", "pkg.utils.device_sm", "torch.cuda.get_device_capability", "pkg/utils.py", 3),
    ]
    assert "pkg.config._compute() -> pkg.utils.device_sm() -> torch.cuda.get_device_capability()" in finding.message
    assert finding.strength == INITIALIZER


def test_in_function_import_and_nested_def(tmp_path):
    source = (
        "def outer():\n"
        "    from torch import cuda as c\n"
        "    def inner():\n"
        "        return c.get_device_name()\n"
        "    return inner()\n"
        "X = outer()\n"
    )
    assert ig003_lines(tmp_path, source) == [6]


def test_reexport_through_a_package_init(tmp_path):
    found, _ = findings(tmp_path, {
        "pkg/__init__.py": "from pkg.impl import is_cuda\n",
        "pkg/impl.py": "import torch\ndef is_cuda():\n    return torch.cuda.is_available()\n",
        "app.py": "import pkg\nOK = pkg.is_cuda()\n",
    })
    assert ("IG003", "app.py", 2) in found


def test_decorator_call_itself_and_decorator_factory(tmp_path):
    extra = {"deco.py": "import torch\ndef register(f):\n    torch.cuda.synchronize()\n    return f\n"
                        "def factory():\n    torch.cuda.set_device(0)\n    return register\n"}
    assert ig003_lines(tmp_path, "from deco import register\n@register\ndef k():\n    pass\n", extra) == [2]
    assert ig003_lines(tmp_path, "import deco\n@deco.factory()\nclass K:\n    pass\n", extra) == [2]
    # A decorator that touches nothing when called is quiet.
    quiet = {"deco.py": "def register(f):\n    return f\n"}
    assert ig003_lines(tmp_path, "from deco import register\n@register\ndef k():\n    pass\n", quiet) == []


def test_instantiation_runs_init_new_post_init_but_not_other_methods(tmp_path):
    extra = {"k.py": (
        "import torch\n"
        "class Init:\n    def __init__(self):\n        self.x = torch.cuda.current_device()\n"
        "class New:\n    def __new__(cls):\n        torch.cuda.current_device()\n        return object.__new__(cls)\n"
        "class Post:\n    def __post_init__(self):\n        torch.cuda.current_device()\n"
        "class Other:\n    def load(self):\n        torch.cuda.current_device()\n"
        "class Self:\n    def __init__(self):\n        self._probe()\n    def _probe(self):\n        torch.cuda.current_device()\n"
    )}
    source = "from k import Init, New, Post, Other, Self\na = Init()\nb = New()\nc = Post()\nd = Other()\ne = Self()\n"
    assert ig003_lines(tmp_path, source, extra) == [2, 3, 4, 6]


def test_cycles_terminate_and_still_find_the_sink(tmp_path):
    extra = {"c.py": (
        "import torch\n"
        "def a(n):\n    return b(n)\n"
        "def b(n):\n    return a(n)\n"
        "def x(n):\n    return y(n)\n"
        "def y(n):\n    return x(n) if n else torch.cuda.synchronize()\n"
    )}
    assert ig003_lines(tmp_path, "from c import a, x\nA = a(1)\nX = x(1)\n", extra, conditional=True) == [3]


def test_recursion_deeper_than_the_limit_is_not_followed_and_does_not_crash(tmp_path):
    chain = "".join(f"def f{i}():\n    return f{i + 1}()\n" for i in range(60))
    source = "import torch\n" + chain + "def f60():\n    return torch.cuda.synchronize()\nX = f0()\nY = f30()\n"
    # f0() needs 61 calls (past MAX_DEPTH = 40): not followed; f30() needs 31.
    assert ig003_lines(tmp_path, source) == [125]


# ----------------------------------------------------------------------------- issue 12


def test_match_guard_is_evaluated(tmp_path):
    source = "import torch\nmatch 1:\n    case 1 if torch.cuda.is_available():\n        pass\n"
    assert ig003_lines(tmp_path, source) == [3]


def test_builtins_dunder_import_is_an_import(tmp_path):
    found, _ = findings(tmp_path, {"pkg/__init__.py": "import builtins\nbuiltins.__import__('cutlass')\n"})
    assert found == [("IG001", "pkg/__init__.py", 2)]


def test_type_alias_value_is_lazy(tmp_path):
    assert ig003_lines(tmp_path, "import torch\ntype Cap = tuple[torch.cuda.get_device_capability()]\n") == []


def test_annotations_evaluated_unless_future_import(tmp_path):
    found, report = findings(tmp_path, {
        "m.py": "import torch\nX: torch.cuda.get_device_name() = 1\ndef f(a: torch.cuda.get_device_name()) -> int:\n    pass\n",
        "f.py": "from __future__ import annotations\nimport torch\nX: torch.cuda.get_device_name() = 1\n"
                "def f(a: torch.cuda.get_device_name()) -> torch.cuda.get_device_name():\n    pass\n",
    })
    assert [x for x in found if x[0] == "IG003"] == [("IG003", "m.py", 2), ("IG003", "m.py", 3)]
    assert all("deferred on 3.14+" in f.message for f in report.findings)


def test_exec_of_a_string_gets_a_note(tmp_path):
    _, report = findings(tmp_path, {"m.py": "exec('import cutlass')\n"})
    assert report.findings == ()
    assert any("m.py:1: note: `exec()` runs code from a string" in w for w in report.warnings)


# ----------------------------------------------------------------------------- guards


@pytest.mark.parametrize(
    "body, reported",
    [
        ("    return torch.cuda.get_device_name()\n", True),
        ("    if torch.cuda.is_initialized():\n        return torch.cuda.get_device_name()\n    return ''\n", False),
        ("    if torch.cuda.is_initialized() and True:\n        return torch.cuda.get_device_name()\n", False),
        ("    if not torch.cuda.is_initialized():\n        return ''\n    return torch.cuda.get_device_name()\n", False),
        ("    if not torch.cuda.is_initialized():\n        raise RuntimeError\n    return torch.cuda.get_device_name()\n", False),
        # Not the literal forms: the call stays reported.
        ("    if torch.cuda.is_initialized():\n        pass\n    return torch.cuda.get_device_name()\n", True),
        ("    if not torch.cuda.is_initialized():\n        print()\n    return torch.cuda.get_device_name()\n", True),
        ("    if torch.cuda.is_initialized():\n        return ''\n    else:\n        return torch.cuda.get_device_name()\n", True),
    ],
)
def test_is_initialized_guards_in_functions(tmp_path, body, reported):
    source = "import torch\ndef name():\n" + body + "X = name()\n"
    assert bool(ig003_lines(tmp_path, source, conditional=True)) is reported


def test_is_initialized_guard_at_module_level(tmp_path):
    assert ig003_lines(tmp_path, "import torch\nif torch.cuda.is_initialized():\n    torch.cuda.synchronize()\n") == []
    assert ig003_lines(tmp_path, "import torch\nif torch.cuda.is_initialized():\n    pass\nelse:\n    torch.cuda.synchronize()\n") == [5]


NVML_USER = "import torch\nOK = torch.cuda.is_available()\nCAP = torch.cuda.get_device_capability()\n"


def test_nvml_check_set_by_an_ancestor_package(tmp_path):
    found, _ = findings(tmp_path, {
        "pkg/__init__.py": "import os\nos.environ['PYTORCH_NVML_BASED_CUDA_CHECK'] = '1'\n",
        "pkg/sub/__init__.py": "",
        "pkg/sub/m.py": NVML_USER,
        "other/__init__.py": "",
        "other/m.py": NVML_USER,
    })
    # is_available() under pkg is safe; get_device_capability() is not, nor anything under other.
    assert [x for x in found if x[0] == "IG003"] == [
        ("IG003", "other/m.py", 2), ("IG003", "other/m.py", 3), ("IG003", "pkg/sub/m.py", 3)
    ]


def test_nvml_check_setdefault_in_the_module_before_the_call_only(tmp_path):
    source = (
        "import os, torch\nA = torch.cuda.is_available()\n"
        "os.environ.setdefault('PYTORCH_NVML_BASED_CUDA_CHECK', '1')\nB = torch.cuda.is_available()\n"
    )
    assert ig003_lines(tmp_path, source) == [2]


def test_nvml_check_not_modelled_when_conditional_or_other_value(tmp_path):
    found, _ = findings(tmp_path, {
        "a/__init__.py": "import os\nif os.name:\n    os.environ['PYTORCH_NVML_BASED_CUDA_CHECK'] = '1'\n",
        "a/m.py": "import torch\nOK = torch.cuda.is_available()\n",
        "b/__init__.py": "import os\nos.environ['PYTORCH_NVML_BASED_CUDA_CHECK'] = '0'\n",
        "b/m.py": "import torch\nOK = torch.cuda.is_available()\n",
    })
    assert [x for x in found if x[0] == "IG003"] == [("IG003", "a/m.py", 2), ("IG003", "b/m.py", 2)]


def test_nvml_config_key(tmp_path):
    files = {"pyproject.toml": "[tool.importguard]\nnvml-based-cuda-check = true\n", "m.py": NVML_USER}
    found, _ = findings(tmp_path, files)
    assert found == [("IG003", "m.py", 3)]


def test_nvml_config_key_must_be_a_bool(tmp_path):
    from importguard.config import load_config
    from importguard.errors import ConfigError

    root = write_tree(tmp_path, {"pyproject.toml": "[tool.importguard]\nnvml-based-cuda-check = 'yes'\n"})
    with pytest.raises(ConfigError, match="nvml-based-cuda-check"):
        load_config(None, root)


# ----------------------------------------------------------------------------- sinks


@pytest.mark.parametrize(
    "source, lines",
    [
        ("import torch\nX = torch.empty(1, device='cuda')\n", [2]),
        ("import torch\nX = torch.zeros(2, device=torch.device('cuda:0'))\n", [2]),
        ("import torch\nX = torch.randn(2, device='cuda:1')\n", [2]),
        ("import torch\nX = torch.empty(1, device='cpu')\n", []),
        ("import torch\nX = torch.empty(1)\n", []),
        ("import torch\nD = torch.device('cuda')\n", []),
        ("import torch\nT = torch.zeros(1)\nG = T.cuda()\n", [3]),
        ("import torch\nT = torch.zeros(1)\nG = T.to('cuda')\nH = T.to('cpu')\n", [3]),
        ("import torch\nG = torch.ones(1).to(torch.device('cuda'))\n", [2]),
        ("import torch\nclass M:\n    pass\nm = M()\nm.cuda()\n", []),
        ("import torch.cuda.memory\nF = torch.cuda.memory.mem_get_info()\n", [2]),
        ("import torch\nS = torch.cuda.streams.Stream()\n", [2]),
        ("import torch\nN = torch.cuda.random.device_count()\n", []),
        ("import torch\nP = torch.cuda.get_device_properties(0)\ntorch.cuda.set_device(0)\ntorch.cuda.synchronize()\n", [2, 3, 4]),
        ("import torch\nI = torch.cuda.is_initialized()\n", []),
    ],
)
def test_measured_torch_sinks(tmp_path, source, lines):
    assert ig003_lines(tmp_path, source) == lines


def test_tensor_created_in_a_helper_with_a_cuda_device(tmp_path):
    extra = {"buf.py": "import torch\ndef make():\n    return torch.full((2,), 0.0, device='cuda')\n"
                       "def host():\n    return torch.full((2,), 0.0)\n"}
    assert ig003_lines(tmp_path, "from buf import make, host\nA = host()\nB = make()\n", extra) == [3]


def test_strength_driver_api_is_a_warning_everywhere(tmp_path):
    _, report = findings(tmp_path, {
        "pkg/__init__.py": "from pkg import a\nfrom pkg import b\n",
        "pkg/a.py": "import cuda.bindings.driver\n",
        "pkg/b.py": "import cutlass\n",
    })
    by_sink = {f.sink: f for f in report.findings}
    assert by_sink["cuda.bindings.driver"].strength == DRIVER_API
    assert "[CUDA driver API, imported without a call]" in by_sink["cuda.bindings.driver"].message
    # Without an environment profile, cutlass is version-dependent: a warning too
    # (tests/test_environment.py: an error with 4.5.2 installed, nothing with 4.8.1).
    assert "[CUDA initializer in some versions (measured)]" in by_sink["cutlass"].message
    levels = {r["message"]["text"].split(" reaches ")[1].split(",")[0]: r["level"]
              for r in json.loads(format_sarif(report.findings))["runs"][0]["results"]}
    assert levels == {"`cuda.bindings.driver`": "warning", "`cutlass`": "warning"}
    data = json.loads(format_json(report.findings))["findings"]
    assert {d["sink"]: (d["strength"], d["level"]) for d in data} == {
        "cuda.bindings.driver": ("driver-api", "warning"), "cutlass": ("version-dependent", "warning")
    }


# ----------------------------------------------------------------------------- output


def test_ig001_chain_shows_call_hops_after_import_hops_in_every_format(tmp_path):
    _, report = findings(tmp_path, {
        "pkg/__init__.py": "from pkg import cfg\n",
        "pkg/cfg.py": "from pkg.utils import is_cuda\nIS_CUDA = is_cuda()\n",
        "pkg/utils.py": "import torch\ndef is_cuda():\n    return torch.cuda.is_available()\n",
    })
    ig001 = next(f for f in report.findings if f.code == "IG001")
    assert [h.kind for h in ig001.chain] == ["import", "call", "call"]
    full = format_full([ig001])
    assert "    pkg -> pkg.cfg (pkg/__init__.py:1)\n" in full
    assert "    pkg/cfg.py:2 pkg.utils.is_cuda() (called by pkg.cfg)\n" in full
    assert "    pkg/utils.py:3 torch.cuda.is_available() (called by pkg.utils.is_cuda)\n" in full
    hops = json.loads(format_json([ig001]))["findings"][0]["chain"]
    assert [(h["kind"], h["imported"]) for h in hops] == [
        ("import", "pkg.cfg"), ("call", "pkg.utils.is_cuda"), ("call", "torch.cuda.is_available")
    ]
    flow = json.loads(format_sarif([ig001]))["runs"][0]["results"][0]["codeFlows"][0]
    assert flow["message"]["text"] == "import and call chain to `pkg.cfg`"
    assert len(flow["threadFlows"][0]["locations"]) == 3


def test_lsp_related_information_and_severity(tmp_path):
    from pygls.workspace import TextDocument

    from importguard.lsp.server import _diagnostic

    _, report = findings(tmp_path, {
        "m.py": "from u import f\nX = f()\n",
        "u.py": "import torch\ndef f():\n    return torch.cuda.synchronize()\n",
    })
    finding = report.findings[0]
    document = TextDocument("file:///m.py", "from u import f\nX = f()\n")
    diagnostic = _diagnostic(finding, document)
    assert diagnostic.severity == 1  # Error: a measured initializer
    assert [r.message for r in diagnostic.related_information] == [
        "m.py:2 u.f() (called by m)", "u.py:3 torch.cuda.synchronize() (called by u.f)"
    ]


def test_explain_shows_call_hops(tmp_path):
    from click.testing import CliRunner

    from importguard.cli.main import cli

    root = write_tree(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/cfg.py": "from pkg.utils import is_cuda\nIS_CUDA = is_cuda()\n",
        "pkg/utils.py": "import torch\ndef is_cuda():\n    return torch.cuda.is_available()\n",
    })
    import os

    old = os.getcwd()
    os.chdir(root)
    try:
        result = CliRunner().invoke(cli, ["explain", "pkg.cfg"])
    finally:
        os.chdir(old)
    assert "pkg/cfg.py:2 pkg.utils.is_cuda() (called by pkg.cfg)" in result.output
    assert "pkg/utils.py:3 torch.cuda.is_available() (called by pkg.utils.is_cuda)" in result.output


# ----------------------------------------------------------------------------- facts


def test_function_facts_survive_the_cache_codec():
    source = SourceFile("/x/pkg/m.py", "pkg.m", False, "/x")
    text = (
        b"import os, torch\nos.environ['PYTORCH_NVML_BASED_CUDA_CHECK'] = '1'\nf = torch.cuda.is_available\n"
        b"class K:\n    def __init__(self):\n        if torch.cuda.is_initialized():\n"
        b"            torch.cuda.synchronize()\n        torch.empty(1, device='cuda')\n"
        b"exec('x')\n"
    )
    facts = collect_source(text, source)
    assert [f.name for f in facts.functions] == ["K", "K.__init__"]
    calls = {c.name: c for c in facts.functions[1].calls}
    assert calls["torch.cuda.synchronize"].guarded and calls["torch.empty"].device == "cuda"
    assert ("f", "torch.cuda.is_available") in facts.bindings
    assert facts.environ == (("PYTORCH_NVML_BASED_CUDA_CHECK", "1", 2),)
    assert facts.notes and facts.notes[0][0] == 9
    assert decode(source, json.loads(json.dumps(encode(facts)))) == facts


def test_stdlib_calls_stay_out_of_function_facts():
    source = SourceFile("/x/m.py", "m", False, "/x")
    facts = collect_source(b"import os, torch\ndef f():\n    os.path.join('a')\n    torch.relu(1)\n", source)
    assert [c.name for c in facts.functions[0].calls] == ["torch.relu"]


def test_whole_file_and_skeleton_give_the_same_function_facts():
    source = SourceFile("/x/m.py", "m", False, "/x")
    text = b"import torch\ndef f(a: int = 1):\n    import json\n    return torch.cuda.synchronize()\nX = f()\n"
    assert collect_source(text, source) == collect_source(text, source, reduce_bodies=False)


@pytest.mark.parametrize(
    "body, conditional",
    [
        ("    return torch.cuda.synchronize()\n", False),
        ("    try:\n        torch.cuda.synchronize()\n    finally:\n        pass\n", False),
        ("    if LEVEL:\n        torch.cuda.synchronize()\n", True),
        ("    if not LEVEL:\n        return\n    torch.cuda.synchronize()\n", True),
        ("    for _ in []:\n        torch.cuda.synchronize()\n", True),
        ("    try:\n        pass\n    except Exception:\n        torch.cuda.synchronize()\n", True),
        ("    return LEVEL and torch.cuda.synchronize()\n", True),
        ("    return torch.cuda.synchronize() if LEVEL else 0\n", True),
    ],
)
def test_calls_on_a_branch_of_a_function_are_reported_as_on_some_paths(tmp_path, body, conditional):
    source = "import torch\nLEVEL = 0\ndef f():\n" + body + "X = f()\n"
    _, report = findings(tmp_path, {"m.py": source, **CONDITIONAL})
    (finding,) = report.findings
    assert ("on some paths" in finding.message) is conditional
    assert (finding.chain[-1].via == "only on some paths through the caller") is conditional


def test_an_unconditional_path_is_preferred_over_a_shorter_conditional_one(tmp_path):
    source = (
        "import torch\nLEVEL = 0\n"
        "def g():\n    return torch.cuda.synchronize()\n"
        "def f():\n    if LEVEL:\n        torch.cuda.set_device(0)\n    return g()\n"
        "X = f()\n"
    )
    _, report = findings(tmp_path, {"m.py": source})
    (finding,) = report.findings
    assert finding.sink == "torch.cuda.synchronize" and "on some paths" not in finding.message


def test_fallback_after_a_try_that_returns_is_on_some_paths(tmp_path):
    source = (
        "import torch\ndef arch():\n    try:\n        return probe()\n    except Exception:\n        pass\n"
        "    return torch.cuda.get_device_properties('cuda')\ndef probe():\n    return 'gfx942'\nA = arch()\n"
    )
    _, report = findings(tmp_path, {"m.py": source, **CONDITIONAL})
    (finding,) = report.findings
    assert "on some paths" in finding.message


def test_nvml_check_set_by_a_module_an_ancestor_imports_first(tmp_path):
    found, _ = findings(tmp_path, {
        "pkg/__init__.py": "import pkg.env_override\n",
        "pkg/env_override.py": "import os\nos.environ['PYTORCH_NVML_BASED_CUDA_CHECK'] = '1'\n",
        "pkg/sub/__init__.py": "",
        "pkg/sub/m.py": NVML_USER,
        "cond/__init__.py": "import os\nif os.name:\n    import cond.env_override\n",
        "cond/env_override.py": "import os\nos.environ['PYTORCH_NVML_BASED_CUDA_CHECK'] = '1'\n",
        "cond/m.py": "import torch\nOK = torch.cuda.is_available()\n",
    })
    assert [x for x in found if x[0] == "IG003"] == [("IG003", "cond/m.py", 2), ("IG003", "pkg/sub/m.py", 3)]


def test_main_guard_with_and_never_runs_on_import(tmp_path):
    extra = {"helpers.py": "import torch\ndef main():\n    torch.cuda.synchronize()\ndef ci():\n    return False\n"}
    source = "from helpers import main, ci\nif __name__ == '__main__' and not ci():\n    main()\n"
    assert ig003_lines(tmp_path, source, extra) == []
    assert ig003_lines(tmp_path, "from helpers import main, ci\nif ci() or __name__ == '__main__':\n    main()\n", extra) == [3]


@pytest.mark.parametrize("body", [
    "    if LEVEL:\n        torch.cuda.synchronize()\n",
    "    if LEVEL:\n        return\n    torch.cuda.synchronize()\n",  # `if not LEVEL: return` is followed (test_names_shapes.py)
    "    try:\n        pass\n    except Exception:\n        torch.cuda.synchronize()\n",
])
def test_calls_on_some_paths_of_a_function_are_followed_only_when_configured(tmp_path, body):
    # Default: on vLLM, sglang and flashinfer most such calls never run (ROCm fallbacks,
    # log-level gates; docs/calls-precision.md), so only `conditional-calls = true` follows them.
    source = "import torch\nLEVEL = 0\ndef f():\n" + body + "X = f()\n"
    assert ig003_lines(tmp_path, source) == []
    assert ig003_lines(tmp_path / "on", source, conditional=True) == [5 + body.count("\n") - 1]
