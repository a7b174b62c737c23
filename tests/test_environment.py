"""The environment profile (issue 28, item 3): platform branches, installed versions,
variables set by code, and the conditions it cannot decide. One fixture per shape
under fixtures/environment/."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from importguard.cache.store import decode, encode
from importguard.config import Config, load_config
from importguard.engine import run_check
from importguard.environment import installed
from importguard.environment.installed import apply_options, with_installed
from importguard.environment.profile import Profile
from importguard.errors import ConfigError
from importguard.facts import conditions
from importguard.facts.collect import collect_source
from importguard.installed.interpreter import target_paths
from importguard.model import INITIALIZER, VERSION_DEPENDENT, SourceFile
from importguard.output.chain import finding_level

from conftest import FIXTURES, check_tree, write_tree

ENVIRONMENT = FIXTURES / "environment"


def check(fixture: str, profile: Profile = Profile()):
    root = ENVIRONMENT / fixture
    config = Config(project_root=root, environment=profile)
    report = run_check([root], config)
    return {(f.code, Path(f.path).name, f.line): f for f in report.findings}


# ----------------------------------------------------------------------------- conditions as data


def terms(test: str, names=None):
    return conditions.branch_terms(ast.parse(test, mode="eval").body, names or {}, test)


@pytest.mark.parametrize("test, body, orelse", [
    ("current_platform.is_rocm()", ["platform:rocm"], ["not platform:rocm"]),
    ("not is_hip()", ["not platform:rocm"], ["platform:rocm"]),
    ("current_platform.is_cuda_alike()", ["platform:cuda|rocm"], ["not platform:cuda|rocm"]),
    ("torch.version.hip", ["platform:rocm"], ["not platform:rocm"]),
    ("torch.version.hip is not None", ["platform:rocm"], ["not platform:rocm"]),
    ("_is_cuda or _is_hip", ["platform:cuda|rocm"], ["not platform:cuda|rocm"]),
    ("_is_cuda and envs.X", ["platform:cuda", "when:envs.X"], ["not when:_is_cuda and envs.X"]),
    ('importlib.util.find_spec("flash_attn") is not None', ["installed:flash_attn"], ["not installed:flash_attn"]),
    ("envs.VLLM_USE_V1", ["when:envs.VLLM_USE_V1"], ["not when:envs.VLLM_USE_V1"]),
    ("is_rocm(1)", ["when:is_rocm(1)"], ["not when:is_rocm(1)"]),  # a check takes no argument
    ("TYPE_CHECKING or not current_platform.is_rocm()", ["not platform:rocm"], ["platform:rocm"]),  # vLLM muse_spark
    ('current_platform.device_type == "tpu"', ["platform:tpu"], ["not platform:tpu"]),  # vLLM kimi_k3
    ('current_platform.device_type == "cuda"', ["platform:cuda|rocm"], ["not platform:cuda|rocm"]),
])
def test_branch_terms(test, body, orelse):
    names = {"_is_cuda": "platform:cuda", "_is_hip": "platform:rocm"}
    assert terms(test, names) == (body, orelse)


def test_nested_operands_are_read_once(monkeypatch):
    """Generated decision trees nest `not (… or not (… or …))` hundreds deep (flashinfer's
    jit/gemm/cake_batch_deepgemm_fp8.py); reading an operand twice per level made one
    `if` cost 2**depth reads."""
    depth = 12
    test = "x"
    for level in range(depth):
        test = f"not (_is_cuda or not (n{level} == 1 or {test}))"
    read = []
    original = conditions.known_term
    monkeypatch.setattr(conditions, "known_term", lambda node, names: read.append(node) or original(node, names))
    body, orelse = terms(test, {"_is_cuda": "platform:cuda"})
    assert body[0].startswith("when:not (_is_cuda or not (n11 == 1") and orelse[0].startswith("not when:")
    assert len(read) < 10 * depth


def test_module_level_names_bound_to_a_known_test():
    tree = ast.parse(
        "_is_hip = is_hip()\n"
        "_is_cuda = is_cuda()\n"
        "_is_cuda = something_else()\n"  # rebound: no longer known
        "try:\n    import flash_attn\n    HAS_FA = True\nexcept ImportError:\n    HAS_FA = False\n"
        "HAS_DG = importlib.util.find_spec('deep_gemm') is not None\n"
    )
    assert conditions.module_names(tree) == {
        "_is_hip": "platform:rocm", "HAS_FA": "installed:flash_attn", "HAS_DG": "installed:deep_gemm",
    }


def test_conditions_are_facts_and_round_trip():
    source = (
        "from vllm.platforms import current_platform\nimport torch\n"
        "if current_platform.is_rocm():\n    import pkg.rocm\nelif current_platform.is_xpu():\n    torch.cuda.current_device()\n"
        "def f():\n    if current_platform.is_rocm():\n        return torch.cuda.current_device()\n"
        "    torch.cuda.synchronize()\n    for _ in []:\n        torch.cuda.get_device_name()\n"
    )
    source_file = SourceFile("m.py", "m", False, ".")
    facts = collect_source(source.encode(), source_file)
    assert {s.module: s.condition for s in facts.imports} == {
        "vllm.platforms": "", "torch": "", "pkg.rocm": "platform:rocm"}
    assert [(c.name, c.condition) for c in facts.calls if c.name.startswith("torch")] == [
        ("torch.cuda.current_device", "not platform:rocm && platform:xpu")]
    function = next(f for f in facts.functions if f.name == "f")
    assert [(c.name, c.condition) for c in function.calls if c.name.startswith("torch")] == [
        ("torch.cuda.current_device", "platform:rocm"),
        ("torch.cuda.synchronize", "not platform:rocm"),  # after `if is_rocm(): return`
        ("torch.cuda.get_device_name", "not platform:rocm && ?"),
    ]
    assert decode(source_file, json.loads(json.dumps(encode(facts)))) == facts


# ----------------------------------------------------------------------------- the profile decides


def test_profile_decides_terms():
    cuda, rocm = Profile(), Profile(platform="rocm")
    assert cuda.decide(True, "platform:rocm") is False and rocm.decide(True, "platform:rocm") is True
    assert cuda.decide(True, "not platform:rocm && platform:xpu") is False
    assert cuda.decide(True, "platform:cuda|rocm") is True and rocm.decide(True, "platform:cuda|rocm") is True
    assert cuda.decide(True, "platform:cuda && when:envs.X") is None
    assert cuda.decide(True, "platform:rocm && when:envs.X") is False  # one false test is enough
    assert cuda.decide(False, "") is True and cuda.decide(True, "") is None
    assert cuda.decide(True, "installed:flash_attn") is None
    assert Profile(versions=(("flash-attn", "2.8"),)).decide(True, "installed:flash_attn") is True
    assert Profile(modules=("torch",)).decide(True, "installed:flash_attn") is False
    assert cuda.undecided_text("platform:cuda && installed:flash_attn && not when:envs.X && ?") == \
        "when flash_attn is installed, unless `envs.X`"


# ----------------------------------------------------------------------------- platform branches


def test_platform_branches_are_not_reported_on_cuda():
    found = check("platform_branch")
    # Every torch.cuda call of plat.layers sits on a ROCm or XPU branch, and so does the
    # import of plat.rocm_ops: only that module's own call at import remains (IG003 is
    # about importing the file itself), and no chain leads there.
    assert sorted(found) == [("IG003", "rocm_ops.py", 3)]


def test_platform_branches_are_reported_for_their_platform():
    rocm = check("platform_branch", Profile(platform="rocm"))
    assert {key for key in rocm if key[0] == "IG003"} == {
        ("IG003", "layers.py", 15), ("IG003", "layers.py", 17), ("IG003", "layers.py", 26),
        ("IG003", "rocm_ops.py", 3)}
    assert ("IG001", "__init__.py", 1) in rocm  # plat -> plat.layers -> plat.rocm_ops (under is_rocm())
    assert "on some paths" not in rocm[("IG003", "layers.py", 26)].message  # `if _is_hip:` is decided
    xpu = check("platform_branch", Profile(platform="xpu"))
    assert {key for key in xpu if key[0] == "IG003"} == {("IG003", "layers.py", 11), ("IG003", "rocm_ops.py", 3)}


def test_platform_option_on_the_command_line(tmp_path):
    root = tmp_path / "project"
    shutil.copytree(ENVIRONMENT / "platform_branch", root)

    def lines(*extra):
        done = subprocess.run([sys.executable, "-m", "importguard", "check", "--no-cache", "--output-format",
                               "json", *extra, "plat"], cwd=root, capture_output=True, text=True, timeout=120)
        assert done.returncode in (0, 1), done.stderr
        return sorted((f["path"], f["line"]) for f in json.loads(done.stdout)["findings"] if f["code"] == "IG003")

    assert lines() == [("plat/rocm_ops.py", 3)]
    assert lines("--platform", "rocm") == [("plat/layers.py", 15), ("plat/layers.py", 17), ("plat/layers.py", 26),
                                           ("plat/rocm_ops.py", 3)]


# ----------------------------------------------------------------------------- variables set by code


def test_nvml_check_set_by_the_helper_before_its_call():
    found = check("nvml_in_helper")
    # has_gpu() sets PYTORCH_NVML_BASED_CUDA_CHECK=1 before torch.cuda.is_available();
    # has_gpu_unset() sets it after: that one still initializes the driver.
    assert sorted(key for key in found if key[0] == "IG003") == [("IG003", "late.py", 3)]


def test_nvml_check_from_the_profiles_variables():
    found = check("nvml_in_helper", Profile(env=(("PYTORCH_NVML_BASED_CUDA_CHECK", "1"),)))
    assert not [key for key in found if key[0] == "IG003"]


# ----------------------------------------------------------------------------- versions


def test_cutlass_without_an_environment_is_a_warning_naming_the_measured_versions():
    found = check("cutlass_version")
    finding = found[("IG001", "__init__.py", 1)]
    assert finding.strength == VERSION_DEPENDENT and finding_level(finding) == "warning"
    assert "initializes the CUDA driver at import in nvidia-cutlass-dsl 4.5.2, not in 4.8.0 or 4.8.1 (measured)" \
        in finding.message


def test_cutlass_4_5_2_installed_is_an_error():
    found = check("cutlass_version", Profile(versions=(("nvidia-cutlass-dsl", "4.5.2"),)))
    finding = found[("IG001", "__init__.py", 1)]
    assert finding.strength == INITIALIZER and finding_level(finding) == "error"
    assert "nvidia-cutlass-dsl 4.5.2, the environment's version (measured)" in finding.message


@pytest.mark.parametrize("version", ["4.8.0", "4.8.1"])
def test_cutlass_measured_not_to_initialize_is_no_sink(version):
    assert check("cutlass_version", Profile(versions=(("nvidia-cutlass-dsl", version),))) == {}


def test_cutlass_version_not_measured_stays_a_warning_and_says_so():
    found = check("cutlass_version", Profile(versions=(("nvidia-cutlass-dsl", "4.6.0"),)))
    finding = found[("IG001", "__init__.py", 1)]
    assert finding.strength == VERSION_DEPENDENT and "the environment has 4.6.0, not measured" in finding.message


def test_versions_read_from_an_environment(monkeypatch):
    site = ENVIRONMENT / "fake_env" / "site-packages"
    here = target_paths(None)
    monkeypatch.setattr(installed, "target_paths", lambda python: replace(
        here, sys_path=(str(site),), site_packages=(), stdlib_module_names=("os",)))
    profile = with_installed(Profile(), "/fake/python")
    assert profile.version_of("nvidia_cutlass_dsl") == "4.8.1"
    assert profile.modules == ("flash_attn", "os")
    assert profile.decide(True, "installed:flash_attn") is True
    assert profile.decide(True, "installed:deep_gemm") is False
    # Versions given in the config win over the ones read.
    pinned = with_installed(Profile(versions=(("nvidia-cutlass-dsl", "4.5.2"),)), "/fake/python")
    assert pinned.version_of("nvidia-cutlass-dsl") == "4.5.2"
    assert apply_options(Config(project_root=Path(".")), "rocm", None).environment.platform == "rocm"


# ----------------------------------------------------------------------------- undecided conditions


def test_undecided_conditions_are_named_in_the_message():
    found = check("undecided")
    messages = {key[2]: f.message for key, f in found.items() if key[0] == "IG003"}
    assert "runs at import (when flash_attn is installed)" in messages[15]
    assert "runs at import (when deep_gemm is installed)" in messages[17]
    assert "runs at import (when `config.USE_WARMUP`)" in messages[19]


def test_an_installed_module_decides_its_branch():
    profile = Profile(modules=("flash_attn", "torch"))
    found = check("undecided", profile)
    lines = sorted(key[2] for key in found if key[0] == "IG003")
    assert lines == [15, 19]  # deep_gemm is not installed there
    assert "(when" not in found[("IG003", "__init__.py", 15)].message


# ----------------------------------------------------------------------------- config


def test_environment_config_table(tmp_path):
    write_tree(tmp_path, {"pyproject.toml": (
        '[tool.importguard]\n'
        'environment = { platform = "rocm", versions = { "Nvidia_Cutlass.DSL" = "4.8.1" }, '
        'env = { PYTORCH_NVML_BASED_CUDA_CHECK = "1" }, undecided-calls = "follow" }\n')})
    profile = load_config(None, tmp_path).environment
    assert profile == Profile(platform="rocm", versions=(("nvidia-cutlass-dsl", "4.8.1"),),
                              env=(("PYTORCH_NVML_BASED_CUDA_CHECK", "1"),), undecided_calls="follow",
                              source="pyproject.toml")


@pytest.mark.parametrize("toml, expected", [
    ("conditional-calls = true", "conditional-calls was replaced by the environment profile"),
    ('environment = { platform = "metal" }', "environment.platform must be one of cuda, rocm"),
    ('environment = { versions = { x = 1 } }', "environment.versions must be a table"),
    ('environment = { undecided-calls = "yes" }', 'undecided-calls must be "skip" or "follow"'),
    ('environment = { plaform = "rocm" }', "unknown key: plaform"),
    ('environment = "cuda"', "environment must be a table"),
])
def test_bad_environment_config_is_one_clear_sentence(tmp_path, toml, expected):
    write_tree(tmp_path, {"pyproject.toml": f"[tool.importguard]\n{toml}\n"})
    with pytest.raises(ConfigError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        load_config(None, tmp_path)


def test_the_profile_given_on_the_command_line_alone(tmp_path):
    """`--config 'environment = {...}'` with no config file: no internal error."""
    write_tree(tmp_path, {"pkg/__init__.py": "from . import ops\n", "pkg/ops.py": "import cutlass\n"})
    pinned = subprocess.run(
        [sys.executable, "-m", "importguard", "check", "pkg", "--no-cache", "--config",
         'environment = { versions = { nvidia-cutlass-dsl = "4.8.1" } }'],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert (pinned.returncode, pinned.stdout) == (0, ""), pinned.stderr
    initializing = subprocess.run(
        [sys.executable, "-m", "importguard", "check", "pkg", "--no-cache", "--config",
         'environment = { versions = { nvidia-cutlass-dsl = "4.5.2" } }'],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert initializing.returncode == 1 and "[initializer]" in initializing.stdout, initializing.stderr


def test_a_branch_of_a_conditional_expression_the_platform_rules_out(tmp_path):
    """`"cuda" if current_platform.is_cuda_alike() else probe()` at module level: on CUDA
    the else branch never runs (vLLM's flash_linear_attention/ops/utils.py:143)."""
    write_tree(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/platforms.py": "class P:\n    def is_cuda_alike(self):\n        return True\ncurrent_platform = P()\n",
        "pkg/utils.py": ("import torch\nfrom pkg.platforms import current_platform\n\n"
                         "def probe():\n    return torch.cuda.get_device_name(0)\n\n"
                         'DEVICE = "cuda" if current_platform.is_cuda_alike() else probe()\n'
                         'OTHER = probe() if current_platform.is_cuda_alike() else "cpu"\n'),
    })
    report = check_tree(tmp_path)
    assert [(f.code, f.path, f.line) for f in report.findings] == [("IG003", "pkg/utils.py", 8)]


_SHORT_CIRCUITS = {
    "pkg/__init__.py": "",
    # module level: `and`, `or`, and an operand after a platform test and another one
    "pkg/top.py": ("import os\nimport torch\n"
                   "A = torch.version.hip and torch.cuda.is_available()\n"
                   "B = not torch.version.hip or torch.cuda.get_device_name(0)\n"
                   "C = bool(A) and torch.version.hip and torch.cuda.current_device()\n"
                   "if bool(B):\n"
                   "    D = torch.version.hip is not None and torch.cuda.current_device()\n"
                   # diffusers' quantizers/gguf/utils.py, with the variable unset
                   "E = os.getenv('GGUF_KERNELS', 'false').lower() in ['1', 'true'] and torch.cuda.is_available()\n"),
    # function bodies (torchao/float8/config.py's `__post_init__`): `and`, `or`, `x if t else y`
    "pkg/body.py": ("import torch\n\n"
                    "def both():\n"
                    "    if torch.version.hip and torch.cuda.is_available():\n"
                    "        return 1\n\n"
                    "def either():\n"
                    "    return not torch.version.hip or torch.cuda.current_device()\n\n"
                    "def chosen():\n"
                    "    return torch.cuda.current_device() if torch.version.hip else 0\n\n"
                    "both()\n"
                    "either()\n"
                    "chosen()\n"),
}


def test_an_operand_after_a_platform_test_the_profile_rules_out(tmp_path):
    """`torch.version.hip and torch.cuda.is_available()` calls nothing on CUDA, as
    `if torch.version.hip: torch.cuda.is_available()` does not: at module level and in
    a function body, right of `and` and `or`, and in a conditional expression; nor does
    an operand after a test of a variable that is unset."""
    write_tree(tmp_path, _SHORT_CIRCUITS)
    assert [(f.code, f.path, f.line) for f in check_tree(tmp_path).findings] == []


def test_an_operand_after_a_platform_test_is_still_reported_for_its_platform(tmp_path):
    """On ROCm the same operands run on some paths: module-level sites are reported as
    before, and a call right of `and` in a body is followed (the right of `or` and a
    branch of `x if t else y` only with `undecided-calls = "follow"`, as before)."""
    write_tree(tmp_path, {**_SHORT_CIRCUITS, "pyproject.toml": '[tool.importguard]\nenvironment = { platform = "rocm" }\n'})
    found = [(f.code, f.path, f.line) for f in check_tree(tmp_path).findings]
    assert found == [("IG003", "pkg/body.py", 13), ("IG003", "pkg/top.py", 3), ("IG003", "pkg/top.py", 4),
                     ("IG003", "pkg/top.py", 5), ("IG003", "pkg/top.py", 7)]


def test_an_operand_after_a_variable_test_is_reported_where_the_profile_sets_it(tmp_path):
    write_tree(tmp_path, {**_SHORT_CIRCUITS,
                          "pyproject.toml": "[tool.importguard]\nenvironment = { env = { GGUF_KERNELS = '1' } }\n"})
    found = [(f.code, f.path, f.line) for f in check_tree(tmp_path).findings]
    assert found == [("IG003", "pkg/top.py", 8)]
