"""What the engine needs to look beyond the project: the target environment's installed
modules when following or verifying, and the verification of the reported chains."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Optional, Sequence, Union

from importguard.config import Config
from importguard.model import Finding, ModuleFacts, SourceFile

if TYPE_CHECKING:
    from importguard.installed.interpreter import EnvironmentPaths
    from importguard.installed.modules import InstalledModules
    from importguard.installed.verify import VerifyReport

Collector = Callable[[Sequence[SourceFile]], list[ModuleFacts]]


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
    from importguard.installed.interpreter import target_paths
    from importguard.installed.modules import InstalledModules
    from importguard.installed.facts import InstalledLoader, library_cache_directory

    paths = target_paths(python)
    installed = InstalledModules(paths, follow, config.sink_modules)
    wrapped = InstalledLoader(collector, installed, library_cache_directory())
    yield Reach(installed, wrapped, paths)
    wrapped.save()


def chain_distributions(findings: Iterable[Finding]) -> list[str]:
    """Distributions that own a module on some finding's chain (the sink's included)."""
    names = {
        entry["distribution"]: None for finding in findings for entry in dict(finding.extra).get("installed", ())
    }
    return sorted(names, key=str.lower)


def verify_chains(findings: Sequence[Finding], reach: Reach) -> "VerifyReport":
    from importguard.installed.verify import VerifyReport, verify

    assert reach.paths is not None
    names = chain_distributions(findings)
    # No names would mean "every distribution" to verify(); here it means nothing to do.
    return verify(reach.paths, names) if names else VerifyReport(reach.paths, (), ())
