"""Hostile and malformed input (issue 12): every bad input gets a finding or one clear
sentence; nothing hangs, nothing lies."""

from __future__ import annotations

import json
import sqlite3
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import write_tree
from importguard.facts.collect import collect_source
from importguard.model import SourceFile

CUTLASS_REEXPORT = {
    "pkg/__init__.py": "from . import ops\n",
    "pkg/ops.py": "import cutlass\n",
}


def run(*args: str, cwd: Path, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "importguard", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=None if env is None else {**os.environ, **env},
    )


def facts_of(text: str | bytes):
    data = text.encode() if isinstance(text, str) else text
    return collect_source(data, SourceFile("/x/m.py", "m", False, "/x"))


# ----------------------------------------------------------------------------- paths


@pytest.mark.parametrize("spelling, cwd", [("pkg/../pkg", "."), ("..", "pkg")])
def test_paths_with_dot_dot_name_modules_as_plain_paths(tmp_path, spelling, cwd):
    write_tree(tmp_path, CUTLASS_REEXPORT)
    done = run("check", "--no-cache", "--output-format", "full", spelling, cwd=tmp_path / cwd)
    assert done.returncode == 1, done.stderr
    assert "IG001" in done.stdout and "pkg -> pkg.ops (" in done.stdout and "pkg.ops -> cutlass (" in done.stdout
    assert "pkg..." not in done.stdout


# ----------------------------------------------------------------------------- syntax


@pytest.mark.parametrize(
    "source, message, line, column",
    [
        ("import os\nreturn 1\n", "'return' outside function", 2, 1),
        ("import os\ndef f(a, a):\n    pass\n", "duplicate argument 'a'", 2, 10),
        ("import os\nbreak\n", "'break' outside loop", 2, 1),
        ("from __future__ import braces\n", "not a chance", 1, 1),
        ("import os\nx = b'\u00e9'\n", "bytes can only contain ASCII", 2, 5),
        ("import os\nx = (1,\n", "'(' was never closed", 2, 5),
        ("import os\nx = 'abc\n", "unterminated string literal", 2, 5),
        ("import os\n\ndef f(:\n    pass\n", "invalid syntax", 3, 7),
    ],
)
def test_syntax_errors_are_cpythons_own_with_its_position(source, message, line, column):
    (problem,) = facts_of(source).problems
    assert problem.code == "IG900"
    assert message in problem.message
    assert (problem.line, problem.column) == (line, column)


def test_syntax_newer_than_this_python_is_still_libcsts_to_parse():
    facts = facts_of("lazy import cutlass\ntype X = int\n")
    assert facts.problems == ()
    assert [s.module for s in facts.imports] == ["cutlass"]


def test_brackets_in_strings_and_comments_are_not_nesting():
    brackets = "(" * 250 + ")" * 250
    source = f'import torch\nx = "{brackets}"  # {brackets}\ntorch.cuda.is_available()\n'
    facts = facts_of(source)
    assert facts.problems == ()
    assert [c.name for c in facts.calls] == ["torch.cuda.is_available"]


def test_a_long_expression_python_accepts_is_analysed():
    source = "import torch\nx = torch.cuda.is_available() + " + " + ".join(["1"] * 1000) + "\n"
    facts = facts_of(source)
    assert facts.problems == ()
    assert [c.name for c in facts.calls] == ["torch.cuda.is_available"]


def test_an_expression_python_refuses_never_reaches_libcst():
    # 10,000 terms segfaulted LibCST's native parser; CPython refuses them first.
    (problem,) = facts_of("x = " + " + ".join(["1"] * 10_000) + "\n").problems
    assert problem.code == "IG900" and "too deeply nested" in problem.message


def test_a_boolean_chain_that_would_crash_libcst_is_a_finding_not_a_segfault():
    # CPython keeps `1 and 1 and ...` flat and accepts it; LibCST nests it and its native
    # parser overflowed its stack at 10,000 operands.
    (problem,) = facts_of("x = 1" + " and 1" * 10_000 + "\n").problems
    assert problem.code == "IG901" and "Python accepts it" in problem.message
    assert facts_of("import os\nx = 1" + " and 1" * 3_000 + "\n").problems == ()


def test_a_long_boolean_chain_reads_its_left_operands_a_bounded_number_of_times(monkeypatch):
    # The gate of an operand (what the operands before it rule out) is read from the
    # source of its left side; read at every level, a chain of n operands cost n**2
    # (a 3,000-operand chain took 100 s).
    from importguard.facts import collect

    read = []
    gate = collect._Walker._operand_gate
    monkeypatch.setattr(collect._Walker, "_operand_gate", lambda self, node: read.append(node) or gate(self, node))
    facts = facts_of("import torch\nx = torch.version.hip" + " and f()" * 500 + " and torch.cuda.is_available()\n")
    assert len(read) == collect._GATED_LEVELS
    # the last operands still carry the platform test's term (rocm only)
    (last,) = [call for call in facts.calls if call.name == "torch.cuda.is_available"]
    assert "rocm" in last.condition


def test_what_python_accepts_and_libcst_cannot_parse_is_not_called_a_syntax_error():
    (problem,) = facts_of("x = " + " ".join(["'a'"] * 5_000) + "\n").problems
    assert problem.code == "IG901"
    assert "LibCST cannot parse it, though Python accepts it" in problem.message


def test_deep_real_brackets_are_still_refused():
    (problem,) = facts_of("x = " + "(" * 300 + ")" * 300 + "\n").problems
    assert problem.code == "IG900" and "parenthes" in problem.message


# ----------------------------------------------------------------------------- cache


@pytest.mark.parametrize(
    "field, bad",
    [
        (1, [1]),  # calls: one value, not five per site
        (1, ["torch.cuda.is_available", "2", 1, 2, 0]),  # a line that is a string
        (0, ["cutlass", "", 1, 1, 1, "eager", "import"]),  # seven values, not eight
        (3, [[1, "IG003"]]),  # suppression codes not a list
        (2, "abc"),  # exports not a list
    ],
)
def test_cache_entry_of_the_wrong_shape_is_a_miss_and_a_warning(tmp_path, field, bad):
    from importguard.cache.loader import open_loader
    from importguard.cache.store import digest
    from importguard.config import load_config
    from importguard.engine import run_check

    write_tree(tmp_path, {"pyproject.toml": "[tool.importguard]\n",
                          "pkg/__init__.py": "import torch\ntorch.cuda.is_available()\n"})

    def check():
        config = load_config(None, tmp_path)
        with open_loader(config, jobs=1) as collector:
            report = run_check([tmp_path], config, collector=collector)
        return [f.code for f in report.findings], collector.collected, collector.warnings

    assert check()[:2] == (["IG003"], 1)
    cache = tmp_path / ".importguard_cache"
    (index,) = cache.glob("facts-*.sqlite")
    database = sqlite3.connect(index, isolation_level=None)
    ((hashed, data),) = database.execute("SELECT hash, data FROM facts")  # the entry names its facts by their hash
    facts = json.loads(data)
    facts[field] = bad
    # Consistent as a hostile cache can make it: the entry names the new bytes by their
    # hash, so only the shape check stands between them and the report.
    damaged = json.dumps(facts, separators=(",", ":")).encode()
    rehashed = digest(damaged)
    database.execute("UPDATE facts SET data = ?, hash = ? WHERE hash = ?", (damaged, rehashed, hashed))
    database.execute("UPDATE files SET facts = ?", (rehashed,))
    database.close()
    codes, parsed, warnings = check()
    assert codes == ["IG003"] and parsed == 1
    assert len(warnings) == 1 and "corrupt cache entry" in warnings[0]
    assert check() == (["IG003"], 0, [])  # rebuilt, not saved back


# ----------------------------------------------------------------------------- files


def test_named_pipes_and_devices_are_findings_not_hangs(tmp_path):
    write_tree(tmp_path, CUTLASS_REEXPORT)
    os.mkfifo(tmp_path / "pkg" / "pipe.py")
    os.symlink("/dev/zero", tmp_path / "pkg" / "zero.py")
    walked = run("check", "--no-cache", cwd=tmp_path, timeout=30)
    named = run("check", "--no-cache", "pkg/pipe.py", cwd=tmp_path, timeout=30)
    assert "pkg/pipe.py:1:1: IG901 cannot read file: not a regular file: a named pipe" in walked.stdout
    assert "pkg/zero.py:1:1: IG901 cannot read file: not a regular file: a character device" in walked.stdout
    assert "IG001" in walked.stdout  # the rest is still checked
    assert named.returncode == 1 and "a named pipe" in named.stdout


def test_a_file_over_the_size_cap_is_a_finding(tmp_path, monkeypatch):
    from importguard.facts import budget
    from importguard.cache.pool import collect_entry, facts_of

    monkeypatch.setattr(budget, "MAX_SOURCE_BYTES", 10_000)
    write_tree(tmp_path, {"big.py": "x = '" + "a" * 20_000 + "'\n", "small.py": "import os\n"})
    big_source = SourceFile(str(tmp_path / "big.py"), "big", False, str(tmp_path))
    small_source = SourceFile(str(tmp_path / "small.py"), "small", False, str(tmp_path))
    big = collect_entry(big_source)
    small = collect_entry(small_source)
    (problem,) = facts_of(big_source, big).problems
    assert problem.code == "IG901" and "20,007 bytes, over the 10,000 bytes" in problem.message
    assert big["digest"] is None  # never cached
    small_facts = facts_of(small_source, small)
    assert small_facts.problems == () and small_facts.imports


def _collect_with_pool(tmp_path, files):
    from importguard.cache.pool import WorkerPool, facts_of

    sources = []
    for name in files:
        sources.append(SourceFile(str(tmp_path / name), name[:-3], False, str(tmp_path)))
    collector = WorkerPool(2)
    try:
        return {s.module: facts_of(s, r) for s, r in zip(sources, collector(sources))}
    finally:
        collector.close()


def test_a_file_past_the_memory_budget_is_a_finding_and_the_run_goes_on(tmp_path, monkeypatch):
    from importguard.facts import budget

    monkeypatch.setattr(budget, "INLINE_MAX_BYTES", 1_000)
    monkeypatch.setattr(budget, "MEMORY_BUDGET_BYTES", 150 * 1024**2)
    write_tree(tmp_path, {"heavy.py": "x = 1\n" * 60_000, "a.py": "import cutlass\n", "b.py": "import os\n"})
    facts = _collect_with_pool(tmp_path, ["heavy.py", "a.py", "b.py"])
    (problem,) = facts["heavy"].problems
    assert problem.code == "IG901" and "passed the budget of one worker (150 MB" in problem.message
    assert [s.module for s in facts["a"].imports] == ["cutlass"] and facts["a"].problems == ()


def test_a_file_past_the_time_budget_is_a_finding(tmp_path, monkeypatch):
    from importguard.facts import budget

    monkeypatch.setattr(budget, "INLINE_MAX_BYTES", 1_000)
    monkeypatch.setattr(budget, "TIME_BUDGET_SECONDS", 0.5)
    write_tree(tmp_path, {"slow.py": "x = 1\n" * 40_000, "a.py": "import cutlass\n"})
    facts = _collect_with_pool(tmp_path, ["slow.py", "a.py"])
    (problem,) = facts["slow"].problems
    assert problem.code == "IG901" and "0.5 s" in problem.message
    assert [s.module for s in facts["a"].imports] == ["cutlass"]


# ----------------------------------------------------------------------------- output


@pytest.mark.parametrize("output_format", ["text", "full", "json", "sarif", "github"])
def test_file_names_that_are_not_utf8_print_in_every_format(tmp_path, output_format):
    write_tree(tmp_path, {"pkg/__init__.py": ""})
    (tmp_path / os.fsdecode(b"pkg/caf\xe9.py")).write_text("import torch\ntorch.cuda.is_available()\n")
    done = subprocess.run(
        [sys.executable, "-m", "importguard", "check", "--no-cache", "--format", output_format],
        cwd=tmp_path, capture_output=True, timeout=120, env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    assert done.returncode == 1, done.stderr
    stdout = done.stdout.decode("utf-8")  # valid UTF-8
    assert b"internal error" not in done.stderr
    if output_format in ("json", "sarif"):
        document = json.loads(stdout)
        assert "\udce9" not in json.dumps(document, ensure_ascii=False)
    if output_format == "sarif":
        (result,) = document["runs"][0]["results"]
        assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "pkg/caf%E9.py"
    elif output_format == "json":
        assert document["findings"][0]["path"] == "pkg/caf\\xe9.py"
    else:
        assert "caf\\xe9" in stdout


# ----------------------------------------------------------------------------- config


def test_a_pyproject_whose_tool_is_not_a_table_is_not_our_config(tmp_path):
    write_tree(tmp_path, {**CUTLASS_REEXPORT, "pyproject.toml": 'tool = "importguard"\n'})
    done = run("check", "--no-cache", cwd=tmp_path)
    assert done.returncode == 1 and "IG001" in done.stdout, done.stderr
    assert "internal error" not in done.stderr


def test_select_accepts_the_ig_prefix_on_the_command_line(tmp_path):
    write_tree(tmp_path, CUTLASS_REEXPORT)
    done = run("check", "--no-cache", "--select", "IG", cwd=tmp_path)
    assert done.returncode == 1 and "IG001" in done.stdout, done.stderr


@pytest.mark.parametrize(
    "given, sentence",
    [
        ("/dev/null", "importguard: error: --config /dev/null is a character device; give a pyproject.toml or importguard.toml file\n"),
        ("{tmp}", "importguard: error: --config {tmp} is a directory; give a pyproject.toml or importguard.toml file\n"),
    ],
)
@pytest.mark.parametrize("command", [["check"], ["probe", "pkg"], ["agree", "pkg"]])
def test_config_that_is_not_a_file_is_one_sentence(tmp_path, given, sentence, command):
    write_tree(tmp_path, CUTLASS_REEXPORT)
    done = run(*command, "--config", given.format(tmp=tmp_path), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == sentence.format(tmp=tmp_path)


def test_a_broken_pyproject_of_an_unrelated_parent_does_not_stop_a_run(tmp_path):
    write_tree(tmp_path, {"pyproject.toml": "[project\nname = 'x'\n", **{f"sub/{k}": v for k, v in CUTLASS_REEXPORT.items()}})
    done = run("check", "--no-cache", cwd=tmp_path / "sub")
    assert done.returncode == 1 and "IG001" in done.stdout, done.stderr
    (tmp_path / "sub" / "pyproject.toml").write_text("[tool.importguard\n")
    ours = run("check", "--no-cache", cwd=tmp_path / "sub")
    assert ours.returncode == 2 and "invalid TOML" in ours.stderr


# ----------------------------------------------------------------------------- explain


@pytest.mark.parametrize(
    "name, sentence",
    [
        ("circ/a", "importguard: error: 'circ/a' is not a module name (a path? name the module with dots, e.g. `pkg.sub`)\n"),
        ("circ.", "importguard: error: 'circ.' is not a module name\n"),
        ("circ..a", "importguard: error: 'circ..a' is not a module name\n"),
    ],
)
def test_explain_rejects_what_is_not_a_module_name(tmp_path, name, sentence):
    write_tree(tmp_path, {"circ/__init__.py": "from . import a\n", "circ/a.py": "import cutlass\n"})
    done = run("explain", name, cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == sentence


# ----------------------------------------------------------------------------- verify-install


@pytest.fixture(scope="module")
def bare_venv(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile-venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / "venv")], check=True, timeout=120)
    python = root / "venv" / "bin" / "python"
    site = Path(subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip())
    return python, site


def _dist(site: Path, name: str, record: str | None = None) -> Path:
    import base64
    import hashlib

    package = site / name
    package.mkdir(exist_ok=True)
    (package / "__init__.py").write_bytes(b"X = 1\n")
    dist_info = site / f"{name}-1.0.dist-info"
    dist_info.mkdir(exist_ok=True)
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    digest = base64.urlsafe_b64encode(hashlib.sha256(b"X = 1\n").digest()).decode().rstrip("=")
    if record is not None:
        (dist_info / "RECORD").write_text(f"{name}/__init__.py,sha256={digest},6\n" + record)
    return dist_info


def _verify(python, *names):
    from click.testing import CliRunner

    from importguard.cli.main import cli

    result = CliRunner().invoke(cli, ["verify-install", "--python", str(python), "--format", "json", *names])
    return result.exit_code, result.stdout, result.stderr


def test_record_paths_that_leave_the_environment_are_problems_never_read(bare_venv, monkeypatch):
    python, site = bare_venv
    outside = "../" * (len(site.parts) - 1) + "etc/passwd"
    _dist(site, "climber", f"{outside},sha256=AAAA,1\n/etc/hostname,sha256=AAAA,1\n/etc/shadow,,\n")
    opened = []
    real_open = os.open

    def watching_open(path, *args, **kwargs):
        opened.append(os.fspath(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", watching_open)
    code, out, _ = _verify(python, "climber")
    monkeypatch.undo()
    document = json.loads(out)
    (dist,) = document["distributions"]
    found = {(p["kind"], p["path"]) for p in dist["problems"]}
    assert found == {
        ("outside-environment", outside),
        ("outside-environment", "/etc/hostname"),
        ("outside-environment", "/etc/shadow"),
    }
    assert code == 1
    assert not [p for p in opened if p.startswith("/etc/")]


def test_a_record_that_is_a_pipe_or_a_device_is_a_problem_not_a_hang(bare_venv):
    python, site = bare_venv
    piped = _dist(site, "piped")
    os.mkfifo(piped / "RECORD")
    zeroed = _dist(site, "zeroed")
    os.symlink("/dev/zero", zeroed / "RECORD")
    meta = _dist(site, "metapipe", "")
    (meta / "METADATA").unlink()
    os.mkfifo(meta / "METADATA")
    code, out, _ = _verify(python, "piped", "zeroed", "metapipe")
    kinds = {
        (d["normalized_name"], p["kind"], p["detail"])
        for d in json.loads(out)["distributions"] for p in d["problems"]
    }
    cannot = "; the distribution's files cannot be verified"
    assert ("piped", "no-record", "RECORD is a named pipe, not a regular file" + cannot) in kinds
    assert ("zeroed", "no-record", "RECORD is a character device, not a regular file" + cannot) in kinds
    assert any(name == "metapipe" and kind == "bad-metadata" and "named pipe" in detail
               for name, kind, detail in kinds)
    assert code == 1


def test_python_target_starts_isolated_so_pth_files_never_run(bare_venv, tmp_path):
    python, site = bare_venv
    marker = tmp_path / "ran"
    extra = tmp_path / "extra_dir"
    extra.mkdir()
    (site / "zz_hostile.pth").write_text(f"import os; open({str(marker)!r}, 'w').close()\n{extra}\n")
    try:
        from importguard.installed.interpreter import target_paths

        paths = target_paths(str(python))
    finally:
        (site / "zz_hostile.pth").unlink()
    assert not marker.exists()
    assert str(site) in paths.sys_path and str(extra) in paths.sys_path  # what site would add
    assert paths.prefix == str(python.parent.parent)


# ----------------------------------------------------------------------------- --fix


def test_fix_refuses_to_write_through_a_link_out_of_the_project(tmp_path):
    outside = tmp_path / "elsewhere" / "init.py"
    outside.parent.mkdir()
    outside.write_text("from .ops import gemm\n")
    write_tree(tmp_path, {"proj/pkg/ops.py": "import cutlass\n\ndef gemm():\n    pass\n"})
    os.symlink(outside, tmp_path / "proj" / "pkg" / "__init__.py")
    done = run("check", "--no-cache", "--fix", cwd=tmp_path / "proj")
    assert outside.read_text() == "from .ops import gemm\n"
    assert done.returncode == 1 and "IG001" in done.stdout
    assert f"not rewritten, it is a symbolic link to {outside}, outside the project" in done.stderr


def test_fix_keeps_the_submodule_attribute_an_aliased_reexport_used_to_set(tmp_path):
    write_tree(tmp_path, {
        "pkg/__init__.py": "from .gemm import gemm as g2\n",
        "pkg/gemm.py": "import cutlass\n\ndef gemm():\n    return 7\n",
        "cutlass/__init__.py": "",
    })
    before = subprocess.run([sys.executable, "-c", "import pkg; print(pkg.gemm.gemm())"],
                            cwd=tmp_path, capture_output=True, text=True)
    assert before.stdout == "7\n"
    done = run("check", "--no-cache", "--fix", "pkg", cwd=tmp_path)
    assert "Fixed 1 site" in done.stderr, done.stderr
    after = subprocess.run(
        [sys.executable, "-c",
         "import sys, pkg; print('cutlass' in sys.modules); print(pkg.gemm.gemm(), pkg.g2())"],
        cwd=tmp_path, capture_output=True, text=True,
    )
    assert after.stdout == "False\n7 7\n", after.stderr


# ----------------------------------------------------------------------------- language server


class _RawClient:
    """Frames written by hand, to send what a well-behaved client never would."""

    def __init__(self, cwd: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "importguard", "lsp"], cwd=cwd,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        self.buffer = b""

    @staticmethod
    def frame(message: dict) -> bytes:
        body = json.dumps(message).encode()
        return b"Content-Length: %d\r\n\r\n" % len(body) + body

    def send(self, data: bytes) -> None:
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def wait_for(self, predicate, timeout: float = 30.0):
        import select
        import time

        end = time.monotonic() + timeout
        while True:
            while b"\r\n\r\n" in self.buffer:
                head, rest = self.buffer.split(b"\r\n\r\n", 1)
                import re

                length = int(re.search(rb"Content-Length:\s*(\d+)", head).group(1))
                if len(rest) < length:
                    break
                self.buffer = rest[length:]
                message = json.loads(rest[:length])
                if predicate(message):
                    return message
            left = end - time.monotonic()
            if left <= 0 or not select.select([self.process.stdout], [], [], left)[0]:
                return None
            chunk = os.read(self.process.stdout.fileno(), 1 << 20)
            if not chunk:
                return None
            self.buffer += chunk

    def close(self) -> None:
        self.process.kill()
        self.process.wait(10)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            stream.close()


@pytest.fixture
def raw_server(tmp_path):
    pytest.importorskip("pygls")
    client = _RawClient(tmp_path)
    client.send(client.frame({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                              "params": {"processId": None, "rootUri": None, "capabilities": {}}}))
    assert client.wait_for(lambda m: m.get("id") == 1) is not None
    client.send(client.frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
    yield client
    client.close()


def _code_action(request_id: int) -> dict:
    return {"jsonrpc": "2.0", "id": request_id, "method": "textDocument/codeAction", "params": {
        "textDocument": {"uri": "file:///nowhere/x.py"},
        "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
        "context": {"diagnostics": []}}}


def test_language_server_survives_a_frame_with_a_wrong_content_length(raw_server):
    body = json.dumps(_code_action(2)).encode()
    raw_server.send(b"Content-Length: 5\r\n\r\n" + body)
    raw_server.send(raw_server.frame(_code_action(3)))
    answer = raw_server.wait_for(lambda m: m.get("id") in (2, 3), timeout=20)
    assert answer is not None and answer["id"] == 3 and answer["result"] == []


def test_language_server_answers_requests_after_shutdown_with_invalid_request(raw_server):
    raw_server.send(raw_server.frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}))
    assert raw_server.wait_for(lambda m: m.get("id") == 2)["result"] is None
    raw_server.send(raw_server.frame(_code_action(3)))
    answer = raw_server.wait_for(lambda m: m.get("id") == 3, timeout=20)
    assert answer is not None and answer["error"]["code"] == -32600
    raw_server.send(raw_server.frame({"jsonrpc": "2.0", "method": "exit"}))
    assert raw_server.process.wait(20) == 0


def test_language_server_reports_a_buffer_over_the_cap_without_parsing_it(raw_server, tmp_path):
    path = tmp_path / "pkg" / "huge.py"
    path.parent.mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    path.write_text("")  # on disk as saved before; the buffer is what is analysed
    text = "x = 1\n" * 800_000  # 4.8 MB: LibCST would need some 5 GB and a minute
    raw_server.send(raw_server.frame({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
        "textDocument": {"uri": path.as_uri(), "languageId": "python", "version": 1, "text": text}}}))
    published = raw_server.wait_for(lambda m: m.get("method") == "textDocument/publishDiagnostics", timeout=60)
    assert published is not None
    (diagnostic,) = published["params"]["diagnostics"]
    assert diagnostic["code"] == "IG901" and "over the 4,000,000 bytes" in diagnostic["message"]


def test_language_server_parses_a_big_buffer_in_a_worker_with_a_time_budget(tmp_path, monkeypatch):
    pytest.importorskip("pygls")
    from importguard.lsp import session as lsp_session
    from importguard.facts import budget

    monkeypatch.setattr(budget, "INLINE_MAX_BYTES", 1_000)
    monkeypatch.setattr(lsp_session, "EDITOR_TIME_BUDGET_SECONDS", 0.5)
    source = SourceFile(str(tmp_path / "slow.py"), "slow", False, str(tmp_path))
    facts = lsp_session.Session(use_cache=False)._buffer(source, "x = 1\n" * 40_000)
    (problem,) = facts.problems
    assert problem.code == "IG901" and "0.5 s" in problem.message


def assert_one_file_left_out(done: subprocess.CompletedProcess, finding: str) -> None:
    """CUTLASS_REEXPORT's finding, one IG901 for the file that could not be analysed,
    and nothing on stderr but the summary."""
    assert done.returncode == 1
    assert finding in done.stdout and "IG001" in done.stdout
    assert done.stderr.endswith("Found 2 findings in 3 files checked.\n")
    assert not any(word in done.stderr for word in ("Traceback", "panicked", "memory allocation", "Fatal"))


def test_a_file_over_the_default_cap_is_one_finding_end_to_end(tmp_path):
    write_tree(tmp_path, CUTLASS_REEXPORT)
    (tmp_path / "pkg" / "literal.py").write_text("x = '" + "a" * 5_000_000 + "'\n")  # one 5 MB line
    done = run("check", "--no-cache", cwd=tmp_path, timeout=60)
    assert_one_file_left_out(done, "pkg/literal.py:1:1: IG901 cannot analyse file: it is 5,000,007 bytes, over the 4,000,000")


def test_a_worker_that_dies_leaves_one_finding_and_nothing_on_stderr(tmp_path):
    write_tree(tmp_path, {**CUTLASS_REEXPORT, "pkg/heavy.py": "x = 1\n" * 60_000})
    script = (
        "import sys\n"
        "from importguard.facts import budget\n"
        "budget.INLINE_MAX_BYTES = 1_000\n"
        "budget.MEMORY_BUDGET_BYTES = 150 * 1024**2  # LibCST's native parser aborts past it\n"
        "sys.argv = ['importguard', 'check', '--no-cache', '.']\n"
        "from importguard.entry import main\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert_one_file_left_out(done, "pkg/heavy.py:1:1: IG901 cannot analyse file: collecting it passed the budget")


def test_cache_files_that_are_named_pipes_do_not_hang_a_run(tmp_path):
    import time

    write_tree(tmp_path, {"pyproject.toml": "[tool.importguard]\n", **CUTLASS_REEXPORT})
    first = run("check", cwd=tmp_path)
    time.sleep(2.1)  # files and directories younger than 2 s are not trusted by the replay records
    run("check", cwd=tmp_path)
    run("check", cwd=tmp_path)  # a replayed run
    cache = tmp_path / ".importguard_cache"
    replaced = sorted(p.name for p in [*cache.glob("*.json"), *cache.glob("*.sqlite")])
    assert any(n.startswith("facts-") for n in replaced) and any(n.startswith("replay-") for n in replaced) \
        and any(n.startswith("results-") for n in replaced)
    for name in replaced:
        (cache / name).unlink()
        os.mkfifo(cache / name)
    again = run("check", cwd=tmp_path, timeout=30)
    assert again.returncode == first.returncode == 1 and again.stdout == first.stdout
    assert "not a regular file" in again.stderr


def test_a_tree_deeper_than_pythons_stack_is_named_and_checked(tmp_path):
    """1,100 nested packages (past the default recursion limit of 1,000): every module
    is named from the top, and the re-export at the bottom is found."""
    directories = [tmp_path]
    for _ in range(1_100):
        directories.append(directories[-1] / "p")
        directories[-1].mkdir()
        (directories[-1] / "__init__.py").write_text("")
    directory = directories[-1]
    (directory / "__init__.py").write_text("from .ops import x\n")
    (directory / "ops.py").write_text("import cutlass\nx = 1\n")
    try:
        done = run("check", "--no-cache", "--output-format", "json", "p", cwd=tmp_path, timeout=300)
    finally:  # pytest's own cleanup recurses, past Python's stack here: from the bottom up
        for level in reversed(directories[1:]):
            for entry in level.iterdir():
                if not entry.is_dir():
                    entry.unlink()
            level.rmdir()
    assert done.returncode == 1 and "Traceback" not in done.stderr
    [finding] = json.loads(done.stdout)["findings"]
    assert finding["code"] == "IG001" and finding["path"].endswith("/p/__init__.py")
    assert finding["chain"][-1]["importer"] == "p." * 1_100 + "ops"
    assert done.stderr.endswith("Found 1 finding in 1101 files checked.\n")


def _long_chains() -> list[str]:
    platform = ["is_cuda()", "is_rocm()", "torch.version.hip", "_is_hip", "not is_xpu()", "TYPE_CHECKING"]
    other = ["f()", "os.environ.get('A') == '1'", "(is_hip() or is_cpu())", "(g() and is_cuda())", "x.y", "not h()"]
    chains = []
    for operator in (" and ", " or "):
        chains.append(operator.join(platform * 4))  # every prefix one term (or: merged platforms)
        chains.append(operator.join(platform * 3 + other + platform * 2))
        chains.append(operator.join(other * 4))
        chains.append("a and b" + " or " * (operator == " or ") + " and " * (operator == " and ")
                      + operator.join(platform + other + platform))
    chains.append("(" + " or ".join(platform * 3) + ") and " + " and ".join(other * 3))
    # `or` of platform tests only: each left side is one merged term, not one per operand
    chains.append(" or ".join(["is_cuda()", "is_rocm()", "torch.version.hip", "_is_hip", "TYPE_CHECKING"] * 4))
    chains.append(" or ".join(["is_cuda()"] + ["TYPE_CHECKING"] * 20 + ["f()"]))  # one term besides `never`
    return chains


@pytest.mark.parametrize("chain", _long_chains())
def test_a_long_chain_gets_the_gates_its_left_sides_give(chain):
    """A chain of more than _GATED_LEVELS levels reads each operand once for the gates
    of its outer levels; each must be what reading that level's whole left side gives."""
    import ast

    import libcst as cst

    from importguard.facts import collect, conditions

    source = "import os, torch\nfrom typing import TYPE_CHECKING\n_is_hip = is_hip()\nx = " + chain + "\n"
    names = conditions.module_names(ast.parse(source))
    operation = cst.parse_module(source).body[-1].body[0].value
    levels = collect._chain_levels(operation)
    assert len(levels) > collect._GATED_LEVELS
    walker = collect._Walker("pkg.mod", False)
    walker.condition_names = names
    gates = [walker._operand_gate(level) for level in levels[: collect._GATED_LEVELS]]
    expected = []
    for level in levels[: collect._GATED_LEVELS]:
        _, left = collect._through_ast(level.left)
        terms = conditions.branch_terms(left, names)
        expected.append(conditions.decidable(terms[0] if isinstance(level.operator, cst.And) else terms[1]))
    assert gates == expected
    assert any(expected)  # the chains hold terms a profile decides


def test_the_cheaper_and_or_count_bounds_the_word_count():
    """too_deep_for_libcst skips the exact \\b(?:and|or)\\b count where the cheaper
    (?:and|or)\\b count is within budget: that is sound only while it finds at least as
    many."""
    from pathlib import Path

    from importguard.facts import cpython_verdict

    texts = ["a and b or c", "xor band orand and(or)", "for torch in import_or_and: pass", "and\nor\n"]
    texts += [path.read_text(encoding="utf-8") for path in sorted(Path(cpython_verdict.__file__).parent.glob("*.py"))]
    for text in texts:
        assert len(cpython_verdict._BOOLEAN_ENDS.findall(text)) >= len(cpython_verdict._BOOLEAN_WORDS.findall(text))
    assert not cpython_verdict.too_deep_for_libcst("x = 1  # " + "xor " * 5_000 + "\n", __import__("ast").parse("x = 1"))
