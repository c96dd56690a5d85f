"""Fixtures of the publication tests; the helpers live in publication_support (importable by name, so
they never collide with another folder's conftest)."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from publication_support import gateway  # noqa: E402

__all__ = ["gateway"]
