"""Tool errors: problems with how importguard was invoked or configured.

Problems in the user's code are findings, never exceptions. Each of these becomes one
clear sentence and exit code 2 at the CLI boundary.
"""


class ImportguardError(Exception):
    """Base class; str(error) is the one sentence shown to the user."""


class ConfigError(ImportguardError):
    pass


class DiscoveryError(ImportguardError):
    pass


class UsageError(ImportguardError):
    pass
