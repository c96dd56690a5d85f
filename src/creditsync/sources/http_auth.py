"""How an HTTP source proves who it is: a registry of auth kinds chosen by ``auth.type``.

Secrets never go in YAML: every kind takes them from the source's Connection.

* ``bearer`` (default): ``Authorization: Bearer <token>`` (or ``header``/``prefix``); the token is the
  Connection's password;
* ``api_key``: the key (the password) in header or query parameter ``name`` (``location``);
* ``basic``: HTTP Basic with the Connection's login and password;
* ``oauth2_client_credentials``: a bearer token from ``token_url`` (grant ``client_credentials``; the
  client id is the login, the client secret the password), renewed before it expires (its
  ``expires_in``, less ``refresh_before_s``, at most ``max_lifetime_s``) and once after a 401;
* ``session_token``: a token from a login call (``login_path``, login and password), read from the
  answer (``token_path``) or a cookie (``cookie``); logs in again once after a 401;
* ``none``.

Tokens obtained at run time are registered as secrets: masked in every message and log line.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import requests
from pydantic import Discriminator, Field, Tag

from creditsync import http
from creditsync.exceptions import ConfigurationError, FatalError
from creditsync.secrets import Connection, register_secret
from creditsync.sources._records import MISSING, dig
from creditsync.sources.base import AdapterOptions, type_of

Post = Callable[..., requests.Response]


@dataclass
class AuthContext:
    """What an authenticator may use: the Connection, the adapter's way of sending a login or token
    request (``post(url, data=..., json=..., auth=...)``, answered and bounded like any request), URLs
    resolved against the Connection (``url``), a clock seam and where it is (for messages)."""

    connection: Connection | None
    post: Post
    url: Callable[[str], str]
    where: str
    clock: Callable[[], float] = time.monotonic


class Authenticator(ABC):
    """One read's authentication state."""

    @abstractmethod
    def apply(self, headers: dict[str, str], params: dict[str, Any]) -> None:
        """Add the credentials to a request about to be sent."""

    def refresh(self) -> bool:
        """After a 401: obtain new credentials; False when there is nothing new to try."""
        return False

    def secrets(self) -> tuple[str, ...]:
        return ()


# -- the kinds ---------------------------------------------------------------------------------------


class BearerAuth(AdapterOptions):
    type: Literal["bearer"] = "bearer"
    header: str = "Authorization"
    prefix: str | None = Field(default=None, description='default "Bearer " in Authorization, else none')

    def start(self, ctx: AuthContext) -> Authenticator:
        prefix = self.prefix if self.prefix is not None else (
            "Bearer " if self.header.lower() == "authorization" else "")
        return _Static(self.header, prefix, _password(ctx, "the token"), "header")


class ApiKeyAuth(AdapterOptions):
    type: Literal["api_key"]
    name: str = Field(default="X-API-Key", description="header or query parameter name")
    location: Literal["header", "query"] = "header"
    prefix: str = ""

    def start(self, ctx: AuthContext) -> Authenticator:
        return _Static(self.name, self.prefix, _password(ctx, "the API key"), self.location)


class BasicAuth(AdapterOptions):
    type: Literal["basic"]

    def start(self, ctx: AuthContext) -> Authenticator:
        login, password = _login(ctx), _password(ctx, "the password")
        value = requests.auth._basic_auth_str(login, password)
        return _Static("Authorization", "", value, "header", extra_secret=password)


class OAuth2ClientCredentials(AdapterOptions):
    type: Literal["oauth2_client_credentials"]
    token_url: str = Field(description="relative to the Connection's base URL, or an https:// URL")
    scope: str | None = None
    client_auth: Literal["body", "basic"] = Field(
        default="body", description="client id and secret in the form body, or as HTTP Basic")
    token_params: dict[str, str] = Field(default_factory=dict, description="extra form fields (audience)")
    refresh_before_s: float = Field(default=60.0, ge=0, description="renew this long before expiry")
    max_lifetime_s: float = Field(default=3600.0, gt=0, description="renew at the latest after this")

    def start(self, ctx: AuthContext) -> Authenticator:
        return _OAuth2(self, ctx, _login(ctx), _password(ctx, "the client secret"))


class SessionToken(AdapterOptions):
    type: Literal["session_token"]
    login_path: str = Field(description="the login call (POST), relative to the Connection's base URL")
    login_format: Literal["json", "form"] = "json"
    username_field: str = "username"
    password_field: str = "password"
    token_path: str | None = Field(default="token", description="dotted path of the token in the answer")
    cookie: str | None = Field(default=None, description="or: the session cookie the login sets")
    header: str = "Authorization"
    prefix: str | None = None

    def start(self, ctx: AuthContext) -> Authenticator:
        if self.cookie is None and self.token_path is None:
            raise ConfigurationError(f"{ctx.where}: session_token needs token_path or cookie")
        return _Session(self, ctx, _login(ctx), _password(ctx, "the password"))


class NoAuth(AdapterOptions):
    type: Literal["none"]

    def start(self, ctx: AuthContext) -> Authenticator:
        return _Static("", "", "", "none")


AUTH_KINDS = ("bearer", "api_key", "basic", "oauth2_client_credentials", "session_token", "none")
AuthConfig = Annotated[
    Annotated[BearerAuth, Tag("bearer")] | Annotated[ApiKeyAuth, Tag("api_key")]
    | Annotated[BasicAuth, Tag("basic")]
    | Annotated[OAuth2ClientCredentials, Tag("oauth2_client_credentials")]
    | Annotated[SessionToken, Tag("session_token")] | Annotated[NoAuth, Tag("none")],
    Discriminator(type_of("bearer", AUTH_KINDS))]


def start_auth(config: Any, ctx: AuthContext) -> Authenticator:
    authenticator: Authenticator = config.start(ctx)
    return authenticator


# -- authenticators ----------------------------------------------------------------------------------


class _Static(Authenticator):
    def __init__(self, name: str, prefix: str, value: str, location: str, extra_secret: str = "") -> None:
        self.name, self.prefix, self.value, self.location = name, prefix, value, location
        self._secrets = tuple(s for s in (value, extra_secret) if s)

    def apply(self, headers: dict[str, str], params: dict[str, Any]) -> None:
        if self.location == "header":
            headers[self.name] = self.prefix + self.value
        elif self.location == "query":
            params[self.name] = self.prefix + self.value

    def secrets(self) -> tuple[str, ...]:
        return self._secrets


class _Expiring(Authenticator):
    """A token obtained by a call, renewed when it is about to expire and once after a 401."""

    def __init__(self, ctx: AuthContext, secret: str) -> None:
        self.ctx = ctx
        self.token: str | None = None
        self.renew_at = 0.0
        self._secrets: list[str] = [secret]
        self.fetched = 0

    @abstractmethod
    def _obtain(self) -> tuple[str, float | None]:
        """A new token and its lifetime in seconds (None: unknown)."""

    def _lifetime(self, claimed: float | None) -> float:
        return 3600.0 if claimed is None else claimed

    def _ensure(self) -> str:
        if self.token is None or self.ctx.clock() >= self.renew_at:
            self._renew()
        assert self.token is not None
        return self.token

    def _renew(self) -> None:
        token, lifetime = self._obtain()
        self.fetched += 1
        register_secret(token)  # masked in every log line and message from now on
        self._secrets.append(token)
        self.token = token
        self.renew_at = self.ctx.clock() + self._lifetime(lifetime)

    def refresh(self) -> bool:
        self._renew()
        return True

    def secrets(self) -> tuple[str, ...]:
        return tuple(self._secrets)


class _OAuth2(_Expiring):
    def __init__(self, config: OAuth2ClientCredentials, ctx: AuthContext, client_id: str,
                 secret: str) -> None:
        super().__init__(ctx, secret)
        self.config, self.client_id, self.secret = config, client_id, secret
        self.token_type = "Bearer"

    def apply(self, headers: dict[str, str], params: dict[str, Any]) -> None:
        token = self._ensure()
        headers["Authorization"] = f"{self.token_type} {token}"

    def _lifetime(self, claimed: float | None) -> float:
        """Renew ``refresh_before_s`` ahead of the claimed expiry (half-way for short lives), and at the
        latest after ``max_lifetime_s``: a token server's ``expires_in`` is a claim, not a promise."""
        ceiling = self.config.max_lifetime_s
        life = min(claimed if claimed and claimed > 0 else ceiling, ceiling)
        return max(life - self.config.refresh_before_s, life / 2)

    def _obtain(self) -> tuple[str, float | None]:
        form = {"grant_type": "client_credentials", **self.config.token_params}
        if self.config.scope:
            form["scope"] = self.config.scope
        basic = None
        if self.config.client_auth == "basic":
            basic = (self.client_id, self.secret)
        else:
            form.update(client_id=self.client_id, client_secret=self.secret)
        body = _token_answer(self.ctx, self.ctx.post(self.ctx.url(self.config.token_url), data=form,
                                                     auth=basic), "the token server")
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise FatalError(f"{self.ctx.where}: the token server's answer has no access_token")
        kind = body.get("token_type")
        self.token_type = "Bearer" if not isinstance(kind, str) or kind.lower() == "bearer" else kind
        return token, _seconds(body.get("expires_in"))


class _Session(_Expiring):
    def __init__(self, config: SessionToken, ctx: AuthContext, login: str, password: str) -> None:
        super().__init__(ctx, password)
        self.config, self.login, self.password = config, login, password

    def _lifetime(self, claimed: float | None) -> float:
        return float("inf")  # a session lives until the source says otherwise (401)

    def apply(self, headers: dict[str, str], params: dict[str, Any]) -> None:
        token = self._ensure()
        if self.config.cookie is None:
            prefix = self.config.prefix if self.config.prefix is not None else (
                "Bearer " if self.config.header.lower() == "authorization" else "")
            headers[self.config.header] = prefix + token
        # a cookie rides in the session's cookie jar

    def _obtain(self) -> tuple[str, float | None]:
        fields = {self.config.username_field: self.login, self.config.password_field: self.password}
        kwargs: dict[str, Any] = {"json": fields} if self.config.login_format == "json" else {"data": fields}
        response = self.ctx.post(self.ctx.url(self.config.login_path), **kwargs)
        if self.config.cookie is not None:
            _token_answer(self.ctx, response, "the login call", parse=False)
            token = response.cookies.get(self.config.cookie)
            if not token:
                raise FatalError(f"{self.ctx.where}: the login call set no cookie {self.config.cookie!r}")
            return token, None
        body = _token_answer(self.ctx, response, "the login call")
        token = dig(body, self.config.token_path or "")
        if token is MISSING or not isinstance(token, str) or not token:
            raise FatalError(f"{self.ctx.where}: the login answer has no token at {self.config.token_path!r}")
        return token, None


# -- helpers -----------------------------------------------------------------------------------------


def _password(ctx: AuthContext, what: str) -> str:
    password = ctx.connection.password if ctx.connection else None
    if not password:
        conn = ctx.connection.conn_id if ctx.connection else "(none)"
        raise ConfigurationError(f"{ctx.where}: the Connection {conn!r} has no password ({what})")
    return password


def _login(ctx: AuthContext) -> str:
    login = ctx.connection.login if ctx.connection else None
    if not login:
        conn = ctx.connection.conn_id if ctx.connection else "(none)"
        raise ConfigurationError(f"{ctx.where}: the Connection {conn!r} has no login")
    return login


def _seconds(value: Any) -> float | None:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if seconds > 0 and seconds != float("inf") else None


def _token_answer(ctx: AuthContext, response: requests.Response, who: str, *, parse: bool = True) -> Any:
    """The JSON of a login/token answer; a refusal is fatal (wrong credentials), a server error
    retriable. The answer's text is never quoted: it holds the token."""
    with response:
        status = response.status_code
        if status >= 400:
            failure = http.classify(status, http.parse_retry_after(response.headers.get("Retry-After")))
            if failure in (http.Failure.REFUSED, http.Failure.AUTH):
                raise FatalError(f"{ctx.where}: {who} refused the credentials of the Connection "
                                 f"(HTTP {status}); check the client id and secret")
            raise http.SOURCE_ERRORS.error(failure, f"{ctx.where}: {who} answered HTTP {status}",
                                           status=status)
        if not parse:
            return None
        try:
            body = response.json()
        except ValueError:
            raise FatalError(f"{ctx.where}: {who} did not answer with JSON") from None
    if not isinstance(body, Mapping):
        raise FatalError(f"{ctx.where}: {who} did not answer with a JSON object")
    return body
