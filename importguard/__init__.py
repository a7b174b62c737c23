"""importguard: a linter for import side effects (CUDA initialization at import time)."""

__version__ = "0.1.0"
