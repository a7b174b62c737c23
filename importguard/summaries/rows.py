"""Library effect summaries: what calling a library function or importing a library
module does to the CUDA driver, as data (docs/summaries.md).

A row says, for one function (`kind = "call"`) or module (`kind = "import"`): its
effect (`initializes`, `driver-api`, `nothing`), the condition under which that holds
(`when`: keyword values for a call; `environment`: words for what the facts cannot
show), the library versions it was measured on, and its provenance (what importguard's
own analysis of the library's source found, and the GPU measurement that confirms it).

Rows ship as JSON files next to this module (one per library) and can be extended from
config (`summary-files`). A row whose effect is `initializes` or `driver-api` becomes a
sink (a CallSink or a ModuleSink) with a reason that names its condition and versions;
a `nothing` row is a measured non-initializer: no sink, and the generator checks its own
findings against it. Imports nothing from importguard but the model and the errors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

from importguard.errors import ConfigError
from importguard.model import DRIVER_API, INITIALIZER, CallSink, ModuleSink

FORMAT = 1
INITIALIZES = "initializes"
DRIVER = "driver-api"
NOTHING = "nothing"
EFFECTS = (INITIALIZES, DRIVER, NOTHING)
KINDS = ("call", "import")
_STRENGTH = {INITIALIZES: INITIALIZER, DRIVER: DRIVER_API}
SHIPPED = Path(__file__).parent  # the shipped files sit beside this module


class SummaryError(ConfigError):
    """A summary file that is not what FORMAT describes; the message names the file and row."""


@dataclass(frozen=True)
class SummaryRow:
    name: str  # a qualified function name, or a module
    kind: str  # "call" or "import"
    effect: str  # INITIALIZES, DRIVER or NOTHING
    # For a call: keyword -> the values under which the effect holds ("" = absent).
    when: tuple[tuple[str, tuple[str, ...]], ...] = ()
    device: bool = False  # a call: only with a literal CUDA device argument
    # A call: only when what it returns is applied to a function (a decorator, or given
    # positional arguments or `applied_keyword`): CallSink.applied.
    applied: bool = False
    applied_keyword: str = ""
    nvml_off: bool = False  # only torch.cuda.is_available() reaches the driver (CallSink.nvml_off)
    condition: str = ""  # the whole condition in words ("" = always)
    environment: str = ""  # what must hold in the environment, in words ("" = nothing)
    versions: tuple[str, ...] = ()  # "torch 2.11.0+cu130": where it was measured
    via: str = ""  # the library's own lines that lead to the driver call
    analysis: str = ""  # provenance: what importguard's analysis of the source found
    measured: str = ""  # provenance: the GPU measurement that confirms it ("" = none)
    docs: str = ""  # where the measurement is written up

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "kind": self.kind, "effect": self.effect}
        if self.when:
            data["when"] = {keyword: list(values) for keyword, values in self.when}
        if self.device:
            data["device"] = True
        if self.applied:
            data["applied"] = True
        if self.applied_keyword:
            data["applied_keyword"] = self.applied_keyword
        if self.nvml_off:
            data["nvml_off"] = True
        for key in ("condition", "environment"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        data["versions"] = list(self.versions)
        for key in ("via", "analysis", "measured", "docs"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        return data

    @property
    def reason(self) -> str:
        """The sink's reason in messages: the effect, its condition, where measured."""
        what = "initializes the CUDA driver" if self.effect == INITIALIZES else "is the CUDA driver API"
        if self.condition:
            what += f" when {self.condition}"
        if self.environment:
            what += f", and only when {self.environment}"
        where = f"measured, {', '.join(self.versions)}" if self.measured and self.versions else "not measured"
        if self.nvml_off:
            where += "; not with PYTORCH_NVML_BASED_CUDA_CHECK=1"
        return f"{what} ({where}; summary)"


_STR_KEYS = ("applied_keyword", "condition", "environment", "via", "analysis", "measured", "docs")


def row_from_dict(data: Any, where: str) -> SummaryRow:
    def fail(what: str) -> SummaryError:
        return SummaryError(f"{where}: {what}")

    if not isinstance(data, dict):
        raise fail("a row must be an object")
    unknown = sorted(set(data) - {"name", "kind", "effect", "when", "device", "applied", "nvml_off", "versions",
                                  *_STR_KEYS})
    if unknown:
        raise fail(f"unknown key{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}")
    name, kind, effect = data.get("name"), data.get("kind"), data.get("effect")
    if not isinstance(name, str) or not name or not all(part.isidentifier() for part in name.split(".")):
        raise fail('"name" must be a dotted name')
    if kind not in KINDS:
        raise fail(f'"kind" must be one of {", ".join(KINDS)}')
    if effect not in EFFECTS:
        raise fail(f'"effect" must be one of {", ".join(EFFECTS)}')
    when = data.get("when", {})
    if not isinstance(when, dict) or not all(
        isinstance(k, str) and isinstance(v, list) and v and all(isinstance(x, str) for x in v)
        for k, v in when.items()
    ):
        raise fail('"when" must map keyword names to non-empty lists of strings')
    if when and kind != "call":
        raise fail('"when" applies to calls only')
    versions = data.get("versions", [])
    if not isinstance(versions, list) or not all(isinstance(v, str) for v in versions):
        raise fail('"versions" must be a list of strings')
    device, applied, nvml_off = data.get("device", False), data.get("applied", False), data.get("nvml_off", False)
    if not isinstance(device, bool) or not isinstance(applied, bool) or not isinstance(nvml_off, bool):
        raise fail('"device", "applied" and "nvml_off" must be true or false')
    if (device or applied or data.get("applied_keyword")) and kind != "call":
        raise fail('"device", "applied" and "applied_keyword" apply to calls only')
    texts = {}
    for key in _STR_KEYS:
        value = data.get(key, "")
        if not isinstance(value, str):
            raise fail(f'"{key}" must be a string')
        texts[key] = value
    return SummaryRow(name, kind, effect, tuple((k, tuple(v)) for k, v in sorted(when.items())), device,
                      applied, nvml_off=nvml_off, versions=tuple(versions), **texts)


def read_file(path: Path) -> tuple[SummaryRow, ...]:
    """The rows of one summary file: {"format": 1, "library": ..., "rows": [...]}."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise SummaryError(f"cannot read summary file {path}: {getattr(error, 'strerror', None) or error}") from None
    except json.JSONDecodeError as error:
        raise SummaryError(f"{path}: invalid JSON: {error}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("rows"), list):
        raise SummaryError(f'{path}: a summary file is {{"format": {FORMAT}, "library": NAME, "rows": [...]}}')
    return tuple(row_from_dict(row, f"{path}: row {index + 1}") for index, row in enumerate(data["rows"]))


def shipped_files() -> list[Path]:
    return sorted(SHIPPED.glob("*.json"))


def shipped_rows() -> tuple[SummaryRow, ...]:
    return tuple(row for path in shipped_files() for row in read_file(path))


def call_sinks(rows: Iterable[SummaryRow]) -> tuple[CallSink, ...]:
    return tuple(
        CallSink(row.name, row.reason, _STRENGTH[row.effect], row.device, row.when, row.applied,
                 row.applied_keyword, row.nvml_off)
        for row in rows
        if row.kind == "call" and row.effect in _STRENGTH
    )


def module_sinks(rows: Iterable[SummaryRow]) -> tuple[ModuleSink, ...]:
    return tuple(
        ModuleSink(row.name, row.reason, _STRENGTH[row.effect], row.nvml_off)
        for row in rows
        if row.kind == "import" and row.effect in _STRENGTH
    )


def measured_nothing(rows: Iterable[SummaryRow]) -> dict[tuple[str, str], SummaryRow]:
    """(kind, name) -> the row of a measured non-initializer without a condition, for
    names that no row says initialize in another version (`import cutlass`: 4.5.2 does,
    4.8.1 does not)."""
    rows = list(rows)
    effective = {(row.kind, row.name) for row in rows if row.effect != NOTHING}
    return {(row.kind, row.name): row for row in rows
            if row.effect == NOTHING and not row.when and row.measured and (row.kind, row.name) not in effective}


def find(rows: Sequence[SummaryRow], kind: str, name: str) -> list[SummaryRow]:
    return [row for row in rows if row.kind == kind and row.name == name]


def library_of(name: str) -> str:
    return name.partition(".")[0]


def dump(library: str, rows: Iterable[SummaryRow], note: Optional[str] = None) -> str:
    """A summary file's text: rows sorted by (kind, name, effect), one key order."""
    ordered = sorted(rows, key=lambda row: (row.kind, row.name, row.effect, row.when))
    data: dict[str, Any] = {"format": FORMAT, "library": library}
    if note:
        data["note"] = note
    data["rows"] = [row.to_dict() for row in ordered]
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
