"""The console shows times in one local zone, 北京时间 by default (``CREDITSYNC_DISPLAY_TZ`` to change it);
the store and the JSON API keep UTC. Date filters are local days, as the pages show them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from creditsync.exceptions import ConfigurationError
from creditsync.settings import DISPLAY_TZ

DEFAULT_ZONE = "Asia/Shanghai"
ZONE_NAMES = {"Asia/Shanghai": ("北京时间", "Beijing time")}


def display_zone() -> ZoneInfo:
    name = DISPLAY_TZ.read() or DEFAULT_ZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(f"CREDITSYNC_DISPLAY_TZ: unknown time zone {name!r}") from None


def zone_label(english: bool = False) -> str:
    """``北京时间 (Asia/Shanghai)`` (or ``Beijing time (Asia/Shanghai)``): said on every page."""
    name = str(display_zone())
    return f"{ZONE_NAMES[name][english]} ({name})" if name in ZONE_NAMES else name


def utc(moment: datetime) -> datetime:
    """PostgreSQL answers in the session's zone, SQLite naive (already UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def iso(moment: datetime | None) -> str | None:
    return utc(moment).isoformat(timespec="seconds") if moment else None


def local_text(value: str | datetime | None) -> str:
    """An ISO timestamp or datetime as ``2026-03-01 16:00:00`` in the display zone."""
    if value is None or value == "":
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return utc(moment).astimezone(display_zone()).strftime("%Y-%m-%d %H:%M:%S")


def local_day(moment: datetime) -> date:
    return utc(moment).astimezone(display_zone()).date()


def day_start(day: date) -> datetime:
    """The first instant of a local day, in UTC (for comparisons in the database)."""
    return datetime.combine(day, time.min, display_zone()).astimezone(UTC)


def day_end(day: date) -> datetime:
    return day_start(day + timedelta(days=1))
