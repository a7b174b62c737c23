"""Installed packages: the target interpreter, its distributions, wheel RECORDs, verify-install."""
