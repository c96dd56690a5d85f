"""CreditSync's pages in the Airflow UI (Browse → 数据同步状态 / 审计日志); all code lives in the package."""

from creditsync.orchestration.ui.plugin import CreditSyncPlugin

__all__ = ["CreditSyncPlugin"]
