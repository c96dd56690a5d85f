"""The ``api`` sink: the platform's HTTP API (docs/platform-protocol.md), i.e. the platform client."""

from __future__ import annotations

from creditsync.delivery.client import PlatformClient


class ApiSink(PlatformClient):
    """The platform client under its sink name (:class:`creditsync.sinks.base.Sink`)."""
