"""Pull: source adapters that stream a department's records after a cursor.

``base`` holds the contract (:class:`~creditsync.sources.base.SourceAdapter`,
:class:`~creditsync.sources.base.RawRecord`); ``registry`` maps a ``kind`` to its adapter class, checks
a department's options when its file loads and opens its source (``open_source``); ``cursor`` holds
the cursor rules (compare, highest of a chunk, page-boundary de-duplication). Each built-in adapter
lives in its own module (``rest``, ``xml``, ``sql``, ``files``); the HTTP ones share ``http_base``,
on top of :mod:`creditsync.http` (shared with delivery).
"""

from creditsync.sources.base import RawRecord, SourceAdapter

__all__ = ["RawRecord", "SourceAdapter"]
