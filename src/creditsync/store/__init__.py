"""The gateway's own database: staging, records and their versions, outbox, quarantine, cursors, audit.

SQLite by default, PostgreSQL by URL (``CREDITSYNC_DB_URL``); the schema is managed by Alembic.
Never the Airflow metadata database.
"""

from creditsync.store.db import Store, open_store

__all__ = ["Store", "open_store"]
