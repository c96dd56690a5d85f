"""The only part of CreditSync that imports Airflow: DAGs generated from the department files
(``dag_factory``) and the gateway's pages inside the Airflow UI (``ui``).

``build_dags`` is imported on first use, so ``creditsync.orchestration.ui.queries`` loads without
pulling in the Airflow SDK."""

from __future__ import annotations

from typing import Any

__all__ = ["build_dags"]


def __getattr__(name: str) -> Any:
    if name == "build_dags":
        from creditsync.orchestration.dag_factory import build_dags

        return build_dags
    raise AttributeError(name)
