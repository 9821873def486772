"""The report domain: records, rows, units, costs and thresholds. Pure: no I/O, no Airflow, no boto3."""
