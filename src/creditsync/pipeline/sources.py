"""Turning a department's configuration into a live source adapter, with its Connection."""

from __future__ import annotations

from creditsync.departments import DepartmentConfig
from creditsync.secrets import get_connection
from creditsync.sources.base import SourceAdapter
from creditsync.sources.registry import get_adapter_class


def open_source(department: DepartmentConfig) -> SourceAdapter:
    source = department.source
    adapter_class = get_adapter_class(source.kind)
    connection = get_connection(source.connection_id) if source.connection_id else None
    return adapter_class(
        department.department, source.options, connection, rate_limit_per_s=department.rate_limit_per_s
    )
