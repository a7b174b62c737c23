"""The incremental engine (cache/results.py): after an edit, only what depends on the
edited module is computed again, and the output is byte-identical to `--no-cache`.

Each scripted series edits one tree step by step; after every step the cached run
(facts cache + stored findings, no replay) must print exactly what `--no-cache`
prints, and the stored findings must have been reused where nothing they depended on
changed.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import importguard.cache.results
import importguard.cache.replay
from importguard.cli.main import cli

from conftest import FIXTURES, write_tree

TREE = {
    "pyproject.toml": '[tool.importguard]\ncuda-free = ["app.entry"]\n',
    "app/__init__.py": "from app.ops import gemm\nfrom app.util import helper\n",
    "app/entry.py": "import app.config\nfrom app.models import *\n",
    "app/config.py": "X = 1\n",
    "app/util.py": "import app.plugin  # not there yet\n\ndef helper():\n    pass\n",
    "app/ops/__init__.py": "from .gemm import gemm\nfrom .norm import norm\n",
    "app/ops/gemm.py": "import os\n\ndef gemm():\n    pass\n",
    "app/ops/norm.py": "import torch\n\ndef norm():\n    pass\n",
    "app/models/__init__.py": '__all__ = ["llama"]\n',
    "app/models/llama.py": "import json\n",
    "app/models/mistral.py": "from app.ops import norm\n",
    "app/kernels/__init__.py": "from . import fused  # noqa: IG001\n",
    "app/kernels/fused.py": "import cutlass\n",
    "tools/__init__.py": "",
    "tools/probe.py": "import torch\nCAP = torch.cuda.get_device_capability()\n",
}


def append(relative: str, text: str):
    def edit(root: Path) -> None:
        path = root / relative
        path.write_text(path.read_text() + text)
    return edit


def replace_text(relative: str, old: str, new: str):
    def edit(root: Path) -> None:
        path = root / relative
        path.write_text(path.read_text().replace(old, new))
    return edit


def there_and_back(name: str, relative: str, old: str, new: str) -> list:
    """Two steps of a series: `old` becomes `new` in one file, then `old` again."""
    return [(name, replace_text(relative, old, new), "some"), ("and back", replace_text(relative, new, old), "some")]


def add(relative: str, text: str):
    return lambda root: write_tree(root, {relative: text})


def delete(relative: str):
    return lambda root: (root / relative).unlink()


def rename(old: str, new: str):
    return lambda root: (root / old).rename(root / new)


# (name, edit, how much the stored findings may be reused: "all", "some" or "none")
SERIES = [
    ("add a sink import to a re-exported leaf", append("app/ops/gemm.py", "import cutlass\n"), "some"),
    ("remove it again", replace_text("app/ops/gemm.py", "import cutlass\n", ""), "some"),
    ("a comment only: same facts", append("app/config.py", "# a comment\n"), "all"),
    ("a call sink in a cuda-free chain", append("app/config.py", "import torch\nA = torch.cuda.is_available()\n"),
     "some"),
    ("__all__ of a star-imported package grows", replace_text("app/models/__init__.py", '["llama"]', '["llama", "mistral"]'),
     "some"),
    ("mistral reaches cutlass", append("app/ops/norm.py", "from app.kernels import fused\n"), "some"),
    ("an importer of the package drops its from-import (the lazy re-export hint)",
     replace_text("app/models/mistral.py", "from app.ops import norm\n", "import json\n"), "some"),
    ("and takes it up again", replace_text("app/models/mistral.py", "import json\n", "from app.ops import norm\n"),
     "some"),
    ("a suppression", replace_text("app/ops/__init__.py", "from .norm import norm\n", "from .norm import norm  # noqa\n"),
     "some"),
    ("add a new file nobody imports", add("app/ops/extra.py", "import cutlass\n"), "some"),
    ("make the __init__ import it", append("app/ops/__init__.py", "from . import extra\n"), "some"),
    ("add a new file that an import now finds", add("app/plugin.py", "import cutlass\n"), "none"),
    ("edit it", replace_text("app/plugin.py", "import cutlass\n", "import json\n"), "some"),
    ("delete one", delete("app/plugin.py"), "none"),
    ("delete one nobody imports", delete("tools/probe.py"), "some"),
    ("rename one", rename("app/models/llama.py", "app/models/llama2.py"), "none"),
    ("rename it back", rename("app/models/llama2.py", "app/models/llama.py"), "none"),
    ("nothing changed", lambda root: None, "all"),
]


@pytest.fixture
def reuse(monkeypatch):
    """How each analysis used the stored findings; replays are switched off so that
    every run goes through the incremental engine."""
    seen: list[str] = []
    real = importguard.cache.results.check_incrementally

    def recording(*args, **kwargs):
        report = real(*args, **kwargs)
        seen.append(args[6].last_reuse)
        return report

    monkeypatch.setattr(importguard.cache.results, "check_incrementally", recording)
    monkeypatch.setattr(importguard.cache.replay.Replay, "load", lambda self: None)
    return seen


def run(root: Path, *args: str) -> tuple[str, int]:
    old = Path.cwd()
    os.chdir(root)
    try:
        # `full`: the oracles compare the chains too, which the default (concise) line leaves out.
        result = CliRunner().invoke(cli, ["check", "--output-format", "full", *args])
    finally:
        os.chdir(old)
    assert result.exit_code in (0, 1), result.output
    return result.output, result.exit_code


def play(root: Path, reuse: list[str], series, paths=(".",)) -> list[str]:
    cache = ("--cache-dir", str(root.parent / "cache"))
    first = run(root, *paths, *cache)
    assert first == run(root, *paths, "--no-cache")
    problems = []
    for name, edit, expected in series:
        edit(root)
        cached = run(root, *paths, *cache)
        fresh = run(root, *paths, "--no-cache")
        if cached != fresh:
            problems.append(f"{name}: cached output differs from --no-cache:\n{cached[0]}\n---\n{fresh[0]}")
        if expected is not None and reuse[-1] != expected:
            problems.append(f"{name}: stored findings reused {reuse[-1]!r}, expected {expected!r}")
    return problems


def test_scripted_edits_give_what_no_cache_gives_and_reuse_what_they_can(tmp_path, reuse):
    root = write_tree(tmp_path / "tree", TREE)
    assert play(root, reuse, SERIES) == []
    assert "some" in reuse and "all" in reuse


def test_edits_that_matter_change_the_output(tmp_path, reuse):
    """The series is not vacuous: the sink import appears, goes, and the others show."""
    root = write_tree(tmp_path / "tree", TREE)
    cache = ("--cache-dir", str(tmp_path / "cache"))
    before, _ = run(root, ".", *cache)
    append("app/ops/gemm.py", "import cutlass\n")(root)
    after, _ = run(root, ".", *cache)
    assert "app.ops -> app.ops.gemm -> cutlass" in after and "app.ops.gemm" not in before
    assert reuse[-1] == "some"


def test_a_part_of_the_tree_whose_chains_leave_it(tmp_path, reuse):
    root = write_tree(tmp_path / "tree", TREE)
    series = [
        ("edit outside PATHS that a chain reaches", append("app/ops/gemm.py", "import cutlass\n"), "some"),
        ("remove it", replace_text("app/ops/gemm.py", "import cutlass\n", ""), "some"),
        ("edit inside", append("app/ops/__init__.py", "import json\n"), "some"),
        ("a chain now leaves through another module", append("app/ops/norm.py", "import app.kernels\n"), "some"),
        ("nothing changed", lambda r: None, "all"),
        # A module outside PATHS with a problem is warned about; which reused search
        # loaded it is not recorded, so such a check computes everything after an edit.
        ("an outside module cannot be parsed", append("app/kernels/fused.py", "def (:\n"), "some"),
        ("edit inside again", append("app/ops/__init__.py", "import os\n"), "none"),
        ("fixed", replace_text("app/kernels/fused.py", "def (:\n", ""), "none"),
        ("and nothing", lambda r: None, "all"),
    ]
    assert play(root, reuse, series, paths=("app/ops/__init__.py",)) == []


def test_a_star_import_from_a_running_package_follows_its_all(tmp_path, reuse):
    """`from pkg import *` inside pkg.sub has no edge to pkg (it is running), yet its
    edges depend on pkg's `__all__`: a change there must reach pkg.sub's findings."""
    root = write_tree(tmp_path / "tree", {
        "pyproject.toml": "[tool.importguard]\n",
        "pkg/__init__.py": '__all__ = ["a"]\n',
        "pkg/a.py": "import os\n",
        "pkg/b.py": "import cutlass\n",
        "pkg/sub/__init__.py": "from pkg import *\n",
    })
    series = there_and_back("__all__ names the module that imports cutlass", "pkg/__init__.py", '["a"]', '["b"]')
    assert play(root, reuse, series) == []


def test_a_plain_module_that_becomes_a_package_keeps_the_lazy_re_export_hint(tmp_path, reuse):
    """The record leaves out `from pkg.util import gemm` while pkg.util is a plain
    module; once pkg.util is a package with a finding, that import blocks its lazy
    re-export, and the hint must say so as --no-cache does."""
    root = write_tree(tmp_path / "tree", {
        "pyproject.toml": "[tool.importguard]\n",
        "pkg/__init__.py": "",
        "pkg/leaf.py": "from pkg.util import gemm\n",
        "pkg/util.py": "def gemm():\n    pass\n",
        "pkg/kernels.py": "import cutlass\n\ndef gemm():\n    pass\n",
    })
    series = [
        ("the plain module goes", delete("pkg/util.py"), None),
        ("a package of that name comes", add("pkg/util/__init__.py", "from pkg.kernels import gemm\n"), None),
    ]
    assert play(root, reuse, series) == []
    assert "cannot help" in run(root, ".", "--no-cache")[0]


def test_a_call_into_a_module_the_caller_does_not_import_follows_its_edits(tmp_path, reuse):
    """`tool.a.b.f()` at import reaches into tool.a.b without an eager edge to it (only
    `import tool.a`): an edit of tool.a.b must still reach the caller's finding."""
    root = write_tree(tmp_path / "tree", {
        "pyproject.toml": "[tool.importguard]\n",
        "tool/__init__.py": "",
        "tool/a/__init__.py": "",
        "tool/a/b.py": "import torch\n\ndef f():\n    return torch.cuda.is_available()\n",
        "tool/main.py": "import tool.a\nX = tool.a.b.f()\n",
    })
    series = [
        ("the function no longer calls CUDA",
         replace_text("tool/a/b.py", "return torch.cuda.is_available()", "return 1"), None),
        ("and again", replace_text("tool/a/b.py", "return 1", "return torch.cuda.is_available()"), None),
    ]
    assert "IG003" in run(root, ".", "--no-cache")[0]
    assert play(root, reuse, series) == []


def test_an_ancestor_import_that_sets_the_nvml_check_reaches_the_callers(tmp_path, reuse):
    """tools.env, which tools/__init__ imports, comes to set PYTORCH_NVML_BASED_CUDA_CHECK=1:
    `torch.cuda.is_available()` at import in tools.probe is then no sink. No edge leads
    from tools.probe to tools.env (its ancestor is running); what the NVML check read
    must lead there."""
    root = write_tree(tmp_path / "tree", {
        "pyproject.toml": "[tool.importguard]\n",
        "tools/__init__.py": "import tools.env\n",
        "tools/env.py": "import os\n",
        "tools/probe.py": "import torch\nOK = torch.cuda.is_available()\n",
        "tools/other.py": "import json\nX = json.dumps(1)\n",
    })
    setting = 'import os\nos.environ["PYTORCH_NVML_BASED_CUDA_CHECK"] = "1"\n'
    series = there_and_back("the ancestor's import sets the check", "tools/env.py", "import os\n", setting)
    assert "tools/probe.py:2" in run(root, ".", "--no-cache")[0]
    assert play(root, reuse, series) == []
    series[0][1](root)
    assert "tools/probe.py:2" not in run(root, ".", "--no-cache")[0]


def test_a_from_import_by_a_module_inside_the_package_changes_its_hint(tmp_path, reuse):
    """pkg.user (which nothing imports; pkg is running for it, so it has no edge to pkg)
    comes to do `from pkg import gemm`: pkg's finding must say a lazy re-export cannot help."""
    root = write_tree(tmp_path / "tree", {
        "pyproject.toml": "[tool.importguard]\n",
        "pkg/__init__.py": "from pkg.heavy import gemm\n",
        "pkg/heavy.py": "import cutlass\n\ndef gemm():\n    pass\n",
        "pkg/user.py": "import json\n",
    })
    series = there_and_back("the module imports a name from its package", "pkg/user.py", "import json\n",
                            "from pkg import gemm\n")
    assert play(root, reuse, series) == []
    series[0][1](root)
    assert "`pkg.user` does `from pkg import gemm`" in run(root, ".", "--no-cache")[0]


def test_a_search_that_skipped_a_module_known_to_reach_no_sink_follows_its_edits(tmp_path, reuse):
    """pkg's search finds that pkg.a reaches no sink; pkg.sub's search from
    `from pkg import a, b` then skips pkg.a and stops at pkg.b -> cutlass. Once pkg.a
    imports cutlass, the shortest chain goes through pkg.a: the kept search must not hold."""
    root = write_tree(tmp_path / "tree", {
        "pyproject.toml": "[tool.importguard]\n",
        "pkg/__init__.py": "import pkg.a\n",
        "pkg/a.py": "import json\n",
        "pkg/b.py": "import cutlass\n",
        "pkg/sub/__init__.py": "from pkg import a, b\n",
    })
    series = there_and_back("the skipped module comes to reach a sink", "pkg/a.py", "import json\n", "import cutlass\n")
    assert "pkg.sub -> pkg.b -> cutlass" in run(root, ".", "--no-cache")[0]
    assert play(root, reuse, series) == []
    series[0][1](root)
    assert "pkg.sub -> pkg.a -> cutlass" in run(root, ".", "--no-cache")[0]


def record_lines(cache: Path) -> tuple[Path, list[dict]]:
    """The one results record in `cache` and its JSON lines: the header, the per-module
    sections, and the delta over them when a check after an edit wrote one."""
    (path,) = cache.glob("results-*.json")
    return path, [json.loads(line) for line in path.read_text().split("\n")]


def write_lines(path: Path, lines: list[dict]) -> None:
    path.write_text("\n".join(json.dumps(line) for line in lines))


def test_a_partial_record_of_another_check_is_not_used(tmp_path, reuse):
    """The per-module sections written by an earlier check, put back under the header
    of the last one (each line carries its write's token): computing everything."""
    root = write_tree(tmp_path / "tree", TREE)
    cache = tmp_path / "cache"
    run(root, ".", "--cache-dir", str(cache))
    path, [_, stale, *_] = record_lines(cache)
    append("app/ops/gemm.py", "import cutlass\n")(root)
    run(root, ".", "--cache-dir", str(cache))
    assert reuse[-1] == "some"
    _, [header, *_] = record_lines(cache)
    write_lines(path, [header, stale])  # the sections of the check before the last
    replace_text("app/ops/gemm.py", "import cutlass\n", "")(root)
    cached = run(root, ".", "--cache-dir", str(cache))
    assert reuse[-1] == "none" and cached == run(root, ".", "--no-cache")


def test_a_findings_entry_dropped_from_the_record_is_caught(tmp_path, reuse):
    """The findings of every reported module are kept, an empty list included: a record
    missing one (written by another layout, or cut) is not read as "no findings"."""
    root = write_tree(tmp_path / "tree", TREE)
    cache = tmp_path / "cache"
    first = run(root, ".", "--cache-dir", str(cache))
    path, [header, *rest] = record_lines(cache)
    found = [i for i, findings in enumerate(header["findings"]) if findings]
    assert found and len(header["findings"]) == len(header["reported"])
    del header["findings"][found[0]]
    write_lines(path, [header, *rest])
    append("app/config.py", "X = 1\n")(root)  # an edit elsewhere: the rest would be reused
    cached = run(root, ".", "--cache-dir", str(cache))
    assert reuse[-1] == "none" and cached == run(root, ".", "--no-cache") and "IG0" in first[0]


def test_a_module_entry_missing_a_field_is_caught(tmp_path, reuse):
    """A per-module entry (path, facts hash, edges' targets, star imports, calls' reads)
    without its last field, in the sections or in a delta: computing everything."""
    root = write_tree(tmp_path / "tree", MANY_MODULES)
    cache = tmp_path / "cache"
    run(root, ".", "--cache-dir", str(cache))
    append("pkg/m3.py", "import cutlass\n")(root)
    run(root, ".", "--cache-dir", str(cache))
    path, [header, sections, delta] = record_lines(cache)
    assert reuse[-1] == "some" and delta["set"]["modules"]
    for garbled in ([header, {**sections, "modules": {m: e[:4] for m, e in sections["modules"].items()}}, delta],
                    [header, sections, {**delta, "set": {**delta["set"], "modules": {
                        m: e[:4] for m, e in delta["set"]["modules"].items()}}}]):
        write_lines(path, garbled)
        append("pkg/m5.py", "import os\n")(root)
        cached = run(root, ".", "--cache-dir", str(cache))
        assert reuse[-1] == "none" and cached == run(root, ".", "--no-cache")


def _chains_garbled(partial):
    for searches in partial["searches"].values():
        for search in searches:
            search[2] = None if search[2] is None else ["x"]


def _searches_garbled(partial):
    partial["searches"] = {module: "garbage" for module in partial["searches"]}


def _stars_not_lists(partial):
    for entry in partial["modules"].values():
        entry[3] = 5


def _entries_of_the_old_format(partial):
    partial["modules"] = {module: entry[:3] for module, entry in partial["modules"].items()}


def _searches_not_a_dict(partial):
    partial["searches"] = []


@pytest.mark.parametrize("garble", [_chains_garbled, _searches_garbled, _stars_not_lists,
                                    _entries_of_the_old_format, _searches_not_a_dict])
def test_a_partial_record_of_the_wrong_shape_means_computing_everything(tmp_path, reuse, garble):
    """A kept search whose chain is not a chain, searches or module entries of another
    shape: the check after an edit computes everything, as --no-cache prints it."""
    root = write_tree(tmp_path / "tree", {
        "pyproject.toml": "[tool.importguard]\n",
        "pkg/__init__.py": "from pkg.a import x\nfrom pkg.b import y\n",
        "pkg/a.py": "import cutlass\nx = 1\n",
        "pkg/b.py": "import cutlass\ny = 1\n",
    })
    cache = tmp_path / "cache"
    run(root, ".", "--cache-dir", str(cache))
    partial_path, [header, partial] = record_lines(cache)
    assert any(search[2] is not None for searches in partial["searches"].values() for search in searches)
    garble(partial)
    write_lines(partial_path, [header, partial])
    append("pkg/b.py", "import os\n")(root)  # pkg's search from `pkg.b` goes stale, the one from `pkg.a` holds
    cached = run(root, ".", "--cache-dir", str(cache))
    assert reuse[-1] == "none"
    assert cached == run(root, ".", "--no-cache") and "pkg -> pkg.a -> cutlass" in cached[0]


def test_the_example_tree(tmp_path, reuse):
    root = tmp_path / "example"
    shutil.copytree(FIXTURES / "example", root, ignore=shutil.ignore_patterns(".importguard_cache"))
    leaf = next(p for p in sorted(root.rglob("*.py")) if p.name != "__init__.py")
    relative = str(leaf.relative_to(root))
    series = [
        ("sink import", append(relative, "import cutlass\n"), "some"),
        ("removed", replace_text(relative, "import cutlass\n", ""), "some"),
        ("nothing", lambda r: None, "all"),
    ]
    assert play(root, reuse, series) == []


def test_a_module_that_reaches_no_sink_is_skipped_until_it_reaches_one(tmp_path, reuse):
    """pkg.big reaches no sink, and nothing it reaches changes: after pkg.leaf comes
    to import cutlass, the search from pkg's first import site runs again and skips
    pkg.big as known to reach no sink. pkg.a and pkg.shared reached no sink before the
    edit too, but they reach pkg.leaf: they are searched through, and the chain found."""
    root = write_tree(tmp_path / "tree", {
        "pyproject.toml": "[tool.importguard]\n",
        "pkg/__init__.py": "from pkg import a\nfrom pkg import other\n",
        "pkg/a.py": "import pkg.shared\nimport pkg.big\n",
        "pkg/shared.py": "import pkg.leaf\n",
        "pkg/leaf.py": "X = 1\n",
        "pkg/big.py": "import json\nimport pkg.deep\n",
        "pkg/deep.py": "import os\n",
        "pkg/other.py": "import pkg.big\n",
    })
    series = there_and_back("the leaf comes to import cutlass", "pkg/leaf.py", "X = 1\n", "import cutlass\n")
    assert play(root, reuse, series[:1]) == []
    assert "pkg -> pkg.a -> pkg.shared -> pkg.leaf -> cutlass" in run(root, ".", "--no-cache")[0]
    _, [_, partial, *delta] = record_lines(tmp_path / "cache")
    if delta:
        partial = {name: {**partial[name], **delta[0]["set"][name]} for name in delta[0]["set"]}
    [(line, _, chain, explicit, roots), _] = partial["searches"]["pkg"]
    assert line == 1 and chain is not None
    assert "pkg.big" in roots and "pkg.big" not in explicit and "pkg.deep" not in explicit
    assert {"pkg.big", "pkg.deep", "pkg.other"} <= set(partial["free"])
    assert not {"pkg", "pkg.a", "pkg.shared", "pkg.leaf"} & set(partial["free"])
    assert play(root, reuse, series[1:]) == []


def test_modules_in_an_import_cycle_reach_no_sink_only_when_none_of_them_does(tmp_path, reuse):
    root = write_tree(tmp_path / "tree", {
        "pyproject.toml": "[tool.importguard]\n",
        "pkg/__init__.py": "from pkg import p\nfrom pkg import x\n",
        "pkg/p.py": "import pkg.q\n",
        "pkg/q.py": "import pkg.p\nimport json\n",
        "pkg/x.py": "import pkg.y\n",
        "pkg/y.py": "import pkg.x\nimport pkg.z\n",
        "pkg/z.py": "import pkg.y\nimport cutlass\n",
    })
    run(root, ".", "--cache-dir", str(tmp_path / "cache"))
    _, [_, partial] = record_lines(tmp_path / "cache")
    assert {"pkg.p", "pkg.q"} <= set(partial["free"])
    assert not {"pkg.x", "pkg.y", "pkg.z"} & set(partial["free"])


MANY_MODULES = {
    "pyproject.toml": "[tool.importguard]\n",
    "pkg/__init__.py": "".join(f"from pkg import m{i}\n" for i in range(40)),
    **{f"pkg/m{i}.py": "import json\n" for i in range(40)},
}


def test_a_check_after_an_edit_writes_what_changed_of_the_partial_record(tmp_path, reuse):
    """On a tree of many modules an edit changes a few entries of the per-module
    sections: the record keeps the sections as they were written (copied, not encoded
    again) and those entries after them, read over the sections by the next check."""
    root = write_tree(tmp_path / "tree", MANY_MODULES)
    series = [
        *there_and_back("a leaf comes to import cutlass", "pkg/m3.py", "import json\n", "import cutlass\n"),
        *there_and_back("another one", "pkg/m7.py", "import json\n", "import cutlass\n"),
        ("two at once", lambda r: (append("pkg/m1.py", "import cutlass\n")(r), append("pkg/m2.py", "import os\n")(r)),
         "some"),
    ]
    assert play(root, reuse, series[:1]) == []
    cache = tmp_path / "cache"
    path, _ = record_lines(cache)
    header, base, delta = path.read_bytes().split(b"\n")
    assert len(delta) * 2 < len(base)
    assert play(root, reuse, series[1:]) == []
    assert path.read_bytes().split(b"\n")[1] == base, "the sections were written again for a small change"


def _delta_set_garbled(delta):
    delta["set"] = "garbage"


def _delta_searches_garbled(delta):
    delta["set"]["searches"] = {module: "garbage" for module in delta["set"]["searches"]} or {"pkg": "garbage"}


def _delta_drops_garbled(delta):
    delta["drop"]["modules"] = [1, 2]


def _delta_of_another_base(delta):
    delta["base"] = "0" * 16


def _delta_entry_of_another_shape(delta):
    delta["set"]["from_imports"] = {path: "garbage" for path in delta["set"]["from_imports"]} or {"x.py": 1}


def _delta_after_an_edit(tmp_path):
    """The tree of many modules checked, pkg.m3 edited and checked: the root, the cache
    and the delta that check wrote."""
    root = write_tree(tmp_path / "tree", MANY_MODULES)
    cache = tmp_path / "cache"
    run(root, ".", "--cache-dir", str(cache))
    append("pkg/m3.py", "import cutlass\n")(root)
    run(root, ".", "--cache-dir", str(cache))
    path, lines = record_lines(cache)
    assert len(lines) == 3
    return root, cache, path


def _computes_everything_after_the_edit_back(root, cache, reuse):
    replace_text("pkg/m3.py", "import cutlass\n", "")(root)
    cached = run(root, ".", "--cache-dir", str(cache))
    assert reuse[-1] == "none" and cached == run(root, ".", "--no-cache")


@pytest.mark.parametrize("garble", [_delta_set_garbled, _delta_searches_garbled, _delta_drops_garbled,
                                    _delta_of_another_base, _delta_entry_of_another_shape])
def test_a_delta_of_the_wrong_shape_or_base_means_computing_everything(tmp_path, reuse, garble):
    root, cache, path = _delta_after_an_edit(tmp_path)
    header, sections, delta = record_lines(cache)[1]
    garble(delta)
    write_lines(path, [header, sections, delta])
    _computes_everything_after_the_edit_back(root, cache, reuse)


def test_a_delta_left_by_an_earlier_check_is_not_used(tmp_path, reuse):
    root, cache, path = _delta_after_an_edit(tmp_path)
    stale = record_lines(cache)[1][2]
    append("pkg/m5.py", "import cutlass\n")(root)
    run(root, ".", "--cache-dir", str(cache))
    assert reuse[-1] == "some"
    header, sections, _ = record_lines(cache)[1]
    write_lines(path, [header, sections, stale])  # it says pkg.m5 still reaches no sink
    _computes_everything_after_the_edit_back(root, cache, reuse)


def test_the_pre_commit_hook_reuses_the_stored_findings(tmp_path, reuse):
    """`check --changed-only FILES` analyses the whole project, which a check after an
    edit need not do again: only the report's filter depends on FILES."""
    root = write_tree(tmp_path / "tree", TREE)
    cache = ("--cache-dir", str(tmp_path / "cache"))
    first = run(root, "--changed-only", "app/ops/gemm.py", *cache)
    assert reuse[-1] == "none" and first == run(root, "--changed-only", "app/ops/gemm.py", "--no-cache")
    append("app/ops/gemm.py", "import cutlass\n")(root)
    for files in (["app/ops/gemm.py"], ["app/config.py"], ["app/ops/gemm.py", "app/ops/__init__.py"]):
        cached = run(root, "--changed-only", *files, *cache)
        assert reuse[-1] in ("some", "all") and cached == run(root, "--changed-only", *files, "--no-cache")
    assert "app.ops -> app.ops.gemm -> cutlass" in run(root, "--changed-only", "app/ops/gemm.py", *cache)[0]
    assert reuse[-1] == "all"


def test_an_unresolved_call_on_the_plan_follows_the_module_that_defines_it(tmp_path, reuse):
    """The plan names the calls at import it cannot follow; whether a called name is
    known is kept with the modules that answer read, and answered again after one of
    them is edited (here the module that comes to define, then no longer defines, it)."""
    root = write_tree(tmp_path / "tree", {
        "pyproject.toml": "[tool.importguard]\n",
        "pkg/__init__.py": "from pkg import a\n",
        "pkg/a.py": "import pkg.helpers\nimport cutlass\npkg.helpers.setup()\n",
        "pkg/helpers.py": "X = 1\n",
        "pkg/other.py": "import json\n",
    })
    assert "pkg/a.py:3 pkg.helpers.setup()" in run(root, ".", "--no-cache")[0]
    series = [
        *there_and_back("the called module comes to define it", "pkg/helpers.py", "X = 1\n", "def setup():\n    pass\n"),
        ("an edit elsewhere", add("pkg/other.py", "import os\n"), "some"),
    ]
    assert play(root, reuse, series) == []


def test_the_plan_after_an_edit_starts_from_the_record_where_nothing_it_read_changed(tmp_path, reuse, monkeypatch):
    """What the fix plan starts from at each file with findings (its sites and what they
    execute) is kept in the record: after an edit, only the files whose findings were
    computed again have theirs worked out from their facts, and the plan is the one
    --no-cache prints."""
    import importguard.plan.network as network

    worked_out: list[str] = []
    real = network._starts

    def counting(graph, facts, findings):
        worked_out.append(Path(facts.path).relative_to(root).as_posix())
        return real(graph, facts, findings)

    monkeypatch.setattr(network, "_starts", counting)
    root = write_tree(tmp_path / "tree", {
        "pyproject.toml": "[tool.importguard]\n",
        "pkg/__init__.py": "from pkg import a, b\n",
        "pkg/a.py": "import cutlass\n",
        "pkg/b.py": "import pkg.c\n",
        "pkg/c.py": "import torch\nCAP = torch.cuda.get_device_capability()\n",
        "pkg/other.py": "import json\n",
    })
    series = [
        ("an edit of a file without findings", append("pkg/other.py", "import os\n"), "some"),
        ("an edit of a file with findings", append("pkg/c.py", "import os\n"), "some"),
    ]
    cache = ("--cache-dir", str(tmp_path / "cache"))
    first = run(root, ".", *cache)
    assert "these 2 edits clear" in first[0], first[0]
    assert sorted(worked_out) == ["pkg/__init__.py", "pkg/c.py"]  # the files with findings
    for name, edit, expected in series:
        worked_out.clear()
        edit(root)
        cached = run(root, ".", *cache)
        cached_run = list(worked_out)
        assert cached == run(root, ".", "--no-cache"), name
        assert reuse[-1] == expected
        # pkg/__init__'s search reaches pkg.c: its findings are computed again, and its starts.
        assert cached_run == ([] if name.endswith("without findings") else ["pkg/__init__.py", "pkg/c.py"]), name


def test_a_check_whose_findings_are_all_stored_reads_only_the_header(tmp_path, reuse):
    """The per-module sections (three quarters of the record on a real tree) are read
    only after an edit: bytes after the header that are not even text do not stop a
    check with nothing changed from reusing everything."""
    root = write_tree(tmp_path / "tree", TREE)
    cache = tmp_path / "cache"
    first = run(root, ".", "--cache-dir", str(cache))
    (path,) = cache.glob("results-*.json")
    header, _, sections = path.read_bytes().partition(b"\n")
    path.write_bytes(header + b"\n\xff\xfe" + sections)
    assert run(root, ".", "--cache-dir", str(cache)) == first and reuse[-1] == "all"
    append("app/ops/gemm.py", "import cutlass\n")(root)  # now the sections are read: garbage, no reuse
    assert run(root, ".", "--cache-dir", str(cache)) == run(root, ".", "--no-cache") and reuse[-1] == "none"


def test_sections_of_a_record_rewritten_after_its_header_was_read_are_not_used(tmp_path, reuse, monkeypatch):
    """After an edit, the sections are read from the file whose header was read: one
    rewritten in between (by another check) is another record, and everything is
    computed again."""
    from importguard.cache.results import ResultStore

    root = write_tree(tmp_path / "tree", TREE)
    cache = tmp_path / "cache"
    run(root, ".", "--cache-dir", str(cache))
    real = ResultStore.load_partial

    def rewritten_first(self, record):
        self.path.write_bytes(self.path.read_bytes() + b" ")
        return real(self, record)

    monkeypatch.setattr(ResultStore, "load_partial", rewritten_first)
    append("app/ops/gemm.py", "import cutlass\n")(root)
    assert run(root, ".", "--cache-dir", str(cache)) == run(root, ".", "--no-cache") and reuse[-1] == "none"
