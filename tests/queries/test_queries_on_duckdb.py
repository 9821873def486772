"""Every shipped query, transpiled to DuckDB, against expectations computed in Python from the CSV rows.

The expectations never run SQL: they read the same CSV files with the csv module and follow each
query's documented meaning, so a wrong join, filter, sort or cast in the SQL shows as a difference.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ecr_provider.queries import named_queries, named_query
from ecr_provider.queries.views import typed_view
from emulator.preview import athena_to_duckdb, connect, preview, run_on_duckdb
from tests.queries.lake import MISSING, Lake

GIB = 2**30
NOT_PULLED_DAYS = 90
TOP_N = 20
TREND_DATES = 30

Row = dict[str, str]
Expected = list[tuple[Any, ...]]


def sql_round(value: float, digits: int) -> float:
    """Half away from zero, as Athena's and DuckDB's round() on a double."""
    scale = 10.0**digits
    return math.copysign(math.floor(abs(value) * scale + 0.5), value) / scale


def integer(text: str) -> int | None:
    return int(text) if text else None


def timestamp(text: str) -> datetime | None:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S") if text else None


def latest_time(texts: Iterable[str]) -> datetime | None:
    return max((stamp for stamp in map(timestamp, texts) if stamp is not None), default=None)


def day(text: str) -> date:
    return date.fromisoformat(text)


def key(row: Row) -> tuple[str, str, str]:
    return row["accountId"], row["region"], row["repositoryName"]


def latest(rows: list[Row]) -> list[Row]:
    newest = max(row["report_date"] for row in rows)
    return [row for row in rows if row["report_date"] == newest]


def gib(size_bytes: str) -> float:
    return sql_round(int(size_bytes) / GIB, 3)


def costliest_repositories(lake: Lake) -> Expected:
    rows = sorted(
        latest(lake.rows("repositories_summary")),
        key=lambda row: (-float(row["monthlyStorageCost(USD)"]), *key(row)),
    )
    return [
        (
            rank,
            day(row["report_date"]),
            *key(row),
            int(row["totalImages"]),
            gib(row["billableSizeBytes"]),
            float(row["monthlyStorageCost(USD)"]),
            integer(row["daysSinceLastPull"]),
            row["lifecyclePolicyText"] != "",
        )
        for rank, row in enumerate(rows[:TOP_N], start=1)
    ]


def by_cost(rows: list[Row]) -> list[Row]:
    return sorted(rows, key=lambda row: (-float(row["monthlyStorageCost(USD)"]), *key(row)))


def repositories_not_pulled(lake: Lake) -> Expected:
    rows = [
        row
        for row in latest(lake.rows("repositories_summary"))
        if row["hasBeenPulled"] == "false" or int(row["daysSinceLastPull"]) >= NOT_PULLED_DAYS
    ]
    return [
        (
            day(row["report_date"]),
            *key(row),
            row["hasBeenPulled"] == "false",
            timestamp(row["lastRecordedPullTime"]),
            integer(row["daysSinceLastPull"]),
            int(row["totalImages"]),
            gib(row["billableSizeBytes"]),
            float(row["monthlyStorageCost(USD)"]),
        )
        for row in by_cost(rows)
    ]


def repositories_without_lifecycle_policy(lake: Lake) -> Expected:
    rows = [row for row in latest(lake.rows("repositories_summary")) if not row["lifecyclePolicyText"]]
    return [
        (
            day(row["report_date"]),
            *key(row),
            int(row["totalImages"]),
            int(row["untaggedImages"]),
            gib(row["billableSizeBytes"]),
            float(row["monthlyStorageCost(USD)"]),
            integer(row["daysSinceLastPull"]),
        )
        for row in by_cost(rows)
    ]


def untagged_images(lake: Lake) -> Expected:
    prices = {
        (row["report_date"], *key(row)): float(row["pricePerGbMonth(USD)"])
        for row in lake.rows("repositories_summary")
    }
    found = [
        (
            day(row["report_date"]),
            *key(row),
            row["imageDigest"],
            row["imageStatus"],
            timestamp(row["imagePushedAt"]),
            integer(row["daysSinceLastPull"]),
            float(row["imageSize(MB)"]),
            sql_round(int(row["imageSizeBytes"]) / GIB * prices[(row["report_date"], *key(row))], 4),
            int(row["imageSizeBytes"]),
        )
        for row in latest(lake.rows("images_summary"))
        if json.loads(row["imageTags"]) == [] and not row["subjectManifestDigest"]
    ]
    found.sort(key=lambda image: (-image[9], -image[10], *image[1:5]))
    return [image[:10] for image in found]


def critical_high_findings(lake: Lake) -> Expected:
    groups: dict[tuple[str, str, str, str], list[Row]] = {}
    for row in latest(lake.rows("images_summary")):
        if (integer(row["findingsCritical"]) or 0) > 0 or (integer(row["findingsHigh"]) or 0) > 0:
            groups.setdefault((row["report_date"], *key(row)), []).append(row)
    result = [
        (
            day(report_date),
            account,
            region,
            repository,
            len(rows),
            sum(row["imageStatus"] == "ACTIVE" for row in rows),
            sum(int(row["findingsCritical"]) for row in rows),
            sum(int(row["findingsHigh"]) for row in rows),
            latest_time(row["imagePushedAt"] for row in rows),
            latest_time(row["lastRecordedPullTime"] for row in rows),
        )
        for (report_date, account, region, repository), rows in groups.items()
    ]
    return sorted(result, key=lambda group: (-group[6], -group[7], *group[1:4]))


def storage_trend(lake: Lake) -> Expected:
    rows = lake.rows("repositories_summary")
    dates = sorted({row["report_date"] for row in rows})
    previous_date = dict(zip(dates[1:], dates, strict=False))
    indexed = {(row["report_date"], *key(row)): row for row in rows}

    def change(row: Row, other_date: str | None) -> tuple[int | None, float | None]:
        other = indexed.get((other_date, *key(row))) if other_date else None
        if other is None:
            return None, None
        cost = float(row["monthlyStorageCost(USD)"]) - float(other["monthlyStorageCost(USD)"])
        return int(row["billableSizeBytes"]) - int(other["billableSizeBytes"]), sql_round(cost, 4)

    def days_before(report_date: str, days: int) -> str:
        return (day(report_date) - timedelta(days=days)).isoformat()

    shown = set(dates[-TREND_DATES:])
    result = [
        (
            day(row["report_date"]),
            *key(row),
            int(row["billableSizeBytes"]),
            gib(row["billableSizeBytes"]),
            float(row["monthlyStorageCost(USD)"]),
            day(previous_date[row["report_date"]]) if row["report_date"] in previous_date else None,
            *change(row, previous_date.get(row["report_date"])),
            *change(row, days_before(row["report_date"], 7)),
            *change(row, days_before(row["report_date"], 30)),
        )
        for row in rows
        if row["report_date"] in shown
    ]
    result.sort(key=lambda trend: trend[0], reverse=True)
    result.sort(key=lambda trend: trend[1:4])
    return result


def potential_savings(lake: Lake) -> Expected:
    rows = [
        row
        for row in latest(lake.rows("repositories_summary"))
        if float(row["lifecycleMonthlySavings(USD)"]) > 0
    ]
    rows.sort(key=lambda row: (-float(row["lifecycleMonthlySavings(USD)"]), *key(row)))
    return [
        (
            day(row["report_date"]),
            *key(row),
            row["lifecyclePolicySource"],
            int(row["lifecycleExpiringImages"]),
            gib(row["lifecycleExpiringBytes"]),
            float(row["lifecycleMonthlySavings(USD)"]),
            float(row["monthlyStorageCost(USD)"]),
            sql_round(
                100 * float(row["lifecycleMonthlySavings(USD)"]) / float(row["monthlyStorageCost(USD)"]), 1
            )
            if float(row["monthlyStorageCost(USD)"])
            else None,
        )
        for row in rows
    ]


def reclaimable_storage(lake: Lake) -> Expected:
    rows = [
        row
        for row in latest(lake.rows("repositories_summary"))
        if int(row["reclaimableImages"]) > 0 or int(row["inUseNotRecentlyPulledImages"]) > 0
    ]
    rows.sort(
        key=lambda row: (
            -float(row["reclaimableMonthlySavings(USD)"]),
            -int(row["inUseNotRecentlyPulledImages"]),
            *key(row),
        )
    )
    return [
        (
            day(row["report_date"]),
            *key(row),
            int(row["reclaimableImages"]),
            gib(row["reclaimableBytes"]),
            float(row["reclaimableMonthlySavings(USD)"]),
            float(row["monthlyStorageCost(USD)"]),
            sql_round(
                100 * float(row["reclaimableMonthlySavings(USD)"]) / float(row["monthlyStorageCost(USD)"]), 1
            )
            if float(row["monthlyStorageCost(USD)"])
            else None,
            int(row["inUseImages"]),
            int(row["inUseNotRecentlyPulledImages"]),
            int(row["reclaimAfterDays"]),
        )
        for row in rows
    ]


def test_the_reclaimable_query_shows_in_use_images_pull_time_alone_would_delete(lake: Lake) -> None:
    """Guards the fixture: both halves of the query have rows to prove."""
    rows = reclaimable_storage(lake)
    assert any(row[6] > 0 for row in rows)
    assert any(row[10] > 0 for row in rows)


SEVERITY_ORDER = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL")


def widespread_vulnerabilities(lake: Lake) -> Expected:
    groups: dict[tuple[str, str, str], list[Row]] = {}
    for row in latest(lake.rows("image_findings")):
        groups.setdefault((row["report_date"], row["findingName"], row["severity"]), []).append(row)
    result = [
        (
            day(report_date),
            name,
            severity,
            max((float(row["cvssScore"]) for row in rows if row["cvssScore"]), default=None),
            len({(row["accountId"], row["region"], row["imageDigest"]) for row in rows}),
            len({key(row) for row in rows}),
            ", ".join(sorted({row["packageName"] for row in rows if row["packageName"]})),
            sum(1 for row in rows if row["fixedVersion"]),
            max((row["referenceUrl"] for row in rows if row["referenceUrl"]), default=None),
        )
        for (report_date, name, severity), rows in groups.items()
    ]
    rank = {severity: number for number, severity in enumerate(SEVERITY_ORDER)}
    result.sort(key=lambda found: (rank.get(found[2], len(rank)), -found[4], found[1]))
    return result


def registry_storage(lake: Lake) -> Expected:
    rows = sorted(
        latest(lake.rows("registries_summary")),
        key=lambda row: (-float(row["monthlyStorageCost(USD)"]), row["accountId"], row["region"]),
    )

    def gib_or_none(text: str) -> float | None:
        return gib(text) if text else None

    def could_save(row: Row) -> float | None:
        if row["blobMounting"] == "ENABLED":
            return 0.0
        if not row["crossRepositoryDuplicateBytes"]:
            return None
        price = float(row["pricePerGbMonth(USD)"])
        return sql_round(int(row["crossRepositoryDuplicateBytes"]) / GIB * price, 4)

    return [
        (
            day(row["report_date"]),
            row["accountId"],
            row["region"],
            row["blobMounting"] or None,
            int(row["repositories"]),
            int(row["images"]),
            gib_or_none(row["repositoryUniqueBlobBytes"]),
            gib_or_none(row["registryUniqueBlobBytes"]),
            gib_or_none(row["crossRepositoryDuplicateBytes"]),
            could_save(row),
            float(row["monthlyStorageCost(USD)"]),
            row["costBasis"],
            gib(row["reclaimableBytes"]),
            float(row["reclaimableCost(USD)"]),
            gib(row["archivedBytes"]),
        )
        for row in rows
    ]


EXPECTATIONS: dict[str, Callable[[Lake], Expected]] = {
    "costliest_repositories": costliest_repositories,
    "repositories_not_pulled": repositories_not_pulled,
    "repositories_without_lifecycle_policy": repositories_without_lifecycle_policy,
    "untagged_images": untagged_images,
    "critical_high_findings": critical_high_findings,
    "storage_trend": storage_trend,
    "potential_savings": potential_savings,
    "reclaimable_storage": reclaimable_storage,
    "widespread_vulnerabilities": widespread_vulnerabilities,
    "registry_storage": registry_storage,
}


def run(duck: duckdb.DuckDBPyConnection, name: str) -> list[tuple[Any, ...]]:
    return duck.execute(athena_to_duckdb(named_query(name).sql)).fetchall()


def same(got: Any, wanted: Any) -> bool:
    """Doubles to within float noise; everything else exactly, type included (no 1 == True)."""
    if isinstance(wanted, float) and isinstance(got, float):
        return math.isclose(got, wanted, rel_tol=0, abs_tol=1e-9)
    return type(got) is type(wanted) and got == wanted


def assert_rows(actual: list[tuple[Any, ...]], expected: Expected) -> None:
    assert len(actual) == len(expected)
    for number, (got, wanted) in enumerate(zip(actual, expected, strict=True)):
        assert len(got) == len(wanted), f"row {number}: {got} != {wanted}"
        assert all(map(same, got, wanted)), f"row {number}: {got} != {wanted}"


def test_every_shipped_query_has_an_expectation() -> None:
    assert {query.name for query in named_queries()} == set(EXPECTATIONS)


@pytest.mark.parametrize("name", sorted(EXPECTATIONS))
def test_query_matches_python_expectation(name: str, lake: Lake, duck: duckdb.DuckDBPyConnection) -> None:
    expected = EXPECTATIONS[name](lake)

    assert expected, f"the demo lake gives {name} nothing to return; the comparison would prove nothing"
    assert_rows(run(duck, name), expected)


def test_trend_has_growth_gaps_and_dates_without_history(lake: Lake) -> None:
    """Guards the fixture: the trend comparison covers changes, missing rows and empty baselines."""
    trends = storage_trend(lake)
    since_previous = [trend[8] for trend in trends]
    assert any(change for change in since_previous if change)
    assert None in since_previous
    assert any(trend[10] is not None for trend in trends)
    assert any(trend[12] is not None for trend in trends)
    region, days_before, repository = MISSING
    gap = [trend for trend in trends if trend[2:4] == (region, repository)]
    assert len(gap) == len({trend[0] for trend in trends}) - 1
    assert days_before == 1


def test_trend_shows_only_the_last_30_report_dates(lake: Lake, tmp_path: Path) -> None:
    newest = date(2027, 1, 31)
    dates = [(newest - timedelta(days=offset)).isoformat() for offset in range(TREND_DATES + 2)]
    for report in lake.reports:
        source = next((lake.root / report).glob("report_date=*/*us-east-1.csv"))
        for report_date in dates:
            target = tmp_path / report / f"report_date={report_date}" / source.name
            target.parent.mkdir(parents=True)
            shutil.copy(source, target)

    with connect(tmp_path, lake.reports) as duck:
        rows = run(duck, "storage_trend")

    shown = sorted({row[0] for row in rows})
    assert shown == sorted(day(report_date) for report_date in dates[:TREND_DATES])
    oldest = [row for row in rows if row[0] == shown[0]]
    assert all(row[7] == shown[0] - timedelta(days=1) and row[8] == 0 for row in oldest)
    assert all(row[10] == 0 and row[12] == 0 for row in rows if row[0] == shown[-1])


def test_typed_views_type_every_column(lake: Lake, duck: duckdb.DuckDBPyConnection) -> None:
    for report, columns in lake.reports.items():
        view = typed_view(report, columns)
        described = {row[0]: row[1] for row in duck.execute(f"DESCRIBE {view.name}").fetchall()}
        assert list(described) == [column.name for column in view.columns]
        assert described["report_date"] == "DATE"
        assert duck.execute(f"SELECT count(*) FROM {view.name}").fetchone() == (len(lake.rows(report)),)
    images = {row[0]: row[1] for row in duck.execute("DESCRIBE images_summary_typed").fetchall()}
    assert images["image_tags"] == "VARCHAR[]"
    assert images["finding_severity_counts"] == "MAP(VARCHAR, BIGINT)"
    assert images["image_pushed_at"] == "TIMESTAMP"
    assert images["findings_critical"] == "BIGINT"


def test_typed_views_turn_empty_fields_into_null_and_json_into_values(
    lake: Lake, duck: duckdb.DuckDBPyConnection
) -> None:
    rows = {
        (row["report_date"], row["region"], row["imageDigest"]): row for row in lake.rows("images_summary")
    }
    typed = duck.execute(
        "SELECT CAST(report_date AS VARCHAR), region, image_digest, image_tags, finding_severity_counts, "
        "findings_critical, days_since_last_pull, subject_manifest_digest FROM images_summary_typed"
    ).fetchall()
    assert len(typed) == len(rows)
    for report_date, region, digest, tags, counts, critical, days, subject in typed:
        row = rows[(report_date, region, digest)]
        assert tags == json.loads(row["imageTags"])
        assert counts == (json.loads(row["findingSeverityCounts"]) if row["findingSeverityCounts"] else None)
        assert critical == integer(row["findingsCritical"])
        assert days == integer(row["daysSinceLastPull"])
        assert subject == (row["subjectManifestDigest"] or None)


def test_run_on_duckdb_gives_the_first_rows(lake: Lake) -> None:
    columns, rows = preview(lake.root, "repositories_not_pulled", 3)

    assert columns[:4] == ["report_date", "account_id", "region", "repository_name"]
    assert len(rows) == 3
    assert run_on_duckdb(lake.root, "repositories_not_pulled", 3) == rows


def test_widespread_vulnerabilities_span_images_and_repositories(lake: Lake) -> None:
    """Guards the fixture: vulnerabilities shared by images of one base, across repositories."""
    found = widespread_vulnerabilities(lake)
    assert {row[2] for row in found} >= {"CRITICAL", "HIGH", "MEDIUM", "LOW"}
    assert max(row[4] for row in found) > 2
    assert max(row[5] for row in found) > 1


def test_a_report_without_files_is_an_empty_table_as_in_athena(lake: Lake, tmp_path: Path) -> None:
    shutil.copytree(lake.root / "repositories_summary", tmp_path / "repositories_summary")
    shutil.copytree(lake.root / "images_summary", tmp_path / "images_summary")

    assert preview(tmp_path, "widespread_vulnerabilities", 5)[1] == []
    assert len(preview(tmp_path, "costliest_repositories", 5)[1]) == 5


def test_preview_rejects_a_bad_limit_and_a_missing_lake(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="limit must be at least 1, got 0"):
        preview(tmp_path, "costliest_repositories", 0)
    with pytest.raises(ValueError, match="no report files"):
        preview(tmp_path, "costliest_repositories", 5)
    with pytest.raises(ValueError, match="unknown query 'nope'"):
        preview(tmp_path, "nope", 5)
