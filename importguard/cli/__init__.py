"""Command line: one module per command, shared options in `common`."""
