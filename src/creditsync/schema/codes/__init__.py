"""Code tables of the 双公示 schema, kept as YAML data (see codetables.py)."""
