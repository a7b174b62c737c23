"""`[tool.importguard]` in pyproject.toml -> validated Config.

Keys follow ruff's style: `x` replaces the default, `extend-x` adds to it. Unknown keys
and wrong types are errors naming the file and line of the key (an unknown key with the
nearest known one). `--config KEY=VALUE` overrides (inline TOML) win over the file.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence, Union

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

from importguard.environment.profile import PLATFORMS, UNDECIDED_CHOICES, Profile, normalize
from importguard.errors import ConfigError
from importguard.files.regular_file import is_regular, kind_of, read_regular
from importguard.sinks import DEFAULT_SINK_CALLS, DEFAULT_SINK_MODULES
from importguard.model import CallSink, ModuleSink
from importguard.selection import check_selectors

# Directories never walked (ruff's list, plus our cache).
DEFAULT_EXCLUDE = (
    ".bzr", ".direnv", ".eggs", ".git", ".hg", ".importguard_cache", ".mypy_cache",
    ".nox", ".pants.d", ".pytest_cache", ".ruff_cache", ".svn", ".tox", ".venv",
    "__pypackages__", "_build", "buck-out", "build", "dist", "node_modules",
    "site-packages", "venv",
)

CONFIGURED_REASON = "is configured as a sink in {file}"


_MAX_CONFIG_BYTES = 1_000_000  # a pyproject.toml; a link to /dev/zero must not fill memory

# Every key of [tool.importguard]; tests/test_cli_config.py checks that each is read.
KNOWN_KEYS = (
    "src", "sink-modules", "extend-sink-modules", "sink-calls", "extend-sink-calls", "cuda-free",
    "select", "extend-select", "ignore", "extend-ignore", "per-file-ignores", "exclude", "extend-exclude",
    "exclude-package-data", "respect-gitignore", "cache-dir", "follow-installed", "nvml-based-cuda-check",
    "environment", "summary-files",
)

@dataclass(frozen=True)
class Config:
    project_root: Path
    config_file: Optional[Path] = None
    src: tuple[Path, ...] = ()
    sink_modules: tuple[ModuleSink, ...] = DEFAULT_SINK_MODULES
    sink_calls: tuple[CallSink, ...] = DEFAULT_SINK_CALLS
    cuda_free: tuple[str, ...] = ()
    select: tuple[str, ...] = ()  # () : the default rules (selection.py)
    extend_select: tuple[str, ...] = ()  # added to the default rules when `select` is not given
    ignore: tuple[str, ...] = ()  # `ignore` and `extend-ignore`
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    # Skip `data` directories without `__init__.py` inside a package (discovery.is_package_data).
    exclude_package_data: bool = True
    # Skip files that git ignores (.gitignore, .git/info/exclude, the global excludes file).
    respect_gitignore: bool = True
    cache_dir: Optional[Path] = None  # None: .importguard_cache in the project root
    # True: follow imports into every installed package; names: only these
    # distributions or packages (PEP 503 normalised); False/(): stay in the project.
    follow_installed: Union[bool, tuple[str, ...]] = False
    # True: the processes that import the project run with PYTORCH_NVML_BASED_CUDA_CHECK=1,
    # so torch.cuda.is_available() does not initialize the driver (measured).
    nvml_based_cuda_check: bool = False
    # The environment profile: platform, installed versions, variables ([tool.importguard.environment]).
    environment: Profile = Profile()


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
        _, data = _read_toml(pyproject)
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


def load_config(
    config_path: Optional[Path],
    start: Path,
    overrides: Sequence[str] = (),
    rule_codes: Optional[Callable[[], Sequence[str]]] = None,
) -> Config:
    """The config of `config_path`, else of the nearest pyproject.toml with our table
    above `start`, with the `--config KEY = VALUE` `overrides` on top. `rule_codes`:
    gives the codes to check every rule selector against (the caller knows the rules;
    asked only when the config names some)."""
    override_table, override_origins = parse_overrides(overrides)
    if config_path is not None:
        if not config_path.exists():
            raise ConfigError(f"config file does not exist: {config_path}")
        if not is_regular(config_path):
            kind = kind_of(config_path.stat().st_mode)
            raise ConfigError(f"--config {config_path} is {kind}; give a pyproject.toml or importguard.toml file")
        text, data = _read_toml(config_path)
        tool = data.get("tool", {})
        table = tool.get("importguard") if isinstance(tool, dict) else None
        if table is None and config_path.name == "pyproject.toml":
            table, within = {}, ("tool", "importguard")
        elif table is None:
            table, within = data, ()  # a standalone importguard.toml with top-level keys
        else:
            within = ("tool", "importguard")
        origins = _origins(config_path, text, within)
        return _from_table(table, config_path, override_table, {**origins, **override_origins}, rule_codes)
    found = find_config_file(start)
    if found is None:
        # As ruff does: without a config file the working directory is the project
        # root (where the cache goes and excludes are relative to), not the path checked.
        if not override_table:
            return Config(project_root=Path.cwd())
        return _from_table({}, None, override_table, override_origins, rule_codes)
    text, data = _read_toml(found)
    origins = _origins(found, text, ("tool", "importguard"))
    return _from_table(data["tool"]["importguard"], found, override_table, {**origins, **override_origins}, rule_codes)


def parse_overrides(overrides: Sequence[str]) -> tuple[dict[str, Any], dict[str, str]]:
    """`--config 'select = ["IG001"]'` -> ({"select": ["IG001"]}, {"select": "--config 'select = ...'"}):
    each must be one TOML `KEY = VALUE` pair of a known key (ruff's rule)."""
    table: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for override in overrides:
        shown = f"--config {override!r}"
        try:
            pair = tomllib.loads(override)
        except tomllib.TOMLDecodeError:
            raise ConfigError(
                f"{shown} is neither a config file nor a TOML `KEY = VALUE` pair "
                "(e.g. --config 'select = [\"IG001\"]')"
            ) from None
        if len(pair) != 1:
            raise ConfigError(f"{shown} must set exactly one key, as `KEY = VALUE`")
        (key, value), = pair.items()
        if key not in KNOWN_KEYS:
            raise ConfigError(f"{shown}: unknown key `{key}`{_did_you_mean(key)}")
        table[key] = value
        origins[key] = shown
    return table, origins


def _read_toml(path: Path) -> tuple[str, dict[str, Any]]:
    try:
        text = read_regular(path, _MAX_CONFIG_BYTES).decode("utf-8")
        return text, tomllib.loads(text)
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not UTF-8: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror or error}") from None


_HEADER = re.compile(r"^\s*\[(?!\[)(?P<name>[^\]]+)\]\s*(#.*)?$")
_KEY = re.compile(r"""^\s*(?P<quote>["']?)(?P<key>[A-Za-z0-9_-]+)(?P=quote)\s*[.=]""")


def _origins(path: Path, text: str, within: tuple[str, ...]) -> dict[str, str]:
    """`path:line` of each key of the table `within` (("tool", "importguard"), or ()
    for a file's top level): where an error about the key points. TOML has no positions
    in tomllib, so the lines are found by reading the keys at the start of lines, in the
    table's own section or in a `[tool.importguard.KEY]` section."""
    origins: dict[str, str] = {}
    section: tuple[str, ...] = ()
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            section = tuple(part.strip().strip("\"'") for part in header.group("name").split("."))
            if len(section) == len(within) + 1 and section[:-1] == within:
                origins.setdefault(section[-1], f"{path}:{number}")
            continue
        key = _KEY.match(line)
        if key and section == within:
            origins.setdefault(key.group("key"), f"{path}:{number}")
    return origins


def _did_you_mean(key: str) -> str:
    import difflib  # only for an unknown key

    near = difflib.get_close_matches(key, KNOWN_KEYS, n=1, cutoff=0.6)
    return f"; did you mean `{near[0]}`?" if near else ""


def _from_table(
    table: Any,
    path: Optional[Path],
    overrides: Optional[dict[str, Any]] = None,
    origins: Optional[dict[str, str]] = None,
    rule_codes: Optional[Callable[[], Sequence[str]]] = None,
) -> Config:
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.importguard] must be a table")
    table = {**table, **(overrides or {})}
    root = path.parent.absolute() if path is not None else Path.cwd()
    reader = _TableReader(table, path, origins or {})
    values: dict[str, Any] = {"project_root": root, "config_file": path.absolute() if path is not None else None}

    src = reader.strings("src")
    if src is not None:
        values["src"] = tuple((root / s).absolute() for s in src)

    modules = reader.sinks("sink-modules", "module", ModuleSink, {s.module: s for s in DEFAULT_SINK_MODULES})
    extend_modules = reader.sinks("extend-sink-modules", "module", ModuleSink,
                                  {s.module: s for s in DEFAULT_SINK_MODULES}) or ()
    values["sink_modules"] = tuple(modules if modules is not None else DEFAULT_SINK_MODULES) + tuple(
        extend_modules
    )
    default_calls = {}
    for call in DEFAULT_SINK_CALLS:
        default_calls.setdefault(call.name, call)
    calls = reader.sinks("sink-calls", "call", CallSink, default_calls)
    extend_calls = reader.sinks("extend-sink-calls", "call", CallSink, default_calls) or ()
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

    cuda_free = reader.strings("cuda-free")
    if cuda_free is not None:
        values["cuda_free"] = tuple(cuda_free)
    selectors = {key: reader.strings(key) for key in ("select", "extend-select", "ignore", "extend-ignore")}
    for key, found in selectors.items():
        if found and rule_codes is not None:
            check_selectors(found, rule_codes(), reader.where(key))
    select, extend_select = selectors["select"], selectors["extend-select"] or []
    if select is not None:
        # One layer: `extend-select` goes with its own `select` (selection.py).
        values["select"] = tuple(select) + tuple(extend_select)
    else:
        values["extend_select"] = tuple(extend_select)
    values["ignore"] = tuple(selectors["ignore"] or ()) + tuple(selectors["extend-ignore"] or ())

    exclude = reader.strings("exclude")
    extend_exclude = reader.strings("extend-exclude") or []
    values["exclude"] = tuple(exclude if exclude is not None else DEFAULT_EXCLUDE) + tuple(
        extend_exclude
    )

    for key, attribute in (("exclude-package-data", "exclude_package_data"),
                           ("respect-gitignore", "respect_gitignore"),
                           ("nvml-based-cuda-check", "nvml_based_cuda_check")):
        flag = reader.get(key, bool, "true or false")
        if flag is not None:
            values[attribute] = flag

    per_file = reader.get("per-file-ignores", dict, "a table of glob = [codes]")
    if per_file is not None:
        entries = []
        for pattern, codes in per_file.items():
            if not (isinstance(codes, list) and all(isinstance(c, str) for c in codes)):
                raise reader.fail("per-file-ignores", f"a table of glob = [codes] ({pattern!r} is not a list of codes)")
            if codes and rule_codes is not None:
                check_selectors(codes, rule_codes(), f"{reader.where('per-file-ignores')} ({pattern!r})")
            entries.append((pattern, tuple(codes)))
        values["per_file_ignores"] = tuple(entries)

    cache_dir = reader.get("cache-dir", str, "a path (a string)")
    if cache_dir is not None:
        if not cache_dir.strip():
            raise reader.fail("cache-dir", "a path, not empty")
        values["cache_dir"] = (root / cache_dir).absolute()

    expected = "true, false or a list of distribution or package names"
    follow = reader.get("follow-installed", (bool, list), expected)
    if isinstance(follow, list):
        if not all(isinstance(name, str) and name.strip() for name in follow):
            raise reader.fail("follow-installed", expected)
        values["follow_installed"] = tuple(name.strip() for name in follow)
    elif follow is not None:
        values["follow_installed"] = follow

    if "conditional-calls" in table:
        raise ConfigError(f"{path}: [tool.importguard] conditional-calls was replaced by the environment profile: "
                          "write `environment = { undecided-calls = \"follow\" }` (or \"skip\", the default) "
                          "instead (docs/environment.md)")
    environment = reader.get("environment", dict, "a table (docs/environment.md)")
    if environment is not None:
        values["environment"] = _environment(environment, path)

    reader.reject_unknown()
    return Config(**values)


def _environment(table: dict[str, Any], path: Optional[Path]) -> Profile:
    """[tool.importguard.environment]: platform, versions, env, undecided-calls, read-installed
    (`path` None: given with `--config KEY = VALUE` alone)."""
    origin = "--config" if path is None else path.name
    where = f"{path or '--config'}: [tool.importguard] environment"
    unknown = sorted(set(table) - {"platform", "versions", "env", "undecided-calls", "read-installed"})
    if unknown:
        raise ConfigError(f"{where}: unknown key{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}")
    platform = table.get("platform", Profile.platform)
    if platform not in PLATFORMS:
        raise ConfigError(f"{where}.platform must be one of {', '.join(PLATFORMS)}, not {platform!r}")
    undecided = table.get("undecided-calls", Profile.undecided_calls)
    if undecided not in UNDECIDED_CHOICES:
        raise ConfigError(f"{where}.undecided-calls must be \"skip\" or \"follow\", not {undecided!r}")
    read_installed = table.get("read-installed", False)
    if not isinstance(read_installed, bool):
        raise ConfigError(f"{where}.read-installed must be true or false")
    pairs = {}
    for key in ("versions", "env"):
        value = table.get(key, {})
        if not (isinstance(value, dict) and all(isinstance(k, str) and k and isinstance(v, str) for k, v in value.items())):
            raise ConfigError(f"{where}.{key} must be a table of name = \"string\"")
        pairs[key] = value
    versions = tuple(sorted((normalize(name), version) for name, version in pairs["versions"].items()))
    return Profile(platform=platform, versions=versions, env=tuple(sorted(pairs["env"].items())),
                   undecided_calls=undecided, read_installed=read_installed,
                   source=origin if versions else "")


class _TableReader:
    def __init__(self, table: dict[str, Any], path: Optional[Path], origins: dict[str, str]) -> None:
        self.table = table
        self.path = path
        self.origins = origins
        self.seen: set[str] = set()

    def where(self, key: str) -> str:
        """`pyproject.toml:7: [tool.importguard] select`, or the `--config` that set it."""
        origin = self.origins.get(key, str(self.path))
        return origin if origin.startswith("--config") else f"{origin}: [tool.importguard] {key}"

    def fail(self, key: str, expected: str) -> ConfigError:
        return ConfigError(f"{self.where(key)} must be {expected}")

    def get(self, key: str, kind: Union[type, tuple[type, ...]], expected: str) -> Any:
        self.seen.add(key)
        if key not in self.table:
            return None
        value = self.table[key]
        if not isinstance(value, kind):
            raise self.fail(key, expected)
        return value

    def strings(self, key: str) -> Optional[list[str]]:
        value = self.get(key, list, "a list of strings")
        if value is not None and not all(isinstance(item, str) for item in value):
            raise self.fail(key, "a list of strings")
        return value

    def sinks(self, key: str, name_key: str, kind: type, defaults: dict[str, Any]) -> Optional[Sequence[Any]]:
        """A default sink restated by name keeps what was measured of it (its reason
        and strength); any other is a configured sink."""
        expected = f'a list of names or tables {{ {name_key} = "...", reason = "..." }}'
        value = self.get(key, list, expected)
        if value is None:
            return None
        reason = CONFIGURED_REASON.format(file=self.path.name if self.path is not None else "--config")
        sinks = []
        for item in value:
            if isinstance(item, str) and item:
                sinks.append(defaults.get(item) or kind(item, reason))
            elif (
                isinstance(item, dict)
                and isinstance(item.get(name_key), str)
                and set(item) <= {name_key, "reason"}
                and isinstance(item.get("reason", ""), str)
            ):
                given = item.get("reason")
                sinks.append(kind(item[name_key], given) if given else defaults.get(item[name_key]) or kind(item[name_key], reason))
            else:
                raise self.fail(key, expected)
        return sinks

    def reject_unknown(self) -> None:
        unknown = sorted(set(self.table) - self.seen, key=lambda k: (_line_of(self.origins.get(k, "")), k))
        if unknown:
            first = unknown[0]
            more = f" (and {len(unknown) - 1} more unknown)" if len(unknown) > 1 else ""
            origin = self.origins.get(first, str(self.path))
            raise ConfigError(f"{origin}: unknown key `{first}` in [tool.importguard]{_did_you_mean(first)}{more}")


def _line_of(origin: str) -> int:
    tail = origin.rpartition(":")[2]
    return int(tail) if tail.isdigit() else 0
