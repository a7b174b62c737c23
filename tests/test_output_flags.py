"""ruff-style output: --output-format names, --statistics, --quiet, colour,
--show-files/--show-settings, --add-noqa, file-level noqa, the package-data exclude,
and the fix plan after the findings."""

from __future__ import annotations

import json

from conftest import write_tree
from test_cli import REEXPORT, run

CALLS = {
    **REEXPORT,
    "pkg/sub/__init__.py": "from pkg.sub import util\n",
    "pkg/sub/util.py": "import torch\nNAME = torch.cuda.get_device_name()\n",
}


def test_output_format_names_and_the_format_alias(tmp_path):
    write_tree(tmp_path, CALLS)
    text = run("check", "--format", "text", cwd=tmp_path)
    concise = run("check", "--output-format", "concise", cwd=tmp_path)
    default = run("check", cwd=tmp_path)
    assert text.stdout == concise.stdout == default.stdout
    assert text.stdout.splitlines()[0].startswith("pkg/__init__.py:1:1: IG001 ")
    full = run("check", "--output-format", "full", cwd=tmp_path)
    assert full.stdout == run("check", "--format", "full", cwd=tmp_path).stdout
    assert "    pkg -> pkg.ops (pkg/__init__.py:1)" in full.stdout
    grouped = run("check", "--output-format", "grouped", cwd=tmp_path).stdout
    assert grouped.splitlines()[0] == "pkg/__init__.py:"
    assert grouped.splitlines()[1].startswith("  1:1 IG001 ")


def test_the_plan_follows_the_findings_on_stderr(tmp_path):
    write_tree(tmp_path, CALLS)
    done = run("check", cwd=tmp_path)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    head = next(i for i, line in enumerate(lines) if "root cause" in line)
    # The call at util.py:2 is the root cause of both pkg.sub findings (IG001 and IG003).
    assert lines[head] == "3 findings, 2 root causes; these 2 edits clear 3 of them (the fewest):"
    assert lines[head + 1].startswith("  1. pkg/")
    assert "pkg/sub/util.py:2: defer the call" in done.stderr
    assert lines[-1] == "Found 3 findings in 5 files checked."
    assert "root cause" not in done.stdout  # stdout keeps its old bytes


def test_json_root_causes_and_plan(tmp_path):
    write_tree(tmp_path, CALLS)
    data = json.loads(run("check", "--output-format", "json", cwd=tmp_path).stdout)
    assert data["version"] == 1
    by_path = {f["path"]: f for f in data["findings"]}
    assert by_path["pkg/__init__.py"]["root_cause"] == {"path": "pkg/ops.py", "line": 1,
                                                      "what": "`pkg.ops` imports `cutlass`"}
    assert by_path["pkg/sub/util.py"]["root_cause"]["what"] == "`pkg.sub.util` calls `torch.cuda.get_device_name`"
    assert sum(c["findings"] for c in data["root_causes"]) == 3
    assert data["plan"]["exact"] is True and data["plan"]["cleared"] == 3
    assert sorted((e["path"], e["line"], e["kind"]) for e in data["plan"]["edits"]) == [
        ("pkg/ops.py", 1, "import"), ("pkg/sub/util.py", 2, "call")]


def test_statistics_per_code_and_root_cause(tmp_path):
    write_tree(tmp_path, CALLS)
    done = run("check", "--statistics", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout.splitlines()[:2] == ["2\tIG001\tinit-imports-cuda-sink", "1\tIG003\tcuda-call-at-import"]
    assert "2 root causes:" in done.stdout
    assert "2\tpkg/sub/util.py:2\t`pkg.sub.util` calls `torch.cuda.get_device_name`" in done.stdout
    assert "1\tpkg/ops.py:1\t`pkg.ops` imports `cutlass`" in done.stdout
    data = json.loads(run("check", "--statistics", "--output-format", "json", cwd=tmp_path).stdout)
    assert data["statistics"][0] == {"code": "IG001", "name": "init-imports-cuda-sink", "count": 2}


def test_quiet_prints_the_findings_only(tmp_path):
    write_tree(tmp_path, CALLS)
    done = run("check", "--quiet", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr == ""
    assert done.stdout == run("check", cwd=tmp_path).stdout


def test_colour_only_when_asked_or_forced(tmp_path):
    write_tree(tmp_path, REEXPORT)
    piped = run("check", cwd=tmp_path)
    assert "\x1b[" not in piped.stdout + piped.stderr  # not a terminal: no colour
    always = run("check", "--color", "always", cwd=tmp_path)
    assert "\x1b[1;31mIG001\x1b[0m" in always.stdout
    assert always.stdout.replace("\x1b[1m", "").replace("\x1b[36m", "").replace("\x1b[1;31m", "").replace(
        "\x1b[0m", "") == piped.stdout
    import os
    import subprocess
    import sys

    def with_env(extra, *args):
        env = {**os.environ, **extra}
        return subprocess.run([sys.executable, "-m", "importguard", "check", *args], cwd=tmp_path,
                              capture_output=True, text=True, env=env, timeout=120)

    assert "\x1b[" in with_env({"FORCE_COLOR": "1"}).stdout
    assert "\x1b[" not in with_env({"FORCE_COLOR": "1"}, "--color", "never").stdout
    assert "\x1b[" not in with_env({"NO_COLOR": "1"}).stdout
    assert "\x1b[" not in with_env({"NO_COLOR": "1", "FORCE_COLOR": "1"}).stdout
    assert "\x1b[" in with_env({"NO_COLOR": "1"}, "--color", "always").stdout
    assert "\x1b[" not in run("check", "--color", "always", "--output-format", "json", cwd=tmp_path).stdout


def test_show_files_and_settings(tmp_path):
    write_tree(tmp_path, {**REEXPORT, "pyproject.toml": '[tool.importguard]\ncuda-free = ["pkg.clean"]\n',
                          "pkg/data/vendored/x.py": "import cutlass\n"})
    files = run("check", "--show-files", cwd=tmp_path)
    assert files.returncode == 0
    assert files.stdout.splitlines() == ["pkg/__init__.py", "pkg/clean.py", "pkg/ops.py"]
    settings = run("check", "--show-settings", cwd=tmp_path)
    assert settings.returncode == 0
    assert "cuda-free = [\n    'pkg.clean',\n]" in settings.stdout
    assert "exclude-package-data = True" in settings.stdout


def test_package_data_is_skipped_unless_configured_or_named(tmp_path):
    write_tree(tmp_path, {**REEXPORT, "pkg/data/cutlass/python/mod/__init__.py": "import cutlass\n"})
    default = json.loads(run("check", "--output-format", "json", cwd=tmp_path).stdout)
    assert [f["path"] for f in default["findings"]] == ["pkg/__init__.py"]
    named = json.loads(run("check", "--output-format", "json", "pkg/data", cwd=tmp_path).stdout)
    assert [f["path"] for f in named["findings"]] == ["pkg/data/cutlass/python/mod/__init__.py"]
    write_tree(tmp_path, {"pyproject.toml": "[tool.importguard]\nexclude-package-data = false\n"})
    configured = json.loads(run("check", "--output-format", "json", cwd=tmp_path).stdout)
    assert len(configured["findings"]) == 2
    # A `data` directory that is a regular package is code, not data.
    write_tree(tmp_path, {"pyproject.toml": "[tool.importguard]\n", "pkg/data/__init__.py": "from pkg import ops\n"})
    code = json.loads(run("check", "--output-format", "json", cwd=tmp_path).stdout)
    assert "pkg/data/__init__.py" in [f["path"] for f in code["findings"]]


def test_add_noqa_is_idempotent_and_suppresses(tmp_path):
    write_tree(tmp_path, {**CALLS, "pkg/__init__.py": "from .ops import (  # re-export\n    gemm,\n)\n"})
    done = run("check", "--add-noqa", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Added 3 noqa directives in 3 files." in done.stderr
    # The first line of the site, after the comment there (where the editor's action puts it).
    assert (tmp_path / "pkg/__init__.py").read_text() == "from .ops import (  # re-export  # noqa: IG001\n    gemm,\n)\n"
    assert (tmp_path / "pkg/sub/util.py").read_text() == "import torch\nNAME = torch.cuda.get_device_name()  # noqa: IG003\n"
    snapshot = {p: p.read_bytes() for p in tmp_path.rglob("*.py")}
    again = run("check", "--add-noqa", cwd=tmp_path)
    assert "Added 0 noqa directives in 0 files." in again.stderr
    assert {p: p.read_bytes() for p in tmp_path.rglob("*.py")} == snapshot
    clean = run("check", cwd=tmp_path)
    assert clean.returncode == 0 and "All checks passed" in clean.stderr
    unused = run("check", "--select", "IG903", cwd=tmp_path)
    assert unused.returncode == 0, unused.stdout  # every directive written is used


def test_file_level_noqa_and_unused_suppressions(tmp_path):
    write_tree(tmp_path, {**CALLS, "pkg/sub/util.py": "# importguard: noqa: IG003\nimport torch\nNAME = torch.cuda.get_device_name()\n",
                          "pkg/clean.py": "import os  # noqa: IG001\nimport sys  # noqa: E402\n"})
    done = run("check", "--output-format", "json", cwd=tmp_path)
    assert [f["path"] for f in json.loads(done.stdout)["findings"]] == ["pkg/__init__.py", "pkg/sub/__init__.py"]
    # IG903 is opt-in: off by default, on when selected.
    assert "IG903" not in done.stdout
    unused = run("check", "--select", "IG903", cwd=tmp_path)
    assert unused.stdout == "pkg/clean.py:1:1: IG903 `# noqa` for IG001 suppresses no finding; remove the comment, or the codes it does not use\n"


def test_explain_shows_the_plan(tmp_path):
    write_tree(tmp_path, CALLS)
    done = run("explain", "pkg.sub", cwd=tmp_path)
    assert done.returncode == 1
    assert "fix plan: these 2 edits leave importing `pkg.sub` reaching no CUDA sink (the fewest):" in done.stdout
    assert "  1. pkg/ops.py:1: move the import into the function that uses it, or make it lazy: `pkg.ops` imports `cutlass`\n" in done.stdout
    assert "pkg/sub/util.py:2: defer the call" in done.stdout


def test_concise_lists_the_first_ten_edits_and_full_all(tmp_path):
    files = {"pkg/__init__.py": ""}
    for number in range(12):
        files[f"pkg/m{number:02}.py"] = "import torch\nX = torch.cuda.is_available()\n"
    write_tree(tmp_path, files)
    concise = run("check", cwd=tmp_path).stderr
    assert "12 findings, 12 root causes; these 12 edits clear 12 of them (the fewest):" in concise
    assert "  10. pkg/m09.py:2: defer the call" in concise and "pkg/m10.py:2" not in concise
    assert "  … and 2 more edits (--output-format full or json lists them all)" in concise
    full = run("check", "--output-format", "full", cwd=tmp_path).stderr
    assert "  12. pkg/m11.py:2: defer the call" in full and "more edits" not in full


def test_add_noqa_refuses_fix_and_diff(tmp_path):
    write_tree(tmp_path, REEXPORT)
    done = run("check", "--add-noqa", "--fix", cwd=tmp_path)
    assert done.returncode == 2
    assert "--add-noqa cannot be combined with --fix or --diff" in done.stderr
    assert (tmp_path / "pkg/__init__.py").read_text() == REEXPORT["pkg/__init__.py"]
