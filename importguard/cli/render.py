"""The one place a `check` result becomes output, and the one place it becomes an
exit code. Output is a list of (stream, text) pairs, so a replay can store exactly
what was printed."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from importguard.cli.common import EXIT_CLEAN, EXIT_FINDINGS
from importguard.errors import UsageError
from importguard.files.atomic_write import write_atomically
from importguard.model import Report
from importguard.output.printable import printable
from importguard.workflow import CheckRequest, CheckResult, Rendered

if TYPE_CHECKING:
    from importguard.installed.verify import VerifyReport
    from importguard.output.style import Style

Chunks = list[tuple[str, str]]


def exit_code(result: CheckResult, request: CheckRequest, exit_non_zero_on_fix: bool = False) -> int:
    """0 clean, 1 findings (or, with --diff, files that would change; with
    --verify-install, a broken install; with --fix and --exit-non-zero-on-fix, files
    that were changed). --exit-zero wins, as in ruff. Tool errors (2) never reach here."""
    if exit_non_zero_on_fix and request.fix and result.files_changed and not request.exit_zero:
        return EXIT_FINDINGS
    if result.diff is not None:
        return EXIT_FINDINGS if result.files_changed else EXIT_CLEAN
    if result.noqa_added is not None:
        return EXIT_CLEAN  # as ruff's --add-noqa: the findings are now suppressed
    broken = result.verified is not None and result.verified.broken
    return EXIT_FINDINGS if (result.report.findings and not request.exit_zero) or broken else EXIT_CLEAN


def render(result: CheckResult, request: CheckRequest, exit_non_zero_on_fix: bool = False) -> Rendered:
    chunks: Chunks = [("stderr", f"{note}\n") for note in result.notes]
    chunks += [("stderr", f"warning: {warning}\n") for warning in result.warnings]
    if result.diff is not None:
        chunks.append(("stdout", result.diff))
    elif result.noqa_added is not None:
        pass  # the notes say what was written
    else:
        chunks += report_chunks(result.report, request, result.verified)
    if request.quiet:
        chunks = [(stream, text) for stream, text in chunks if stream == "stdout" or text.startswith("warning: ")]
    return chunks, exit_code(result, request, exit_non_zero_on_fix)


def report_chunks(report: Report, request: CheckRequest, verified: "VerifyReport | None" = None) -> Chunks:
    """Warnings, the fix plan and the summary to stderr, findings to stdout."""
    from importguard.output.formats import HUMAN_FORMATS, formatter
    from importguard.output.style import Style
    from importguard.output.text import summary

    output_format = request.output_format
    human = output_format in HUMAN_FORMATS
    style = Style(request.color and human)
    chunks: Chunks = [("stderr", f"warning: {warning}\n") for warning in report.warnings]
    if request.statistics:
        chunks.append(("stdout", _statistics(report, output_format, style)))
    elif verified is not None:
        chunks += _verified_chunks(report, output_format, verified)
    elif output_format == "json":
        from importguard.output.json_report import format_json_report

        chunks.append(("stdout", format_json_report(report)))
    elif human:
        chunks.append(("stdout", formatter(output_format)(report.findings, style)))
    else:
        chunks.append(("stdout", formatter(output_format)(report.findings)))
    if human and not request.statistics:
        from importguard.output.plan_text import SHORT_PLAN, plan_text

        plan = plan_text(report, style, limit=None if output_format == "full" else SHORT_PLAN)
        if plan:
            chunks.append(("stderr", plan))
    chunks.append(("stderr", summary(len(report.findings), report.files_checked) + "\n"))
    return chunks


def _statistics(report: Report, output_format: str, style: "Style") -> str:
    if output_format == "json":
        from importguard.output.json_report import statistics_json

        return statistics_json(report)
    from importguard.output.plan_text import statistics_text

    return statistics_text(report, style)


def _verified_chunks(report: Report, output_format: str, verified: "VerifyReport") -> Chunks:
    """The findings, then the verification of their distributions. JSON gets a
    "verify_install" key; SARIF stays pure (the verification goes to stderr)."""
    from importguard.installed.report import render_text, summary_line, to_json
    from importguard.output.formats import formatter
    from importguard.output.json_report import format_json_report

    findings = report.findings
    if output_format == "json":
        return [("stdout", format_json_report(report, verify_install=to_json(verified)))]
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


def echo(chunks: Chunks, output_file: Path | None = None) -> None:
    """Print the chunks; with `output_file`, stdout's part goes to that file instead,
    written whole or not at all (a temporary file beside it, then renamed)."""
    if output_file is not None:
        write_output_file(output_file, "".join(printable(text) for stream, text in chunks if stream == "stdout"))
        chunks = [(stream, text) for stream, text in chunks if stream != "stdout"]
    for stream, text in chunks:
        # color=True: click would strip the styles off a pipe, but --color always (or
        # FORCE_COLOR) asked for them; without colour the text has none to strip.
        click.echo(printable(text), nl=False, err=stream == "stderr", color=True)


def write_output_file(path: Path, text: str) -> None:
    """Readers of `path` see the old report or the new one, never a part; a device or a
    pipe there (/dev/null, /dev/stdout) gets the report written into it
    (files/atomic_write.py). Written where a link leads, as the shell's `>` writes."""
    data = text.encode("utf-8", "backslashreplace")
    try:
        path.absolute().parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, data, keep_mode=True, follow_links=True)
    except OSError as error:
        raise UsageError(f"cannot write --output-file {path}: {error.strerror or error}") from None
