"""importguard's own contracts: layering, a light `__init__`, generated docs, and
importguard checking itself."""

from __future__ import annotations

import ast
import subprocess
import sys

from importguard.rules import documentation
from importguard.rules import ALL_RULES

from conftest import REPO

PACKAGE = REPO / "importguard"

# Lower layers never import higher ones (DESIGN.md). Exhaustive, as import-linter's
# `exhaustive = true`: every module of the package is named here, so a new module
# must be given its layer.
SUBPACKAGES = {"facts", "cache", "output", "probe", "installed", "fix", "cli", "plan", "lsp", "environment", "summaries", "graph", "files"}  # their __init__ imports nothing
LAYERS = [
    {"model", "errors", "output.progress", "files.regular_file", "files.atomic_write", "files.inside_project", "cache.die_with_parent", "cache.codec", "cache.fast_replay", "cache.version", "cache.lookups", "output.links", "probe.strict_json", "probe.process_tree", "probe.cgroup",
     "plan.mincut", "output.style", *SUBPACKAGES},
    {"config", "selection", "discovery", "files.gitignore", "sinks", "graph.names", "summaries.rows", "facts.conditions", "environment.profile", "environment.installed", "facts.comments", "facts.positions", "facts.skeleton", "facts.function_calls",
     "facts.statement_blocks",
     "facts.collect", "facts.budget", "facts.cpython_verdict",
     "cache.store", "cache.directory", "installed.interpreter", "installed.interpreter_child", "installed.record",
     "probe.child", "output.source", "plan.causes"},
    {"graph.imports", "cache.graph_memory", "graph.reach", "cache.pool", "cache.early_parser", "cache.loader", "cache.replay", "installed.modules", "installed.verify",
     "installed.facts", "installed.reach", "probe.package_modules", "plan.network"},
    {"rules", "rules.base", "rules.problems", "rules._chain_rule", "rules._lazy_blockers",
     "rules.ig001_init_reaches_cuda_sink", "rules.ig002_cuda_free_reaches_cuda_sink",
     "rules.ig003_cuda_call_at_import", "rules.ig900_syntax_error", "rules.ig901_unreadable_file",
     "rules.ig902_relative_import_beyond_top_level", "rules.ig903_unused_suppression"},
    {"engine", "cache.results", "workflow", "changed", "rules.documentation", "lsp.server", "lsp.progress", "lsp.protocol", "lsp.session", "lsp.early", "lsp.diagnostics", "fix.lazy_reexport", "fix.star_exports", "fix.apply",
     "probe.runner", "probe.confirm", "probe.report", "probe.merge", "probe.agreement", "probe.agreement_report",
     "installed.report",
     "output.chain", "output.printable", "output.text", "output.json_report", "output.sarif", "output.github", "output.formats",
     "output.plan_text", "fix.add_noqa", "summaries.generate"},
    {"cli.common", "cli.main", "cli.check", "cli.stdin_source", "cli.explain", "cli.rule", "cli.probe", "cli.agree", "cli.verify",
     "cli.lsp", "cli.installed", "cli.summaries", "cli.render", "cli.show", "entry", "__main__"},
]
LAYER_OF = {name: index for index, names in enumerate(LAYERS) for name in names}
LIBCST_IMPORTERS = {"facts.collect", "facts.positions", "fix.lazy_reexport", "fix.star_exports", "fix.add_noqa"}


def package_modules(package):
    """Dotted names under `package` ("facts.collect"; a subpackage's `__init__` is
    the subpackage itself, e.g. "rules"), the package's own `__init__` left out."""
    modules = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts:
            modules[".".join(parts)] = path
    return modules


def own_imports(path, package_name):
    """The modules of `package_name` that `path` imports, anywhere in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    prefix = package_name + "."
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.startswith(prefix):
                yield node.module[len(prefix):]
                yield from (f"{node.module[len(prefix):]}.{a.name}" for a in node.names)
            elif node.module == package_name:
                yield from (a.name for a in node.names)
        elif isinstance(node, ast.Import):
            yield from (a.name[len(prefix):] for a in node.names if a.name.startswith(prefix))


def import_graph(package, package_name):
    modules = package_modules(package)
    return {
        name: sorted({target for target in own_imports(path, package_name) if target in modules and target != name})
        for name, path in modules.items()
    }


def layering_problems(graph):
    problems = [f"{name} has no layer in this test" for name in graph if name not in LAYER_OF]
    for name, targets in graph.items():
        for target in targets:
            if name in LAYER_OF and target in LAYER_OF and LAYER_OF[target] > LAYER_OF[name]:
                problems.append(f"{name} imports higher layer {target}")
    return problems


def cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_layering_is_exhaustive_and_respected():
    graph = import_graph(PACKAGE, "importguard")
    assert layering_problems(graph) == []
    assert sorted(set(LAYER_OF) - set(graph)) == [], "modules named in LAYERS that do not exist"


def test_the_top_level_holds_at_most_fourteen_modules():
    """The package's top level is its pipeline at a glance; everything else lives in a
    subpackage that says what it is for (issue 25)."""
    top_level = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert len(top_level) <= 14, top_level


def test_subpackage_inits_import_nothing():
    for name in SUBPACKAGES:
        tree = ast.parse((PACKAGE / name / "__init__.py").read_text(encoding="utf-8"))
        assert not [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))], name


def test_no_import_cycles():
    # Imports inside functions count: a lazy import still ties the two modules together.
    assert cycles(import_graph(PACKAGE, "importguard")) == []


def test_only_the_facts_reader_and_fix_import_libcst():
    for name, path in package_modules(PACKAGE).items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        if any(m.split(".")[0] == "libcst" for m in imported):
            assert name in LIBCST_IMPORTERS, f"{name} imports libcst"


def _plant(tmp_path, files):
    package = tmp_path / "planted"
    for name, text in files.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return import_graph(package, "planted")


def test_a_planted_cycle_is_caught(tmp_path):
    graph = _plant(tmp_path, {
        "__init__.py": "",
        "output/__init__.py": "",
        "output/text.py": "def f():\n    from planted.output import sarif\n",
        "output/sarif.py": "from planted.output.text import f\n",
        "engine.py": "import planted.output.text\n",
    })
    assert cycles(graph) == [["output.sarif", "output.text"]]


def test_a_planted_layer_violation_and_an_unlisted_module_are_caught(tmp_path):
    graph = _plant(tmp_path, {
        "__init__.py": "",
        "engine.py": "from planted.cli import check\n",
        "cli/__init__.py": "",
        "cli/check.py": "",
        "brand_new.py": "",
    })
    assert layering_problems(graph) == [
        "brand_new has no layer in this test",
        "engine imports higher layer cli.check",
    ]


def test_package_init_imports_nothing_heavy():
    code = "import sys, importguard; print(sorted(m for m in sys.modules if m.split('.')[0] in ('importguard', 'libcst', 'click')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "['importguard']"


def test_rule_docs_are_generated_and_fresh():
    docs = [REPO / "docs" / "rules", PACKAGE / "rules" / "docs"]  # the repository's, the installed copy
    for rule in ALL_RULES:
        for doc in (directory / f"{rule.code}.md" for directory in docs):
            assert doc.read_text(encoding="utf-8") == documentation.rule_markdown(rule), (
                f"{doc} is stale: run python -m importguard.rules.documentation"
            )
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert readme == documentation.readme_with_rules(readme), "README rule table is stale"


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


def test_rule_doc_links_without_a_public_home_open_the_installed_docs(monkeypatch):
    from pathlib import Path
    from urllib.parse import urlparse
    from urllib.request import url2pathname

    from importguard.output import links

    monkeypatch.setattr(links, "REPOSITORY", None)
    for rule in ALL_RULES:
        path = Path(url2pathname(urlparse(links.rule_doc_uri(rule.code)).path))
        assert path == PACKAGE / "rules" / "docs" / f"{rule.code}.md" and path.is_file(), path
