"""What every HTTP-speaking source shares: an injectable session and retry policy, the token header
taken from the Connection's password, and closing what it opened."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import requests
from tenacity import Retrying

from creditsync.secrets import Connection
from creditsync.sources._http import default_retrying
from creditsync.sources.base import SourceAdapter


class HttpSourceAdapter(SourceAdapter):
    """Options models of subclasses carry ``headers``, ``token_header`` and ``token_prefix``."""

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
        self._session, self._owns_session = session, session is None  # tests pass their own seam
        self.retrying = retrying or default_retrying()

    def close(self) -> None:
        if self._session is not None and self._owns_session:
            self._session.close()
            self._session = None

    def _http_session(self) -> requests.Session:
        if self._session is None:
            self._session = requests.Session()
        return self._session

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": self.accept, **self.options.headers}
        token = self.connection.password if self.connection else None
        if token:
            header, prefix = self.options.token_header, self.options.token_prefix
            if prefix is None:
                prefix = "Bearer " if header.lower() == "authorization" else ""
            headers[header] = prefix + token
        return headers
