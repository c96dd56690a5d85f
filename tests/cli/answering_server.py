"""A real HTTP server on 127.0.0.1 that gives every request the same answer: what a broken proxy, a
maintenance page or a misbehaving platform sends. ``{app_key}`` in the body is replaced by the appKey
header the request carried (a platform that echoes the key in its error message)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HTML_PAGE = "<html><head><title>系统维护</title></head><body>系统维护中，请稍后再试</body></html>"


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    content_type: str = "application/json; charset=utf-8"


def envelope(status: int, message: str) -> Answer:
    """The platform's own error envelope (docs/platform-protocol.md) carrying ``message``."""
    inner = {"code": str(status), "msg": message, "data": [], "error": ""}
    return Answer(status, json.dumps({"code": status, "data": inner}, ensure_ascii=False))


@contextmanager
def answering(answer: Answer) -> Iterator[str]:
    """Serve ``answer`` until the block ends; yields the base URL."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            body = answer.body.replace("{app_key}", self.headers.get("appKey", "")).encode("utf-8")
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
