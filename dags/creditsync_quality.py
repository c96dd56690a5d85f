"""Airflow: the daily report__quality DAG (creditsync.orchestration.quality_dag): scorecards and
rejection feedback per department, and alerts before the 7-working-day deadline."""

from creditsync.orchestration.quality_dag import quality_dag

dag = quality_dag()
