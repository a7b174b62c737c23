"""Rewrites: `--fix` makes eager re-exports in `__init__.py` lazy."""
