"""``ecr-report --repository NAME`` against the emulator: that repository's rows only, as the original's
``REPORT=<name>`` wrote that repository's images."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from ecr_provider import cli
from ecr_provider.core.columns import IMAGES_REPORT, REPOSITORIES_REPORT
from ecr_provider.core.csv_format import read_canonical
from emulator.server import ACCOUNT_ID, DUMMY_CREDENTIALS, Emulator, client
from emulator.synthetic_registry import seed_synthetic_registry

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(read_canonical(handle))


def test_one_repositorys_rows_only(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_synthetic_registry(ACCOUNT_ID, "us-east-1", repositories=5, images=40, as_of=AS_OF)
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

    assert cli.run(["--output-dir", str(tmp_path / "all"), *fixed]) == 0
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
