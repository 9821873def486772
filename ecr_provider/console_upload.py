"""``ecr-report --upload``: the console's reports into the report lake as one DAG run of the date
writes them, through the DAG's own hooks (the same keys, generation, manifest and switch), so Athena,
the DAG's page and the DAG's next run read them alike. It imports Airflow's amazon provider, so the
console imports this module only when ``--upload`` is given."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING

import ecr_provider
from ecr_provider.core.columns import reports_written
from ecr_provider.core.run_manifest import LOADED, OutcomeRecord, RunRecord, target_outcomes
from ecr_provider.core.run_plan import prices_record
from ecr_provider.core.targets import RegistryTarget
from ecr_provider.hooks.report_catalog import ReportCatalogHook
from ecr_provider.hooks.report_lake import Published, ReportLakeHook

if TYPE_CHECKING:
    from ecr_provider.aws.ecr import RegistryReader
    from ecr_provider.core.transform import ReportContext
    from ecr_provider.report_files import RegistryReport

log = logging.getLogger("ecr_report")
RUN_ID_PREFIX = "ecr-report__"
"""The run id of a console upload in its in-progress mark and manifest, as a DAG run's is its own."""


def upload_reports(
    parts: dict[tuple[str, str], RegistryReport],
    registries: Sequence[tuple[RegistryReader, ReportContext]],
    *,
    bucket: str,
    prefix: str,
    report_date: str,
    as_of: datetime,
    include_findings: bool,
    database: str,
) -> Published:
    """Each registry's canonical files (``report_files.split_by_registry``) under a new generation of
    the date, then the run closed as the DAG's manifest task closes it: the date switches to the new
    generation only once every object is written. Credentials: boto3's default chain (no Airflow
    connection). ``database``: where the date's Glue partitions are moved to the new generation, when
    its report tables read this bucket and prefix; otherwise a warning says why none was."""
    lake = ReportLakeHook(aws_conn_id=None)
    run_id = f"{RUN_ID_PREFIX}{datetime.now(UTC).isoformat()}"
    reports = reports_written(include_findings)
    catalog = ReportCatalogHook(aws_conn_id=None)
    unreadable = catalog.unreadable_tables(database, bucket, prefix, reports)
    generation = lake.begin_generation(bucket, prefix, report_date, run_id=run_id)
    targets, outcomes = [], {}
    for index, ((account_id, region), part) in enumerate(parts.items()):
        keys = lake.write_registry_objects(
            bucket,
            prefix,
            report_date,
            generation=generation,
            account_id=account_id,
            region=region,
            files=part.files,
        )
        targets.append(RegistryTarget(region))
        outcomes[index] = OutcomeRecord(
            index=index,
            target=targets[-1].as_operator_kwargs(),
            status=LOADED,
            summary=part.summary(account_id, region, report_date, keys),
            error=None,
            breaches=[],
        )
    record = RunRecord(
        report_date=report_date,
        as_of=as_of.isoformat(),
        code_version=ecr_provider.__version__,
        targets=target_outcomes(targets, outcomes),
    )
    if unreadable:
        log.warning(
            "Glue partitions of %s not registered in %s: %s. The objects are written. A missing table "
            "is created by the DAG's first run with this bucket, prefix and athena_database, which also "
            "registers the date at its visible generation",
            report_date,
            database,
            "; ".join(f"{report}: {why}" for report, why in unreadable.items()),
        )
    return lake.publish_generation(
        bucket,
        prefix,
        report_date,
        record=record,
        reports=reports,
        generation=generation,
        prices={context.region: prices_record(context.prices) for _, context in registries},
        run_id=run_id,
        register=None
        if unreadable
        else partial(
            catalog.register_partitions, database, bucket, prefix, report_date, reports, generation=generation
        ),
    )
