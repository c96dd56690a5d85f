"""Pull: source adapters that stream a department's records after a cursor.

``base`` holds the contract (:class:`~creditsync.sources.base.SourceAdapter`,
:class:`~creditsync.sources.base.RawRecord`), ``registry`` maps a ``kind`` to its adapter class, and
each built-in adapter lives in its own module (``rest``).
"""

from creditsync.sources.base import RawRecord, SourceAdapter

__all__ = ["RawRecord", "SourceAdapter"]
