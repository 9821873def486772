"""One report lake of the emulator as its readers see it, for the tests that stop, kill or refuse runs
of a date (test_atomic_dates.py in process, test_dag_killed.py in a child process): what Athena reads
(the Glue partition's location, read as OpenCSVSerde does), what the page shows (the date's visible
manifest, its generation and notes), and every report object by generation."""

from __future__ import annotations

from typing import Any

from ecr_provider.core.columns import REPORTS, REPOSITORIES_REPORT, reports_written
from ecr_provider.core.layout import generation_manifest_key, generation_of, partition_prefix, plan_key
from ecr_provider.hooks.report_lake import BEING_REWRITTEN, ReportLakeHook
from emulator.demo_registry import DemoRegistry
from emulator.destination import ReportDestination
from emulator.server import Emulator, client
from tests.core.test_csv_opencsv import athena_rows
from tests.integration.conftest import REGION, REPORT_DATE, DagRunResult, RunDag

OTHER_REGION = "eu-west-1"
REPORTED = reports_written(include_findings=False)


class Lake:
    """One prefix and Glue database of the emulator, its runs, and what its readers see."""

    def __init__(self, emulator: Emulator, destination: ReportDestination, runner: RunDag, name: str) -> None:
        self.emulator = emulator
        self.bucket = destination.bucket
        self.runner = runner
        self.prefix = name.replace("_", "-")
        self.database = name
        self.hook = ReportLakeHook(aws_conn_id="aws_default")

    def conf(self) -> dict[str, Any]:
        """The runs' settings: two registries, a report task each."""
        return {
            "regions": [REGION, OTHER_REGION],
            "batch_size": 1,
            "report_bucket": self.bucket,
            "report_prefix": self.prefix,
            "athena_database": self.database,
        }

    def run(self) -> DagRunResult:
        return self.runner(self.conf(), REPORT_DATE)

    def visible(self) -> dict[str, Any]:
        manifest = self.hook.read_manifest(self.bucket, self.prefix, REPORT_DATE)
        assert manifest is not None
        return manifest

    def run_manifest(self) -> dict[str, Any]:
        """The manifest of the date's last run, visible or not."""
        plan = self.hook.read_json(self.bucket, plan_key(self.prefix, REPORT_DATE))
        assert plan is not None
        manifest = self.hook.read_json(
            self.bucket, generation_manifest_key(self.prefix, REPORT_DATE, plan["generation"])
        )
        assert manifest is not None
        return manifest

    def locations(self) -> dict[str, str]:
        """Where each report's Glue partition of the date points, under the bucket."""
        glue = client("glue", self.emulator.endpoint_url, REGION)
        return {
            report: glue.get_partition(
                DatabaseName=self.database, TableName=report, PartitionValues=[REPORT_DATE]
            )["Partition"]["StorageDescriptor"]["Location"].removeprefix(f"s3://{self.bucket}/")
            for report in REPORTED
        }

    def athena(self) -> dict[str, list[list[str]]]:
        """Each report's rows of the date as Athena reads them: the objects under its partition's
        location, through OpenCSVSerde."""
        return {
            report: sorted(
                row
                for key in self.hook.keys_under(self.bucket, location)
                for row in athena_rows(self.read(key).decode("utf-8"))
            )
            for report, location in self.locations().items()
        }

    def page(self) -> tuple[list[str], tuple[str, ...]]:
        """The repositories the date's page lists, and its notes."""
        page = self.hook.read_report_page(
            self.bucket,
            self.prefix,
            REPORT_DATE,
            manifests=self.hook.read_manifests(self.bucket, self.prefix, [REPORT_DATE]),
            in_progress=self.hook.read_in_progress(self.bucket, self.prefix, REPORT_DATE),
        )
        return sorted(row["repositoryName"] for row in page.repositories), page.notes

    def read(self, key: str) -> bytes:
        with self.hook.object_body(self.bucket, key) as body:
            data: bytes = body.read()
        return data

    def objects(self) -> dict[str, set[str]]:
        """Every report object of the date, by generation."""
        found: dict[str, set[str]] = {}
        for report in REPORTS:
            partition = partition_prefix(self.prefix, report, REPORT_DATE)
            for key in self.hook.keys_under(self.bucket, partition):
                found.setdefault(str(generation_of(key, partition)), set()).add(key)
        return found

    def state(self) -> dict[str, Any]:
        """What every reader sees: Athena's rows, the page's repositories, the visible manifest."""
        return {"athena": self.athena(), "page": self.page()[0], "manifest": self.visible()}

    def assert_one_complete_state(self, expected: dict[str, Any]) -> None:
        """Athena and the page show ``expected`` (a state an earlier call of :meth:`state` took);
        every object is of the visible generation or of one no reader follows."""
        manifest = self.visible()
        assert manifest == expected["manifest"]
        assert self.page()[0] == expected["page"]
        assert self.athena() == expected["athena"]
        named = {key for target in manifest["targets"] for key in target["keys"].values()}
        objects = self.objects()
        assert objects.pop(manifest["generation"]) == named
        assert not set(objects) & {"None", manifest["generation"]}

    def assert_being_rewritten(self) -> None:
        """The page says the date is being rewritten, by the run the in-progress mark names."""
        marked = self.hook.read_in_progress(self.bucket, self.prefix, REPORT_DATE)
        assert marked is not None
        assert self.page()[1] == (BEING_REWRITTEN.format(started=marked["started"]),)


def complete_state(lake: Lake, demo_registry: DemoRegistry) -> dict[str, Any]:
    """A complete run of the date, and what its readers then see: every repository of the registry."""
    run = lake.run()
    assert run.state == "success", run.tail()
    state = lake.state()
    assert state["manifest"]["complete"] is True
    assert state["page"] == sorted(repository.name for repository in demo_registry.repositories)
    assert len(state["athena"][REPOSITORIES_REPORT]) == len(demo_registry.repositories)
    return state
