"""Check installed files against their distributions' RECORD; find paths several claim.

Pure reading: files are opened for reading only, nothing in the environment is changed.
"""

from __future__ import annotations

import difflib
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum
from typing import IO, Iterable, Optional, Union

from importguard.installed.interpreter import (
    EnvironmentPaths,
    InstalledDistribution,
    iter_distributions,
    normalize_name,
)
from importguard.errors import UsageError
from importguard.output.progress import Progress
from importguard.installed.record import Record, RecordEntry, RecordError, hash_file, read_record


class ProblemKind(str, Enum):
    MISSING = "missing"
    SIZE_MISMATCH = "size-mismatch"
    HASH_MISMATCH = "hash-mismatch"
    OVERWRITTEN = "overwritten"  # holds the content another claimant recorded
    UNREADABLE = "unreadable"
    BAD_RECORD_LINE = "bad-record-line"
    NO_RECORD = "no-record"  # RECORD missing or unreadable: nothing can be verified
    BAD_METADATA = "bad-metadata"
    OUTSIDE = "outside-environment"  # a RECORD path that leaves the environment: never read


@dataclass(frozen=True)
class InstallProblem:
    """One problem with a distribution. `path` is as RECORD writes it (relative to the
    distribution's location); `expected`/`actual` are hashes or sizes where they apply."""

    kind: ProblemKind
    path: str
    detail: str
    expected: Optional[str] = None
    actual: Optional[str] = None
    other: Optional[str] = None  # OVERWRITTEN: the distribution whose content is on disk
    line: Optional[int] = None  # BAD_RECORD_LINE: the line in RECORD


@dataclass(frozen=True)
class DistributionReport:
    distribution: InstalledDistribution
    recorded: int  # RECORD entries
    checked: int  # entries whose file was verified
    unhashed: int  # entries without a hash (RECORD itself, installer-written .pyc): skipped
    problems: tuple[InstallProblem, ...]
    reinstall: str  # the command that restores the distribution's files

    @property
    def broken(self) -> bool:
        return bool(self.problems)


@dataclass(frozen=True)
class Claim:
    """One distribution's RECORD entry for a path that several distributions claim."""

    name: str
    version: str
    normalized_name: str
    path: str  # as this distribution's RECORD writes it
    recorded_hash: Optional[str]
    size: Optional[int]
    matches_disk: Optional[bool]  # None: unhashed, or the file is missing/unreadable


@dataclass(frozen=True)
class Conflict:
    absolute_path: str
    claims: tuple[Claim, ...]  # sorted by normalized name, version
    hashes_differ: bool
    on_disk: Optional[str]  # hash of the file on disk; None when missing or unreadable

    @property
    def winner(self) -> Optional[str]:
        """The one distribution whose recorded content is on disk, when contents differ."""
        matching = [claim.name for claim in self.claims if claim.matches_disk]
        return matching[0] if self.hashes_differ and len(matching) == 1 else None


@dataclass(frozen=True)
class VerifyReport:
    environment: EnvironmentPaths
    distributions: tuple[DistributionReport, ...]
    conflicts: tuple[Conflict, ...]

    @property
    def broken(self) -> bool:
        """Identical duplicates (namespace `__init__.py` files shipped by several wheels)
        are reported but are not breakage; differing ones are."""
        return any(d.broken for d in self.distributions) or any(
            c.hashes_differ for c in self.conflicts
        )


def reinstall_command(paths: EnvironmentPaths, name: str, version: str) -> str:
    return f"{paths.pip} install --force-reinstall --no-deps {name}=={version}"


def select(
    distributions: Iterable[InstalledDistribution],
    names: Iterable[str],
    paths: EnvironmentPaths,
) -> list[InstalledDistribution]:
    """The distributions named (case, `-`, `_`, `.` insensitive); every one if none named.
    A name that matches nothing is a tool error."""
    distributions = list(distributions)
    names = tuple(names)
    wanted = [normalize_name(name) for name in names]
    if not wanted:
        return distributions
    known = {dist.normalized_name for dist in distributions}
    for name, normalized in zip(names, wanted, strict=True):
        if normalized not in known:
            close = difflib.get_close_matches(normalized, sorted(known), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UsageError(
                f"no distribution named {name!r} is installed in {paths.describe()}{hint}"
            )
    return [dist for dist in distributions if dist.normalized_name in wanted]


def verify(
    paths: EnvironmentPaths,
    names: Iterable[str] = (),
    progress_stream: Optional[IO[str]] = None,
    workers: Optional[int] = None,
) -> VerifyReport:
    names = tuple(names)
    everything = sorted(
        iter_distributions(paths), key=lambda d: (d.normalized_name, d.version, d.dist_info)
    )
    selected = select(everything, names, paths)
    records: dict[str, Union[Record, RecordError]] = {}
    for dist in everything:
        try:
            records[dist.dist_info] = read_record(dist.replay_path)
        except RecordError as error:
            records[dist.dist_info] = error

    claims = _claims(everything, records)
    selected_ids = {dist.dist_info for dist in selected}
    shared = {
        key: owners
        for key, owners in claims.items()
        if len(owners) > 1
        and any(dist.dist_info in selected_ids for dist, _ in owners)
        and any(entry.digest for _, entry in owners)
    }

    stats = _Stats(_Confinement(paths))
    jobs = _hash_jobs(selected, records, shared, stats)
    hashes = _hash_all(jobs, progress_stream, workers)
    reports = tuple(
        _report(paths, dist, records[dist.dist_info], shared, stats, hashes) for dist in selected
    )
    conflicts = tuple(_conflict(key, owners, hashes) for key, owners in sorted(shared.items()))
    return VerifyReport(paths, reports, conflicts)


def _hash_jobs(
    selected: list[InstalledDistribution],
    records: dict[str, Union[Record, RecordError]],
    shared: dict[str, list[tuple[InstalledDistribution, RecordEntry]]],
    stats: _Stats,
) -> dict[tuple[str, str], int]:
    """(path, algorithm) -> bytes to hash. A file whose size already differs from RECORD
    is not hashed, unless several distributions claim it: then the hash says whose it is."""
    jobs: dict[tuple[str, str], int] = {}
    for dist in selected:
        record = records[dist.dist_info]
        if isinstance(record, RecordError):
            continue
        for entry in record.entries:
            key = _key(dist, entry)
            if not entry.digest or key in shared:
                continue
            result = stats.get(key, dist.location)
            if isinstance(result, os.stat_result) and stat.S_ISREG(result.st_mode):
                if entry.size is None or entry.size == result.st_size:
                    jobs[(key, entry.algorithm)] = result.st_size
    for key, owners in shared.items():
        result = stats.get(key, owners[0][0].location)
        if isinstance(result, os.stat_result) and stat.S_ISREG(result.st_mode):
            for _, entry in owners:
                if entry.digest:
                    jobs[(key, entry.algorithm)] = result.st_size
    return jobs


def _key(dist: InstalledDistribution, entry: RecordEntry) -> str:
    return os.path.normcase(dist.resolve(entry.path))


def _claims(
    distributions: list[InstalledDistribution], records: dict[str, Union[Record, RecordError]]
) -> dict[str, list[tuple[InstalledDistribution, RecordEntry]]]:
    claims: dict[str, list[tuple[InstalledDistribution, RecordEntry]]] = {}
    for dist in distributions:
        record = records[dist.dist_info]
        if isinstance(record, RecordError):
            continue
        for entry in record.entries:
            owners = claims.setdefault(_key(dist, entry), [])
            if not any(owner is dist for owner, _ in owners):
                owners.append((dist, entry))
    return claims


class OutsideEnvironment(OSError):
    """A RECORD path (or the link it is) that leads out of the environment."""


class _Confinement:
    """Where RECORD paths may lead: the environment's prefix (pip writes console
    scripts as `../../../bin/tool`), its site-packages, and the distribution's own
    location, after symbolic links. `../../etc/passwd` or `/etc/shadow` in a RECORD is
    reported, and neither stat-ed nor read."""

    def __init__(self, paths: EnvironmentPaths) -> None:
        roots = [paths.prefix, paths.purelib, paths.platlib, *paths.site_packages]
        self.roots = {os.path.realpath(r) for r in roots if r}
        self._real_dirs: dict[str, str] = {}

    def check(self, path: str, location: str) -> Optional[str]:
        """None when `path` (absolute, normalised) stays inside; else the reason."""
        directory, name = os.path.split(path)
        real_dir = self._real_dirs.get(directory)
        if real_dir is None:
            real_dir = self._real_dirs[directory] = os.path.realpath(directory)
        target = os.path.join(real_dir, name)
        if os.path.islink(target):
            target = os.path.realpath(target)
        roots = (*self.roots, os.path.realpath(location))
        if any(target == root or target.startswith(root.rstrip(os.sep) + os.sep) for root in roots):
            return None
        return f"leads outside the environment (to {target}); not read"


class _Stats:
    """os.stat once per path; an OSError is kept as the result. A path outside the
    environment gets OutsideEnvironment, without being looked at."""

    def __init__(self, confinement: Optional[_Confinement] = None) -> None:
        self._cache: dict[str, Union[os.stat_result, OSError]] = {}
        self.confinement = confinement
        self.location: dict[str, str] = {}  # path -> the location of the RECORD naming it

    def get(self, path: str, location: Optional[str] = None) -> Union[os.stat_result, OSError]:
        if path not in self._cache:
            reason = None
            if self.confinement is not None:
                reason = self.confinement.check(path, location or os.path.dirname(path))
            if reason is not None:
                self._cache[path] = OutsideEnvironment(0, reason)
                return self._cache[path]
            try:
                self._cache[path] = os.stat(path)
            except OSError as error:
                self._cache[path] = error
        return self._cache[path]


def _hash_all(
    jobs: dict[tuple[str, str], int], progress_stream: Optional[IO[str]], workers: Optional[int]
) -> dict[tuple[str, str], Union[str, OSError]]:
    # hashlib and file reads release the GIL, so threads hash in parallel.
    workers = workers or min(8, (os.cpu_count() or 1) + 2)
    order = sorted(jobs, key=lambda job: -jobs[job])  # big files first: better balance
    with Progress(sum(jobs.values()), "verify-install: hashing", "bytes", progress_stream) as bar:

        def run(job: tuple[str, str]) -> Union[str, OSError]:
            try:
                return hash_file(job[0], job[1], bar.advance)
            except OSError as error:
                return error

        with ThreadPoolExecutor(max_workers=workers) as pool:
            return dict(zip(order, pool.map(run, order), strict=True))


def _file_problem(
    entry: RecordEntry, result: Union[os.stat_result, OSError]
) -> Optional[InstallProblem]:
    """Missing or unreadable, judged from os.stat alone."""
    if isinstance(result, (FileNotFoundError, NotADirectoryError)):
        return InstallProblem(
            ProblemKind.MISSING,
            entry.path,
            "missing",
            expected=entry.recorded_hash,
        )
    if isinstance(result, OutsideEnvironment):
        return InstallProblem(ProblemKind.OUTSIDE, entry.path, result.strerror)
    if isinstance(result, OSError):
        return _unreadable(entry, result)
    if not stat.S_ISREG(result.st_mode):
        return InstallProblem(ProblemKind.UNREADABLE, entry.path, "is not a regular file")
    return None


def _size_mismatch(entry: RecordEntry, result: os.stat_result) -> InstallProblem:
    return InstallProblem(
        ProblemKind.SIZE_MISMATCH,
        entry.path,
        f"size is {result.st_size} bytes, RECORD says {entry.size}",
        expected=str(entry.size),
        actual=str(result.st_size),
    )


def _unreadable(entry: RecordEntry, error: OSError) -> InstallProblem:
    reason = error.strerror or type(error).__name__
    return InstallProblem(ProblemKind.UNREADABLE, entry.path, f"cannot be read ({reason})")


def _report(
    paths: EnvironmentPaths,
    dist: InstalledDistribution,
    record: Union[Record, RecordError],
    shared: dict[str, list[tuple[InstalledDistribution, RecordEntry]]],
    stats: _Stats,
    hashes: dict[tuple[str, str], Union[str, OSError]],
) -> DistributionReport:
    problems: list[InstallProblem] = []
    dist_info_name = os.path.basename(dist.dist_info)
    if dist.metadata_error:
        problems.append(
            InstallProblem(
                ProblemKind.BAD_METADATA, f"{dist_info_name}/METADATA", dist.metadata_error
            )
        )
    if isinstance(record, RecordError):
        problems.append(
            InstallProblem(
                ProblemKind.NO_RECORD,
                f"{dist_info_name}/RECORD",
                f"{record}; the distribution's files cannot be verified",
            )
        )
        return DistributionReport(
            dist, 0, 0, 0, tuple(problems), reinstall_command(paths, dist.name, dist.version)
        )
    for bad in record.bad_lines:
        problems.append(
            InstallProblem(
                ProblemKind.BAD_RECORD_LINE,
                f"{dist_info_name}/RECORD",
                f"line {bad.line}: {bad.reason}",
                line=bad.line,
            )
        )
    checked = unhashed = 0
    file_problems = []
    seen: set[str] = set()
    for entry in record.entries:
        key = _key(dist, entry)
        if key in seen:
            continue
        seen.add(key)
        result = stats.get(key, dist.location)
        if isinstance(result, OutsideEnvironment):  # reported even when unhashed
            file_problems.append(InstallProblem(ProblemKind.OUTSIDE, entry.path, result.strerror))
            continue
        if not entry.digest:
            unhashed += 1
            continue
        checked += 1
        problem = _file_problem(entry, result)
        if problem is None:
            problem = _content_problem(dist, entry, key, result, shared, hashes)
        if problem is not None:
            file_problems.append(problem)
    problems.extend(sorted(file_problems, key=lambda p: (p.path, p.kind.value)))
    return DistributionReport(
        dist,
        len(record.entries),
        checked,
        unhashed,
        tuple(problems),
        reinstall_command(paths, dist.name, dist.version),
    )


def _content_problem(
    dist: InstalledDistribution,
    entry: RecordEntry,
    key: str,
    result: os.stat_result,
    shared: dict[str, list[tuple[InstalledDistribution, RecordEntry]]],
    hashes: dict[tuple[str, str], Union[str, OSError]],
) -> Optional[InstallProblem]:
    size_differs = entry.size is not None and entry.size != result.st_size
    if size_differs and key not in shared:  # no need to hash: the size already says it
        return _size_mismatch(entry, result)
    digest = hashes[(key, entry.algorithm)]
    if isinstance(digest, OSError):
        return _unreadable(entry, digest)
    if digest == entry.digest:
        return None
    actual = f"{entry.algorithm}={digest}"
    for other, other_entry in shared.get(key, ()):
        if other is not dist and other_entry.recorded_hash == actual:
            return InstallProblem(
                ProblemKind.OVERWRITTEN,
                entry.path,
                f"holds {other.name} {other.version}'s content (both install this path)",
                expected=entry.recorded_hash,
                actual=actual,
                other=other.name,
            )
    if size_differs:
        return _size_mismatch(entry, result)
    return InstallProblem(
        ProblemKind.HASH_MISMATCH,
        entry.path,
        "content differs from RECORD",
        expected=entry.recorded_hash,
        actual=actual,
    )


def _conflict(
    key: str,
    owners: list[tuple[InstalledDistribution, RecordEntry]],
    hashes: dict[tuple[str, str], Union[str, OSError]],
) -> Conflict:
    claims = []
    on_disk: Optional[str] = None
    for dist, entry in sorted(
        owners, key=lambda o: (o[0].normalized_name, o[0].version, o[0].dist_info)
    ):
        matches: Optional[bool] = None
        digest = hashes.get((key, entry.algorithm)) if entry.digest else None
        if isinstance(digest, str):
            matches = digest == entry.digest
            if on_disk is None:
                on_disk = f"{entry.algorithm}={digest}"
        claims.append(
            Claim(
                dist.name,
                dist.version,
                dist.normalized_name,
                entry.path,
                entry.recorded_hash,
                entry.size,
                matches,
            )
        )
    recorded = {claim.recorded_hash for claim in claims if claim.recorded_hash}
    return Conflict(key, tuple(claims), len(recorded) > 1, on_disk)
