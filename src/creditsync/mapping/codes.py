"""Code-table lookups used by the ``code`` transform.

The code tables themselves are data owned by ``creditsync.schema``. This package does not import it at
module level, so mappings can be loaded, checked and tested without the schema package, and a test can
inject any lookup it likes.
"""

from __future__ import annotations

from collections.abc import Callable

from creditsync.exceptions import ConfigurationError

CodeLookup = Callable[[str, str], str]
"""``lookup(table, value) -> canonical text``; raises LookupError (e.g. KeyError) or ValueError for an
unknown value. An unknown *table* should raise ConfigurationError: that stops the run, not one field."""


def default_code_lookup(table: str, value: str) -> str:
    """Resolve through ``creditsync.schema.codetables.lookup``, imported on first use."""
    try:
        from creditsync.schema.codetables import lookup
    except ImportError as exc:
        # A missing code-table module breaks every record alike: a configuration problem for the
        # whole run, not a field error to quarantine record by record.
        raise ConfigurationError(
            "code tables are unavailable (creditsync.schema.codetables.lookup cannot be imported); "
            "install the schema package or pass code_lookup= to MappingSpec.apply",
            table=table,
        ) from exc
    return str(lookup(table, value))
