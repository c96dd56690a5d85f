"""What the read-only commands (``audit``, ``quarantine``) need of the gateway: its settings and its
store, opened without importing the pipeline (pull, push and their sources cost ~0.5 CPU-s to import,
more than the commands themselves; benchmarks/RESULTS.md, CLI start-up)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from creditsync.departments import DepartmentConfig
    from creditsync.settings import Settings
    from creditsync.store import Store


@dataclass
class StoreAccess:
    settings: Settings
    store: Store

    @classmethod
    def open(cls) -> StoreAccess:
        from creditsync.settings import load_settings
        from creditsync.store import open_store

        settings = load_settings()
        return cls(settings, open_store(settings.db_url))

    def department(self, name: str) -> DepartmentConfig:
        from creditsync.departments import load_department

        return load_department(self.settings.adapters_dir, name)
