"""Process-wide settings: every environment variable the gateway reads is declared and read here.

Never from YAML: secrets live in the environment or in Airflow Connections. :data:`VARIABLES` is the one
list; the README's configuration table documents exactly these names (a test compares them with the
table and with every ``CREDITSYNC_*`` name in the source). Modules read a setting through
:func:`load_settings` or one of the small readers below, never through ``os.environ`` themselves.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from creditsync.exceptions import ConfigurationError


@dataclass(frozen=True)
class Variable:
    """One environment variable: its name, what it means and its default, as the README states them."""

    name: str
    meaning: str
    default: str = "(none)"

    def read(self) -> str | None:
        """The value with surrounding blanks removed; unset or blank is ``None``."""
        value = os.environ.get(self.name, "").strip()
        return value or None


HOME = Variable("CREDITSYNC_HOME", "the deployment folder holding `adapters/`, `mappings/` and `var/`",
                "the current directory")
DB_URL = Variable("CREDITSYNC_DB_URL", "the gateway store, a SQLAlchemy URL, e.g. "
                  "`postgresql+psycopg2://user@host/creditsync`", "SQLite in `$CREDITSYNC_HOME/var/`")
ADAPTERS_DIR = Variable("CREDITSYNC_ADAPTERS_DIR", "the department files", "`$CREDITSYNC_HOME/adapters`")
MAPPINGS_DIR = Variable("CREDITSYNC_MAPPINGS_DIR", "the mapping files", "`$CREDITSYNC_HOME/mappings`")
PLATFORM_URL = Variable("CREDITSYNC_PLATFORM_URL", "the municipal platform's address",
                        "the platform Connection's host")
PLATFORM_CONN_ID = Variable("CREDITSYNC_PLATFORM_CONN_ID",
                            "the Connection holding the platform's address and appKey", "creditsync_platform")
PLATFORM_APP_KEY = Variable("CREDITSYNC_PLATFORM_APP_KEY", "the platform appKey (a secret: masked in "
                            "every message and log)", "the platform Connection's password")
RETRY_MAX_WAIT_S = Variable("CREDITSYNC_RETRY_MAX_WAIT_S", "longest wait between two tries of a platform "
                            "call, `Retry-After` included (seconds)", "30")
PLATFORM_TIMEOUT_S = Variable("CREDITSYNC_PLATFORM_TIMEOUT_S", "how long to wait for the platform's "
                              "answer (seconds; connecting: at most 5)", "30")
HASH_KEY = Variable("CREDITSYNC_HASH_KEY", "key of the keyed hash of ID numbers (a secret)",
                    "a fixed development key")
ACTOR = Variable("CREDITSYNC_ACTOR", "who the audit trail names as the actor", "`user@host`")
VERBOSE = Variable("CREDITSYNC_VERBOSE", "any value: the CLI logs progress and shows tracebacks, "
                   "as `--verbose`", "off")
XML_RECORD_TAG = Variable("CREDITSYNC_XML_RECORD_TAG", "record element of XML samples given to "
                          "`creditsync map`/`validate`", "the first repeating child of the root")
SOURCE_TOKEN = Variable("CREDITSYNC_SOURCE_TOKEN", "token the demo department systems (`source-sim`) "
                        "accept (a secret)", "demo-source-token")
SOURCE_SIM_INTERVAL_S = Variable("CREDITSYNC_SOURCE_SIM_INTERVAL_S", "demo systems: seconds between two "
                                 "changes", "20")
HEALTH_DROP_INTERVAL_S = Variable("CREDITSYNC_HEALTH_DROP_INTERVAL_S", "demo health desk: seconds "
                                  "between two dropped files", "60")
AUDIT_KEY = Variable("CREDITSYNC_AUDIT_KEY", "HMAC key the audit chain and its checkpoints are signed "
                     "with (a secret; docs/audit.md)", "the `creditsync_audit` Connection's password, else "
                     "unkeyed (development)")
AUDIT_RETIRED_KEYS = Variable("CREDITSYNC_AUDIT_RETIRED_KEYS", "earlier audit keys, comma-separated, so "
                              "rotated entries still verify (secrets)")
AUDIT_KEY_CONN_ID = Variable("CREDITSYNC_AUDIT_KEY_CONN_ID", "the Connection holding the audit key",
                             "creditsync_audit")
AUDIT_REQUIRE_KEY = Variable("CREDITSYNC_AUDIT_REQUIRE_KEY", "1: refuse to run with an unkeyed audit "
                             "trail", "0")
AUDIT_CHECKPOINTS = Variable("CREDITSYNC_AUDIT_CHECKPOINTS", "the append-only log of signed audit "
                             "checkpoints", "`$CREDITSYNC_HOME/var/audit-checkpoints.jsonl`")
AUDIT_ARCHIVE_DIR = Variable("CREDITSYNC_AUDIT_ARCHIVE_DIR", "where `audit prune` writes archives",
                             "`$CREDITSYNC_HOME/var/audit-archive`")
AUDIT_MIN_KEEP_DAYS = Variable("CREDITSYNC_AUDIT_MIN_KEEP_DAYS", "the shortest retention window `audit "
                               "prune` accepts (days)", "180")
DISPLAY_TZ = Variable("CREDITSYNC_DISPLAY_TZ", "time zone the console shows times in", "Asia/Shanghai")
PLATFORM_REPAIRS_PATH = Variable("CREDITSYNC_PLATFORM_REPAIRS_PATH", "the platform's credit-repair feed "
                                 "(`repair --pull`, the daily run)", "/api/v1/repairs")
TEST_MARIADB = Variable("CREDITSYNC_TEST_MARIADB", "tests: the MariaDB server the SQL conformance suite "
                        "creates its databases on", "mysql+pymysql://root@127.0.0.1:3306")
QUALITY_TARGETS = Variable("CREDITSYNC_QUALITY_TARGETS", "the evaluation's thresholds the quality "
                           "scorecards hold each rate against, e.g. `timeliness=0.95,compliance=0.95,"
                           "completeness=0.9` (docs/quality.md)", "0.95, 0.95, 0.90")
QUALITY_REPORTS_DIR = Variable("CREDITSYNC_QUALITY_REPORTS_DIR", "where the daily `report__quality` DAG "
                               "writes each department's scorecard and rejection feedback (XLSX)",
                               "`$CREDITSYNC_HOME/var/quality`")
QUALITY_ALERT_TO = Variable("CREDITSYNC_QUALITY_ALERT_TO", "who `report__quality` emails the records not "
                            "acknowledged by working day 5 (comma-separated; through the `smtp_default` "
                            "Connection)", "none: the task log and the console")
SINK = Variable("CREDITSYNC_SINK", "the interface the platform offers: `api`, `exchange_db`, `xml_envelope` "
                "or `template_file` (docs/platform-interfaces.md); a department file may override it", "api")
SINK_CONFIG = Variable("CREDITSYNC_SINK_CONFIG", "YAML file of each sink's options (the exchange database's "
                       "layout, folders); no credentials", "(none)")
EXCHANGE_DB_URL = Variable("CREDITSYNC_EXCHANGE_DB_URL", "the exchange database (前置库), a SQLAlchemy URL "
                           "(a secret)", "the `creditsync_exchange_db` Connection")
CONNECTION_PREFIX = "AIRFLOW_CONN_"  # one variable per Connection id (creditsync.secrets)

VARIABLES: tuple[Variable, ...] = (
    HOME, DB_URL, ADAPTERS_DIR, MAPPINGS_DIR, PLATFORM_URL, PLATFORM_CONN_ID, PLATFORM_APP_KEY,
    RETRY_MAX_WAIT_S, PLATFORM_TIMEOUT_S, HASH_KEY, ACTOR, VERBOSE, XML_RECORD_TAG, SOURCE_TOKEN,
    SOURCE_SIM_INTERVAL_S, HEALTH_DROP_INTERVAL_S, AUDIT_KEY, AUDIT_RETIRED_KEYS, AUDIT_KEY_CONN_ID,
    AUDIT_REQUIRE_KEY, AUDIT_CHECKPOINTS, AUDIT_ARCHIVE_DIR, AUDIT_MIN_KEEP_DAYS, DISPLAY_TZ,
    PLATFORM_REPAIRS_PATH, TEST_MARIADB, QUALITY_TARGETS, QUALITY_REPORTS_DIR, QUALITY_ALERT_TO,
    SINK, SINK_CONFIG, EXCHANGE_DB_URL)
SECRET_VARIABLES: tuple[Variable, ...] = (PLATFORM_APP_KEY, HASH_KEY, SOURCE_TOKEN, AUDIT_KEY,
                                          AUDIT_RETIRED_KEYS, EXCHANGE_DB_URL)
DEFAULT_HASH_KEY = "creditsync-default-key"
DEFAULT_SOURCE_TOKEN = "demo-source-token"


@dataclass(frozen=True)
class Settings:
    home: Path
    db_url: str
    platform_url: str | None
    platform_conn_id: str
    platform_app_key: str | None = field(default=None, repr=False)

    @property
    def adapters_dir(self) -> Path:
        return Path(ADAPTERS_DIR.read() or self.home / "adapters")

    @property
    def mappings_dir(self) -> Path:
        return Path(MAPPINGS_DIR.read() or self.home / "mappings")

    @property
    def var_dir(self) -> Path:
        return self.home / "var"

    @property
    def quality_reports_dir(self) -> Path:
        return Path(QUALITY_REPORTS_DIR.read() or self.var_dir / "quality")

    # Read when a platform client is built, so a malformed value fails that step, not every command.
    @property
    def retry_max_wait_s(self) -> float | None:
        return seconds(RETRY_MAX_WAIT_S)

    @property
    def platform_timeout_s(self) -> float | None:
        return seconds(PLATFORM_TIMEOUT_S)


def load_settings() -> Settings:
    """The settings as the environment gives them now."""
    home = _resolved(os.path.join(os.getcwd(), HOME.read() or ""))  # a relative HOME: from here
    return Settings(
        home=home,
        db_url=DB_URL.read() or f"sqlite:///{home / 'var' / 'creditsync.db'}",
        platform_url=PLATFORM_URL.read(),
        platform_conn_id=PLATFORM_CONN_ID.read() or "creditsync_platform",
        platform_app_key=PLATFORM_APP_KEY.read(),
    )


@functools.lru_cache(maxsize=16)
def _resolved(folder: str) -> Path:
    # Resolving walks the path with a system call per component, and the api-server reads the settings
    # several times per request.
    return Path(folder).resolve()


def seconds(variable: Variable) -> float | None:
    """A non-negative, finite number of seconds, or ``None`` when unset."""
    value = variable.read()
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not (0 <= number < math.inf):
        raise ConfigurationError(f"{variable.name} must be a number of seconds, not {value!r}")
    return number


def hash_key() -> bytes:
    """The key of the keyed hash of ID numbers (privacy.keyed_hash)."""
    return (HASH_KEY.read() or DEFAULT_HASH_KEY).encode()


def actor() -> str | None:
    """An explicit audit actor, else ``None`` (the audit trail then names the OS user)."""
    return ACTOR.read()


def verbose() -> bool:
    return VERBOSE.read() is not None


def xml_record_tag() -> str | None:
    return XML_RECORD_TAG.read()


def source_token() -> str:
    return SOURCE_TOKEN.read() or DEFAULT_SOURCE_TOKEN


def quality_targets() -> str | None:
    """The scorecards' thresholds as written (creditsync.quality.scorecard.targets_from parses them)."""
    return QUALITY_TARGETS.read()


def quality_alert_to() -> str | None:
    return QUALITY_ALERT_TO.read()


def simulator_interval(variable: Variable, default: float) -> float:
    """A demo simulator's interval: the variable if set, else its own default."""
    value = seconds(variable)
    return default if value is None else value


def connection_variable(conn_id: str) -> str:
    """Airflow's environment convention for a Connection: ``AIRFLOW_CONN_<ID upper-cased>``."""
    return CONNECTION_PREFIX + conn_id.upper()


def connection_value(conn_id: str) -> str | None:
    return Variable(connection_variable(conn_id), "a Connection").read()


def connection_values() -> dict[str, str]:
    """Every Connection given in the environment, by variable name (for masking their secrets)."""
    return {name: value for name, value in os.environ.items()
            if name.startswith(CONNECTION_PREFIX) and value.strip()}


def environment() -> Mapping[str, str]:
    """The whole environment, for modules that take an injectable mapping of these variables (the
    audit key configuration is tested with its own dict)."""
    return os.environ


def in_ci() -> bool:
    """CI (which sets ``CI``) must not skip what needs a local server: it fails instead."""
    return bool(os.environ.get("CI"))
