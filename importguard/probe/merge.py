"""Read probe JSON documents back (shards of `probe --all`) and merge them into one.

A document is what `probe --format json` prints: {"version": 1, "results": [...],
"run": {"packages": [{"package", "modules"}], "shard": {"index", "count"} | null}}
("run" only from `--all`). Every file is read strictly (strict_json) and every result
validated; a bad file is a tool error naming the file and what is wrong. Merged results
are sorted by module; a module found in two shards with different results keeps the
first file's and gives a warning; missing shards give a warning.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

from importguard.probe import strict_json
from importguard.errors import UsageError
from importguard.probe.runner import STATUSES, ProbeResult, check_module_name, driver_state, imported_module
from importguard.probe.strict_json import BadJSON

DOCUMENT_MAX_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class ProbeRun:
    packages: tuple[tuple[str, int], ...] = ()  # (package, number of modules it has)
    shard: Optional[tuple[int, int]] = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "packages": [{"package": name, "modules": count} for name, count in self.packages],
            "shard": None if self.shard is None else {"index": self.shard[0], "count": self.shard[1]},
        }


@dataclass(frozen=True)
class ProbeDocument:
    path: str
    results: tuple[ProbeResult, ...]
    run: Optional[ProbeRun]


def read_document(path: str) -> ProbeDocument:
    try:
        data = strict_json.read_file(path, DOCUMENT_MAX_BYTES, max_depth=8)
        document = strict_json.need_dict(data, "the document")
        if document.get("version") != 1:
            raise BadJSON(f"version is {document.get('version')!r}, not 1")
        results = tuple(
            result_from_export(item) for item in strict_json.need_list(document.get("results"), "results")
        )
        run = None if document.get("run") is None else _run(document["run"])
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror or error}") from None
    except (BadJSON, UsageError) as error:
        raise UsageError(f"{path} is not probe JSON: {error}") from None
    return ProbeDocument(path, results, run)


def _run(value: Any) -> ProbeRun:
    data = strict_json.need_dict(value, "run")
    packages = []
    for item in strict_json.need_list(data.get("packages", []), "run.packages"):
        entry = strict_json.need_dict(item, "run.packages[]")
        count = strict_json.optional_int(entry.get("modules"), "run.packages[].modules") or 0
        packages.append((strict_json.need_str(entry.get("package"), "run.packages[].package", 1000), count))
    shard = None
    if data.get("shard") is not None:
        entry = strict_json.need_dict(data["shard"], "run.shard")
        index = strict_json.optional_int(entry.get("index"), "run.shard.index")
        count = strict_json.optional_int(entry.get("count"), "run.shard.count")
        if index is None or count is None or not 1 <= index <= count:
            raise BadJSON("run.shard is not {index, count} with 1 <= index <= count")
        shard = (index, count)
    return ProbeRun(tuple(packages), shard)


def result_from_export(value: Any) -> ProbeResult:
    """A ProbeResult from its to_dict() form, validated."""
    data = strict_json.need_dict(value, "results[]")
    module = strict_json.need_str(data.get("module"), "results[].module", 1000)
    try:
        check_module_name(module)
    except UsageError as error:
        raise BadJSON(str(error)) from None
    status = strict_json.need_str(data.get("status"), "results[].status", 100)
    if status not in STATUSES:
        raise BadJSON(f"results[].status {status!r} is not one of {', '.join(STATUSES)}")
    raw = strict_json.need_dict(data.get("driver"), "results[].driver")
    driver = driver_state(raw)
    culprit = None if data.get("culprit") is None else imported_module(data["culprit"], "culprit")
    sinks = tuple(imported_module(s, "sinks_imported[]")
                  for s in strict_json.need_list(data.get("sinks_imported", []), "sinks_imported"))
    left = tuple(strict_json.optional_int(p, "left_running[]") or 0
                 for p in strict_json.need_list(data.get("left_running", []), "left_running"))
    return ProbeResult(
        module=module,
        status=status,
        driver=driver,
        culprit=culprit,
        sinks_imported=sinks,
        import_seconds=strict_json.optional_number(data.get("import_seconds"), "import_seconds"),
        error=strict_json.optional_str(data.get("error"), "error"),
        left_running=left,
    )


def merge(documents: Sequence[ProbeDocument]) -> tuple[list[ProbeResult], ProbeRun, list[str]]:
    """(results sorted by module, the merged run, warnings)."""
    warnings: list[str] = []
    kept: dict[str, tuple[ProbeResult, str]] = {}
    for document in documents:
        for result in document.results:
            if result.module not in kept:
                kept[result.module] = (result, document.path)
            elif _verdict(kept[result.module][0]) != _verdict(result):
                warnings.append(
                    f"`{result.module}` is in {kept[result.module][1]} and {document.path} with different "
                    f"results; kept the one from {kept[result.module][1]}"
                )
    packages: dict[str, int] = {}
    for document in documents:
        for name, count in document.run.packages if document.run else ():
            packages.setdefault(name, count)
    warnings += _shard_warnings(documents)
    ordered = [kept[module][0] for module in sorted(kept)]
    return ordered, ProbeRun(tuple(sorted(packages.items())), None), warnings


def _verdict(result: ProbeResult) -> tuple[Any, ...]:
    return (result.status, result.driver, result.culprit, result.sinks_imported)


def _shard_warnings(documents: Sequence[ProbeDocument]) -> list[str]:
    shards = [(d.path, d.run.shard) for d in documents if d.run is not None and d.run.shard is not None]
    if not shards:
        return []
    counts = sorted({shard[1] for _, shard in shards})
    if len(counts) > 1:
        return [f"the shards come from runs split {' and '.join(map(str, counts))} ways; they do not add up to one run"]
    count = counts[0]
    seen: dict[int, str] = {}
    warnings = []
    for path, (index, _) in shards:
        if index in seen:
            warnings.append(f"shard {index}/{count} is given twice ({seen[index]} and {path})")
        seen.setdefault(index, path)
    missing = [str(i) for i in range(1, count + 1) if i not in seen]
    if missing:
        warnings.append(
            f"shard{'s' if len(missing) > 1 else ''} {', '.join(missing)} of {count} "
            f"{'are' if len(missing) > 1 else 'is'} missing: the merged results do not cover the whole package"
        )
    return warnings
