"""What every HTTP-speaking source shares: the transport options, authentication (the ``auth``
registry of :mod:`creditsync.sources.http_auth`), URLs kept on the Connection's host, requests that
are rate limited, retried, refreshed once after a 401 and read within the read's deadlines and the
page size limit, one ``check()``, and the source-side wording of HTTP errors. The HTTP itself (send,
status classification, Retry-After, the retry policy) is :mod:`creditsync.http`, shared with delivery.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, TypeVar
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from pydantic import Field
from tenacity import Retrying

from creditsync import http
from creditsync.exceptions import ConfigurationError, RetriableError
from creditsync.secrets import Connection
from creditsync.sources.base import AdapterOptions, SourceAdapter
from creditsync.sources.http_auth import AuthConfig, AuthContext, Authenticator, BearerAuth, start_auth
from creditsync.sources.limits import SourceLimitError

log = logging.getLogger(__name__)
T = TypeVar("T")

# A source read is cheap to repeat: a few quick attempts, then the run fails and the next one retries.
SOURCE_MAX_ATTEMPTS = 4
SOURCE_MAX_WAIT_S = 8.0
SOURCE_RETRY_AFTER_CAP_S = 120.0
CHUNK = 64 * 1024
CONNECT_TIMEOUT_S = 10.0
ERROR_BODY_BYTES = 2048


def default_retrying() -> Retrying:
    """The sources' policy: a few attempts on RetriableError only, short waits, honour Retry-After."""
    return http.retry_policy(SOURCE_MAX_ATTEMPTS, SOURCE_MAX_WAIT_S, jitter=0.0,
                             retry_after_cap=SOURCE_RETRY_AFTER_CAP_S)


class HttpOptions(AdapterOptions):
    """How to reach an HTTP source; secrets always come from the Connection."""

    timeout_s: float = Field(default=30.0, gt=0, description="longest wait for any one read of the answer")
    verify_tls: bool = True
    headers: dict[str, str] = Field(default_factory=dict, description="extra request headers")
    check_path: str | None = Field(default=None, description="what `check` GETs; default the base URL")
    auth: AuthConfig = Field(default_factory=BearerAuth, description="bearer (default), api_key, basic, "
                             "oauth2_client_credentials, session_token or none")


@dataclass
class Answer:
    """A successful answer, read whole within the limits."""

    url: str
    headers: Mapping[str, str]
    content: bytes
    encoding: str | None


class Budget(Protocol):
    """The read's deadlines (a :class:`creditsync.sources.reading.StreamRead`)."""

    def check(self) -> None: ...

    def remaining(self) -> float: ...


class _Unbounded:
    def check(self) -> None:
        return None

    def remaining(self) -> float:
        return float("inf")


UNBOUNDED = _Unbounded()


class HttpSourceAdapter(SourceAdapter):
    """Options models of subclasses extend :class:`HttpOptions`."""

    accept: ClassVar[str] = "*/*"
    retry_reads = False  # each request is retried here
    rate_limits_requests = True  # each request (and token call) takes its turn here

    def __init__(
        self,
        department: str,
        options: Mapping[str, Any] | None,
        connection: Connection | None,
        *,
        session: requests.Session | None = None,
        retrying: Retrying | None = None,
        clock: Callable[[], float] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(department, options, connection, **kwargs)
        self.options: HttpOptions
        self._session, self._owns_session = session, session is None  # tests pass their own seam
        self.retrying = retrying or default_retrying()
        self._clock = clock
        self._auth: Authenticator | None = None

    # -- requests --------------------------------------------------------------------------------

    @property
    def auth(self) -> Authenticator:
        """Started on first use (a login or token call is I/O)."""
        if self._auth is None:
            ctx = AuthContext(self.connection, self._post, self._auth_url, self._where())
            if self._clock is not None:
                ctx.clock = self._clock
            self._auth = start_auth(self.options.auth, ctx)
        return self._auth

    def get(self, url: str, params: Mapping[str, Any] | None, *, budget: Budget, max_bytes: int,
            parse: Callable[[Answer], T], why: str = "read") -> T:
        """A GET answered with success, read whole (at most ``max_bytes``, within the deadlines that
        ``budget`` enforces) and parsed; retried by the policy (a page garbled in transit too),
        refreshed once after a 401, failures classified."""
        return http.call_with_retries(
            self.retrying, lambda: parse(self._attempt(url, params, budget, max_bytes, why)))

    def open(self, url: str, params: Mapping[str, Any] | None, *, budget: Budget,
             why: str = "read") -> requests.Response:
        """A GET answered with success whose body is still to be read (``body_chunks``)."""
        return http.call_with_retries(self.retrying, lambda: self._answered(url, params, budget, why))

    def _attempt(self, url: str, params: Mapping[str, Any] | None, budget: Budget, max_bytes: int,
                 why: str) -> Answer:
        response = self._answered(url, params, budget, why)
        with response:
            content = b"".join(body_chunks(response, budget, max_bytes, self._where()))
            return Answer(response.url or url, response.headers, content, response.encoding)

    def _answered(self, url: str, params: Mapping[str, Any] | None, budget: Budget,
                  why: str) -> requests.Response:
        response = self._send(url, params, budget, why)
        if response.status_code == 401 and self.auth.refresh():
            response.close()
            log.info("%s: credentials refused once, renewed them and asked again", self._where())
            response = self._send(url, params, budget, why)
        if response.status_code >= 400:
            with response:
                self.raise_for_status(response, budget)
        return response

    def _send(self, url: str, params: Mapping[str, Any] | None, budget: Budget,
              why: str) -> requests.Response:
        budget.check()
        self.rate_limiter.acquire()
        headers = {"Accept": self.accept, **self.options.headers}
        query = dict(params or {})
        self.auth.apply(headers, query)
        log.debug("%s %s GET %s", self.department, why, url)
        return http.send(self._http_session(), "GET", url, errors=http.SOURCE_ERRORS, params=query or None,
                         headers=headers, timeout=self._timeout(budget), verify=self.options.verify_tls,
                         stream=True, secrets=self._secrets())

    def _post(self, url: str, **kwargs: Any) -> requests.Response:
        """A login or token request (never retried blindly by the server: the policy retries it)."""
        self.rate_limiter.acquire()
        try:
            return self._http_session().post(url, timeout=self._timeout(), verify=self.options.verify_tls,
                                             **kwargs)
        except requests.RequestException as exc:
            raise RetriableError(f"{self._where()}: cannot reach {url.split('?', 1)[0]}: "
                                 f"{type(exc).__name__}") from exc

    def _timeout(self, budget: Budget = UNBOUNDED) -> tuple[float, float]:
        """Each wait for the answer ends by the read's deadline: a silent source fails in time."""
        read = max(min(self.options.timeout_s, budget.remaining()), 0.05)
        return min(CONNECT_TIMEOUT_S, read), read

    def check(self) -> None:
        """GET ``check_path`` (must succeed) or the base URL (any answer but a refusal or 5xx will do)."""
        path = self.options.check_path
        url = self._url(path or "")

        def attempt() -> None:
            response = self._send(url, None, UNBOUNDED, "check")
            if response.status_code == 401 and self.auth.refresh():
                response.close()
                response = self._send(url, None, UNBOUNDED, "check")
            with response:
                status = response.status_code
                if path is None and status < 500 and status not in (401, 403, 429):
                    return  # reachable, and the credentials were not refused
                self.raise_for_status(response, UNBOUNDED)

        http.call_with_retries(self.retrying, attempt)

    def close(self) -> None:
        if self._session is not None and self._owns_session:
            self._session.close()
            self._session = None

    # -- for subclasses --------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self.connection is None:
            raise ConfigurationError(f"{self._where()}: an HTTP source needs source.connection_id")
        return self.connection.base_url.rstrip("/") + "/"

    def _url(self, path: str) -> str:
        """``path`` joined to the Connection's base URL; it must not leave that host (the token)."""
        url = urljoin(self.base_url, path)
        if same_origin(url, self.base_url):
            return url
        raise ConfigurationError(f"{self._where()}: path {path!r} leaves the connection's host")

    def _auth_url(self, path: str) -> str:
        """A token URL may live on another host (an identity server), over https only."""
        url = urljoin(self.base_url, path)
        if same_origin(url, self.base_url) or urlsplit(url).scheme == "https":
            return url
        raise ConfigurationError(f"{self._where()}: token URL {path!r} leaves the connection's host "
                                 "without https")

    def raise_for_status(self, response: requests.Response, budget: Budget) -> None:
        status = response.status_code
        if status < 400:
            return
        where = self._where()
        retry_after = http.parse_retry_after(response.headers.get("Retry-After"))
        failure = http.classify(status, retry_after)
        if failure is http.Failure.AUTH:
            message = f"{where}: credentials refused (HTTP {status}); check the Connection"
        elif failure is http.Failure.RATE_LIMITED:
            message = f"{where}: rate limited (HTTP {status})"
        elif failure in (http.Failure.SERVER, http.Failure.TIMEOUT, http.Failure.UNEXPECTED):
            message = f"{where}: server error HTTP {status}: {self._snippet(response, budget)}"
        else:
            message = f"{where}: HTTP {status}: {self._snippet(response, budget)}"
        url = (response.url or "").split("?", 1)[0]
        raise http.SOURCE_ERRORS.error(failure, message, retry_after=retry_after, url=url, status=status)

    def _snippet(self, response: requests.Response, budget: Budget) -> str:
        try:
            content = b"".join(body_chunks(response, budget, ERROR_BODY_BYTES, self._where(), truncate=True))
        except (RetriableError, SourceLimitError):
            content = b""
        text = content.decode(response.encoding or "utf-8", errors="replace")
        return http.redact(text[:300].replace("\n", " "), self._secrets())

    def _http_session(self) -> requests.Session:
        if self._session is None:
            self._session = requests.Session()
        return self._session

    def _secrets(self) -> tuple[str, ...]:
        own = self.auth.secrets() if self._auth is not None else ()
        password = self.connection.password if self.connection else None
        return tuple(s for s in (*own, password) if s)


def body_chunks(response: requests.Response, budget: Budget, max_bytes: int, where: str, *,
                truncate: bool = False, limit: str = "max_page_bytes") -> Iterator[bytes]:
    """The body (decompressed) as it arrives, ``budget.check`` called between reads so a source trickling
    bytes is stopped at its deadline; more than ``max_bytes`` is a permanent error (or, with
    ``truncate``, the end). A connection that breaks is retriable."""
    raw = response.raw
    total = 0
    while True:
        budget.check()
        try:
            if isinstance(raw, urllib3.BaseHTTPResponse):
                chunk = raw.read1(CHUNK, decode_content=True)  # as soon as any bytes are there
            else:
                chunk = raw.read(CHUNK) if raw is not None else b""
        except (urllib3.exceptions.HTTPError, OSError, requests.RequestException) as exc:
            budget.check()  # a read that timed out past the deadline is the deadline's failure
            raise RetriableError(f"{where}: the connection broke while reading the answer: "
                                 f"{type(exc).__name__}") from exc
        if not chunk:
            return
        total += len(chunk)
        if total > max_bytes:
            if truncate:
                yield chunk[: max_bytes - (total - len(chunk))]
                return
            raise SourceLimitError(f"{where}: the answer is larger than {limit} ({max_bytes} bytes); "
                                   "stopped reading it", limit)
        yield chunk


def same_origin(url: str, base: str) -> bool:
    return _origin(url) == _origin(base)


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()
