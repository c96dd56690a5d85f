"""The categories of the schema, loaded once, without the validation machinery: listings that only name
a category's fields (the quarantine, the console) need its specification, not its pydantic models."""

from __future__ import annotations

from creditsync.exceptions import ConfigurationError
from creditsync.schema.category import CategorySpec, load_categories

CATEGORIES: dict[str, CategorySpec] = load_categories()


def get_category(category: str) -> CategorySpec:
    try:
        return CATEGORIES[category]
    except KeyError:
        known = ", ".join(sorted(CATEGORIES))
        message = f"unknown category {category!r} (known: {known})"
        raise ConfigurationError(message, category=category) from None


def field_codes(category: str) -> list[str]:
    """Standard field codes in standard order (the CSV/XLSX template headers)."""
    return get_category(category).codes


def field_titles(category: str) -> dict[str, str]:
    """Standard field code → Chinese name (名称)."""
    return {f.code: f.title for f in get_category(category).fields}
