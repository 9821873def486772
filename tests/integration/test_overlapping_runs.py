"""Runs of one date that overlap (a second deployment, ``airflow dags test`` beside the scheduler, the
console's ``--upload``): each closes through ``ReportLakeHook.publish_generation`` against the
emulator's S3, in both orders of finishing. Whatever the order, the date ends showing the newest run,
complete, with no object of another generation left, and no run deletes a newer one's objects or its
in-progress mark while it is still writing."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecr_provider.core.columns import REPOSITORIES_REPORT
from ecr_provider.core.layout import in_progress_key, partition_prefix
from ecr_provider.core.run_manifest import LOADED, RunRecord, TargetOutcome
from ecr_provider.hooks.report_lake import Published, ReportLakeHook
from emulator.destination import ReportDestination
from emulator.server import Emulator
from tests.integration.conftest import REGION, REPORT_DATE, aws_connection

pytestmark = pytest.mark.integration

ACCOUNT = "123456789012"
REPORTS = (REPOSITORIES_REPORT,)


@pytest.fixture
def hook(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> ReportLakeHook:
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", aws_connection(emulator.endpoint_url))
    return ReportLakeHook(aws_conn_id="aws_default")


class Run:
    """One run of the date: its generation begun, its registry's object written, then closed."""

    def __init__(self, hook: ReportLakeHook, bucket: str, prefix: str, folder: Path, name: str) -> None:
        self.hook, self.bucket, self.prefix = hook, bucket, prefix
        self.generation = hook.begin_generation(bucket, prefix, REPORT_DATE, run_id=name)
        self.name = name
        self.file = folder / f"{name}.csv"
        self.file.write_text(f"repositoryName\r\n{name}\r\n")
        self.keys: dict[str, str] = {}

    def write(self) -> None:
        self.keys = self.hook.write_registry_objects(
            self.bucket,
            self.prefix,
            REPORT_DATE,
            generation=self.generation,
            account_id=ACCOUNT,
            region=REGION,
            files={REPOSITORIES_REPORT: self.file},
        )

    def close(self) -> Published:
        target = TargetOutcome(REGION, None, ACCOUNT, LOADED, self.keys, 1, 0, (), None)
        record = RunRecord(REPORT_DATE, "2026-11-20T00:00:00+00:00", "test", (target,))
        return self.hook.publish_generation(
            self.bucket,
            self.prefix,
            REPORT_DATE,
            record=record,
            reports=REPORTS,
            generation=self.generation,
            prices={},
            run_id=self.name,
        )


def objects(hook: ReportLakeHook, bucket: str, prefix: str) -> set[str]:
    return set(hook.keys_under(bucket, partition_prefix(prefix, REPOSITORIES_REPORT, REPORT_DATE)))


def visible(hook: ReportLakeHook, bucket: str, prefix: str) -> str | None:
    manifest = hook.read_manifest(bucket, prefix, REPORT_DATE)
    assert manifest is None or manifest["complete"] is True
    return None if manifest is None else str(manifest["generation"])


def marked(hook: ReportLakeHook, bucket: str, prefix: str) -> str | None:
    mark = hook.read_json(bucket, in_progress_key(prefix, REPORT_DATE))
    return None if mark is None else str(mark["generation"])


def test_an_older_run_closing_while_a_newer_one_writes_leaves_the_date_to_it(
    hook: ReportLakeHook, destination: ReportDestination, tmp_path: Path
) -> None:
    bucket, prefix = destination.bucket, "overlap-older-first"
    first = Run(hook, bucket, prefix, tmp_path, "first")
    first.write()
    first.close()
    older, newer = Run(hook, bucket, prefix, tmp_path, "older"), Run(hook, bucket, prefix, tmp_path, "newer")
    older.write()
    newer.write()

    closed = older.close()

    assert (closed.shown, closed.superseded_by) == (False, newer.generation)
    assert visible(hook, bucket, prefix) == first.generation  # the previous complete state, unchanged
    assert marked(hook, bucket, prefix) == newer.generation  # readers still told the date is rewritten
    assert objects(hook, bucket, prefix) == {*first.keys.values(), *newer.keys.values()}

    assert newer.close().shown
    assert visible(hook, bucket, prefix) == newer.generation
    assert marked(hook, bucket, prefix) is None
    assert objects(hook, bucket, prefix) == set(newer.keys.values())


def test_a_newer_run_closing_first_is_not_undone_by_the_older_one(
    hook: ReportLakeHook, destination: ReportDestination, tmp_path: Path
) -> None:
    bucket, prefix = destination.bucket, "overlap-newer-first"
    older, newer = Run(hook, bucket, prefix, tmp_path, "older"), Run(hook, bucket, prefix, tmp_path, "newer")
    older.write()
    newer.write()

    assert newer.close().shown
    closed = older.close()

    assert (closed.shown, closed.superseded_by) == (False, newer.generation)
    assert visible(hook, bucket, prefix) == newer.generation
    assert marked(hook, bucket, prefix) is None
    assert objects(hook, bucket, prefix) == set(newer.keys.values())


def test_a_run_closing_does_not_delete_a_newer_runs_objects(
    hook: ReportLakeHook, destination: ReportDestination, tmp_path: Path
) -> None:
    """The newer run began after the older one read the in-progress mark: the older one shows its
    generation, and the newer one's objects and mark stay until it closes."""
    bucket, prefix = destination.bucket, "overlap-begun-late"
    older = Run(hook, bucket, prefix, tmp_path, "older")
    older.write()
    newer = Run(hook, bucket, prefix, tmp_path, "newer")
    newer.write()
    hook.write_json(  # as if the newer run's mark landed after the older run read it
        bucket, in_progress_key(prefix, REPORT_DATE), {"run_id": "older", "generation": older.generation}
    )

    assert older.close().shown
    assert objects(hook, bucket, prefix) == {*older.keys.values(), *newer.keys.values()}
    assert newer.close().shown
    assert objects(hook, bucket, prefix) == set(newer.keys.values())
