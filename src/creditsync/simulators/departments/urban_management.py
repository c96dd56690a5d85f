"""Simulator of 长清区综合行政执法局's open API (department ``urban_management``): OAuth2 client credentials,
opaque next links, and an ``updatedAt`` in epoch milliseconds while the filter wants ISO-8601.

    POST /oauth/token            grant_type=client_credentials, client_id, client_secret (form or Basic)
                                 → {"access_token", "token_type": "Bearer", "expires_in": claimed}
    GET  /open/v2/cases?updated_after=<ISO-8601 with an offset>&limit=N           (inclusive, ≤ 100)
         → {"data": [...], "links": {"next": "/open/v2/cases?cursor=…" | null},
            "meta": {"next_cursor": "…" | null, "total": K}}, and the same link in ``Link: <…>; rel="next"``
         ``cursor`` continues after the last case of the page (server-side keyset), ``offset`` or ``page``
         page by position instead (what a plain page/size API does).

Like real token servers it may not keep its word: a token dies after ``token_uses`` API calls (or
``token_ttl_s`` seconds) whatever ``expires_in`` (``claimed_expires_in``) said; an expired token gets
401. Hostile answers for the limit tests: ``trickle_s`` (one byte every so often), ``deep_page`` (a page
nested that deep) and ``huge_field_bytes`` (a case whose ``facts`` is that large, streamed).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import secrets
import signal
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from types import FrameType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

from creditsync.simulators.departments._serving import RunningServer, TokenServer
from creditsync.simulators.departments.urban_management_data import CaseStore

if TYPE_CHECKING:
    from creditsync.simulators.departments import SimulatorOptions

CLIENT_ID = "creditsync-changqing"
API = "/open/v2/cases"
MAX_LIMIT = 100


class UrbanManagementServer(TokenServer[CaseStore]):
    def __init__(self, address: tuple[str, int], store: CaseStore, client_secret: str) -> None:
        super().__init__(address, _Handler, store, client_secret)  # token: the client secret
        self.client_id, self.client_secret = CLIENT_ID, client_secret
        self.claimed_expires_in: Any = 3600
        self.token_uses: int | None = None
        self.token_ttl_s: float | None = None
        self.trickle_s: float | None = None
        self.deep_page: int | None = None
        self.huge_field_bytes: int | None = None
        self.tokens: dict[str, list[float]] = {}  # token -> [uses left (inf), expires at]
        self.issued = self.refused = 0
        self.queries: list[dict[str, str]] = []  # what clients asked, in order
        self._lock = threading.Lock()

    def issue(self) -> dict[str, Any]:
        token = secrets.token_urlsafe(18)
        uses = float("inf") if self.token_uses is None else float(self.token_uses)
        ends = float("inf") if self.token_ttl_s is None else time.monotonic() + self.token_ttl_s
        with self._lock:
            self.tokens[token] = [uses, ends]
            self.issued += 1
        return {"access_token": token, "token_type": "Bearer", "expires_in": self.claimed_expires_in}

    def use(self, token: str) -> bool:
        with self._lock:
            left = self.tokens.get(token)
            if left is None or left[0] <= 0 or time.monotonic() > left[1]:
                self.refused += 1
                return False
            left[0] -= 1
            return True


class RunningUrbanManagement(RunningServer[CaseStore]):
    def __init__(self, server: UrbanManagementServer) -> None:
        super().__init__(server, "urban_management")
        self.server = server
        self.client_id, self.client_secret = server.client_id, server.client_secret


def start_in_thread(client_secret: str = "um-secret", *, count: int = 30, seed: int = 7,
                    host: str = "127.0.0.1", port: int = 0) -> RunningUrbanManagement:
    server = UrbanManagementServer((host, port), CaseStore(count, seed), client_secret)
    return RunningUrbanManagement(server)


class _Handler(BaseHTTPRequestHandler):
    server: UrbanManagementServer
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # the name http.server dispatches to
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[-1] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        if urlsplit(self.path).path != "/oauth/token":
            self._json(404, {"error": "not_found"})
        elif form.get("grant_type") != "client_credentials":
            self._json(400, {"error": "unsupported_grant_type"})
        elif self._client(form) != (self.server.client_id, self.server.client_secret):
            self._json(401, {"error": "invalid_client"})
        else:
            self._json(200, self.server.issue())

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path != API:
            self._json(404, {"error": "not_found"})
            return
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not self.server.use(auth[7:]):
            self._json(401, {"error": "invalid_token", "error_description": "the access token expired"})
            return
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.server.queries.append(query)
        try:
            body, link = self._page(query)
        except ValueError as exc:
            self._json(400, {"error": "bad_request", "error_description": str(exc)})
            return
        if self.server.deep_page or self.server.huge_field_bytes or self.server.trickle_s:
            self._hostile(body)
        else:
            self._json(200, body, {"Link": f'<{link}>; rel="next"'} if link else {})
        self.server.store.served()

    # -- the API -----------------------------------------------------------------------------------

    def _page(self, query: dict[str, str]) -> tuple[dict[str, Any], str | None]:
        limit = int(query.get("limit", "20"))
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit must be 1..{MAX_LIMIT}")
        after_ms = _after(query["updated_after"]) if "updated_after" in query else None
        cases = [c for c in self.server.store.sorted() if after_ms is None or c["updatedAt"] >= after_ms]
        if "cursor" in query:
            position = _decode(query["cursor"])
            cases = [c for c in cases if (c["updatedAt"], c["caseNo"]) > position]
            start = 0
        elif "page" in query:
            start = (int(query["page"]) - 1) * limit
        else:
            start = int(query.get("offset", "0"))
        data = cases[start: start + limit]
        more = len(cases) > start + limit
        token = _encode((data[-1]["updatedAt"], data[-1]["caseNo"])) if more and data else None
        keep = {k: v for k, v in query.items() if k in ("updated_after", "limit")}
        link = f"{API}?{urlencode({**keep, 'cursor': token})}" if token else None
        meta = {"next_cursor": token, "total": len(cases)}
        return {"data": data, "links": {"next": link}, "meta": meta}, link

    def _client(self, form: dict[str, str]) -> tuple[str | None, str | None]:
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            with contextlib.suppress(binascii.Error, UnicodeDecodeError, ValueError):
                user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
                return user, password
        return form.get("client_id"), form.get("client_secret")

    # -- answers -----------------------------------------------------------------------------------

    def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _hostile(self, body: dict[str, Any]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError, OSError):
            for chunk in self._hostile_chunks(body):
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        self.close_connection = True

    def _hostile_chunks(self, body: dict[str, Any]) -> Iterator[bytes]:
        server = self.server
        if server.deep_page:
            yield b'{"data": ' + b"[" * server.deep_page
            yield b"]" * server.deep_page + b', "links": {"next": null}}'
        elif server.huge_field_bytes:
            case = dict(body["data"][0], facts="@")
            head, _, tail = json.dumps({"data": [case], "links": {"next": None}}).encode().partition(b'"@"')
            yield head + b'"'
            block = b"x" * (1024 * 1024)
            for _ in range(server.huge_field_bytes // len(block)):
                yield block
            yield b'"' + tail
        else:
            for byte in json.dumps(body).encode():
                time.sleep(server.trickle_s or 0)
                yield bytes([byte])


def _after(text: str) -> int:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("updated_after must be ISO-8601 with an offset, e.g. 2026-05-03T08:00:00+08:00")
    return round(moment.timestamp() * 1000)


def _encode(position: tuple[int, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


def _decode(token: str) -> tuple[int, str]:
    try:
        at, case_no = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, binascii.Error):
        raise ValueError("cursor is not one this API gave") from None
    return int(at), str(case_no)


def run_from_options(options: SimulatorOptions) -> None:
    """``creditsync source-sim urban_management``: serve until SIGTERM or SIGINT. The client id is
    ``creditsync-changqing``, the client secret the demo source token (CREDITSYNC_SOURCE_TOKEN)."""
    server = UrbanManagementServer((options.host, options.port), CaseStore(seed=options.seed), options.token)
    signal.signal(signal.SIGTERM, _interrupt)
    host, port = server.server_address[:2]
    print(f"urban_management simulator on http://{host!s}:{port} (client id {CLIENT_ID})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # unwinds serve_forever exactly like Ctrl-C does
