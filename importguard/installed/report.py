"""verify-install reports as text and as JSON (schema version 1, docs/verify-install.md)."""

from __future__ import annotations

from itertools import groupby
from typing import Any

from importguard.installed.verify import (
    Conflict,
    DistributionReport,
    ProblemKind,
    VerifyReport,
    reinstall_command,
)

JSON_VERSION = 1
# Text lists this many files per distribution or conflict; JSON lists every one.
TEXT_LIMIT = 20


def to_json(report: VerifyReport) -> dict[str, Any]:
    env = report.environment
    return {
        "version": JSON_VERSION,
        "environment": {
            "python": env.python,
            "executable": env.executable,
            "python_version": env.version,
            "site_packages": list(env.site_packages),
        },
        "summary": _summary(report),
        "distributions": [_distribution_json(d) for d in report.distributions],
        "conflicts": [_conflict_json(c) for c in report.conflicts],
    }


def _summary(report: VerifyReport) -> dict[str, int]:
    return {
        "distributions": len(report.distributions),
        "broken": sum(d.broken for d in report.distributions),
        "files_checked": sum(d.checked for d in report.distributions),
        "files_unhashed": sum(d.unhashed for d in report.distributions),
        "conflicts": sum(c.hashes_differ for c in report.conflicts),
        "identical_claims": sum(not c.hashes_differ for c in report.conflicts),
    }


def _distribution_json(report: DistributionReport) -> dict[str, Any]:
    dist = report.distribution
    return {
        "name": dist.name,
        "version": dist.version,
        "normalized_name": dist.normalized_name,
        "dist_info": dist.dist_info,
        "location": dist.location,
        "status": "broken" if report.broken else "intact",
        "recorded": report.recorded,
        "checked": report.checked,
        "unhashed": report.unhashed,
        "problems": [
            {
                "kind": problem.kind.value,
                "path": problem.path,
                "detail": problem.detail,
                "expected": problem.expected,
                "actual": problem.actual,
                "other": problem.other,
                "line": problem.line,
            }
            for problem in report.problems
        ],
        "reinstall": report.reinstall if report.broken else None,
    }


def _conflict_json(conflict: Conflict) -> dict[str, Any]:
    return {
        "path": conflict.claims[0].path,
        "absolute_path": conflict.absolute_path,
        "hashes_differ": conflict.hashes_differ,
        "on_disk": conflict.on_disk,
        "winner": conflict.winner,
        "claims": [
            {
                "name": claim.name,
                "version": claim.version,
                "normalized_name": claim.normalized_name,
                "path": claim.path,
                "hash": claim.recorded_hash,
                "size": claim.size,
                "matches_disk": claim.matches_disk,
            }
            for claim in conflict.claims
        ],
    }


def render_text(report: VerifyReport) -> list[str]:
    """Problem, detail, fix: one block per broken distribution, then one per group of
    distributions that install the same paths."""
    lines: list[str] = []
    for dist_report in report.distributions:
        if dist_report.broken:
            lines.extend(_distribution_text(dist_report))
    ordered = sorted(report.conflicts, key=lambda c: (_claimants(c), c.absolute_path))
    for _, group in groupby(ordered, key=_claimants):
        conflicts = list(group)
        lines.extend(_conflict_text(report, conflicts))
    return lines


def summary_line(report: VerifyReport) -> str:
    summary = _summary(report)
    head = (
        f"verify-install: {_count(summary['distributions'], 'distribution')} in "
        f"{report.environment.describe()}, {_count(summary['files_checked'], 'file')} checked "
        f"({summary['files_unhashed']} without a hash in RECORD, skipped)"
    )
    if not report.broken:
        return f"{head}: all intact"
    tail = f"{summary['broken']} broken"
    if summary["conflicts"]:
        tail += f", {_count(summary['conflicts'], 'path')} installed by several distributions"
    return f"{head}: {tail}"


def _distribution_text(report: DistributionReport) -> list[str]:
    dist = report.distribution
    count = _count(len(report.problems), "problem")
    lines = [f"{dist.name} {dist.version}: {count} ({dist.location})"]
    for problem in report.problems[:TEXT_LIMIT]:
        suffix = ""
        if problem.kind is ProblemKind.HASH_MISMATCH:
            suffix = f" (recorded {problem.expected}, on disk {problem.actual})"
        lines.append(f"  {problem.path}: {problem.detail}{suffix}")
    lines.extend(_more(len(report.problems)))
    winners = sorted(
        {p.other for p in report.problems if p.kind is ProblemKind.OVERWRITTEN and p.other}
    )
    note = ""
    if winners:
        note = (
            f" (its files then win the paths it shares with {_join(winners)}: "
            "see the conflict below)"
        )
    lines.append(f"  fix: {report.reinstall}{note}")
    return lines


def _claimants(conflict: Conflict) -> tuple[Any, ...]:
    names = tuple((claim.normalized_name, claim.version) for claim in conflict.claims)
    return (not conflict.hashes_differ, names)  # differing contents first


def _conflict_text(report: VerifyReport, conflicts: list[Conflict]) -> list[str]:
    claims = conflicts[0].claims
    who = _join([f"{claim.name} {claim.version}" for claim in claims])
    both = "both" if len(claims) == 2 else "all"
    paths = "the same path" if len(conflicts) == 1 else f"the same {len(conflicts)} paths"
    if not conflicts[0].hashes_differ:
        note = (
            f"note: {who} {both} install {paths} with identical contents "
            "(harmless now; uninstalling one deletes them for all)"
        )
        return [note]
    lines = [f"conflict: {who} {both} install {paths} with different contents"]
    tally = [
        f"{sum(c.winner == claim.name for c in conflicts)} from {claim.name}" for claim in claims
    ]
    neither = sum(c.on_disk is not None and c.winner is None for c in conflicts)
    missing = sum(c.on_disk is None for c in conflicts)
    if neither:
        tally.append(f"{neither} from none of them")
    if missing:
        tally.append(f"{missing} missing or unreadable")
    lines.append(f"  on disk: {', '.join(tally)}")
    for conflict in conflicts[:TEXT_LIMIT]:
        if conflict.on_disk is None:
            state = "missing or unreadable"
        elif conflict.winner is None:
            state = "matches none of them"
        else:
            state = f"{conflict.winner}'s"
        lines.append(f"  {conflict.claims[0].path}: {state}")
    lines.extend(_more(len(conflicts)))
    lines.append(
        "  fix: the distribution installed last wins every path it shares; "
        "reinstall the one whose files you need:"
    )
    for claim in claims:
        lines.append(f"    {reinstall_command(report.environment, claim.name, claim.version)}")
    return lines


def _more(total: int) -> list[str]:
    if total <= TEXT_LIMIT:
        return []
    return [f"  ... and {total - TEXT_LIMIT} more (--format json lists every one)"]


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"
