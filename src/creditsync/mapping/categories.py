"""Which categories a mapping may name, and the field-code prefix of each (``penalty`` → ``CF_``).

The categories are data owned by ``creditsync.schema`` (``schema/categories/*.yaml``), so adding a
category there makes it available to mappings without touching this package. Like the code tables,
the schema is imported on first use, never at module level: without it (a test that stubs it out)
only the form of a category name is checked, and the schema refuses unknown categories downstream.
"""

from __future__ import annotations

CATEGORY_NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
# 备注 has the same code in every category; every other standard code starts with the category prefix.
SHARED_FIELDS = frozenset({"BZ"})


def category_prefixes() -> dict[str, str] | None:
    """Category name → field-code prefix with its underscore; None when the schema is unavailable."""
    try:
        from creditsync.schema import CATEGORIES
    except ImportError:
        return None
    return {name: f"{spec.prefix}_" for name, spec in sorted(CATEGORIES.items())}
