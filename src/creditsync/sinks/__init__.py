"""Sinks: the interfaces the platform offers, behind one protocol (:mod:`creditsync.sinks.base`).

    api           the platform's HTTP API (docs/platform-protocol.md): :mod:`creditsync.sinks.api`
    exchange_db   rows in agreed tables of the exchange database (前置库): :mod:`.exchange_db`
    xml_envelope  one <ExchangeMessage> per record, to a folder or POSTed: :mod:`.xml_envelope`
    template_file the national Excel upload templates: :mod:`creditsync.sinks.template_file`

Which one a department uses: :func:`creditsync.sinks.registry.sink_for` (docs/platform-interfaces.md).
"""

from creditsync.sinks.base import Action, PushItem, Receipt, Sink, Status

__all__ = ["Action", "PushItem", "Receipt", "Sink", "Status"]
