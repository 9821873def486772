"""``ecr-report --workload-account``: the console reads the workloads of another account before any
registry, and an image only that account runs is in use, named with its account and region."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from moto.backends import get_backend
from moto.ecr import models as ecr_models

from ecr_provider import cli
from ecr_provider.core.columns import IMAGES_REPORT
from ecr_provider.core.csv_format import read_canonical
from emulator import moto_ecr_gaps
from emulator.demo_usage import DemoFunction, DemoUsage, seed_demo_usage
from emulator.server import ACCOUNT_ID, DUMMY_CREDENTIALS, Emulator

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
REGION = "us-east-1"
WORKLOAD = "222222222222"
REPOSITORY = "shared/api"
DIGEST = "sha256:" + hashlib.sha256(b"shared/api:v1").hexdigest()
_MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"})


@pytest.fixture(scope="module")
def seeded(emulator: Emulator) -> Emulator:
    """One old image in the session's own registry, run only by a function of the workload account."""
    backend = get_backend("ecr")[ACCOUNT_ID][REGION]
    backend.create_repository(REPOSITORY, None, {}, {"scanOnPush": False}, "MUTABLE", [])
    image = ecr_models.Image(ACCOUNT_ID, "v1", _MANIFEST, REPOSITORY, None, DIGEST)
    old = AS_OF - timedelta(days=300)
    moto_ecr_gaps.fill_image_model(image, size_bytes=2**20, pushed_at=old, last_recorded_pull_time=old)
    backend.repositories[REPOSITORY].images.append(image)
    uri = f"{ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com/{REPOSITORY}:v1"
    seed_demo_usage(
        emulator.endpoint_url,
        DemoUsage(WORKLOAD, REGION, (), (DemoFunction("api", uri, REPOSITORY, DIGEST),)),
    )
    return emulator


def image_row(output: Path) -> dict[str, str]:
    with (output / f"{IMAGES_REPORT}.csv").open(encoding="utf-8", newline="") as handle:
        [row] = list(read_canonical(handle))
    return row


def test_a_workload_accounts_function_keeps_the_image_it_runs(
    seeded: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", seeded.endpoint_url)
    for name, value in DUMMY_CREDENTIALS.items():
        monkeypatch.setenv(name.upper(), value)
    fixed = ["--region", REGION, "--as-of", AS_OF.isoformat(), "--price-per-gb-month", "0.10", "--no-html"]
    role = f"arn:aws:iam::{WORKLOAD}:role/ecr-report"

    assert cli.run(["--output-dir", str(tmp_path / "alone"), *fixed]) == 0
    assert cli.run(["--output-dir", str(tmp_path / "with"), *fixed, "--workload-account", role]) == 0

    alone, joined = image_row(tmp_path / "alone"), image_row(tmp_path / "with")
    assert (alone["inUse"], alone["cleanupVerdict"], alone["cleanupReason"]) == (
        "false",
        "reclaimable",
        "unused",
    )
    assert (joined["inUse"], joined["cleanupVerdict"], joined["cleanupReason"]) == ("true", "keep", "in-use")
    assert json.loads(joined["inUseBy"]) == [f"lambda:{WORKLOAD}/{REGION}/api"]
