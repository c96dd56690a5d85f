"""The only part of CreditSync that imports Airflow: DAGs generated from the department files."""

from creditsync.orchestration.dag_factory import build_dags

__all__ = ["build_dags"]
