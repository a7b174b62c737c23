"""The GitHub Actions example (docs/examples/importguard.yml): the copy in the docs is
the file, it is a valid workflow by GitHub's schema, and the commands it runs work."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest
from conftest import FIXTURES, REPO

from importguard import __version__

EXAMPLE = REPO / "docs" / "examples" / "importguard.yml"


def test_the_docs_show_the_example_file():
    docs = (REPO / "docs" / "integrations.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", docs, re.DOTALL)
    assert EXAMPLE.read_text(encoding="utf-8") in blocks


def validate(path) -> subprocess.CompletedProcess:
    pytest.importorskip("check_jsonschema", reason="needs check-jsonschema: pip install -e '.[test]'")
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True, text=True, timeout=120,
    )


def test_the_example_is_a_valid_github_workflow(tmp_path):
    done = validate(EXAMPLE)
    assert done.returncode == 0, done.stdout + done.stderr
    broken = tmp_path / "broken.yml"
    broken.write_text(EXAMPLE.read_text(encoding="utf-8").replace("runs-on:", "runs_on:"), encoding="utf-8")
    rejected = validate(broken)
    assert rejected.returncode == 1 and "'runs-on' is a required property" in rejected.stdout


def test_the_commands_of_the_example_work(tmp_path):
    """Its version step reads the version the cache key needs; its two checks write a
    SARIF log and annotations (the upload itself needs GitHub)."""
    version = subprocess.run([sys.executable, "-m", "importguard", "--version"], capture_output=True, text=True)
    assert version.stdout.split(" ")[2].strip() == __version__  # `cut -d' ' -f3`
    tree = tmp_path / "repo"
    shutil.copytree(FIXTURES / "example", tree)
    (tree / ".git").mkdir()
    sarif = subprocess.run([sys.executable, "-m", "importguard", "check", "--format", "sarif", "--exit-zero", "."],
                           cwd=tree, capture_output=True, text=True, timeout=120)
    assert sarif.returncode == 0 and '"version": "2.1.0"' in sarif.stdout
    annotations = subprocess.run([sys.executable, "-m", "importguard", "check", "--format", "github", "."],
                                 cwd=tree, capture_output=True, text=True, timeout=120)
    assert annotations.returncode == 1 and annotations.stdout.startswith("::error file=")
    assert (tree / ".importguard_cache").is_dir()  # what the cache step keeps
