"""`[tool.importguard]` in pyproject.toml -> validated Config.

Keys follow ruff's style: `x` replaces the default, `extend-x` adds to it. Unknown keys
and wrong types are errors naming the key and the file.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence, Union

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

from importguard.errors import ConfigError
from importguard.regular_file import is_regular, kind_of, read_regular
from importguard.sinks import DEFAULT_SINK_CALLS, DEFAULT_SINK_MODULES
from importguard.model import CallSink, ModuleSink

# Directories never walked (ruff's list, plus our cache).
DEFAULT_EXCLUDE = (
    ".bzr", ".direnv", ".eggs", ".git", ".hg", ".importguard_cache", ".mypy_cache",
    ".nox", ".pants.d", ".pytest_cache", ".ruff_cache", ".svn", ".tox", ".venv",
    "__pypackages__", "_build", "buck-out", "build", "dist", "node_modules",
    "site-packages", "venv",
)

CONFIGURED_REASON = "is configured as a sink in {file}"


_MAX_CONFIG_BYTES = 1_000_000  # a pyproject.toml; a link to /dev/zero must not fill memory

@dataclass(frozen=True)
class Config:
    project_root: Path
    config_file: Optional[Path] = None
    src: tuple[Path, ...] = ()
    sink_modules: tuple[ModuleSink, ...] = DEFAULT_SINK_MODULES
    sink_calls: tuple[CallSink, ...] = DEFAULT_SINK_CALLS
    cuda_free: tuple[str, ...] = ()
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    # Skip `data` directories without `__init__.py` inside a package (discovery.is_package_data).
    exclude_package_data: bool = True
    cache_dir: Optional[Path] = None  # None: .importguard_cache in the project root
    # True: follow imports into every installed package; names: only these
    # distributions or packages (PEP 503 normalised); False/(): stay in the project.
    follow_installed: Union[bool, tuple[str, ...]] = False
    # True: the processes that import the project run with PYTORCH_NVML_BASED_CUDA_CHECK=1,
    # so torch.cuda.is_available() does not initialize the driver (measured).
    nvml_based_cuda_check: bool = False
    # Follow calls that a function makes only on some paths (under an `if`, in a loop or
    # handler, after an early return): off by default, see README (precision).
    conditional_calls: bool = False


def find_config_file(start: Path) -> Optional[Path]:
    """The nearest pyproject.toml at or above `start` that has a [tool.importguard] table."""
    directory = start if start.is_dir() else start.parent
    directory = directory.absolute()
    for candidate in (directory, *directory.parents):
        pyproject = candidate / "pyproject.toml"
        if pyproject.is_file() and _is_ours(pyproject):
            return pyproject
    return None


def _is_ours(pyproject: Path) -> bool:
    """Whether the file has a [tool.importguard] table. A file that cannot be read or
    parsed is ours, and an error, only when it names importguard: a broken
    pyproject.toml of some unrelated project above this one must not stop a run."""
    try:
        data = _read_toml(pyproject)
    except ConfigError:
        try:
            mentions = b"importguard" in read_regular(pyproject, _MAX_CONFIG_BYTES)
        except OSError:
            mentions = False
        if mentions:
            raise
        return False
    tool = data.get("tool")
    return isinstance(tool, dict) and "importguard" in tool


def load_config(config_path: Optional[Path], start: Path) -> Config:
    if config_path is not None:
        if not config_path.exists():
            raise ConfigError(f"config file does not exist: {config_path}")
        if not is_regular(config_path):
            kind = kind_of(config_path.stat().st_mode)
            raise ConfigError(f"--config {config_path} is {kind}; give a pyproject.toml or importguard.toml file")
        data = _read_toml(config_path)
        tool = data.get("tool", {})
        table = tool.get("importguard") if isinstance(tool, dict) else None
        if table is None and config_path.name == "pyproject.toml":
            table = {}
        elif table is None:
            table = data  # a standalone importguard.toml with top-level keys
        return _from_table(table, config_path)
    found = find_config_file(start)
    if found is None:
        # As ruff does: without a config file the working directory is the project
        # root (where the cache goes and excludes are relative to), not the path checked.
        return Config(project_root=Path.cwd())
    return _from_table(_read_toml(found)["tool"]["importguard"], found)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(read_regular(path, _MAX_CONFIG_BYTES).decode("utf-8"))
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not UTF-8: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror or error}") from None


def _from_table(table: Any, path: Path) -> Config:
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.importguard] must be a table")
    root = path.parent.absolute()
    reader = _TableReader(table, path)
    values: dict[str, Any] = {"project_root": root, "config_file": path.absolute()}

    src = reader.strings("src")
    if src is not None:
        values["src"] = tuple((root / s).absolute() for s in src)

    modules = reader.sinks("sink-modules", "module", ModuleSink)
    extend_modules = reader.sinks("extend-sink-modules", "module", ModuleSink) or ()
    values["sink_modules"] = tuple(modules if modules is not None else DEFAULT_SINK_MODULES) + tuple(
        extend_modules
    )
    calls = reader.sinks("sink-calls", "call", CallSink)
    extend_calls = reader.sinks("extend-sink-calls", "call", CallSink) or ()
    values["sink_calls"] = tuple(calls if calls is not None else DEFAULT_SINK_CALLS) + tuple(
        extend_calls
    )

    # Summary files (docs/summaries.md): their rows' sinks are added after the others (a
    # call row for a name that already has a sink replaces it; CallReach keys by name).
    summary_files = reader.strings("summary-files")
    if summary_files:
        from importguard.summaries.rows import call_sinks, module_sinks, read_file

        rows = [row for name in summary_files for row in read_file(root / name)]
        values["sink_modules"] += module_sinks(rows)
        values["sink_calls"] += call_sinks(rows)

    for key, attribute in (("cuda-free", "cuda_free"), ("select", "select"), ("ignore", "ignore")):
        found = reader.strings(key)
        if found is not None:
            values[attribute] = tuple(found)
    for key in ("select", "ignore"):
        for code in values.get(key, ()):
            _check_code_prefix(code, key, path)

    exclude = reader.strings("exclude")
    extend_exclude = reader.strings("extend-exclude") or []
    values["exclude"] = tuple(exclude if exclude is not None else DEFAULT_EXCLUDE) + tuple(
        extend_exclude
    )

    package_data = reader.get("exclude-package-data", bool, "true or false")
    if package_data is not None:
        values["exclude_package_data"] = package_data

    per_file = reader.get("per-file-ignores", dict, "a table of glob = [codes]")
    if per_file is not None:
        entries = []
        for pattern, codes in per_file.items():
            if not (isinstance(codes, list) and all(isinstance(c, str) for c in codes)):
                raise ConfigError(
                    f"{path}: [tool.importguard] per-file-ignores.{pattern!r} must be a list of codes"
                )
            for code in codes:
                _check_code_prefix(code, "per-file-ignores", path)
            entries.append((pattern, tuple(codes)))
        values["per_file_ignores"] = tuple(entries)

    cache_dir = reader.get("cache-dir", str, "a path (a string)")
    if cache_dir is not None:
        if not cache_dir.strip():
            raise ConfigError(f"{path}: [tool.importguard] cache-dir must not be empty")
        values["cache_dir"] = (root / cache_dir).absolute()

    expected = "true, false or a list of distribution or package names"
    follow = reader.get("follow-installed", (bool, list), expected)
    if isinstance(follow, list):
        if not all(isinstance(name, str) and name.strip() for name in follow):
            raise reader._fail("follow-installed", expected)
        values["follow_installed"] = tuple(name.strip() for name in follow)
    elif follow is not None:
        values["follow_installed"] = follow

    nvml = reader.get("nvml-based-cuda-check", bool, "true or false")
    if nvml is not None:
        values["nvml_based_cuda_check"] = nvml

    conditional = reader.get("conditional-calls", bool, "true or false")
    if conditional is not None:
        values["conditional_calls"] = conditional

    reader.reject_unknown()
    return Config(**values)


def _check_code_prefix(code: str, key: str, path: Path) -> None:
    if not (code.startswith("IG") and code[2:].isdigit() or code in ("ALL", "IG")):
        raise ConfigError(
            f"{path}: [tool.importguard] {key}: {code!r} is not a rule code or prefix such as 'IG001' or 'IG0'"
        )


class _TableReader:
    def __init__(self, table: dict[str, Any], path: Path) -> None:
        self.table = table
        self.path = path
        self.seen: set[str] = set()

    def _fail(self, key: str, expected: str) -> ConfigError:
        return ConfigError(f"{self.path}: [tool.importguard] {key} must be {expected}")

    def get(self, key: str, kind: type, expected: str) -> Any:
        self.seen.add(key)
        if key not in self.table:
            return None
        value = self.table[key]
        if not isinstance(value, kind):
            raise self._fail(key, expected)
        return value

    def strings(self, key: str) -> Optional[list[str]]:
        value = self.get(key, list, "a list of strings")
        if value is not None and not all(isinstance(item, str) for item in value):
            raise self._fail(key, "a list of strings")
        return value

    def sinks(self, key: str, name_key: str, kind: type) -> Optional[Sequence[Any]]:
        expected = f'a list of names or tables {{ {name_key} = "...", reason = "..." }}'
        value = self.get(key, list, expected)
        if value is None:
            return None
        reason = CONFIGURED_REASON.format(file=self.path.name)
        sinks = []
        for item in value:
            if isinstance(item, str) and item:
                sinks.append(kind(item, reason))
            elif (
                isinstance(item, dict)
                and isinstance(item.get(name_key), str)
                and set(item) <= {name_key, "reason"}
                and isinstance(item.get("reason", ""), str)
            ):
                sinks.append(kind(item[name_key], item.get("reason") or reason))
            else:
                raise self._fail(key, expected)
        return sinks

    def reject_unknown(self) -> None:
        unknown = sorted(set(self.table) - self.seen)
        if unknown:
            raise ConfigError(
                f"{self.path}: unknown key{'s' if len(unknown) > 1 else ''} in [tool.importguard]: "
                + ", ".join(unknown)
            )
