"""The CLI as a user runs it: formats, exit codes, config, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES, write_tree

EXAMPLE = FIXTURES / "example"

REEXPORT = {
    "pkg/__init__.py": "from .ops import gemm\n",
    "pkg/ops.py": "import cutlass\n\ndef gemm():\n    pass\n",
    "pkg/clean.py": "import os\n",
}


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "importguard", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_bundled_example_reports_the_chain():
    done = run("check", "--format", "full", ".", cwd=EXAMPLE)
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines()[0].startswith(
        "vllm_mini/entrypoints/serve.py:3:1: IG002 eager import in `cuda-free` module reaches `cutlass`"
    )
    assert (
        "    vllm_mini.models.deepseek.ops -> vllm_mini.models.deepseek.ops.fused_moe "
        "(vllm_mini/models/deepseek/ops/__init__.py:3)"
    ) in done.stdout
    assert "Found 2 findings in 9 files checked." in done.stderr


def test_paths_choose_reported_files_but_graph_covers_the_package():
    done = run("check", "vllm_mini/entrypoints", cwd=EXAMPLE)
    lines = done.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("vllm_mini/entrypoints/serve.py:3:1: IG002")
    full = run("check", "--output-format", "full", "vllm_mini/entrypoints", cwd=EXAMPLE).stdout
    assert full.startswith("vllm_mini/entrypoints/serve.py:3:1: IG002")
    assert "vllm_mini.models.deepseek.ops.fused_moe -> cutlass (vllm_mini/models/deepseek/ops/fused_moe.py:1)" in full


def test_json_schema(tmp_path):
    write_tree(tmp_path, REEXPORT)
    done = run("check", "--format", "json", cwd=tmp_path)
    assert done.returncode == 1
    data = json.loads(done.stdout)
    assert data["version"] == 1
    (finding,) = data["findings"]
    assert {k: finding[k] for k in ("code", "name", "path", "line", "column", "sink")} == {
        "code": "IG001",
        "name": "init-imports-cuda-sink",
        "path": "pkg/__init__.py",
        "line": 1,
        "column": 1,
        "sink": "cutlass",
    }
    assert [(h["importer"], h["imported"], h["path"], h["line"]) for h in finding["chain"]] == [
        ("pkg", "pkg.ops", "pkg/__init__.py", 1),
        ("pkg.ops", "cutlass", "pkg/ops.py", 1),
    ]
    assert finding["message"].index("reaches") < finding["message"].index("pkg -> pkg.ops") < finding[
        "message"
    ].index("import it inside")


def test_output_is_deterministic_and_sorted(tmp_path):
    files = dict(REEXPORT)
    files["pkg/sub/__init__.py"] = "import cutlass\nfrom pkg.clean import os\n"
    files["a/__init__.py"] = "import torch\nX = torch.cuda.is_available()\nimport cutlass.cute\n"
    write_tree(tmp_path, files)
    first = run("check", cwd=tmp_path).stdout
    second = run("check", cwd=tmp_path).stdout
    assert first == second
    keys = [(line.split(":")[0], int(line.split(":")[1])) for line in first.splitlines()]
    assert keys == sorted(keys) and len(keys) == 4


def test_exit_codes_select_ignore_and_exit_zero(tmp_path):
    write_tree(tmp_path, REEXPORT)
    assert run("check", cwd=tmp_path).returncode == 1
    assert run("check", "--exit-zero", cwd=tmp_path).returncode == 0
    assert run("check", "--ignore", "IG001", cwd=tmp_path).returncode == 0
    assert run("check", "--select", "IG9", cwd=tmp_path).returncode == 0
    assert run("check", "--select", "IG0", cwd=tmp_path).returncode == 1
    bad = run("check", "--select", "F401", cwd=tmp_path)
    assert bad.returncode == 2 and "not a rule code" in bad.stderr


def test_clean_project_exits_zero(tmp_path):
    write_tree(tmp_path, {"pkg/__init__.py": "def f():\n    import cutlass\n"})
    done = run("check", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout == ""
    assert "All checks passed" in done.stderr


@pytest.mark.parametrize(
    "comment, suppressed",
    [("# noqa: IG001", True), ("# noqa", True), ("# importguard: ignore[IG001]", True),
     ("# importguard: ignore", True), ("# noqa: F401", False), ("# noqa: IG002", False)],
)
def test_suppression_comments(tmp_path, comment, suppressed):
    write_tree(tmp_path, {**REEXPORT, "pkg/__init__.py": f"from .ops import gemm  {comment}\n"})
    assert run("check", cwd=tmp_path).returncode == (0 if suppressed else 1)


def test_suppression_on_any_line_of_a_multiline_import(tmp_path):
    write_tree(tmp_path, {**REEXPORT, "pkg/__init__.py": "from .ops import (\n    gemm,  # noqa: IG001\n)\n"})
    assert run("check", cwd=tmp_path).returncode == 0


def test_config_keys(tmp_path):
    write_tree(
        tmp_path,
        {
            **REEXPORT,
            "pyproject.toml": (
                "[tool.importguard]\n"
                'sink-modules = [{ module = "mylib.gpu", reason = "opens a CUDA context" }]\n'
                'extend-sink-calls = ["mylib.warmup"]\n'
                'per-file-ignores = { "pkg/other/__init__.py" = ["IG001"] }\n'
                'exclude = ["skipped"]\n'
            ),
            "pkg/other/__init__.py": "import mylib.gpu\n",
            "skipped/__init__.py": "import mylib.gpu\n",
            "app/__init__.py": "import mylib.gpu.kernels\nimport mylib\nmylib.warmup()\n",
        },
    )
    out = run("check", "--output-format", "full", cwd=tmp_path).stdout
    # cutlass is no longer a sink (sink-modules replaces the default); mylib.gpu is.
    assert "pkg/__init__.py" not in out and "skipped" not in out and "pkg/other" not in out
    assert "app/__init__.py:1:1: IG001" in out and "opens a CUDA context" in out
    assert "app/__init__.py:3:1: IG003 `mylib.warmup()` runs at import" in out


@pytest.mark.parametrize(
    "toml, expected",
    [
        ("[tool.importguard]\nsink-moduls = []\n",
         "pyproject.toml:2: unknown key `sink-moduls` in [tool.importguard]; did you mean `sink-modules`?"),
        ('[tool.importguard]\ncuda-free = "pkg"\n', "cuda-free must be a list of strings"),
        ("[tool.importguard]\nsink-modules = [1]\n", "sink-modules must be a list of names or tables"),
        ("[tool.importguard\n", "invalid TOML"),
        ('[tool.importguard]\nselect = ["E501"]\n', "not a rule code"),
    ],
)
def test_bad_config_is_one_clear_sentence(tmp_path, toml, expected):
    write_tree(tmp_path, {**REEXPORT, "pyproject.toml": toml})
    done = run("check", cwd=tmp_path)
    assert done.returncode == 2
    assert expected in done.stderr and "pyproject.toml" in done.stderr
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1


def test_missing_path_and_debug_traceback(tmp_path):
    done = run("check", "no/such/dir", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == "importguard: error: path does not exist: no/such/dir\n"
    debug = run("check", "--debug", "no/such/dir", cwd=tmp_path)
    assert debug.returncode == 2 and "Traceback" in debug.stderr


def test_bad_files_are_findings_and_the_rest_is_still_checked(tmp_path):
    write_tree(
        tmp_path,
        {
            **REEXPORT,
            "pkg/broken.py": "def f(:\n",
            "pkg/latin.py": b"x = 'caf\xe9'\n",
            "pkg/empty.py": "",
            "pkg/comments.py": "# nothing\n",
            "pkg/deep.py": "x = " + "(" * 5000 + ")" * 5000 + "\n",
            "pkg/beyond.py": "from ... import x\n",
            "ns/plain.py": "import cutlass\n",  # a namespace package: no __init__.py
        },
    )
    os.symlink("loop.py", tmp_path / "pkg" / "loop.py")
    done = run("check", cwd=tmp_path)
    assert done.returncode == 1
    codes = sorted(
        (line.split(":")[0], line.split(" ")[1]) for line in done.stdout.splitlines()
    )
    assert codes == [
        ("pkg/__init__.py", "IG001"),
        ("pkg/beyond.py", "IG902"),
        ("pkg/broken.py", "IG900"),
        ("pkg/deep.py", "IG900"),
        ("pkg/latin.py", "IG901"),
        ("pkg/loop.py", "IG901"),
    ]
    assert "Traceback" not in done.stderr


def test_directory_symlink_loop_terminates(tmp_path):
    write_tree(tmp_path, REEXPORT)
    os.symlink("..", tmp_path / "pkg" / "up")
    done = run("check", "pkg", cwd=tmp_path)
    assert done.returncode == 1 and done.stdout.count("IG001") == 1


def test_rule_and_explain_commands(tmp_path):
    doc = run("rule", "IG001", cwd=tmp_path)
    assert doc.returncode == 0 and doc.stdout.startswith("# IG001 `init-imports-cuda-sink`")
    assert "## Why is this bad?" in doc.stdout
    assert run("rule", "IG999", cwd=tmp_path).returncode == 2
    write_tree(tmp_path, REEXPORT)
    explained = run("explain", "pkg.clean", cwd=tmp_path)
    assert explained.returncode == 1
    assert "importing `pkg.clean` reaches 1 CUDA sink" in explained.stdout
    assert "chain: pkg -> pkg.ops -> cutlass" in explained.stdout
    missing = run("explain", "nope.mod", cwd=tmp_path)
    assert missing.returncode == 2 and "was not found" in missing.stderr


def test_version_and_module_entry_point(tmp_path):
    from importguard import __version__

    done = run("--version", cwd=tmp_path)
    assert done.returncode == 0 and __version__ in done.stdout


def test_confirm_attaches_a_runtime_verdict(tmp_path):
    write_tree(
        tmp_path,
        {
            **REEXPORT,
            "pyproject.toml": '[tool.importguard]\nsrc = [".", "stubs"]\n',
            "stubs/cutlass/__init__.py": "",
        },
    )
    done = run("check", "--confirm", "--format", "json", "pkg", cwd=tmp_path)
    (finding,) = json.loads(done.stdout)["findings"]
    assert finding["confirmation"]["status"] == "sink-imported"
    assert finding["confirmation"]["confirmed"] is not True  # no GPU driver initialized here
    assert "0 of 1 probed findings confirmed" in done.stderr


def test_namespace_directories_inside_a_regular_package(tmp_path):
    # sglang's layout: sglang/__init__.py, but sglang/srt/layers/... have no __init__.py.
    write_tree(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/ns/deeper/mod.py": "from .other import x\n",
            "pkg/ns/deeper/other.py": "import cutlass\nx = 1\n",
            "pkg/sub/__init__.py": "from pkg.ns.deeper.mod import x\n",
        },
    )
    done = run("check", "--format", "json", cwd=tmp_path)
    (finding,) = json.loads(done.stdout)["findings"]
    assert finding["code"] == "IG001" and finding["path"] == "pkg/sub/__init__.py"
    assert [h["imported"] for h in finding["chain"]] == ["pkg.ns.deeper.mod", "pkg.ns.deeper.other", "cutlass"]


def test_a_directory_its_packages_import_themselves_through_is_a_namespace_package(tmp_path):
    # megatron-core's wheel: megatron/core/__init__.py (`import megatron.core.utils`) and
    # no megatron/__init__.py. A src layout (`src/app`, imported as `app`) stays as it was.
    write_tree(
        tmp_path,
        {
            "ns/pkg/__init__.py": "import ns.pkg.utils\n",
            "ns/pkg/utils.py": "from ns.pkg.ops import x\n",
            "ns/pkg/ops.py": "import cutlass\nx = 1\n",
            "src/app/__init__.py": "from app.ops import y\n",
            "src/app/ops.py": "import cutlass\ny = 1\n",
            # a checkout named as its package, which has a submodule of that name too
            "foo/foo/__init__.py": "from foo.foo import z\n",
            "foo/foo/foo.py": "import cutlass\nz = 1\n",
        },
    )
    done = run("check", "--no-cache", "--format", "json", cwd=tmp_path)
    chains = {f["path"]: [h["imported"] for h in f["chain"]] for f in json.loads(done.stdout)["findings"]}
    assert chains == {"ns/pkg/__init__.py": ["ns.pkg.utils", "ns.pkg.ops", "cutlass"],
                      "src/app/__init__.py": ["app.ops", "cutlass"],
                      "foo/foo/__init__.py": ["foo.foo", "cutlass"]}, done.stderr


def test_explain_names_each_configured_sink_once(tmp_path):
    write_tree(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/k.py": "import cutlass.cute\nfrom cutlass.utils.smem import SmemAllocator\nfrom cuda.bindings import driver\n",
        },
    )
    done = run("explain", "pkg.k", cwd=tmp_path)
    assert "importing `pkg.k` reaches 2 CUDA sinks" in done.stdout
    assert "SmemAllocator" not in done.stdout


def test_the_probing_commands_share_one_timeout_option():
    """check --confirm, probe and agree take --timeout the same way: any positive number."""
    from click.testing import CliRunner

    from importguard.cli.main import cli

    for command in (["check", "--confirm", "."], ["probe", "pkg"], ["agree", "pkg"]):
        result = CliRunner().invoke(cli, [*command, "--timeout", "0"])
        assert result.exit_code == 2
        assert "Invalid value for '--timeout': 0.0 is not in the range x>0." in result.output


@pytest.mark.skipif(sys.platform == "win32", reason="closes a file descriptor before exec")
@pytest.mark.parametrize("closed", [1, 2])
def test_a_closed_standard_stream_is_no_internal_error(tmp_path, closed):
    """`importguard check pkg >&-` (or `2>&-`): the exit code still says whether
    there are findings; with stdout closed, stderr says the report is not shown."""
    write_tree(tmp_path, {"pkg/__init__.py": "from . import ops\n", "pkg/ops.py": "import cutlass\n"})
    done = subprocess.run([sys.executable, "-m", "importguard", "check", "pkg", "--no-cache"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, preexec_fn=lambda: os.close(closed))
    assert done.returncode == 1
    if closed == 1:
        assert "standard output is closed" in done.stderr and "internal error" not in done.stderr
    else:
        assert done.stdout == "pkg/__init__.py:1:1: IG001 eager import in package `__init__` reaches `cutlass` [initializer in some versions]\n"
