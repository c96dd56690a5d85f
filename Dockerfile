# The gateway image: Airflow 3.3.2 with CreditSync installed (an extended image, not
# _PIP_ADDITIONAL_REQUIREMENTS, so every container runs the same pinned code).
FROM apache/airflow:3.3.2-python3.11
USER root
COPY --chown=airflow:0 requirements.lock pyproject.toml README.md /opt/creditsync/
COPY --chown=airflow:0 src /opt/creditsync/src
USER airflow
RUN pip install --no-cache-dir -r /opt/creditsync/requirements.lock \
 && pip install --no-cache-dir --no-deps /opt/creditsync
COPY --chown=airflow:0 dags /opt/airflow/dags
COPY --chown=airflow:0 plugins /opt/airflow/plugins
COPY --chown=airflow:0 adapters /opt/creditsync/adapters
COPY --chown=airflow:0 mappings /opt/creditsync/mappings
ENV CREDITSYNC_HOME=/opt/creditsync
