"""The Athena side of the data lake: a Glue database, one table per report, a partition per report date."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from ecr_provider.aws.errors import AwsCallError, aws_call, error_code
from ecr_provider.core.columns import REPORTS
from ecr_provider.core.csv_format import OPEN_CSV_SERDE_PARAMETERS
from ecr_provider.core.layout import PARTITION_KEY, generation_prefix, table_location

log = logging.getLogger(__name__)

OPEN_CSV_SERDE = "org.apache.hadoop.hive.serde2.OpenCSVSerde"


def _storage_descriptor(report: str, location: str) -> dict[str, Any]:
    return {
        "Columns": [
            {"Name": c.athena_name, "Type": c.athena_type, "Comment": c.header} for c in REPORTS[report]
        ],
        "Location": location,
        "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
        "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
        "SerdeInfo": {
            "SerializationLibrary": OPEN_CSV_SERDE,
            "Parameters": dict(OPEN_CSV_SERDE_PARAMETERS),
        },
    }


def table_input(report: str, bucket: str, prefix: str) -> dict[str, Any]:
    """Partitions registered in Glue, no partition projection: Athena ignores one when the other is set."""
    return {
        "Name": report,
        "Description": f"ECR report {report}, one CSV per account and region under {PARTITION_KEY}=",
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "csv", "skip.header.line.count": "1", "EXTERNAL": "TRUE"},
        "PartitionKeys": [{"Name": PARTITION_KEY, "Type": "string"}],
        "StorageDescriptor": _storage_descriptor(report, table_location(bucket, prefix, report)),
    }


@dataclass(frozen=True, slots=True)
class ReportCatalog:
    """The Glue database of the reports, for one bucket and prefix."""

    glue: Any
    database: str
    bucket: str
    prefix: str

    def ensure_database(self) -> None:
        with aws_call("glue", self.database):
            try:
                self.glue.get_database(Name=self.database)
                return
            except ClientError as error:
                if error_code(error) != "EntityNotFoundException":
                    raise
            try:
                self.glue.create_database(
                    DatabaseInput={
                        "Name": self.database,
                        "Description": "Amazon ECR cost, usage and vulnerability reports",
                    }
                )
            except ClientError as error:
                if error_code(error) != "AlreadyExistsException":
                    raise
                return
        log.info("Created Glue database %s", self.database)

    def ensure_table(self, report: str) -> str:
        """Create the table, or update it when its definition changed (columns are only appended)."""
        return ensure_glue_table(
            self.glue, self.database, table_input(report, self.bucket, self.prefix), _differs
        )

    def unreadable_tables(self, reports: Sequence[str]) -> dict[str, str]:
        """The reports whose table is missing, reads another bucket or prefix, or may not be read,
        each with why: a partition registered there would not show these objects (or would move
        another lake's)."""
        unreadable = {}
        for report in reports:
            with aws_call("glue", f"{self.database}.{report}"):
                try:
                    table = self.glue.get_table(DatabaseName=self.database, Name=report)["Table"]
                except ClientError as error:
                    code = error_code(error)
                    if code not in ("EntityNotFoundException", "AccessDeniedException"):
                        raise
                    unreadable[report] = (
                        "no such table"
                        if code == "EntityNotFoundException"
                        else f"glue:GetTable was refused ({code}): allow it, and the partition calls"
                    )
                    continue
            location = table.get("StorageDescriptor", {}).get("Location")
            if location != table_location(self.bucket, self.prefix, report):
                unreadable[report] = f"the table reads {location}"
        return unreadable

    def register_partition(self, report: str, report_date: str, generation: str | None) -> str:
        """Register ``report_date`` at ``generation``'s location: ``created``, or for an existing
        partition ``updated`` when its stored definition is not this one (another generation, or
        columns appended since: a partition keeps its own columns and SerDe), else ``existing``. The
        update is one call, so Athena reads the old generation or the new one, never both."""
        location = f"s3://{self.bucket}/{generation_prefix(self.prefix, report, report_date, generation)}"
        descriptor = _storage_descriptor(report, location)
        partition = {"Values": [report_date], "StorageDescriptor": descriptor}
        resource = f"{self.database}.{report} {PARTITION_KEY}={report_date}"
        with aws_call("glue", resource):
            response = self.glue.batch_create_partition(
                DatabaseName=self.database, TableName=report, PartitionInputList=[partition]
            )
        failures = _entry_failures(response, "glue:BatchCreatePartition", resource, "AlreadyExistsException")
        if not failures:
            return "created"
        with aws_call("glue", resource):
            stored = self.glue.get_partition(
                DatabaseName=self.database, TableName=report, PartitionValues=[report_date]
            )["Partition"]
            if not _descriptor_differs(stored.get("StorageDescriptor", {}), descriptor):
                return "existing"
            response = self.glue.batch_update_partition(
                DatabaseName=self.database,
                TableName=report,
                Entries=[{"PartitionValueList": [report_date], "PartitionInput": partition}],
            )
        _entry_failures(response, "glue:BatchUpdatePartition", resource)
        log.info("Glue partition %s updated to %s and the table's definition", resource, location)
        return "updated"


def _entry_failures(response: dict[str, Any], action: str, resource: str, tolerated: str = "") -> int:
    """Glue's batch calls report failures per entry: raise on any but ``tolerated``, else count them."""
    failures = response.get("Errors", [])
    for failure in failures:
        detail = failure.get("ErrorDetail", {})
        if detail.get("ErrorCode") != tolerated:
            raise AwsCallError(
                f"{action} on {resource} failed with "
                f"{detail.get('ErrorCode')}: {detail.get('ErrorMessage', '')}"
            )
    return len(failures)


def ensure_glue_table(
    glue: Any,
    database: str,
    wanted: dict[str, Any],
    differs: Callable[[dict[str, Any], dict[str, Any]], bool],
) -> str:
    """Create a Glue table (a report's or a view's), or update it when ``differs`` from ``wanted``;
    returns ``created``, ``updated`` or ``unchanged``."""
    resource = f"{database}.{wanted['Name']}"
    with aws_call("glue", resource):
        try:
            current = glue.get_table(DatabaseName=database, Name=wanted["Name"])["Table"]
        except ClientError as error:
            if error_code(error) != "EntityNotFoundException":
                raise
            current = None
        if current is None:
            glue.create_table(DatabaseName=database, TableInput=wanted)
            outcome = "created"
        elif differs(current, wanted):
            glue.update_table(DatabaseName=database, TableInput=wanted)
            outcome = "updated"
        else:
            return "unchanged"
    log.info("Glue table %s %s", resource, outcome)
    return outcome


def _differs(current: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """Glue adds bookkeeping of its own to what it returns, so only what this module sets is compared."""
    return (
        _descriptor_differs(current.get("StorageDescriptor", {}), wanted["StorageDescriptor"])
        or current.get("PartitionKeys") != wanted["PartitionKeys"]
        or not wanted["Parameters"].items() <= current.get("Parameters", {}).items()
    )


def _descriptor_differs(current: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """A table's or a partition's storage descriptor: columns, location and SerDe."""
    serde, wanted_serde = current.get("SerdeInfo", {}), wanted["SerdeInfo"]
    return (
        any(current.get(field) != wanted[field] for field in ("Columns", "Location"))
        or serde.get("SerializationLibrary") != wanted_serde["SerializationLibrary"]
        or not wanted_serde["Parameters"].items() <= serde.get("Parameters", {}).items()
    )
