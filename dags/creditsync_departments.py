"""Airflow: generates one DAG per department file in adapters/ (sync__<department>).
Add a department by adding its YAML there and its mappings under mappings/<department>/:
nothing here changes."""

from pathlib import Path

from creditsync.orchestration import build_dags

globals().update(build_dags(home=Path(__file__).resolve().parents[1]))
