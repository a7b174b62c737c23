"""--follow-installed: chains that continue through installed packages, and
check --verify-install for the distributions they pass through.

The installed packages are written as a wheel unpacks them (a site-packages directory
with dist-info METADATA/RECORD/top_level.txt); nothing from them is ever imported.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Optional, Sequence

import pytest
from click.testing import CliRunner

from conftest import check_tree, write_tree
from importguard.cli.main import cli
from importguard.cache.loader import FactsLoader
from importguard.config import load_config
from importguard.engine import collect_serially
from importguard.installed.interpreter import EnvironmentPaths
from importguard.errors import ConfigError
from importguard.installed.modules import InstalledModules
from importguard.installed.facts import InstalledLoader
from importguard.cache.store import FactsCache, cache_key
from importguard.cache.pool import WorkerPool
from importguard.model import Hop

@pytest.fixture(autouse=True)
def _library_cache(tmp_path_factory, monkeypatch):
    """The CLI caches installed libraries' facts in the user's cache: never the real one here."""
    monkeypatch.setenv("IMPORTGUARD_LIBRARY_CACHE", str(tmp_path_factory.mktemp("library-cache")))


FAKEOPS = {
    # The package re-exports a kernel module, which imports the (stub) sink.
    "fakeops/__init__.py": "from fakeops.kernels import gemm\n",
    "fakeops/kernels.py": '"""Kernels."""\nimport os\nimport cutlass\n\n\ndef gemm():\n    return cutlass\n',
}
# A sink package that must never be parsed: its __init__ would be a syntax error.
CUTLASS = {"cutlass/__init__.py": "def broken(:\n", "cutlass/cute.py": "import fakeops\n"}
PROJECT = {
    "pyproject.toml": '[tool.importguard]\ncuda-free = ["app.model"]\n',
    "app/__init__.py": "",
    "app/model.py": "import fakeops\n\n\ndef run():\n    return fakeops.gemm()\n",
}


def _hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode().rstrip("=")


def install_tree(site: Path, name: str, version: str, files: dict[str, str], top_level: Sequence[str] = ()) -> None:
    """Write `files` and a dist-info for them into `site`, as a wheel installs them."""
    stem = f"{name.replace('-', '_')}-{version}"
    contents = {path: text.encode() for path, text in files.items()}
    contents[f"{stem}.dist-info/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    if top_level:
        contents[f"{stem}.dist-info/top_level.txt"] = "".join(f"{t}\n" for t in top_level).encode()
    record = "".join(f"{path},{_hash(data)},{len(data)}\n" for path, data in contents.items())
    contents[f"{stem}.dist-info/RECORD"] = (record + f"{stem}.dist-info/RECORD,,\n").encode()
    write_tree(site, contents)


def make_site(site: Path) -> Path:
    install_tree(site, "fake-ops", "1.2", FAKEOPS, top_level=["fakeops"])
    install_tree(site, "nvidia-cutlass-dsl", "4.5.2", CUTLASS)  # no top_level.txt: RECORD decides
    return site


def environment(*sys_path: Path) -> EnvironmentPaths:
    entries = tuple(str(p) for p in sys_path)
    return EnvironmentPaths(
        python=None, executable=sys.executable, version="3", prefix="", sys_path=entries,
        site_packages=entries, purelib=None, platlib=None,
        stdlib_module_names=tuple(sorted(sys.stdlib_module_names)),
    )


@pytest.fixture
def layout(tmp_path: Path):
    site = make_site(tmp_path / "site")
    root = write_tree(tmp_path / "project", PROJECT)
    return root, site


def installed_for(root: Path, site: Path, follow=True) -> InstalledModules:
    config = load_config(None, root)
    return InstalledModules(environment(site), follow, config.sink_modules)


def run(root: Path, site: Optional[Path], follow=True, collector=collect_serially):
    installed = None if site is None else installed_for(root, site, follow)
    return check_tree(root, installed=installed, collector=collector)


def test_chain_continues_through_installed_package(layout):
    root, site = layout
    report = run(root, site)
    assert [(f.code, f.path, f.line) for f in report.findings] == [("IG002", "app/model.py", 1)]
    finding = report.findings[0]
    assert finding.chain == (
        Hop("app.model", "fakeops", "app/model.py", 1, "installed: fake-ops 1.2"),
        Hop("fakeops", "fakeops.kernels", str(site / "fakeops/__init__.py"), 1, ""),
        Hop("fakeops.kernels", "cutlass", str(site / "fakeops/kernels.py"), 3, "installed: nvidia-cutlass-dsl 4.5.2"),
    )
    assert "app.model -> fakeops -> fakeops.kernels -> cutlass" in finding.message
    assert dict(finding.extra)["installed"] == [
        {"distribution": "fake-ops", "version": "1.2", "module": "fakeops"},
        {"distribution": "nvidia-cutlass-dsl", "version": "4.5.2", "module": "cutlass"},
    ]
    assert report.warnings == ()


def test_sink_package_is_never_parsed(layout):
    root, site = layout
    collected: list[str] = []

    def spy(sources):
        collected.extend(s.path for s in sources)
        return collect_serially(sources)

    report = run(root, site, collector=spy)
    assert len(report.findings) == 1
    assert str(site / "fakeops/kernels.py") in collected
    assert not [p for p in collected if Path(p).is_relative_to(site / "cutlass")]
    assert report.warnings == ()  # cutlass/__init__.py is a syntax error nobody read


def test_without_following_the_chain_stops_at_the_project(layout):
    root, site = layout
    assert run(root, None).findings == ()
    assert run(root, site, follow=False).findings == ()  # as with --verify-install alone


@pytest.mark.parametrize("names, found", [(["fake-ops"], 1), (["Fake_Ops"], 1), (["fakeops"], 1), (["other"], 0)])
def test_follow_only_named_distributions_or_packages(layout, names, found):
    root, site = layout
    assert len(run(root, site, follow=names).findings) == found


@pytest.mark.parametrize("name, found", [("json", 0), ("jsonish", 1)])
def test_standard_library_names_are_not_followed(tmp_path, name, found):
    # A site-packages `json` that would reach the sink: the stdlib name is never followed.
    site = tmp_path / "site"
    install_tree(site, "shadow", "1.0", {f"{name}/__init__.py": "import cutlass\n"}, [name])
    root = write_tree(tmp_path / "project", {**PROJECT, "app/model.py": f"import {name}\n"})
    assert len(run(root, site).findings) == found


@pytest.mark.parametrize("files, found", [({"fast.so": "", "fast.py": "import cutlass\n"}, 0),
                                          ({"fast.py": "import cutlass\n"}, 1)])
def test_compiled_module_is_not_followed(tmp_path, files, found):
    # Python's path finder prefers the extension module; it has no source to follow.
    site = tmp_path / "site"
    install_tree(site, "fast", "1.0", files, ["fast"])
    root = write_tree(tmp_path / "project", {**PROJECT, "app/model.py": "import fast\n"})
    report = run(root, site)
    assert len(report.findings) == found and report.warnings == ()


def test_syntax_error_and_undecodable_installed_files_are_warnings(tmp_path):
    site = tmp_path / "site"
    files = {
        "fakeops/__init__.py": "from fakeops import broken, latin\nfrom fakeops.kernels import gemm\n",
        "fakeops/broken.py": "def f(:\n",
        "fakeops/kernels.py": FAKEOPS["fakeops/kernels.py"],
    }
    install_tree(site, "fake-ops", "1.2", files, ["fakeops"])
    (site / "fakeops/latin.py").write_bytes(b"x = '\xff\xfe'\n")
    root = write_tree(tmp_path / "project", PROJECT)
    report = run(root, site)
    assert len(report.findings) == 1  # the rest of the package is still followed
    broken, latin = report.warnings
    assert broken.startswith(f"{site / 'fakeops/broken.py'}:1:") and "IG900 syntax error" in broken
    assert broken.endswith("imports of `fakeops.broken` are not followed")
    assert latin.startswith(f"{site / 'fakeops/latin.py'}:1:1: IG901 cannot decode file")


def test_facts_are_cached_per_distribution(layout, tmp_path):
    root, site = layout
    config = load_config(None, root)

    def cached_run() -> InstalledLoader:
        project = FactsLoader(FactsCache(tmp_path / "cache", cache_key(config)), WorkerPool(1))
        installed = installed_for(root, site)
        collector = InstalledLoader(project, installed)
        assert len(check_tree(root, installed=installed, collector=collector).findings) == 1
        collector.save()
        return collector

    first = cached_run()
    assert [c.collected for c in first._by_distribution.values()] == [2]  # fakeops, fakeops.kernels
    index = list((tmp_path / "cache/installed/fake-ops-1.2").glob("facts-*.sqlite"))
    assert len(index) == 1
    database = sqlite3.connect(index[0])
    key = json.loads(database.execute("SELECT value FROM meta WHERE name = 'key'").fetchone()[0])
    assert key["distribution"] == "fake-ops" and key["version"] == "1.2"
    assert sorted(name for (name,) in database.execute("SELECT name FROM files")) == [str(site / "fakeops/__init__.py"), str(site / "fakeops/kernels.py")]
    assert [c.collected for c in cached_run()._by_distribution.values()] == [0]
    # A changed file (another hash) is parsed again, and its new facts are used.
    (site / "fakeops/kernels.py").write_text("import os\n")
    project = FactsLoader(FactsCache(tmp_path / "cache", cache_key(config)), WorkerPool(1))
    installed = installed_for(root, site)
    collector = InstalledLoader(project, installed)
    assert check_tree(root, installed=installed, collector=collector).findings == ()
    assert [c.collected for c in collector._by_distribution.values()] == [1]


@pytest.mark.parametrize(
    "value, ok",
    [("true", True), ("false", True), ('["flashinfer-python", "flashinfer"]', True),
     ('"yes"', False), ("[1]", False), ('[""]', False)],
)
def test_follow_installed_config(tmp_path, value, ok):
    (tmp_path / "pyproject.toml").write_text(f"[tool.importguard]\nfollow-installed = {value}\n")
    if ok:
        assert load_config(None, tmp_path).follow_installed in (True, False, ("flashinfer-python", "flashinfer"))
    else:
        with pytest.raises(ConfigError, match="follow-installed must be true, false or a list of distribution"):
            load_config(None, tmp_path)


# --- CLI, against a real virtual environment ------------------------------------------


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """A venv made without pip, with the fake distributions written into its site-packages."""
    where = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    python = where / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    make_site(Path(purelib))
    return python


def cli_run(root: Path, *args: str):
    old = Path.cwd()
    os.chdir(root)
    try:
        return CliRunner().invoke(cli, list(args))
    finally:
        os.chdir(old)


def test_cli_python_points_at_a_venv(tmp_path, venv):
    root = write_tree(tmp_path, PROJECT)
    result = cli_run(root, "check", "--no-cache", "--follow-installed", "--python", str(venv), "--format", "full")
    assert result.exit_code == 1, result.output
    assert "    app.model -> fakeops (app/model.py:1, installed: fake-ops 1.2)\n" in result.stdout
    assert "    fakeops.kernels -> cutlass (" in result.stdout
    assert "/fakeops/kernels.py:3, installed: nvidia-cutlass-dsl 4.5.2)\n" in result.stdout
    # The running interpreter's environment has no fakeops: the chain stops at the project.
    result = cli_run(root, "check", "--no-cache", "--follow-installed")
    assert result.exit_code == 0, result.output


def test_cli_explain_follows_installed(tmp_path, venv):
    root = write_tree(tmp_path, PROJECT)
    result = cli_run(root, "explain", "app.model", "--follow-installed", "--python", str(venv))
    assert result.exit_code == 1, result.output
    assert "  chain: app.model -> fakeops -> fakeops.kernels -> cutlass\n" in result.stdout
    assert "    app.model -> fakeops (app/model.py:1, installed: fake-ops 1.2)\n" in result.stdout
    assert cli_run(root, "explain", "app.model").exit_code == 0


def test_cli_verify_install_text_and_json(tmp_path, venv):
    root = write_tree(tmp_path, PROJECT)
    args = ("check", "--no-cache", "--follow-installed", "--verify-install", "--python", str(venv))
    result = cli_run(root, *args)
    assert result.exit_code == 1  # the finding
    lines = result.stdout.splitlines()
    assert lines[0].startswith("app/model.py:1:1: IG002 ") and lines[1] == ""
    assert lines[2] == "verify-install: distributions on the reported chains: fake-ops 1.2, nvidia-cutlass-dsl 4.5.2"
    assert lines[3].startswith("verify-install: 2 distributions in ") and lines[3].endswith(": all intact")
    assert len(lines) == 4
    data = json.loads(cli_run(root, *args, "--format", "json").stdout)
    assert data["version"] == 1 and [f["code"] for f in data["findings"]] == ["IG002"]
    assert data["findings"][0]["chain"][0]["via"] == "installed: fake-ops 1.2"
    assert [d["name"] for d in data["verify_install"]["distributions"]] == ["fake-ops", "nvidia-cutlass-dsl"]
    assert data["verify_install"]["summary"]["broken"] == 0


def test_cli_verify_install_without_following_verifies_the_sink(tmp_path, venv):
    root = write_tree(tmp_path, {**PROJECT, "app/model.py": "import cutlass\n"})
    result = cli_run(root, "check", "--no-cache", "--verify-install", "--python", str(venv), "--format", "full")
    assert result.exit_code == 1
    assert "    app.model -> cutlass (app/model.py:1, installed: nvidia-cutlass-dsl 4.5.2)\n" in result.stdout
    assert "verify-install: distributions on the reported chains: nvidia-cutlass-dsl 4.5.2\n" in result.stdout


def test_cli_verify_install_broken_install_exits_1(tmp_path, venv):
    root = write_tree(tmp_path, {**PROJECT, "pyproject.toml": "[tool.importguard]\n"})  # no finding
    init = next(venv.parent.parent.glob("lib/python*/site-packages/fakeops/__init__.py"))
    original = init.read_text()
    args = ("check", "--no-cache", "--follow-installed", "--verify-install", "--python", str(venv))
    try:
        init.write_text(original + "# edited\n")
        result = cli_run(root, *args)
        # No finding, so no chain passes through a distribution: nothing to verify.
        assert result.exit_code == 0, result.output
        assert "nothing to verify" in result.stdout
        write_tree(root, {"pyproject.toml": '[tool.importguard]\ncuda-free = ["app.model"]\n'})
        result = cli_run(root, *args)
        assert result.exit_code == 1
        assert "fake-ops 1.2: 1 problem" in result.stdout
        assert "install --force-reinstall --no-deps fake-ops==1.2" in result.stdout
        assert cli_run(root, *args, "--exit-zero").exit_code == 1  # a broken install is not a finding
    finally:
        init.write_text(original)


def test_cli_missing_python_is_a_tool_error(tmp_path):
    root = write_tree(tmp_path, PROJECT)
    result = cli_run(root, "check", "--follow-installed", "--python", str(tmp_path / "nope/bin/python"))
    assert result.exit_code == 2
    assert f"--python {tmp_path / 'nope/bin/python'}: no such file" in result.output
    assert "Traceback" not in result.output
    result = cli_run(root, "explain", "app.model", "--python", sys.executable)
    assert result.exit_code == 2
    assert "--python is used only with --follow-installed" in result.output


# --- the real flashinfer-python wheel ---------------------------------------------------

FLASHINFER = "flashinfer-python==0.7.2.post1"


@pytest.fixture(scope="module")
def flashinfer_site(tmp_path_factory) -> Path:
    """flashinfer-python's wheel, downloaded (never installed or imported) and unpacked:
    a wheel's contents are a site-packages layout, dist-info included."""
    where = tmp_path_factory.mktemp("flashinfer")
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-input", "--disable-pip-version-check",
             "--dest", str(where / "wheel"), FLASHINFER],
            capture_output=True, text=True, timeout=600,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        pytest.skip(f"cannot download {FLASHINFER}: {error}")
    wheels = list((where / "wheel").glob("*.whl"))
    if done.returncode != 0 or len(wheels) != 1:
        last = (done.stderr.strip().splitlines() or ["no wheel"])[-1]
        pytest.skip(f"cannot download {FLASHINFER}: {last}")
    with zipfile.ZipFile(wheels[0]) as archive:
        archive.extractall(where / "site")
    return where / "site"


@pytest.mark.network
def test_real_flashinfer_chain(tmp_path, flashinfer_site):
    site = flashinfer_site
    root = write_tree(tmp_path / "project", {
        "pyproject.toml": '[tool.importguard]\ncuda-free = ["vproj.attention"]\nenvironment = { undecided-calls = "follow" }\n',
        "vproj/__init__.py": "",
        "vproj/attention.py": "import flashinfer\n\n\ndef run():\n    return flashinfer\n",
    })
    collector = FactsLoader(None, WorkerPool(os.cpu_count() or 1))
    try:
        report = run(root, site, collector=collector)
    finally:
        collector.pool.close()
    # With calls followed on every path (`undecided-calls = "follow"`), the shallowest
    # sink is flashinfer.gemm's module-level `if is_cuda_tile_available():`, which calls
    # torch.cuda.get_device_capability() on some paths. trace_apply's
    # `_enable_apply_from_env()` is under `if FLASHINFER_TRACE_APPLY`, a variable that is
    # unset by default: the environment profile decides that branch does not run.
    assert [(f.code, f.path, f.line, f.sink) for f in report.findings] == [
        ("IG002", "vproj/attention.py", 1, "flashinfer.gemm")
    ]
    chain = report.findings[0].chain
    assert chain[0] == Hop("vproj.attention", "flashinfer", "vproj/attention.py", 1, "installed: flashinfer-python 0.7.2.post1")
    assert [h.kind for h in chain] == ["import", "import", "call", "call"]
    assert (chain[1].imported, chain[1].path, chain[1].line) == (
        "flashinfer.gemm", str(site / "flashinfer/__init__.py"), 213)
    assert (chain[2].imported, chain[2].path, chain[2].line) == (
        "flashinfer.cutile.is_cuda_tile_available", str(site / "flashinfer/gemm/__init__.py"), 161)
    assert (chain[3].imported, chain[3].path, chain[3].line) == (
        "torch.cuda.get_device_capability", str(site / "flashinfer/cutile/cutile_common.py"), 137)


def test_library_facts_are_shared_across_projects(layout, tmp_path, monkeypatch):
    """The CLI caches installed files' facts in the user's library cache, not the
    project's: a second project reading the same distribution parses nothing again."""
    root, site = layout
    libraries = tmp_path / "libraries"
    monkeypatch.setenv("IMPORTGUARD_LIBRARY_CACHE", str(libraries))
    from importguard.installed.facts import library_cache_directory
    assert library_cache_directory() == libraries
    config = load_config(None, root)

    def run_in(project_cache: Path) -> InstalledLoader:
        project = FactsLoader(FactsCache(project_cache, cache_key(config)), WorkerPool(1))
        installed = installed_for(root, site)
        collector = InstalledLoader(project, installed, library_cache_directory())
        assert len(check_tree(root, installed=installed, collector=collector).findings) == 1
        collector.save()
        return collector

    assert [c.collected for c in run_in(tmp_path / "one")._by_distribution.values()] == [2]
    assert list((libraries / "fake-ops-1.2").glob("facts-*.sqlite"))
    assert not (tmp_path / "one" / "installed").exists()
    assert [c.collected for c in run_in(tmp_path / "two")._by_distribution.values()] == [0]


def test_library_cache_directory_defaults(monkeypatch, tmp_path):
    from importguard.installed.facts import library_cache_directory
    monkeypatch.delenv("IMPORTGUARD_LIBRARY_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert library_cache_directory() == tmp_path / "importguard" / "libraries"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert library_cache_directory() == tmp_path / "home" / ".cache" / "importguard" / "libraries"


def test_calls_into_installed_library_functions_are_followed(tmp_path):
    """A call at import into an installed library's function is followed into its source
    (issue 28): the same machinery as a project function's."""
    site = tmp_path / "site"
    install_tree(site, "gpu-helpers", "0.1", {
        "gpuhelpers/__init__.py": "from gpuhelpers.probe import capability\n",
        "gpuhelpers/probe.py": "import torch\n\n\ndef capability():\n    return _ask()\n\n\n"
                               "def _ask():\n    return torch.cuda.get_device_capability()\n",
    })
    root = write_tree(tmp_path / "project", {
        "app/__init__.py": "",
        "app/config.py": "import gpuhelpers\nCAP = gpuhelpers.capability()\n",
    })
    found = run(root, site)
    ig003 = [f for f in found.findings if f.code == "IG003"]
    assert [(f.path, f.line, f.sink) for f in ig003] == [("app/config.py", 2, "torch.cuda.get_device_capability")]
    assert [(hop.imported, hop.line) for hop in ig003[0].chain] == [
        ("gpuhelpers.capability", 2), ("gpuhelpers.probe._ask", 5), ("torch.cuda.get_device_capability", 9)]
    # without the library's source the call is opaque
    assert [f for f in run(root, None).findings if f.code == "IG003"] == []
