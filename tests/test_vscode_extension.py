"""The VS Code extension (editors/vscode): its node unit tests, and the .vsix that
`@vscode/vsce` builds from it (what a user installs)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from importguard import __version__

from conftest import REPO

EXTENSION = REPO / "editors" / "vscode"


def _node_major() -> int:
    node = shutil.which("node")
    if node is None:
        return 0
    done = subprocess.run([node, "--version"], capture_output=True, text=True)
    match = re.match(r"v(\d+)\.", done.stdout)
    return int(match.group(1)) if match else 0


needs_node = pytest.mark.skipif(_node_major() < 18, reason="needs node >= 18 (its test runner, `node --test`)")


@needs_node
def test_the_extensions_node_tests_pass():
    done = subprocess.run(["node", "--test", "test/"], cwd=EXTENSION, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    passed = re.search(r"^# pass (\d+)$", done.stdout, re.MULTILINE)
    assert passed and int(passed.group(1)) >= 10, done.stdout  # the tests ran, not an empty directory


@needs_node
@pytest.mark.skipif(shutil.which("npm") is None, reason="needs npm (to install vscode-languageclient and @vscode/vsce)")
def test_the_vsix_builds_with_the_client_and_without_tests(tmp_path: Path):
    # Built from a copy: the checkout's own node_modules or .vsix play no part.
    source = tmp_path / "vscode"
    shutil.copytree(EXTENSION, source, ignore=shutil.ignore_patterns("node_modules", "*.vsix"))
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=source, check=True, capture_output=True, timeout=300)
    vsix = tmp_path / "importguard.vsix"
    done = subprocess.run(["npx", "vsce", "package", "--allow-missing-repository", "--out", str(vsix)],
                          cwd=source, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr

    with zipfile.ZipFile(vsix) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("extension/package.json"))
    assert {"extension/extension.js", "extension/lib/server-command.js", "extension/package.json",
            "extension/node_modules/vscode-languageclient/node.js", "extension.vsixmanifest"} <= names
    assert not [n for n in names if n.startswith(("extension/test/", "extension/e2e/")) or "/@vscode/vsce/" in n]
    assert manifest["version"] == __version__  # one version for the package and its extension
    assert manifest["activationEvents"] == ["onLanguage:python"]
