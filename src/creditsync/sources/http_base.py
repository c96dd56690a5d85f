"""What every HTTP-speaking source shares: an injectable session and retry policy, the token header
taken from the Connection's password, URLs kept on the Connection's host, one ``check()``, the
source-side wording of HTTP errors, and closing what it opened. The HTTP itself (send, status
classification, Retry-After, the retry policy) is :mod:`creditsync.http`, shared with delivery."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urljoin, urlsplit

import requests
from tenacity import Retrying

from creditsync import http
from creditsync.exceptions import ConfigurationError
from creditsync.secrets import Connection
from creditsync.sources.base import SourceAdapter

log = logging.getLogger(__name__)

# A source read is cheap to repeat: a few quick attempts, then the run fails and the next one retries.
SOURCE_MAX_ATTEMPTS = 4
SOURCE_MAX_WAIT_S = 8.0
SOURCE_RETRY_AFTER_CAP_S = 120.0


def default_retrying() -> Retrying:
    """The sources' policy: a few attempts on RetriableError only, short waits, honour Retry-After."""
    return http.retry_policy(SOURCE_MAX_ATTEMPTS, SOURCE_MAX_WAIT_S, jitter=0.0,
                             retry_after_cap=SOURCE_RETRY_AFTER_CAP_S)


class HttpSourceAdapter(SourceAdapter):
    """Options models of subclasses extend :class:`creditsync.http.TransportOptions`."""

    accept: ClassVar[str] = "*/*"

    def __init__(
        self,
        department: str,
        options: Mapping[str, Any] | None,
        connection: Connection | None,
        *,
        rate_limit_per_s: float | None = None,
        session: requests.Session | None = None,
        retrying: Retrying | None = None,
    ) -> None:
        super().__init__(department, options, connection, rate_limit_per_s=rate_limit_per_s)
        self.options: http.TransportOptions
        self._session, self._owns_session = session, session is None  # tests pass their own seam
        self.retrying = retrying or default_retrying()

    def check(self) -> None:
        """GET ``check_path`` (must succeed) or the base URL (any answer but a refusal or 5xx will do)."""
        path = self.options.check_path
        url = self._url(path or "")

        def attempt() -> None:
            with self._request(url, None, "check") as response:
                status = response.status_code
                if path is None and status < 500 and status not in (401, 403, 429):
                    return  # reachable, and the token was not refused
                self.raise_for_status(response)

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

    def _request(self, url: str, params: Mapping[str, Any] | None, why: str, *,
                 stream: bool = False) -> requests.Response:
        """One GET, rate limited; no answer raises RetriableError. The caller classifies the status."""
        self.rate_limiter.acquire()
        log.debug("%s %s GET %s params=%s", self.department, why, url, params)
        return http.send(self._http_session(), "GET", url, errors=http.SOURCE_ERRORS, params=params,
                         headers=self._headers(), timeout=self.options.timeout_s,
                         verify=self.options.verify_tls, stream=stream, secrets=self._secrets())

    def _get_ok(self, url: str, params: Mapping[str, Any] | None, why: str, *,
                stream: bool = False) -> requests.Response:
        """A GET that succeeded (retried by the policy); a failure status raises, classified."""

        def attempt() -> requests.Response:
            response = self._request(url, params, why, stream=stream)
            if response.status_code >= 400:
                with response:
                    self.raise_for_status(response)
            return response

        return http.call_with_retries(self.retrying, attempt)

    def raise_for_status(self, response: requests.Response) -> None:
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
            message = f"{where}: server error HTTP {status}: {http.snippet(response, self._secrets())}"
        else:
            message = f"{where}: HTTP {status}: {http.snippet(response, self._secrets())}"
        url = (response.url or "").split("?", 1)[0]
        raise http.SOURCE_ERRORS.error(failure, message, retry_after=retry_after, url=url, status=status)

    def _http_session(self) -> requests.Session:
        if self._session is None:
            self._session = requests.Session()
        return self._session

    def _headers(self) -> dict[str, str]:
        token = self.connection.password if self.connection else None
        return self.options.request_headers(token, self.accept)

    def _secrets(self) -> tuple[str, ...]:
        token = self.connection.password if self.connection else None
        return (token,) if token else ()


def same_origin(url: str, base: str) -> bool:
    return _origin(url) == _origin(base)


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()
