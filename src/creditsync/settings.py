"""Process-wide settings, read from the environment only (never from YAML: secrets live elsewhere).

| variable | meaning | default |
|---|---|---|
| CREDITSYNC_HOME | the deployment folder holding adapters/, mappings/, var/ | the current directory |
| CREDITSYNC_DB_URL | the gateway store (SQLAlchemy URL) | sqlite:///$CREDITSYNC_HOME/var/creditsync.db |
| CREDITSYNC_PLATFORM_URL | the municipal platform's base URL | the `creditsync_platform` Connection |
| CREDITSYNC_PLATFORM_CONN_ID | Connection holding the platform address and appKey | creditsync_platform |
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    home: Path
    db_url: str
    platform_url: str | None
    platform_conn_id: str

    @property
    def adapters_dir(self) -> Path:
        return Path(os.environ.get("CREDITSYNC_ADAPTERS_DIR", self.home / "adapters"))

    @property
    def mappings_dir(self) -> Path:
        return Path(os.environ.get("CREDITSYNC_MAPPINGS_DIR", self.home / "mappings"))

    @property
    def var_dir(self) -> Path:
        return self.home / "var"


def load_settings() -> Settings:
    home = Path(os.environ.get("CREDITSYNC_HOME", Path.cwd())).resolve()
    default_db = f"sqlite:///{home / 'var' / 'creditsync.db'}"
    return Settings(
        home=home,
        db_url=os.environ.get("CREDITSYNC_DB_URL", default_db),
        platform_url=os.environ.get("CREDITSYNC_PLATFORM_URL") or None,
        platform_conn_id=os.environ.get("CREDITSYNC_PLATFORM_CONN_ID", "creditsync_platform"),
    )
