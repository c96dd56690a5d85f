"""One clock for people: times shown in one zone, 北京时间 by default (``CREDITSYNC_DISPLAY_TZ``), in the
CLI as in the console. Tables print ``2026-12-07 09:26:41``; CSV and JSON carry ISO 8601 with the offset
(``2026-12-07T09:26:41+08:00``), so a program reads the same instant the store holds in UTC. Date
filters are local days, as shown."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from creditsync.exceptions import ConfigurationError
from creditsync.settings import DISPLAY_TZ

DEFAULT_ZONE = "Asia/Shanghai"
ZONE_NAMES = {"Asia/Shanghai": ("北京时间", "Beijing time")}


def display_zone() -> ZoneInfo:
    return _zone(DISPLAY_TZ.read() or DEFAULT_ZONE)


@cache
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(f"CREDITSYNC_DISPLAY_TZ: unknown time zone {name!r}") from None


def zone_label(english: bool = False) -> str:
    """``北京时间 (Asia/Shanghai)`` (or ``Beijing time (Asia/Shanghai)``)."""
    name = str(display_zone())
    return f"{ZONE_NAMES[name][english]} ({name})" if name in ZONE_NAMES else name


def utc(moment: datetime) -> datetime:
    """PostgreSQL answers in the session's zone, SQLite naive (already UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def local(moment: datetime) -> datetime:
    return utc(moment).astimezone(display_zone())


def local_iso(moment: datetime | str | None) -> str | None:
    """ISO 8601 in the display zone, with its offset (CSV, JSON)."""
    if moment is None or moment == "":
        return None
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return local(value).isoformat(timespec="seconds")


def local_text(moment: datetime | str | None) -> str:
    """``2026-12-07 09:26:41`` in the display zone (tables)."""
    if moment is None or moment == "":
        return ""
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return local(value).strftime("%Y-%m-%d %H:%M:%S")


def day_start(day: date) -> datetime:
    """The first instant of a local day, in UTC (for comparisons in the database)."""
    return datetime.combine(day, time.min, display_zone()).astimezone(UTC)


def day_end(day: date) -> datetime:
    return day_start(day + timedelta(days=1))
