"""Connections: where the gateway finds addresses and credentials, never in YAML, code or logs.

A :class:`Connection` has Airflow's shape (``conn_id``, ``conn_type``, ``host``, ``port``, ``login``,
``password``, ``schema``, ``extra``) so the same department configuration works under Airflow and
from the CLI. :func:`get_connection` resolves one through a seam:

* by default it reads Airflow's environment convention ``AIRFLOW_CONN_<CONN_ID upper-cased>``, in URI
  form (``http://login:password@host:port/schema?param=x``, parts URL-encoded, an ``__extra__`` query
  parameter holding JSON) or JSON form (``{"conn_type": "http", "host": ..., "password": ...}``). This
  module never imports Airflow, so the CLI and the tests run without it;
* the Airflow integration calls ``set_connection_resolver(BaseHook.get_connection)``; whatever the
  resolver returns (our Connection or an Airflow one) is converted to a :class:`Connection`.

Every configured secret (the platform appKey, Connection passwords and secret extras, the hash key, the
demo source token) is masked in messages and logs: :func:`redact` replaces each with ``***``, and
:class:`RedactingFilter` applies it to log records (the CLI installs it; an Airflow task can call
:func:`install_log_redaction`). Secrets seen at run time (a resolver's passwords, the appKey a
client was built with) are added by :func:`register_secret`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlsplit

from creditsync import settings
from creditsync.exceptions import ConfigurationError

ENV_PREFIX = settings.CONNECTION_PREFIX
MASK = "***"
MIN_SECRET_LENGTH = 5  # shorter values would mask ordinary words and digits all over the output
# Extra keys whose values are secrets (the names Airflow's own masker treats as sensitive).
SECRET_EXTRA_KEYS = ("access_token", "api_key", "apikey", "appkey", "app_key", "authorization",
                     "passphrase", "passwd", "password", "private_key", "secret", "token")
_URL_SCHEMES = ("http", "https")

Resolver = Callable[[str], Any]


@dataclass(frozen=True)
class Connection:
    """One Airflow-style connection. ``repr`` never shows the password (it ends up in logs)."""

    conn_id: str
    conn_type: str = ""
    host: str = ""
    port: int | None = None
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    schema: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        hidden = "'***'" if self.password else "None"
        return (
            f"Connection(conn_id={self.conn_id!r}, conn_type={self.conn_type!r}, host={self.host!r}, "
            f"port={self.port!r}, login={self.login!r}, password={hidden}, schema={self.schema!r}, "
            f"extra_keys={sorted(self.extra)!r})"
        )

    @property
    def base_url(self) -> str:
        """``scheme://host[:port][/path]``, following Airflow's HTTP hook conventions.

        The scheme comes from the host when it carries one (``https://example.org``), else from
        ``schema`` when that is ``http``/``https`` (the HTTP hook's habit), else from ``conn_type`` when
        that is ``http``/``https``, else ``http``. Any other ``schema`` is a base path.
        """
        if not self.host:
            raise ConfigurationError(f"connection {self.conn_id!r} has no host", conn_id=self.conn_id)
        scheme, host = self._scheme_and_host()
        netloc = f"{host}:{self.port}" if self.port else host
        path = "" if not self.schema or self.schema in _URL_SCHEMES else "/" + self.schema.strip("/")
        return f"{scheme}://{netloc}{path}"

    def _scheme_and_host(self) -> tuple[str, str]:
        if "://" in self.host:
            scheme, _, host = self.host.partition("://")
            return scheme, host.rstrip("/")
        if self.schema in _URL_SCHEMES:
            return str(self.schema), self.host
        return (self.conn_type if self.conn_type in _URL_SCHEMES else "http"), self.host

    def get_uri(self) -> str:
        """The URI form of this connection (for ``AIRFLOW_CONN_*``); contains the password."""
        auth = quote(self.login or "", safe="")
        if self.password:
            auth += ":" + quote(self.password, safe="")
        protocol, _, host = self.host.rpartition("://")
        netloc = (auth + "@" if auth else "") + quote(host, safe="")
        netloc += f":{self.port}" if self.port else ""
        prefix = f"{self.conn_type or 'http'}://" + (f"{protocol}://" if protocol else "")
        uri = f"{prefix}{netloc}/{quote(self.schema or '', safe='')}"
        if self.extra:
            uri += "?__extra__=" + quote(json.dumps(self.extra), safe="")
        return uri


_resolver: Resolver | None = None


def set_connection_resolver(resolver: Resolver | None) -> Resolver | None:
    """Install a resolver (e.g. Airflow's ``BaseHook.get_connection``); ``None`` restores the env one.

    Returns the previous resolver so callers (and tests) can put it back.
    """
    global _resolver
    previous, _resolver = _resolver, resolver
    return previous


def env_var_name(conn_id: str) -> str:
    return settings.connection_variable(conn_id)


def get_connection(conn_id: str) -> Connection:
    """The connection ``conn_id``; a missing one raises ConfigurationError saying what to set."""
    if _resolver is None:
        return connection_from_env(conn_id)
    try:
        found = _resolver(conn_id)
    except ConfigurationError:
        raise
    except Exception as exc:
        # Airflow raises AirflowNotFoundException; recognised by name so Airflow is never imported.
        if isinstance(exc, LookupError) or "NotFound" in type(exc).__name__:
            raise _missing(conn_id) from exc
        raise
    if found is None:
        raise _missing(conn_id)
    connection = found if isinstance(found, Connection) else coerce_connection(found, conn_id)
    register_secret(*connection_secrets(connection))
    return connection


def connection_from_env(conn_id: str, environ: Mapping[str, str] | None = None) -> Connection:
    name = env_var_name(conn_id)
    value = settings.connection_value(conn_id) if environ is None else environ.get(name)
    if not value or not value.strip():
        raise _missing(conn_id)
    return parse_connection(conn_id, value, source=name)


def parse_connection(conn_id: str, value: str, *, source: str = "connection") -> Connection:
    """Parse Airflow's URI or JSON form. Errors never quote the value: it holds the password."""
    text = value.strip()
    try:
        if text.startswith("{"):
            return _from_json(conn_id, json.loads(text))
        return _from_uri(conn_id, text)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(
            f"{source} for connection {conn_id!r} is neither a valid URI nor valid JSON "
            f"({type(exc).__name__})",
            conn_id=conn_id,
        ) from None


def coerce_connection(obj: Any, conn_id: str) -> Connection:
    """Our Connection from anything shaped like Airflow's (``extra_dejson`` preferred over ``extra``)."""
    extra = getattr(obj, "extra_dejson", None)
    if extra is None:
        extra = _extra_dict(getattr(obj, "extra", None))
    port = getattr(obj, "port", None)
    return Connection(
        conn_id=getattr(obj, "conn_id", None) or conn_id,
        conn_type=getattr(obj, "conn_type", None) or "",
        host=getattr(obj, "host", None) or "",
        port=int(port) if port else None,
        login=getattr(obj, "login", None) or None,
        password=getattr(obj, "password", None) or None,
        schema=getattr(obj, "schema", None) or None,
        extra=dict(extra),
    )


def _missing(conn_id: str) -> ConfigurationError:
    return ConfigurationError(
        f"connection {conn_id!r} is not defined: create it in Airflow (Admin → Connections) or set "
        f"the environment variable {env_var_name(conn_id)} (URI or JSON form)",
        conn_id=conn_id,
    )


def _from_json(conn_id: str, data: Any) -> Connection:
    if not isinstance(data, dict):
        raise TypeError("JSON connection must be an object")
    port = data.get("port")
    return Connection(
        conn_id=conn_id,
        conn_type=str(data.get("conn_type") or ""),
        host=str(data.get("host") or ""),
        port=int(port) if port not in (None, "") else None,
        login=data.get("login") or None,
        password=data.get("password") or None,
        schema=data.get("schema") or None,
        extra=_extra_dict(data.get("extra")),
    )


def _from_uri(conn_id: str, uri: str) -> Connection:
    """Mirror of Airflow's ``Connection._parse_from_uri`` (incl. ``type://protocol://host``)."""
    if uri.count("://") not in (1, 2):
        raise ValueError("not a connection URI")
    conn_type, _, rest = uri.partition("://")
    protocol = None
    if "://" in rest:
        protocol, _, rest = rest.partition("://")
    parts = urlsplit("//" + rest)
    host = unquote(parts.hostname or "")
    return Connection(
        conn_id=conn_id,
        conn_type=conn_type.replace("-", "_").replace("postgresql", "postgres"),
        host=f"{protocol}://{host}" if protocol else host,
        port=parts.port,
        login=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        schema=unquote(parts.path[1:]) or None,
        extra=_query_extra(parts.query),
    )


def _query_extra(query: str) -> dict[str, Any]:
    if not query:
        return {}
    params = dict(parse_qsl(query, keep_blank_values=True))
    if "__extra__" in params:
        return _extra_dict(params["__extra__"])
    return dict(params)


def _extra_dict(extra: Any) -> dict[str, Any]:
    if not extra:
        return {}
    if isinstance(extra, Mapping):
        return dict(extra)
    parsed = json.loads(str(extra))
    if not isinstance(parsed, dict):
        raise TypeError("extra must be a JSON object")
    return parsed


# --- masking secrets in messages and logs -----------------------------------------------------------

_registered: set[str] = set()
_listeners: list[Callable[[str], Any]] = []


def register_secret(*values: str | None) -> None:
    """Mask these values from now on (a resolver's password, the appKey a client was built with)."""
    new = {v for v in values if v and len(v) >= MIN_SECRET_LENGTH} - _registered
    _registered.update(new)
    for listener in _listeners:
        for value in sorted(new):
            listener(value)


def add_secret_listener(listener: Callable[[str], Any]) -> None:
    """Tell ``listener`` every secret known now and each one registered later: the Airflow integration
    passes its own masker (``airflow.sdk.log.mask_secret``) so task logs are masked the same way."""
    _listeners.append(listener)
    for value in sorted(configured_secrets()):
        listener(value)


def connection_secrets(connection: Connection) -> list[str]:
    """The password and every extra value whose key names a secret (``token``, ``api_key``, ...)."""
    found = [connection.password] if connection.password else []
    found += [str(value) for key, value in connection.extra.items()
              if value and any(word in key.lower() for word in SECRET_EXTRA_KEYS)]
    return found


def configured_secrets() -> set[str]:
    """Every secret known now: secret variables, the Connections in the environment, the DB URL's
    password, and those registered at run time."""
    found = {value for variable in settings.SECRET_VARIABLES if (value := variable.read())}
    found |= _environment_connection_secrets(tuple(sorted(settings.connection_values().items())))
    found.add(_url_password(settings.DB_URL.read()))
    found |= _registered
    return {value for value in found if value and len(value) >= MIN_SECRET_LENGTH}


_parsed: dict[tuple[tuple[str, str], ...], set[str]] = {}


def _environment_connection_secrets(values: tuple[tuple[str, str], ...]) -> set[str]:
    """Parsed once per set of Connection variables (logging redacts every record)."""
    if values not in _parsed:
        found: set[str] = set()
        for name, value in values:
            try:
                found.update(connection_secrets(parse_connection(name, value, source=name)))
            except ConfigurationError:
                continue  # unparsable: its own lookup says so, without quoting it
        _parsed.clear()
        _parsed[values] = found
    return _parsed[values]


def _url_password(url: str | None) -> str:
    if not url or "://" not in url:
        return ""
    try:
        return unquote(urlsplit(url).password or "")
    except ValueError:
        return ""


def redact(text: str, secrets: Iterable[str] | None = None) -> str:
    """``text`` with every configured secret (as given, URL-encoded or form-encoded) replaced by ***."""
    values = configured_secrets() if secrets is None else set(secrets)
    forms = {form for value in values for form in (value, quote(value, safe=""), quote_plus(value))}
    for form in sorted(forms, key=len, reverse=True):  # a longer secret may contain a shorter one
        if form and len(form) >= MIN_SECRET_LENGTH:
            text = text.replace(form, MASK)
    return text


class RedactingFilter(logging.Filter):
    """Masks secrets in a log record: its message, its arguments and its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = configured_secrets()
        if not secrets:
            return True
        message = record.getMessage()
        record.msg, record.args = redact(message, secrets), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, secrets)
        return True


def install_log_redaction(logger: logging.Logger | None = None) -> RedactingFilter:
    """Put one :class:`RedactingFilter` on every handler of ``logger`` (default: the root logger).

    Handlers, not the logger: a logger's own filters do not see records propagated from its children."""
    target = logger or logging.getLogger()
    redacting = next((f for h in target.handlers for f in h.filters if isinstance(f, RedactingFilter)),
                     RedactingFilter())
    for handler in target.handlers:
        if redacting not in handler.filters:
            handler.addFilter(redacting)
    return redacting
