"""The one place a `check` result becomes output, and the one place it becomes an
exit code. Output is a list of (stream, text) pairs, so a replay can store exactly
what was printed."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from importguard.cli.common import EXIT_CLEAN, EXIT_FINDINGS
from importguard.model import Report
from importguard.workflow import CheckRequest, CheckResult, Rendered

if TYPE_CHECKING:
    from importguard.installed.verify import VerifyReport

Chunks = list[tuple[str, str]]


def exit_code(result: CheckResult, request: CheckRequest) -> int:
    """0 clean, 1 findings (or, with --diff, files that would change; with
    --verify-install, a broken install). Tool errors (2) never reach here."""
    if result.diff is not None:
        return EXIT_FINDINGS if result.files_changed else EXIT_CLEAN
    broken = result.verified is not None and result.verified.broken
    return EXIT_FINDINGS if (result.report.findings and not request.exit_zero) or broken else EXIT_CLEAN


def render(result: CheckResult, request: CheckRequest) -> Rendered:
    chunks: Chunks = [("stderr", f"{note}\n") for note in result.notes]
    chunks += [("stderr", f"warning: {warning}\n") for warning in result.warnings]
    if result.diff is not None:
        chunks.append(("stdout", result.diff))
    else:
        chunks += report_chunks(result.report, request.output_format, result.verified)
    return chunks, exit_code(result, request)


def report_chunks(report: Report, output_format: str, verified: "VerifyReport | None" = None) -> Chunks:
    """Warnings and the summary to stderr, findings to stdout."""
    from importguard.output.formats import formatter
    from importguard.output.text import summary

    chunks: Chunks = [("stderr", f"warning: {warning}\n") for warning in report.warnings]
    if verified is None:
        chunks.append(("stdout", formatter(output_format)(report.findings)))
    else:
        chunks += _verified_chunks(report, output_format, verified)
    chunks.append(("stderr", summary(len(report.findings), report.files_checked) + "\n"))
    return chunks


def _verified_chunks(report: Report, output_format: str, verified: "VerifyReport") -> Chunks:
    """The findings, then the verification of their distributions. JSON gets a
    "verify_install" key; SARIF stays pure (the verification goes to stderr)."""
    from importguard.installed.report import render_text, summary_line, to_json
    from importguard.output.formats import formatter
    from importguard.output.json_report import format_json

    findings = report.findings
    if output_format == "json":
        return [("stdout", format_json(findings, verify_install=to_json(verified)))]
    chunks: Chunks = [("stdout", formatter(output_format)(findings))]
    stream = "stderr" if output_format == "sarif" else "stdout"
    if findings and stream == "stdout":
        chunks.append(("stdout", "\n"))
    names = [f"{d.distribution.name} {d.distribution.version}" for d in verified.distributions]
    if not names:
        return chunks + [(stream, "verify-install: no installed distribution on the reported chains; nothing to verify\n")]
    chunks.append((stream, f"verify-install: distributions on the reported chains: {', '.join(names)}\n"))
    chunks += [(stream, f"{line}\n") for line in render_text(verified)]
    chunks.append((stream, summary_line(verified) + "\n"))
    return chunks


def echo(chunks: Chunks) -> None:
    for stream, text in chunks:
        click.echo(text, nl=False, err=stream == "stderr")
