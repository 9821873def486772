"""``ecr-report`` against the emulator: ``--repository NAME`` reads that repository's rows only, as the
original's ``REPORT=<name>`` did; ``--format json|parquet`` writes the rows typed as the Athena views."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ecr_provider import cli
from ecr_provider.core.columns import (
    IMAGE_COLUMNS,
    IMAGES_REPORT,
    REGISTRIES_REPORT,
    REGISTRY_COLUMNS,
    REPOSITORIES_REPORT,
    REPOSITORY_COLUMNS,
    Kind,
)
from ecr_provider.core.csv_format import read_canonical
from ecr_provider.output_folder import LOCK_NAME
from emulator.server import ACCOUNT_ID, DUMMY_CREDENTIALS, Emulator, client
from emulator.synthetic_registry import seed_synthetic_registry

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def seeded(emulator: Emulator) -> Emulator:
    """One registry for the module (its emulator is the module's): 5 repositories, 40 images."""
    seed_synthetic_registry(ACCOUNT_ID, "us-east-1", repositories=5, images=40, as_of=AS_OF)
    return emulator


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(read_canonical(handle))


def test_one_repositorys_rows_only(
    seeded: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    emulator = seeded
    names = sorted(
        repository["repositoryName"]
        for repository in client("ecr", emulator.endpoint_url, "us-east-1").describe_repositories()[
            "repositories"
        ]
    )
    chosen = names[2]
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.endpoint_url)
    for name, value in DUMMY_CREDENTIALS.items():
        monkeypatch.setenv(name.upper(), value)
    fixed = [
        *("--region", "us-east-1", "--as-of", AS_OF.isoformat()),
        *("--price-per-gb-month", "0.10", "--read-manifests", "never"),
    ]

    with caplog.at_level(logging.INFO, logger="ecr_report"):
        assert cli.run(["--output-dir", str(tmp_path / "all"), *fixed]) == 0
    phases = ", ".join(
        rf"{phase} \d+\.\d\d s"
        for phase in ("start-up", "set-up", "read", "transform", "write", "html", "outcome")
    )
    [line] = [record.getMessage() for record in caplog.records if record.getMessage().startswith("phases:")]
    assert re.fullmatch(rf"phases: {phases}; \d+\.\d\d s in all", line)
    assert cli.run(["--output-dir", str(tmp_path / "one"), *fixed, "--repository", chosen]) == 0

    every = rows(tmp_path / "all" / f"{REPOSITORIES_REPORT}.csv")
    [one] = rows(tmp_path / "one" / f"{REPOSITORIES_REPORT}.csv")
    assert len(every) == len(names) == 5
    assert one == next(row for row in every if row["repositoryName"] == chosen)
    images = rows(tmp_path / "one" / f"{IMAGES_REPORT}.csv")
    assert images
    assert images == [
        row for row in rows(tmp_path / "all" / f"{IMAGES_REPORT}.csv") if row["repositoryName"] == chosen
    ]


def test_a_repository_that_does_not_exist_is_named(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.endpoint_url)
    for name, value in DUMMY_CREDENTIALS.items():
        monkeypatch.setenv(name.upper(), value)

    with pytest.raises(SystemExit) as caught:
        cli.run(
            [
                "--output-dir",
                str(tmp_path / "out"),
                "--region",
                "us-east-1",
                "--price-per-gb-month",
                "0.10",
                "--read-manifests",
                "never",
                "--repository",
                "no-such-repository",
            ]
        )

    assert caught.value.code == 1
    error = capsys.readouterr().err
    assert "RepositoryNotFoundException" in error
    assert "no-such-repository" in error


def test_json_and_parquet_are_the_csv_rows_typed_as_the_athena_views(
    seeded: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    emulator = seeded
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.endpoint_url)
    for name, value in DUMMY_CREDENTIALS.items():
        monkeypatch.setenv(name.upper(), value)
    monkeypatch.setenv("EXPORT_FORMAT", "JSON")  # the original's variable, any case; the flag wins
    fixed = [
        *("--region", "us-east-1", "--as-of", AS_OF.isoformat()),
        *("--price-per-gb-month", "0.10", "--read-manifests", "never", "--no-html"),
    ]

    assert cli.run(["--output-dir", str(tmp_path / "csv"), *fixed, "--format", "csv"]) == 0
    assert cli.run(["--output-dir", str(tmp_path / "json"), *fixed]) == 0
    assert cli.run(["--output-dir", str(tmp_path / "parquet"), *fixed, "--format", "parquet"]) == 0

    assert sorted(path.name for path in (tmp_path / "json").iterdir() if path.name != LOCK_NAME) == [
        f"{IMAGES_REPORT}.json",
        f"{REGISTRIES_REPORT}.json",
        f"{REPOSITORIES_REPORT}.json",
    ]
    for report, columns in (
        (REPOSITORIES_REPORT, REPOSITORY_COLUMNS),
        (IMAGES_REPORT, IMAGE_COLUMNS),
        (REGISTRIES_REPORT, REGISTRY_COLUMNS),
    ):
        written = rows(tmp_path / "csv" / f"{report}.csv")
        documents = json.loads((tmp_path / "json" / f"{report}.json").read_text(encoding="utf-8"))
        assert len(documents) == len(written) > 0
        table = pq.read_table(tmp_path / "parquet" / f"{report}.parquet")
        assert table.num_rows == len(written)
        for column in columns:
            field = table.schema.field(column.header)
            expected_type = {
                Kind.INTEGER: pa.int64(),
                Kind.DECIMAL: pa.float64(),
                Kind.BOOLEAN: pa.bool_(),
                Kind.TIMESTAMP: pa.timestamp("ms", tz="UTC"),
                Kind.DATE: pa.date32(),
            }.get(column.kind, pa.string())
            assert field.type == expected_type, column.header
            for row, document, value in zip(
                written, documents, table.column(column.header).to_pylist(), strict=True
            ):
                cell = row[column.header]
                if cell == "" and column.kind not in (Kind.TEXT, Kind.JSON):
                    assert document[column.header] is None
                    assert value is None
                elif column.kind is Kind.INTEGER:
                    assert document[column.header] == value == int(cell)
                elif column.kind is Kind.DECIMAL:
                    assert document[column.header] == value == float(cell)
                elif column.kind is Kind.BOOLEAN:
                    assert document[column.header] is value is (cell == "true")
                elif column.kind is Kind.TIMESTAMP:
                    assert document[column.header] == cell
                    assert value == datetime.fromisoformat(cell).replace(tzinfo=UTC)
                else:
                    assert document[column.header] == cell
