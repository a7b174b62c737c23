"""The environment profile, and the one place that decides what it makes run.

A profile is the platform (CUDA unless asked), the installed distributions' versions
and importable top-level modules (unknown unless read from an interpreter, `--python`,
or given in the config), and environment variables. It decides:
- the condition of a conditional site (facts/conditions.py): `decide` gives True (runs),
  False (never runs here: not reported, no edge) or None (cannot tell);
- the verdict of a version-dependent sink (sinks.VERSIONED_SINK_MODULES): the measured
  one of the installed version, else a warning naming the measured versions;
- `PYTORCH_NVML_BASED_CUDA_CHECK=1` set in the environment, as the `nvml-based-cuda-check`
  setting does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Sequence

from importguard.facts import conditions
from importguard.model import INITIALIZER, VERSION_DEPENDENT, ModuleSink
from importguard.sinks import NVML_CHECK, VERSIONED_SINK_MODULES

DEFAULT_PLATFORM = "cuda"
PLATFORMS = ("cuda", "rocm", "xpu", "cpu", "tpu", "npu", "hpu", "musa", "neuron")
# What `decide` says of a test it cannot decide: follow the call or not (the old
# `conditional-calls` setting). Module-level sites are always kept (reported, the
# condition named); this governs the calls a function makes on some paths only.
UNDECIDED_CHOICES = ("skip", "follow")


def normalize(name: str) -> str:
    """PEP 503."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Profile:
    platform: str = DEFAULT_PLATFORM
    versions: tuple[tuple[str, str], ...] = ()  # (PEP 503 name, version), sorted
    # Importable top-level module names, when read from an environment; None: not known.
    modules: Optional[tuple[str, ...]] = None
    env: tuple[tuple[str, str], ...] = ()  # (NAME, value), sorted
    undecided_calls: str = "skip"  # one of UNDECIDED_CHOICES
    # Read the installed versions of the interpreter (`--python`, else this one) at the start of a run.
    read_installed: bool = False
    source: str = ""  # where the versions came from (the config file, "read from /x/bin/python (…)")

    # -- conditions

    def term(self, term: str) -> Optional[bool]:
        """True/False when the profile decides `term`, None when it cannot."""
        if term.startswith(conditions.NOT):
            inner = self.term(term[len(conditions.NOT):])
            return None if inner is None else not inner
        if term == conditions.NEVER:
            return False
        if term.startswith(conditions.PLATFORM):
            return self.platform in term[len(conditions.PLATFORM):].split("|")
        if term.startswith(conditions.ENV):
            return conditions.env_value(term, dict(self.env))
        if term.startswith(conditions.INSTALLED):
            module = term[len(conditions.INSTALLED):]
            if self.modules is not None:
                return module in self.modules
            return True if normalize(module) in dict(self.versions) else None
        return None

    def decide(self, conditional: bool, condition: str) -> Optional[bool]:
        """Whether a site with this `conditional` flag and `condition` runs: True, False,
        or None (on some paths: a test the profile cannot decide)."""
        if not conditional:
            return True
        terms = conditions.split(condition)
        if not terms:
            return None  # facts of a conditional site without its tests
        verdicts = [self.term(term) for term in terms]
        if False in verdicts:
            return False
        return None if None in verdicts else True

    def follows(self, conditional: bool, condition: str) -> bool:
        """Whether a call a function makes is followed (see UNDECIDED_CHOICES)."""
        verdict = self.decide(conditional, condition)
        return verdict is True or (verdict is None and self.undecided_calls == "follow")

    def undecided_text(self, condition: str) -> str:
        """The tests the profile cannot decide, in words: "when flash_attn is installed,
        when `envs.VLLM_USE_V1`"; "" when none can be named."""
        named = []
        for term in conditions.split(condition):
            if self.term(term) is not None:
                continue
            negated = term.startswith(conditions.NOT)
            bare = term[len(conditions.NOT):] if negated else term
            if bare.startswith(conditions.INSTALLED):
                module = bare[len(conditions.INSTALLED):]
                named.append(f"when {module} is {'not ' if negated else ''}installed")
            elif bare.startswith(conditions.WHEN):
                named.append(f"{'unless' if negated else 'when'} `{bare[len(conditions.WHEN):]}`")
        return ", ".join(dict.fromkeys(named))

    # -- installed versions

    def version_of(self, distribution: str) -> Optional[str]:
        return dict(self.versions).get(normalize(distribution))

    def sink_modules(self, sinks: Sequence[ModuleSink]) -> tuple[ModuleSink, ...]:
        """The module sinks as this environment has them: a version-dependent one becomes
        an initializer (a version measured to initialize), goes (one measured not to), or
        stays a warning that says which version is installed (one not measured)."""
        found = []
        for sink in sinks:
            versioned = next((v for v in VERSIONED_SINK_MODULES if v.module == sink.module), None)
            version = self.version_of(versioned.distribution) if versioned else None
            if versioned is None or sink.strength != VERSION_DEPENDENT or version is None:
                found.append(sink)
            elif version in versioned.initializes:
                found.append(ModuleSink(sink.module, f"initializes the CUDA driver at import in "
                                        f"{versioned.distribution} {version}, the environment's version (measured)",
                                        INITIALIZER))
            elif version not in versioned.does_not:
                found.append(ModuleSink(sink.module, f"{sink.reason}; the environment has {version}, not measured",
                                        VERSION_DEPENDENT))
        return tuple(found)

    # -- environment variables

    def nvml_check(self) -> bool:
        return dict(self.env).get(NVML_CHECK) == "1"
