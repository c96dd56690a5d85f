"""CreditSync pages inside the Airflow UI: 数据同步状态 (gateway status) and 审计日志 (audit log).

``queries`` reads the gateway store (no Airflow, no web framework); ``render`` turns the results into
HTML; ``app`` is the FastAPI app, with an access check on every route; ``plugin`` is what
plugins/creditsync_plugin.py registers with Airflow.
"""

URL_PREFIX = "/creditsync"  # where Airflow's api-server mounts the app
