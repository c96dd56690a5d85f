"""What the HTTP department simulators share: a server holding the department's store and API token,
and a handle on one serving in a background thread."""

from __future__ import annotations

import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Generic, Protocol, Self, TypeVar


class DepartmentStore(Protocol):
    @property
    def broken_ids(self) -> dict[str, str]: ...


S = TypeVar("S", bound=DepartmentStore)


class TokenServer(ThreadingHTTPServer, Generic[S]):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], store: S,
                 token: str | None) -> None:
        super().__init__(address, handler)
        self.store = store
        self.token = token or secrets.token_urlsafe(16)  # without one, a random token (read .token)


class RunningServer(Generic[S]):
    """A simulator serving in a background thread; a context manager that stops it on exit."""

    def __init__(self, server: TokenServer[S], name: str) -> None:
        self._server = server
        # A short poll interval: stop() (shutdown) waits for the next poll, and tests stop servers often.
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name=f"{name}-sim", daemon=True)
        self._thread.start()
        self.store: S = server.store
        self.token: str = server.token
        host, port = server.server_address[:2]
        self.host, self.port = str(host), int(port)
        self.url = f"http://{self.host}:{self.port}"

    @property
    def broken_ids(self) -> dict[str, str]:
        return self.store.broken_ids

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()
