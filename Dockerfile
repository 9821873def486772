# Airflow image with the ecr-report provider installed, used by docker-compose.yaml.
# AIRFLOW_VERSION must equal the apache-airflow pin in constraints.txt (tests/test_deployment.py checks it),
# so the image's Airflow and every dependency match what the test suite runs against.
ARG AIRFLOW_VERSION=3.3.2
ARG PYTHON_VERSION=3.11
FROM apache/airflow:${AIRFLOW_VERSION}-python${PYTHON_VERSION}

ARG AIRFLOW_VERSION

# The official image installs packages as the airflow user (into its user site), never as root.
USER airflow
# Created by airflow (not by WORKDIR, which may create it as root) so the in-tree wheel build can write.
RUN mkdir -p /home/airflow/ecr-report
WORKDIR /home/airflow/ecr-report

# Build inputs only; the DAGs come from the ./dags bind mount in docker-compose.yaml.
COPY --chown=airflow:0 pyproject.toml constraints.txt README.md ./
COPY --chown=airflow:0 ecr_provider/ ./ecr_provider/

# Naming apache-airflow==AIRFLOW_VERSION stops pip from replacing the image's Airflow;
# the constraints file pins everything else to the tested versions, the Postgres drivers included.
RUN pip install --no-cache-dir -c constraints.txt "apache-airflow==${AIRFLOW_VERSION}" ".[postgres]"

WORKDIR /opt/airflow
