"""CreditSync's console in the Airflow UI (Browse → 信用同步·概览 / ·隔离记录 / ·记录 / ·审计); all code
lives in the package."""

from creditsync.orchestration.ui.plugin import CreditSyncPlugin

__all__ = ["CreditSyncPlugin"]
