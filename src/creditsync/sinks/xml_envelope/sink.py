"""The ``xml_envelope`` sink: one ``<ExchangeMessage>`` per record, to a folder or POSTed to a URL.

Folder (``options.folder``), the platform's job reads it on its own schedule::

    outgoing/<item id>.xml   written atomically (a temporary name, then a rename); the platform takes
                             the file away (moves or deletes it) when it reads it
    ack/<item id>.xml        the platform's <ExchangeAck>: accepted with its record id, or rejected
    .sent/<item id>          the gateway's note that the message was written (after the rename)

A key with an answer is never written again; one still in ``outgoing/`` is left as it is; one written
before (noted in ``.sent/``) is in the platform's hands. A withdrawal's upsert still in ``outgoing/`` is
deleted instead (``retract``). URL (``options.url``): each envelope is POSTed and the answer is the ack;
``GET <url>/ack/<item id>`` asks back; the ItemId is the idempotency key the platform dedupes on.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import requests
from tenacity import Retrying

from creditsync import http
from creditsync.delivery.errors import PLATFORM_ERRORS
from creditsync.delivery.retry import default_retry_policy
from creditsync.exceptions import ConfigurationError
from creditsync.sinks.base import NoCopies, PushItem, Receipt, unique_keys
from creditsync.sinks.xml_envelope.envelope import Header, build, parse_ack

DEFAULT_RECEIVER = "济南市公共信用信息平台"


class _Envelopes:
    def __init__(self, sender: str, receiver: str, operator: str) -> None:
        self.sender, self.receiver, self.operator = sender, receiver, operator

    def messages(self, category: str, items: Sequence[PushItem],
                 batch_id: str) -> list[tuple[PushItem, bytes]]:
        header = Header(self.sender, self.receiver, batch_id, self.operator, category)
        return [(item, build(item, header, serial)) for serial, item in enumerate(items, start=1)]


class XmlFolderSink(NoCopies, _Envelopes):
    name = "xml_envelope"
    asynchronous = True

    def __init__(self, folder: Path, *, sender: str, receiver: str = DEFAULT_RECEIVER,
                 operator: str = "creditsync") -> None:
        _Envelopes.__init__(self, sender, receiver, operator)
        self.folder = folder
        self.outgoing, self.acks, self.sent = folder / "outgoing", folder / "ack", folder / ".sent"
        for path in (self.outgoing, self.acks, self.sent):
            path.mkdir(parents=True, exist_ok=True)

    def push(self, category: str, items: Sequence[PushItem], batch_id: str) -> list[Receipt]:
        unique_keys(items)
        found = self.query(category, [i.idempotency_key for i in items])
        fresh = [i for i in items if i.idempotency_key not in found and not self._written(i.idempotency_key)]
        for item, raw in self.messages(category, fresh, batch_id):
            _atomic_write(self.outgoing / f"{item.idempotency_key}.xml", raw)
            (self.sent / item.idempotency_key).touch()
        return [found[i.idempotency_key] for i in items if i.idempotency_key in found]

    def query(self, category: str, idempotency_keys: Iterable[str]) -> dict[str, Receipt]:
        found: dict[str, Receipt] = {}
        for key in dict.fromkeys(idempotency_keys):
            path = self.acks / f"{_safe(key)}.xml"
            if path.exists():
                receipt = parse_ack(path.read_bytes())
                found[key] = receipt
        return found

    def retract(self, category: str, idempotency_keys: Iterable[str]) -> set[str]:
        gone: set[str] = set()
        for key in dict.fromkeys(idempotency_keys):
            if (self.acks / f"{_safe(key)}.xml").exists():
                continue
            try:
                (self.outgoing / f"{_safe(key)}.xml").unlink()  # still there: the platform never read it
            except FileNotFoundError:
                if self._written(key):
                    continue  # taken by the platform: its answer will come
            gone.add(key)
        return gone

    def close(self) -> None:
        pass

    def _written(self, key: str) -> bool:
        return (self.outgoing / f"{_safe(key)}.xml").exists() or (self.sent / _safe(key)).exists()


class XmlHttpSink(NoCopies, _Envelopes):
    name = "xml_envelope"
    asynchronous = False

    def __init__(self, url: str, *, sender: str, app_key: str | None = None, receiver: str = DEFAULT_RECEIVER,
                 operator: str = "creditsync", retrying: Retrying | None = None,
                 timeout: tuple[float, float] = (5, 30)) -> None:
        if not url.startswith(("http://", "https://")):
            raise ConfigurationError("the envelope URL must start with http:// or https://", url=url)
        _Envelopes.__init__(self, sender, receiver, operator)
        self.url = url.rstrip("/")
        self._headers = {"Content-Type": "application/xml; charset=utf-8"}
        if app_key:
            self._headers["appKey"] = app_key
        self._secrets = (app_key,) if app_key else ()
        self._session = requests.Session()
        self._retrying = retrying or default_retry_policy()
        self._timeout = timeout

    def push(self, category: str, items: Sequence[PushItem], batch_id: str) -> list[Receipt]:
        unique_keys(items)
        return [self._post(raw) for _, raw in self.messages(category, items, batch_id)]

    def query(self, category: str, idempotency_keys: Iterable[str]) -> dict[str, Receipt]:
        found: dict[str, Receipt] = {}
        for key in dict.fromkeys(idempotency_keys):
            raw = http.call_with_retries(self._retrying, lambda key=key: self._get(key))  # type: ignore[misc]
            if raw is not None:
                found[key] = parse_ack(raw)
        return found

    def retract(self, category: str, idempotency_keys: Iterable[str]) -> set[str]:
        return set()

    def close(self) -> None:
        self._session.close()

    def _post(self, raw: bytes) -> Receipt:
        def once() -> bytes:
            response = self._send("POST", self.url, raw)
            return self._body(response)

        return parse_ack(http.call_with_retries(self._retrying, once))

    def _get(self, key: str) -> bytes | None:
        response = self._send("GET", f"{self.url}/ack/{_safe(key)}", None)
        return None if response.status_code == 404 else self._body(response)

    def _send(self, method: str, url: str, data: bytes | None) -> requests.Response:
        return http.send(self._session, method, url, errors=PLATFORM_ERRORS, headers=self._headers,
                         timeout=self._timeout, data=data, secrets=self._secrets)

    def _body(self, response: requests.Response) -> bytes:
        if response.status_code != 200:
            retry_after = http.parse_retry_after(response.headers.get("Retry-After"))
            raise PLATFORM_ERRORS.error(http.classify(response.status_code, retry_after),
                                        f"envelope endpoint answered {response.status_code}",
                                        status=response.status_code, retry_after=retry_after)
        return response.content


def _safe(key: str) -> str:
    if not key or any(ch in key for ch in "/\\\0") or key.startswith("."):
        raise ValueError(f"an item id unusable as a file name: {key!r}")
    return key


def _atomic_write(path: Path, raw: bytes) -> None:
    """Readers see the whole file or none: written under a hidden name in the same folder, synced,
    then renamed over."""
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("wb") as handle:
        handle.write(raw)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    with contextlib.suppress(OSError):  # the rename itself survives a power cut once the folder is synced
        descriptor = os.open(path.parent, os.O_RDONLY)
        os.fsync(descriptor)
        os.close(descriptor)


def build_xml_sink(options: dict[str, Any], conn_id: str) -> XmlFolderSink | XmlHttpSink:
    sender = str(options.get("sender") or "长清区")
    receiver = str(options.get("receiver") or DEFAULT_RECEIVER)
    operator = str(options.get("operator") or "creditsync")
    if folder := options.get("folder"):
        return XmlFolderSink(Path(folder), sender=sender, receiver=receiver, operator=operator)
    if url := options.get("url"):
        from creditsync.secrets import get_connection

        try:
            app_key = get_connection(conn_id).password
        except ConfigurationError:
            app_key = None
        return XmlHttpSink(str(url), app_key=app_key, sender=sender, receiver=receiver, operator=operator)
    raise ConfigurationError("xml_envelope sink: options.folder or options.url is required")
