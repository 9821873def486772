"""Everything that talks to AWS, on plain boto3 clients so the CLI and the Airflow hooks share it."""
