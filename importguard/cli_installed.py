"""`--follow-installed`, `--python` and `--verify-install` for `check` and `explain`."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Optional, Sequence, Union

import click

from importguard.config import Config
from importguard.types import Finding, ModuleFacts, SourceFile

if TYPE_CHECKING:
    from importguard.environment import EnvironmentPaths
    from importguard.installed import InstalledModules
    from importguard.verify_install import VerifyReport

Collector = Callable[[Sequence[SourceFile]], list[ModuleFacts]]

follow_option = click.option(
    "--follow-installed/--no-follow-installed",
    "follow_installed",
    default=None,
    help="Follow imports into installed packages (default: the config's follow-installed; "
    "a configured list of names still narrows it).",
)
python_option = click.option(
    "--python",
    "python",
    metavar="PATH",
    help="Resolve installed packages in this interpreter's environment instead of the running one.",
)
verify_option = click.option(
    "--verify-install",
    is_flag=True,
    help="Also check the files of the distributions the reported chains pass through against their RECORD.",
)


@dataclass
class Reach:
    """What the engine needs to look beyond the project; `installed` is None when it
    does not."""

    installed: Optional["InstalledModules"]
    collector: Collector
    paths: Optional["EnvironmentPaths"] = None

    @property
    def warnings(self) -> list[str]:
        return list(getattr(self.collector, "warnings", [])) if self.installed is not None else []


def follow_setting(config: Config, flag: Optional[bool]) -> Union[bool, tuple[str, ...]]:
    if flag is None:
        return config.follow_installed
    if not flag:
        return False
    return config.follow_installed or True


@contextmanager
def open_reach(
    config: Config, follow_flag: Optional[bool], python: Optional[str], verify: bool, collector: Collector
) -> Iterator[Reach]:
    """The installed modules of the target environment when following or verifying;
    their per-distribution facts caches are saved when the run finishes."""
    follow = follow_setting(config, follow_flag)
    if not follow and not verify:
        yield Reach(None, collector)
        return
    from importguard.environment import target_paths
    from importguard.installed import InstalledModules
    from importguard.installed_facts import InstalledCollector

    paths = target_paths(python)
    installed = InstalledModules(paths, follow, config.sink_modules)
    wrapped = InstalledCollector(collector, installed)
    yield Reach(installed, wrapped, paths)
    wrapped.save()


def chain_distributions(findings: Iterable[Finding]) -> list[str]:
    """Distributions that own a module on some finding's chain (the sink's included)."""
    names = {
        entry["distribution"]: None for finding in findings for entry in dict(finding.extra).get("installed", ())
    }
    return sorted(names, key=str.lower)


def verify_chains(findings: Sequence[Finding], reach: Reach) -> "VerifyReport":
    from importguard.verify_install import VerifyReport, verify

    assert reach.paths is not None
    names = chain_distributions(findings)
    # No names would mean "every distribution" to verify(); here it means nothing to do.
    return verify(reach.paths, names) if names else VerifyReport(reach.paths, (), ())


def echo_verified(findings: Sequence[Finding], output_format: str, reach: Reach) -> bool:
    """Print the findings, then the verification of their distributions; True when an
    install is broken. JSON gets a "verify_install" key; SARIF stays pure (report to stderr)."""
    from importguard.output import FORMATTERS, format_json
    from importguard.verify_output import render_text, summary_line, to_json

    report = verify_chains(findings, reach)
    if output_format == "json":
        click.echo(format_json(findings, verify_install=to_json(report)), nl=False)
        return report.broken
    click.echo(FORMATTERS[output_format](findings), nl=False)
    to_stderr = output_format == "sarif"
    if findings and not to_stderr:
        click.echo("")
    names = [f"{d.distribution.name} {d.distribution.version}" for d in report.distributions]
    if not names:
        click.echo("verify-install: no installed distribution on the reported chains; nothing to verify", err=to_stderr)
        return False
    click.echo(f"verify-install: distributions on the reported chains: {', '.join(names)}", err=to_stderr)
    for line in render_text(report):
        click.echo(line, err=to_stderr)
    click.echo(summary_line(report), err=to_stderr)
    return report.broken
