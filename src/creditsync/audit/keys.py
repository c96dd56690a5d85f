"""The audit key and the rest of the audit trail's configuration, all held outside the store.

- CREDITSYNC_AUDIT_KEY: the HMAC key the chain and its checkpoints are signed with. Default: the
  password of the Connection CREDITSYNC_AUDIT_KEY_CONN_ID (``creditsync_audit``: Airflow's secrets backend
  under Airflow, ``AIRFLOW_CONN_CREDITSYNC_AUDIT`` elsewhere); else none, unkeyed (development).
- CREDITSYNC_AUDIT_RETIRED_KEYS: earlier keys, comma-separated (or the Connection's extra
  ``retired_keys``), so entries signed with them still verify after a rotation.
- CREDITSYNC_AUDIT_REQUIRE_KEY=1: refuse to run unkeyed (a missing key is a configuration error).
- CREDITSYNC_AUDIT_CHECKPOINTS: the append-only checkpoint log (default
  ``$CREDITSYNC_HOME/var/audit-checkpoints.jsonl``).
- CREDITSYNC_AUDIT_ARCHIVE_DIR: where ``audit prune`` writes archives and ``audit verify`` finds them
  (default ``$CREDITSYNC_HOME/var/audit-archive``).
- CREDITSYNC_AUDIT_MIN_KEEP_DAYS: the shortest retention window ``audit prune`` accepts (default 180).

A key is any secret string of at least 32 characters (e.g. ``openssl rand -hex 32``). Entries name the
key they were signed with by a key id, an HMAC of a fixed label under the key (never the key itself),
so a rotated key keeps old entries verifiable through CREDITSYNC_AUDIT_RETIRED_KEYS.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from creditsync import secrets
from creditsync.exceptions import ConfigurationError
from creditsync.settings import Settings, environment, load_settings

UNKEYED = "sha256"  # the scheme of entries written without a key (and of every entry before keys existed)
KEYED_PREFIX = "hmac-sha256:"
DEFAULT_CONN_ID = "creditsync_audit"
DEFAULT_MIN_KEEP_DAYS = 180
MIN_KEY_LENGTH = 32


def key_id(key: bytes) -> str:
    return hmac.new(key, b"creditsync-audit-key-id", hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class AuditKeyring:
    """The current key (``None``: unkeyed development mode) and retired ones, by key id."""

    current: bytes | None = field(default=None, repr=False)
    retired: tuple[bytes, ...] = field(default=(), repr=False)

    @property
    def keyed(self) -> bool:
        return self.current is not None

    @property
    def scheme(self) -> str:
        """What new entries and checkpoints are signed with."""
        return KEYED_PREFIX + key_id(self.current) if self.current is not None else UNKEYED

    @property
    def by_id(self) -> Mapping[str, bytes]:
        keys = [*self.retired, *([self.current] if self.current is not None else [])]
        return {key_id(key): key for key in keys}

    def key_for(self, scheme: str) -> bytes | None:
        """The key a scheme names; ``None`` for unkeyed. Raises KeyError for a key not configured."""
        if scheme == UNKEYED:
            return None
        if not scheme.startswith(KEYED_PREFIX):
            raise KeyError(scheme)
        return self.by_id[scheme.removeprefix(KEYED_PREFIX)]

    def describe(self) -> str:
        if self.current is None:
            return "unkeyed (development)"
        return f"keyed, key {key_id(self.current)}"


@dataclass(frozen=True)
class AuditConfig:
    keyring: AuditKeyring
    checkpoints: Path
    archive_dir: Path
    min_keep_days: int
    require_key: bool = False


def load_audit_config(settings: Settings | None = None,
                      environ: Mapping[str, str] | None = None) -> AuditConfig:
    env = environment() if environ is None else environ
    settings = settings or load_settings()
    require_key = env.get("CREDITSYNC_AUDIT_REQUIRE_KEY", "0").strip().lower() in ("1", "true", "yes")
    keyring = load_keyring(env)
    if require_key and not keyring.keyed:
        raise ConfigurationError("CREDITSYNC_AUDIT_REQUIRE_KEY is set but no audit key is configured: set "
                                 "CREDITSYNC_AUDIT_KEY or the password of the Connection "
                                 f"{env.get('CREDITSYNC_AUDIT_KEY_CONN_ID', DEFAULT_CONN_ID)!r}")
    return AuditConfig(
        keyring=keyring,
        checkpoints=Path(env.get("CREDITSYNC_AUDIT_CHECKPOINTS")
                         or settings.var_dir / "audit-checkpoints.jsonl"),
        archive_dir=Path(env.get("CREDITSYNC_AUDIT_ARCHIVE_DIR") or settings.var_dir / "audit-archive"),
        min_keep_days=_min_keep_days(env),
        require_key=require_key,
    )


def load_keyring(environ: Mapping[str, str] | None = None) -> AuditKeyring:
    """From CREDITSYNC_AUDIT_KEY, else the audit Connection's password, else none (development)."""
    env = environment() if environ is None else environ
    current = env.get("CREDITSYNC_AUDIT_KEY", "").strip()
    retired = _split(env.get("CREDITSYNC_AUDIT_RETIRED_KEYS"))
    if not current:
        conn_id = env.get("CREDITSYNC_AUDIT_KEY_CONN_ID", DEFAULT_CONN_ID)
        try:
            connection = secrets.get_connection(conn_id)
        except ConfigurationError:
            connection = None
        if connection is not None:
            current = (connection.password or "").strip()
            retired = retired or _split(connection.extra.get("retired_keys"))
    for name, value in [("CREDITSYNC_AUDIT_KEY", current)] + [("a retired audit key", k) for k in retired]:
        if value and len(value) < MIN_KEY_LENGTH:
            raise ConfigurationError(f"{name} is shorter than {MIN_KEY_LENGTH} characters: use a random "
                                     "secret (e.g. `openssl rand -hex 32`)")
    return AuditKeyring(current.encode() if current else None, tuple(k.encode() for k in retired))


def _split(value: object) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value or "").split(",") if part.strip()]


def _min_keep_days(env: Mapping[str, str]) -> int:
    raw = env.get("CREDITSYNC_AUDIT_MIN_KEEP_DAYS", str(DEFAULT_MIN_KEEP_DAYS))
    try:
        days = int(raw)
    except ValueError:
        raise ConfigurationError(
            f"CREDITSYNC_AUDIT_MIN_KEEP_DAYS must be a whole number of days, not {raw!r}") from None
    if days < 0:
        raise ConfigurationError("CREDITSYNC_AUDIT_MIN_KEEP_DAYS must not be negative")
    return days
