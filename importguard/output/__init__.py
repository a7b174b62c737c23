"""Rendering a report: one module per output format, and the registry that picks one."""
