"""Airflow: ``feed__platform``, the platform's lists and grades pulled and delivered to the departments
(creditsync.orchestration.feed_dag)."""

from creditsync.orchestration.feed_dag import DAG_ID, feed_dag

globals()[DAG_ID] = feed_dag()
