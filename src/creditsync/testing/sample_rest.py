"""A live REST source made from a department's sample records, speaking whatever its YAML declares: the
``auth`` kind (a token endpoint, a login call, a key, Basic or a bearer token), the ``paginator``
(page numbers, offsets, next links in the body or the ``Link`` header, cursor tokens, one page), the
cursor filter in ``cursor_param_format`` and the records' ``cursor_format``. So a REST department's
conformance test needs no Python: ``tests/fixtures/<department>/<category>.jsonl`` holds its records as
the department's API gives them."""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

from creditsync.departments import DepartmentConfig
from creditsync.secrets import Connection
from creditsync.sources._records import MISSING, dig
from creditsync.sources.base import RecordShape
from creditsync.sources.cursor import Cursor
from creditsync.sources.rest import RestOptions, RestSourceAdapter, RestStreamOptions

LOGIN, PASSWORD = "sample-client", "sample-secret"


@dataclass
class Feed:
    category: str
    options: RestStreamOptions
    shape: RecordShape
    rows: list[dict[str, Any]]

    def matches(self, path: str, query: dict[str, str]) -> bool:
        own = _path(self.options.path or "")
        return own == path and all(query.get(k) == str(v) for k, v in self.options.params.items())


@dataclass
class SampleApi:
    """The department's declared API over its sample rows."""

    options: RestOptions
    feeds: list[Feed]
    tokens: set[str] = field(default_factory=set)

    def answer(self, path: str, query: dict[str, str], headers: Any) -> tuple[int, Any, dict[str, str]]:
        if not self._authorised(query, headers):
            return 401, {"error": "unauthorised"}, {}
        for feed in self.feeds:
            if feed.matches(path, query):
                return self._page(feed, path, query)
        return 404, {"error": "no such feed"}, {}

    def login(self, path: str, form: dict[str, Any], headers: Any) -> tuple[int, Any, dict[str, str]]:
        auth = self.options.auth
        token = secrets.token_urlsafe(12)
        if auth.type == "oauth2_client_credentials" and path == _path(auth.token_url):
            sent = _basic(headers) or (form.get("client_id"), form.get("client_secret"))
            if sent != (LOGIN, PASSWORD):
                return 401, {"error": "invalid_client"}, {}
            self.tokens.add(token)
            return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600}, {}
        if auth.type == "session_token" and path == _path(auth.login_path):
            if (form.get(auth.username_field), form.get(auth.password_field)) != (LOGIN, PASSWORD):
                return 401, {"error": "wrong login"}, {}
            self.tokens.add(token)
            if auth.cookie:
                return 200, {"ok": True}, {"Set-Cookie": f"{auth.cookie}={token}; Path=/"}
            return 200, _nest(auth.token_path or "token", token), {}
        return 404, {"error": "no such call"}, {}

    def _authorised(self, query: dict[str, str], headers: Any) -> bool:
        auth = self.options.auth
        if auth.type == "none":
            return True
        if auth.type == "basic":
            return _basic(headers) == (LOGIN, PASSWORD)
        if auth.type == "api_key":
            sent = query.pop(auth.name, None) if auth.location == "query" else headers.get(auth.name)
            return sent == auth.prefix + PASSWORD
        if auth.type == "session_token" and auth.cookie:
            cookies = dict(part.strip().split("=", 1) for part in (headers.get("Cookie") or "").split(";")
                           if "=" in part)
            return cookies.get(auth.cookie) in self.tokens
        header = "Authorization" if auth.type == "oauth2_client_credentials" else auth.header
        value = headers.get(header) or ""
        if auth.type == "bearer":
            bearer = "Bearer " if header.lower() == "authorization" else ""
            return value == (auth.prefix if auth.prefix is not None else bearer) + PASSWORD
        return value.split(" ")[-1] in self.tokens

    def _page(self, feed: Feed, path: str, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        rows = _filtered(feed, query)
        paginator, opts = feed.options.paginator, feed.options
        size_param = getattr(paginator, "size_param", None) or ""
        size = int(query.get(size_param, getattr(paginator, "page_size", 100)))
        start, extra = 0, {}
        if paginator.type == "page_number":
            page = int(query.get(paginator.page_param, paginator.first_page))
            start = (page - paginator.first_page) * size
            if paginator.total_pages_field:
                extra = _nest(paginator.total_pages_field, max(1, -(-len(rows) // size)))
        elif paginator.type == "offset":
            start = int(query.get(paginator.offset_param, 0))
            if paginator.total_field:
                extra = _nest(paginator.total_field, len(rows))
        elif paginator.type == "cursor_token" and paginator.token_param in query:
            start = int(query[paginator.token_param])
        elif paginator.type == "next_link" and "_from" in query:
            start = int(query["_from"])
        elif paginator.type == "none":
            size = len(rows) or 1
        items = rows[start: start + size]
        more = start + size < len(rows)
        body: dict[str, Any] = _merge(_nest(opts.items_field, items) if opts.items_field else {}, extra)
        headers: dict[str, str] = {}
        if paginator.type == "cursor_token":
            body = _merge(body, _nest(paginator.token_path, str(start + size) if more else None))
        elif paginator.type == "next_link":
            link = f"{path}?{urlencode({**query, '_from': start + size})}" if more else None
            if paginator.header:
                headers = {"Link": f'<{link}>; rel="next"'} if link else {}
            else:
                body = _merge(body, _nest(paginator.path or "next", link))
        return 200, body if opts.items_field else items, headers


def _filtered(feed: Feed, query: dict[str, str]) -> list[dict[str, Any]]:
    opts, shape = feed.options, feed.shape
    since = query.get(opts.cursor_param or "")
    bound = (opts.cursor_param_format or opts.cursor_format).read(since, shape.zone) if since else None

    def cursor(row: dict[str, Any]) -> Cursor | None:
        value = dig(row, shape.cursor_field or "")
        try:
            return None if value is MISSING else shape.cursor_format.read(value, shape.zone)
        except (ValueError, ArithmeticError):
            return None

    keyed = [(cursor(row), str(dig(row, shape.key_field)), row) for row in feed.rows]
    kept = [k for k in keyed if bound is None or k[0] is None or k[0] >= bound]
    never = Cursor.of_number(-(2**62))
    return [row for _, _, row in sorted(kept, key=lambda k: (k[0] or never, k[1]))]


def serve_rest(config: DepartmentConfig,
               rows: dict[str, list[dict[str, Any]]]) -> tuple[str, Callable[[], None]]:
    """Start the sample API of ``config`` over ``rows`` per category; returns its Connection URI
    (with the sample login and password) and how to stop it."""
    adapter = RestSourceAdapter(config.department, config.source.options, Connection("sample", host="x"))
    feeds = []
    for stream in config.streams:
        opts = adapter.stream_options(stream.category, stream.options)
        feeds.append(Feed(stream.category, opts, adapter.record_shape(opts), rows[stream.category]))
    api = SampleApi(adapter.options, feeds)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the name http.server dispatches to
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            self._send(*api.answer(parts.path, query, self.headers))

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            form = json.loads(body) if body.startswith("{") else {k: v[-1] for k, v in parse_qs(body).items()}
            self._send(*api.login(urlsplit(self.path).path, form, self.headers))

        def _send(self, status: int, payload: Any, headers: dict[str, str]) -> None:
            data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # http.server's signature
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return f"http://{LOGIN}:{PASSWORD}@127.0.0.1:{server.server_address[1]}", stop


def _path(url: str) -> str:
    return urlsplit(urljoin("http://x/", url)).path


def _basic(headers: Any) -> tuple[str, str] | None:
    value = headers.get("Authorization") or ""
    if not value.startswith("Basic "):
        return None
    user, _, password = base64.b64decode(value[6:]).decode().partition(":")
    return user, password


def _nest(path: str, value: Any) -> dict[str, Any]:
    out: Any = value
    for part in reversed(path.split(".")):
        out = {part: out}
    return dict(out)


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    merged = dict(a)
    for key, value in b.items():
        both = isinstance(value, dict) and isinstance(merged.get(key), dict)
        merged[key] = _merge(merged[key], value) if both else value
    return merged
