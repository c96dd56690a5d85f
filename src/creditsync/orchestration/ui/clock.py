"""The console shows times in one local zone, 北京时间 by default (``CREDITSYNC_DISPLAY_TZ`` to change it),
the same clock as the CLI's (creditsync.display_time); the store and the JSON API keep UTC (ISO with
its offset). Date filters are local days, as the pages show them."""

from __future__ import annotations

from datetime import date, datetime

from creditsync.display_time import (
    DEFAULT_ZONE,
    ZONE_NAMES,
    day_end,
    day_start,
    display_zone,
    local,
    local_text,
    utc,
    zone_label,
)

__all__ = ["DEFAULT_ZONE", "ZONE_NAMES", "day_end", "day_start", "display_zone", "iso", "local_day",
           "local_text", "utc", "zone_label"]


def iso(moment: datetime | None) -> str | None:
    return utc(moment).isoformat(timespec="seconds") if moment else None


def local_day(moment: datetime) -> date:
    return local(moment).date()
