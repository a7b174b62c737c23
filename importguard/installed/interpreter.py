"""The target environment, described without importing anything from it.

`target_paths(None)` describes the running interpreter; `target_paths("/x/bin/python")`
runs that interpreter once with a stdlib-only snippet (`interpreter_child.py`).
`iter_distributions(paths)` lists the `*.dist-info` directories on its sys.path.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Optional

from importguard.installed import interpreter_child as _environment_child
from importguard.errors import UsageError
from importguard.files.regular_file import read_regular

_DESCRIBE_TIMEOUT_S = 60
_MAX_METADATA_BYTES = 16_000_000  # METADATA holds the long description; a link to /dev/zero must not fill memory


@dataclass(frozen=True)
class EnvironmentPaths:
    """Where a target environment keeps its modules.

    `python` is the interpreter given with `--python` (as the user spelled it, resolved
    on PATH when it is a bare name), or None for the running interpreter.
    """

    python: Optional[str]
    executable: str
    version: str
    prefix: str
    sys_path: tuple[str, ...]
    site_packages: tuple[str, ...]
    purelib: Optional[str]
    platlib: Optional[str]
    stdlib_dirs: tuple[str, ...] = ()
    stdlib_module_names: tuple[str, ...] = ()  # empty before Python 3.10
    extension_suffixes: tuple[str, ...] = ()

    @property
    def pip(self) -> str:
        """The command that runs this environment's pip, ready to paste into a shell."""
        if self.python is None:
            return "pip"
        return f"{shlex.quote(self.python)} -m pip"

    def describe(self) -> str:
        return f"{self.python or self.executable} (Python {self.version})"


@dataclass(frozen=True)
class InstalledDistribution:
    """One `*.dist-info` directory. Paths in its RECORD are relative to `location`."""

    name: str  # as METADATA spells it
    version: str
    normalized_name: str  # PEP 503
    dist_info: str  # absolute path of the .dist-info directory
    location: str  # its parent directory (usually site-packages)
    metadata_error: Optional[str] = None  # METADATA missing or unreadable; name from the dir

    @property
    def replay_path(self) -> str:
        return os.path.join(self.dist_info, "RECORD")

    def resolve(self, replay_path: str) -> str:
        """Absolute path of a RECORD entry: joined to the dist-info's parent, as pip does
        (entries may climb out of site-packages, e.g. `../../../bin/tool`)."""
        return os.path.normpath(os.path.join(self.location, replay_path))


def normalize_name(name: str) -> str:
    """PEP 503 normalised distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def target_paths(python: Optional[str] = None) -> EnvironmentPaths:
    """Describe the running interpreter (None) or the interpreter at `python`."""
    if python is None:
        info = _environment_child.describe()
        return _from_info(None, info)
    executable = _locate(python)
    info = _run_child(python, executable)
    return _from_info(python, info)


def _locate(python: str) -> str:
    if os.sep in python or (os.altsep and os.altsep in python):
        if not os.path.exists(python):
            raise UsageError(f"--python {python}: no such file")
        if os.path.isdir(python):
            raise UsageError(f"--python {python} is a directory, not a Python interpreter")
        return python
    found = shutil.which(python)
    if found is None:
        raise UsageError(f"--python {python}: no such file, and no such command on PATH")
    return found


def _run_child(python: str, executable: str) -> dict:
    source = Path(_environment_child.__file__).read_text(encoding="utf-8")
    not_python = f"--python {python} is not a working Python interpreter"
    try:
        completed = subprocess.run(
            # -I -S: the target's site (and so its .pth files) never runs; the child
            # works out the paths site would add (interpreter_child.py).
            [executable, "-I", "-S", "-c", source],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=_DESCRIBE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise UsageError(f"{not_python}: it did not answer in {_DESCRIBE_TIMEOUT_S} s") from None
    except OSError as error:
        raise UsageError(f"{not_python} ({error.strerror or error})") from None
    if completed.returncode != 0:
        last = completed.stderr.decode(errors="replace").strip().splitlines()
        reason = last[-1] if last else f"exit status {completed.returncode}"
        raise UsageError(f"{not_python} ({reason})")
    lines = completed.stdout.decode("utf-8", errors="replace").strip().splitlines()
    try:
        info = json.loads(lines[-1]) if lines else None
    except ValueError:
        raise UsageError(f"{not_python} (its output was not the expected JSON)") from None
    if not isinstance(info, dict) or not isinstance(info.get("sys_path"), list):
        raise UsageError(f"{not_python} (its output was not the expected JSON)")
    return info


def _from_info(python: Optional[str], info: dict) -> EnvironmentPaths:
    return EnvironmentPaths(
        python=python,
        executable=str(info.get("executable") or python or sys.executable),
        version=str(info.get("version", "")),
        prefix=str(info.get("prefix", "")),
        sys_path=tuple(str(p) for p in info["sys_path"]),
        site_packages=tuple(dict.fromkeys(str(p) for p in info.get("site_packages", ()))),
        purelib=info.get("purelib"),
        platlib=info.get("platlib"),
        stdlib_dirs=tuple(str(p) for p in info.get("stdlib_dirs", ())),
        stdlib_module_names=tuple(str(n) for n in info.get("stdlib_module_names", ())),
        extension_suffixes=tuple(str(s) for s in info.get("extension_suffixes", ())),
    )


def distribution_dirs(paths: EnvironmentPaths) -> tuple[str, ...]:
    """Existing directories to scan for distributions: sys.path first (what pip list and
    importlib.metadata scan), then any site-packages dir missing from it; each directory
    once, even when reached through a symlink (venvs often have lib64 -> lib)."""
    seen: set[str] = set()
    result = []
    for entry in (*paths.sys_path, *paths.site_packages):
        directory = os.path.abspath(entry or ".")
        if not os.path.isdir(directory):
            continue  # zip files, missing entries
        real = os.path.realpath(directory)
        if real not in seen:
            seen.add(real)
            result.append(directory)
    return tuple(result)


# Why not importlib.metadata.distributions(path=[...]): it also yields .egg-info and egg
# distributions (no RECORD to verify), follows os.listdir order (not deterministic),
# exposes the .dist-info directory only through a private attribute, and raises on a
# dist-info without METADATA. A sorted scandir plus email.parser (what importlib.metadata
# itself uses for METADATA) gives all of that with the same no-import guarantee.
def iter_distributions(
    paths: EnvironmentPaths, directories: Optional[Iterable[str]] = None
) -> Iterator[InstalledDistribution]:
    """Every `*.dist-info` directory in `directories` (default: `distribution_dirs`),
    in scan order, sorted by name within each directory."""
    seen: set[str] = set()
    for directory in directories if directories is not None else distribution_dirs(paths):
        try:
            names = sorted(
                entry.name
                for entry in os.scandir(directory)
                if entry.name.endswith(".dist-info") and entry.is_dir()
            )
        except OSError:
            continue
        for name in names:
            dist_info = os.path.join(os.path.abspath(directory), name)
            real = os.path.realpath(dist_info)
            if real in seen:
                continue
            seen.add(real)
            yield read_distribution(dist_info)


def read_distribution(dist_info: str) -> InstalledDistribution:
    """Name and version from METADATA; from the directory name if METADATA is unusable."""
    dir_name = os.path.basename(dist_info)[: -len(".dist-info")]
    fallback_name, _, fallback_version = dir_name.partition("-")
    name, version, error = fallback_name, fallback_version, None
    try:
        data = read_regular(os.path.join(dist_info, "METADATA"), _MAX_METADATA_BYTES)
        import email.parser  # 20 ms of every check's start otherwise; needed only here

        headers = email.parser.BytesHeaderParser().parsebytes(data)
        name = str(headers.get("Name") or "").strip() or fallback_name
        version = str(headers.get("Version") or "").strip() or fallback_version
    except FileNotFoundError:
        error = "METADATA is missing"
    except OSError as exc:
        error = f"METADATA cannot be read ({exc.strerror or exc})"
    return InstalledDistribution(
        name=name,
        version=version,
        normalized_name=normalize_name(name),
        dist_info=dist_info,
        location=os.path.dirname(dist_info),
        metadata_error=error,
    )
