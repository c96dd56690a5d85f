"""The gateway console in the Airflow UI: 概览 overview, 隔离记录 quarantine, 记录 records, 审计日志 audit.

``queries``, ``audit_queries``, ``record_queries`` and ``quarantine_queries`` read the gateway store
(no Airflow, no web framework); ``render`` turns results into HTML (``templates/``); ``app`` and the
``routes_*``/``action_routes`` modules are the FastAPI app, with an access check on every route
(``security``); ``actions`` holds the one write the console adds (终止公示 by hand); ``plugin`` is what
plugins/creditsync_plugin.py registers with Airflow.
"""

URL_PREFIX = "/creditsync"  # where Airflow's api-server mounts the app
