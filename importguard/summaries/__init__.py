"""Library effect summaries: rows.py reads them, the JSON files beside it are the shipped
data, generate.py derives rows from an installed library's source (docs/summaries.md)."""
