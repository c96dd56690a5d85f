"""The exchange database (前置库) sink: :mod:`.layout` (tables, columns, codes), :mod:`.sink`."""

from creditsync.sinks.exchange_db.layout import Layout, build_tables, load_layout
from creditsync.sinks.exchange_db.sink import ExchangeDbSink, ExchangeDbUnavailable

__all__ = ["ExchangeDbSink", "ExchangeDbUnavailable", "Layout", "build_tables", "load_layout"]
