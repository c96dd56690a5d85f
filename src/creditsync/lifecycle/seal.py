"""Seals: nothing in the store acts unless the gateway itself wrote it.

Whoever can write the database but does not hold the audit key must not be able to publish, withdraw
early or rewrite what the platform shows. Two tools, both keyed by subkeys of the audit key (held
outside the store, creditsync.audit.keys):

- **row seals**: an HMAC over every column of a ``records``, ``record_versions`` or ``cursors`` row,
  recomputed by the lifecycle on each write and checked before the row is acted on (pushed, expired,
  withdrawn, re-sent) and by ``audit verify --deep``;
- **sealed payloads**: an outbox item's payload is encrypted with AES-GCM, its identity (idempotency
  key, business key, department, category, action, version) bound as associated data. Only the gateway
  can make an item that decrypts, so an altered fine or a forged row is refused before sending, and a
  pending payload's full ID numbers are not readable at rest.

Without an audit key (development) a fixed, public key is used: the mechanism runs, the protection does
not (``audit verify`` says the trail is unkeyed).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Iterable
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from creditsync.audit.keys import AuditKeyring, key_id, load_keyring

DEVELOPMENT_KEY = b"creditsync development key: not a secret, configure CREDITSYNC_AUDIT_KEY"
DEVELOPMENT_ID = "dev"
_SEP = "\x1f"
_NONCE = 12


class SealError(Exception):
    """A seal or sealed payload did not verify (altered, forged, or sealed under an unknown key)."""


def canonical(values: Iterable[Any]) -> bytes:
    """A row's columns as one unambiguous text: timestamps in UTC to the microsecond (SQLite keeps them
    naive, PostgreSQL aware), dates ISO, None empty. (Called several times per record: kept lean.)"""
    parts = [value if type(value) is str else "" if value is None else _TEXT.get(type(value), _other)(value)
             for value in values]
    text = _SEP.join(parts)
    if text.count(_SEP) != len(parts) - 1:  # a value holds the separator itself: spelt as a space
        text = _SEP.join([part.replace(_SEP, " ") for part in parts])
    return text.encode("utf-8")


@lru_cache(maxsize=4096)  # a chunk's rows share a handful of timestamps
def _timestamp(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds")


def _other(value: Any) -> str:
    if isinstance(value, datetime):
        return _timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


_TEXT: dict[type, Any] = {type(None): lambda _value: "", int: str, datetime: _timestamp, date: date.isoformat}


def content_digest(value: Any) -> str:
    """sha256 of JSON content with sorted keys (payloads kept in version rows)."""
    return hashlib.sha256(msgspec.json.encode(value, order="sorted")).hexdigest()


class Sealer:
    """Seals and opens rows and payloads under the current audit key; opens under retired keys too."""

    def __init__(self, keyring: AuditKeyring) -> None:
        keys = dict(keyring.by_id) or {}
        self.current_id = key_id(keyring.current) if keyring.current is not None else DEVELOPMENT_ID
        keys[DEVELOPMENT_ID] = DEVELOPMENT_KEY
        self._mac_keys = {kid: RowMac(_subkey(key, b"row seal")) for kid, key in keys.items()}
        self._aead = {kid: AESGCM(_subkey(key, b"outbox payload")) for kid, key in keys.items()}
        self.keyed = keyring.current is not None

    # -- row seals ---------------------------------------------------------------------------------

    def seal(self, text: bytes) -> str:
        return f"{self.current_id}:{self._mac(self.current_id, text)}"

    def verify(self, text: bytes, seal: str | None) -> bool:
        if not seal or ":" not in seal:
            return False
        kid, mac = seal.split(":", 1)
        if kid not in self._mac_keys or (self.keyed and kid == DEVELOPMENT_ID):
            return False  # a development seal in a keyed store was not made by the gateway's key
        return hmac.compare_digest(self._mac(kid, text), mac)

    def _mac(self, kid: str, text: bytes) -> str:
        return self._mac_keys[kid].hexdigest(text)[:32]

    # -- sealed payloads ---------------------------------------------------------------------------

    def encrypt(self, payload: dict[str, Any], identity: bytes) -> str:
        nonce = os.urandom(_NONCE)
        box = self._aead[self.current_id].encrypt(nonce, msgspec.json.encode(payload), identity)
        return f"{self.current_id}:{base64.b64encode(nonce + box).decode()}"

    def decrypt(self, sealed: str | None, identity: bytes) -> dict[str, Any]:
        return self.decrypt_sized(sealed, identity)[0]

    def decrypt_sized(self, sealed: str | None, identity: bytes) -> tuple[dict[str, Any], int]:
        """The payload and the size of its JSON text (what a batch's byte limit counts)."""
        if not sealed or ":" not in sealed:
            raise SealError("no sealed payload")
        kid, text = sealed.split(":", 1)
        if kid not in self._aead or (self.keyed and kid == DEVELOPMENT_ID):
            raise SealError(f"sealed under key {kid}, which is not configured")
        try:
            raw = base64.b64decode(text, validate=True)
            plain = self._aead[kid].decrypt(raw[:_NONCE], raw[_NONCE:], identity)
        except (InvalidTag, ValueError) as exc:
            raise SealError("the payload does not match its seal") from exc
        payload = msgspec.json.decode(plain)
        if not isinstance(payload, dict):
            raise SealError("the sealed payload is not a record")
        return payload, len(plain)


class RowMac:
    """HMAC-SHA256 (RFC 2104) under one key, its padded key states hashed once: ``hmac.new`` hashes them
    again on every call, which costs more than the row's own text (several seals per record)."""

    def __init__(self, key: bytes) -> None:
        block = (hashlib.sha256(key).digest() if len(key) > _BLOCK else key).ljust(_BLOCK, b"\0")
        self._inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in block))
        self._outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in block))

    def hexdigest(self, text: bytes) -> str:
        inner = self._inner.copy()
        inner.update(text)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


_BLOCK = 64  # SHA-256's block size in bytes


def _subkey(key: bytes, purpose: bytes) -> bytes:
    return hmac.new(key, b"creditsync " + purpose, hashlib.sha256).digest()


@lru_cache(maxsize=4)
def _sealer_for(keyring: AuditKeyring) -> Sealer:
    return Sealer(keyring)


def sealer(keyring: AuditKeyring | None = None) -> Sealer:
    """The sealer of ``keyring`` (the environment's by default); built once per keyring."""
    return _sealer_for(keyring if keyring is not None else load_keyring())
