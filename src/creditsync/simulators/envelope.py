"""The platform's side of the XML envelope, for the demo and the tests: a folder job that takes each
``outgoing/*.xml`` (renamed into its own ``taken/`` first, so a crash never loses one), decides it with
the API simulator's core (same validation, reject rate, memory of keys) and writes the ``ack/``; and an
HTTP endpoint (``POST /`` an envelope → its ack, ``GET /ack/<id>``, ``GET /_sim/stats``)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from creditsync.simulators.platform import PlatformSimulator
from creditsync.simulators.platform_store import IncomingRecord, Problem
from creditsync.sinks.xml_envelope.envelope import EnvelopeError, Message, build_ack, parse
from creditsync.sinks.xml_envelope.sink import _atomic_write

log = logging.getLogger(__name__)
INVALID_ZH = "报文不符合交换规范（XSD校验未通过）"


def decide(platform: PlatformSimulator, messages: list[Message]) -> dict[str, bytes]:
    """Acks by item id, one platform batch per category."""
    by_category: dict[str, list[Message]] = defaultdict(list)
    for message in messages:
        by_category[message.category].append(message)
    acks: dict[str, bytes] = {}
    for category, group in by_category.items():
        records = [IncomingRecord(m.item_id, m.business_key, m.action, m.platform_id, dict(m.data))
                   for m in group]
        try:
            results = push_in_batches(platform, category, records)
        except Problem as problem:  # e.g. a category the platform does not know
            results = [{"idempotency_key": m.item_id, "status": "rejected", "platform_id": None,
                        "errors": [problem.msg]} for m in group]
        for result in results:
            acks[result["idempotency_key"]] = build_ack(result["idempotency_key"], result["status"],
                                                        result["platform_id"], result["errors"])
    return acks


def push_in_batches(platform: PlatformSimulator, category: str,
                    records: list[IncomingRecord]) -> list[dict[str, Any]]:
    """The platform's job takes what it found in batches it accepts (its own batch limit)."""
    results: list[dict[str, Any]] = []
    for start in range(0, len(records), platform.max_batch):
        results += platform.push(category, records[start : start + platform.max_batch])
    return results


class EnvelopeFolderSimulator:
    def __init__(self, folder: Path, platform: PlatformSimulator) -> None:
        self.platform = platform
        self.outgoing, self.taken, self.acks = folder / "outgoing", folder / "taken", folder / "ack"
        for path in (self.outgoing, self.taken, self.acks):
            path.mkdir(parents=True, exist_ok=True)
        self._stop = threading.Event()

    def run_once(self) -> int:
        for path in sorted(self.outgoing.glob("[!.]*.xml")):
            with contextlib.suppress(FileNotFoundError):  # withdrawn by the gateway meanwhile
                os.replace(path, self.taken / path.name)
        taken = sorted(self.taken.glob("*.xml"))
        if not taken:
            return 0
        messages = []
        for path in taken:
            try:
                messages.append(parse(path.read_bytes()))
            except EnvelopeError as exc:
                log.warning("envelope %s refused: %s", path.name, exc)
                _atomic_write(self.acks / path.name, build_ack(path.stem, "rejected", None, [INVALID_ZH]))
        self.platform.count("requests")
        for item_id, ack in decide(self.platform, messages).items():
            _atomic_write(self.acks / f"{item_id}.xml", ack)
        for path in taken:
            path.unlink()
        return len(taken)

    def run(self, interval_s: float) -> None:
        while not self._stop.wait(interval_s):
            self.run_once()

    def stop(self) -> None:
        self._stop.set()


class EnvelopeServer(ThreadingHTTPServer):
    def __init__(self, address: tuple[str, int], platform: PlatformSimulator) -> None:
        self.platform = platform
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    @property
    def platform(self) -> PlatformSimulator:
        assert isinstance(self.server, EnvelopeServer)
        return self.server.platform

    def do_GET(self) -> None:
        if self.path == "/_sim/stats":
            stats = json.dumps(self.platform.stats(), ensure_ascii=False).encode()
            self._write(200, stats, "application/json")
            return
        if self.path.startswith("/ack/"):
            key = self.path.removeprefix("/ack/")
            known = self.platform.store.remembered([key]).get(key)
            if known is None:
                self._write(404, b"", "text/plain")
                return
            self._write(200, build_ack(key, known.status, known.platform_id, known.errors), "application/xml")
            return
        self._write(404, b"", "text/plain")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        self.platform.count("requests")
        try:
            message = parse(raw)
        except EnvelopeError:
            self._write(400, INVALID_ZH.encode(), "text/plain; charset=utf-8")
            return
        self._write(200, decide(self.platform, [message])[message.item_id], "application/xml")

    def _write(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug(format, *args)
