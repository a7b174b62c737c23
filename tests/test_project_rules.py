"""importguard's own contracts: layering, a light `__init__`, generated docs, and
importguard checking itself."""

from __future__ import annotations

import ast
import subprocess
import sys

from importguard import rule_docs
from importguard.rules import ALL_RULES

from conftest import REPO

PACKAGE = REPO / "importguard"

# Lower layers never import higher ones (DESIGN.md). Feature modules added later sit
# at the layer of what they use.
LAYERS = [
    {"types", "errors", "fast_replay", "lookups"},
    {"config", "discovery", "collect", "skeleton", "cache", "sinks", "environment", "_environment_child", "record",
     "progress", "_probe_child", "installed"},
    {"graph", "collector", "parallel", "verify_install", "installed_facts", "replay"},
    {"rules"},
    {"engine", "probe", "confirm", "output", "output_ci", "probe_output", "verify_output", "fix",
     "changed", "rule_docs", "follow", "lsp", "incremental"},
    {"cli_common", "cli", "cli_check", "cli_probe", "cli_verify", "cli_fix", "cli_lsp", "cli_installed", "__main__", "entry"},
]
LAYER_OF = {name: index for index, names in enumerate(LAYERS) for name in names}
LIBCST_IMPORTERS = {"collect", "fix"}


def own_imports(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names)


def module_key(path):
    relative = path.relative_to(PACKAGE).with_suffix("")
    return relative.parts[0]


def test_layering():
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        key = module_key(path)
        if key == "__init__":
            continue
        assert key in LAYER_OF, f"{path.name} has no layer in this test"
        for imported in own_imports(path):
            if imported.startswith("libcst") and key not in LIBCST_IMPORTERS:
                problems.append(f"{path.name} imports libcst")
            if not imported.startswith("importguard."):
                continue
            target = imported.split(".")[1]
            if target in LAYER_OF and target != key and LAYER_OF[target] > LAYER_OF[key]:
                problems.append(f"{path.relative_to(PACKAGE)} imports higher layer {imported}")
    assert problems == []


def test_layering_check_can_fail(tmp_path):
    # The rule above is not vacuous: engine importing cli would be caught.
    assert LAYER_OF["cli"] > LAYER_OF["engine"] and LAYER_OF["collect"] < LAYER_OF["graph"]


def test_package_init_imports_nothing_heavy():
    code = "import sys, importguard; print(sorted(m for m in sys.modules if m.split('.')[0] in ('importguard', 'libcst', 'click')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "['importguard']"


def test_rule_docs_are_generated_and_fresh():
    for rule in ALL_RULES:
        doc = REPO / "docs" / "rules" / f"{rule.code}.md"
        assert doc.read_text(encoding="utf-8") == rule_docs.rule_markdown(rule), (
            f"{doc} is stale: run python -m importguard.rule_docs"
        )
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert readme == rule_docs.readme_with_rules(readme), "README rule table is stale"


def test_rule_docs_have_ruff_sections():
    for rule in ALL_RULES:
        doc = rule.__doc__ or ""
        for section in ("## What it does", "## Why is this bad?", "## Known problems", "## Example",
                        "## Use instead", "## Options", "## References"):
            assert section in doc, (rule.code, section)


def test_importguard_checks_itself():
    done = subprocess.run(
        [sys.executable, "-m", "importguard", "check", "importguard"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All checks passed" in done.stderr
