"""Hand-computed rows for a small registry: every unit, format and empty-vs-zero rule of docs/reports.md."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from ecr_provider.core.blobs import OCI_INDEX, OCI_MANIFEST, BlobRef, ParsedManifest, repository_storage
from ecr_provider.core.columns import IMAGE_COLUMNS, REGISTRY_COLUMNS, REPOSITORY_COLUMNS, athena_name
from ecr_provider.core.csv_format import ReportCsvWriter, read_canonical
from ecr_provider.core.price_table import StoragePrices
from ecr_provider.core.records import Image, Repository, RepositorySnapshot
from ecr_provider.core.report import write_reports
from ecr_provider.core.transform import (
    PreviousReport,
    ReportContext,
    RepositoryCleanup,
    image_row,
    repository_cleanup,
    repository_row,
    repository_totals,
)
from ecr_provider.core.usage import RegistryUsage

AS_OF = datetime(2026, 11, 27, 0, 0, tzinfo=UTC)
CONTEXT = ReportContext(
    as_of=AS_OF, prices=StoragePrices(Decimal("0.10"), None, "override"), usage=RegistryUsage()
)
"""Nothing runs in the registry (ECS and Lambda read, and empty)."""
ARN = "arn:aws:ecr:eu-west-1:111122223333:repository/team-a/api"
POLICY = """{
  "rules": [{"rulePriority": 1,
             "selection": {"tagStatus": "tagged", "tagPrefixList": ["v"],
                           "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 90},
             "action": {"type": "expire"}}]
}"""

SEED_FIRST_REPOSITORY_COLUMNS = [
    "repositoryName",
    "createdAt",
    "scanOnPush",
    "totalImages",
    "totalSize(MB)",
    "monthlyStorageCost(USD)",
    "hasBeenPulled",
    "lastRecordedPullTime",
    "daysSinceLastPull",
    "lifecyclePolicyText",
]
SEED_FIRST_IMAGE_COLUMNS = [
    "repositoryName",
    "imageTags",
    "imagePushedAt",
    "imageSize(MB)",
    "imageScanStatus",
    "imageScanCompletedAt",
    "findingSeverityCounts",
    "lastRecordedPullTime",
    "daysSinceLastPull",
]


def repository(**overrides: Any) -> Repository:
    detail = {
        "repositoryArn": ARN,
        "registryId": "111122223333",
        "repositoryName": "team-a/api",
        "repositoryUri": "111122223333.dkr.ecr.eu-west-1.amazonaws.com/team-a/api",
        "createdAt": datetime(2024, 3, 1, 9, 30, 15, tzinfo=UTC),
        "imageTagMutability": "IMMUTABLE",
        "imageScanningConfiguration": {"scanOnPush": True},
        "encryptionConfiguration": {"encryptionType": "AES256"},
        **overrides,
    }
    return Repository.from_api(detail)


def image(digest: str, size: int, **fields: Any) -> Image:
    return Image.from_api(
        {"repositoryName": "team-a/api", "imageDigest": digest, "imageSizeInBytes": size, **fields}
    )


# 100 MiB + 5,243 bytes: 100.0050001 MB, which rounds half-up to 100.01.
TAGGED = image(
    "sha256:aaa",
    104_857_600 + 5_243,
    imageTags=["v1", "latest"],
    imagePushedAt=datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC),
    imageScanStatus={"status": "COMPLETE"},
    imageScanFindingsSummary={
        "imageScanCompletedAt": datetime(2026, 1, 1, 12, 5, 0, tzinfo=UTC),
        "findingSeverityCounts": {"HIGH": 5, "CRITICAL": 2},
    },
    imageManifestMediaType="application/vnd.oci.image.manifest.v1+json",
    # 6 days and 16 hours before the as-of time: 6 whole days.
    lastRecordedPullTime=datetime(2026, 11, 20, 8, 0, 0, tzinfo=UTC),
)
# Untagged, archived, never scanned, never pulled: 50 MiB exactly.
ARCHIVED = image(
    "sha256:bbb",
    52_428_800,
    imagePushedAt=datetime(2025, 6, 1, 0, 0, 0, tzinfo=UTC),
    imageStatus="ARCHIVED",
    lastArchivedAt=datetime(2026, 2, 1, 0, 0, 0, tzinfo=UTC),
)
# Scanned with no findings, 1 GiB, pulled exactly 30 days before the as-of time.
CLEAN = image(
    "sha256:ccc",
    1_073_741_824,
    imageTags=["2.0"],
    imagePushedAt=datetime(2026, 10, 1, 0, 0, 0, tzinfo=UTC),
    imageScanStatus={"status": "COMPLETE"},
    imageScanFindingsSummary={"imageScanCompletedAt": datetime(2026, 10, 1, 0, 1, 0, tzinfo=UTC)},
    lastRecordedPullTime=datetime(2026, 10, 28, 0, 0, 0, tzinfo=UTC),
)
SNAPSHOT = RepositorySnapshot(repository(), (TAGGED, ARCHIVED, CLEAN), POLICY)


def cleanup_of(one: Image, context: ReportContext) -> RepositoryCleanup:
    """The image's use and verdict, alone in its repository."""
    return repository_cleanup(RepositorySnapshot(repository(), (one,)), context)


def as_dict(row: list[str], columns: Any) -> dict[str, str]:
    return dict(zip([c.header for c in columns], row, strict=True))


def test_first_columns_are_the_seed_documents_in_order() -> None:
    assert [c.header for c in REPOSITORY_COLUMNS[:10]] == SEED_FIRST_REPOSITORY_COLUMNS
    assert [c.header for c in IMAGE_COLUMNS[:9]] == SEED_FIRST_IMAGE_COLUMNS


def test_athena_names_are_snake_case_and_unique() -> None:
    assert athena_name("totalSize(MB)") == "total_size_mb"
    assert athena_name("monthlyStorageCost(USD)") == "monthly_storage_cost_usd"
    assert athena_name("pricePerGbMonth(USD)") == "price_per_gb_month_usd"
    for columns in (REPOSITORY_COLUMNS, IMAGE_COLUMNS):
        names = [c.athena_name for c in columns]
        assert len(set(names)) == len(names)


def test_tagged_scanned_pulled_image_row() -> None:
    row = as_dict(
        image_row(TAGGED, "111122223333", "eu-west-1", CONTEXT, cleanup_of(TAGGED, CONTEXT)), IMAGE_COLUMNS
    )
    assert row == {
        "repositoryName": "team-a/api",
        "imageTags": '["v1","latest"]',
        "imagePushedAt": "2026-01-01 12:00:00",
        "imageSize(MB)": "100.01",
        "imageScanStatus": "COMPLETE",
        "imageScanCompletedAt": "2026-01-01 12:05:00",
        "findingSeverityCounts": '{"CRITICAL":2,"HIGH":5}',
        "lastRecordedPullTime": "2026-11-20 08:00:00",
        "daysSinceLastPull": "6",
        "accountId": "111122223333",
        "region": "eu-west-1",
        "imageDigest": "sha256:aaa",
        "imageManifestMediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactMediaType": "",
        "imageStatus": "ACTIVE",
        "imageSizeBytes": "104862843",
        "findingsCritical": "2",
        "findingsHigh": "5",
        "findingsMedium": "0",
        "findingsLow": "0",
        "findingsInformational": "0",
        "findingsUndefined": "0",
        "lastArchivedAt": "",
        "lastActivatedAt": "",
        "subjectManifestDigest": "",
        "asOf": "2026-11-27 00:00:00",
        "inUse": "false",
        "inUseCount": "0",
        "lastInUseAt": "",
        "inUseBy": "[]",
        "cleanupVerdict": "keep",
        "cleanupReason": "recently-pulled",
    }


def test_unscanned_unpulled_archived_image_is_empty_not_zero() -> None:
    row = as_dict(
        image_row(ARCHIVED, "111122223333", "eu-west-1", CONTEXT, cleanup_of(ARCHIVED, CONTEXT)),
        IMAGE_COLUMNS,
    )
    assert row["imageTags"] == "[]"
    assert row["imageSize(MB)"] == "50.00"
    assert row["imageScanStatus"] == ""
    assert row["findingSeverityCounts"] == ""
    assert row["findingsCritical"] == ""
    assert row["lastRecordedPullTime"] == ""
    assert row["daysSinceLastPull"] == ""
    assert row["imageStatus"] == "ARCHIVED"
    assert row["lastArchivedAt"] == "2026-02-01 00:00:00"
    assert (row["cleanupVerdict"], row["cleanupReason"]) == ("reclaimable", "archived")


def test_scan_without_findings_is_zero_not_empty() -> None:
    row = as_dict(
        image_row(CLEAN, "111122223333", "eu-west-1", CONTEXT, cleanup_of(CLEAN, CONTEXT)), IMAGE_COLUMNS
    )
    assert row["findingSeverityCounts"] == "{}"
    assert [row[f"findings{s}"] for s in ("Critical", "High", "Low")] == ["0", "0", "0"]
    assert row["imageSize(MB)"] == "1024.00"
    assert row["daysSinceLastPull"] == "30"


def test_repository_row() -> None:
    totals = repository_totals(SNAPSHOT, CONTEXT)
    row = as_dict(
        repository_row(SNAPSHOT, totals, CONTEXT, repository_cleanup(SNAPSHOT, CONTEXT)), REPOSITORY_COLUMNS
    )
    # 104,862,843 + 52,428,800 + 1,073,741,824 = 1,231,033,467 bytes
    #   / 2^20 = 1174.0050001 MB -> 1174.01
    #   / 2^30 x 0.10 = 0.11464893 USD -> 0.1146
    assert row == {
        "repositoryName": "team-a/api",
        "createdAt": "2024-03-01 09:30:15",
        "scanOnPush": "true",
        "totalImages": "3",
        "totalSize(MB)": "1174.01",
        "monthlyStorageCost(USD)": "0.1146",
        "hasBeenPulled": "true",
        "lastRecordedPullTime": "2026-11-20 08:00:00",
        "daysSinceLastPull": "6",
        "lifecyclePolicyText": (
            '{"rules":[{"rulePriority":1,"selection":{"tagStatus":"tagged","tagPrefixList":["v"],'
            '"countType":"sinceImagePushed","countUnit":"days","countNumber":90},"action":{"type":"expire"}}]}'
        ),
        "accountId": "111122223333",
        "region": "eu-west-1",
        "repositoryUri": "111122223333.dkr.ecr.eu-west-1.amazonaws.com/team-a/api",
        "totalSizeBytes": "1231033467",
        "billableSizeBytes": "1231033467",
        "costBasis": "image-size",
        "pricePerGbMonth(USD)": "0.1000",
        "untaggedImages": "1",
        "archivedImages": "1",
        "archivedSizeBytes": "52428800",
        "findingsCritical": "2",
        "findingsHigh": "5",
        "findingsMedium": "0",
        "findingsLow": "0",
        "findingsInformational": "0",
        "findingsUndefined": "0",
        "imageTagMutability": "IMMUTABLE",
        "encryptionType": "AES256",
        "asOf": "2026-11-27 00:00:00",
        # The policy expires the "v1" image (pushed 330 days before as-of, more than 90):
        # 104,862,843 bytes / 2^30 x 0.10 = 0.0097661 USD -> 0.0098
        "lifecycleExpiringImages": "1",
        "lifecycleExpiringBytes": "104862843",
        "lifecycleMonthlySavings(USD)": "0.0098",
        "lifecyclePolicySource": "repository",
        "previousReportDate": "",
        "sizeChangeBytes": "",
        "costChange(USD)": "",
        "uniqueBlobBytes": "",
        "archivePricePerGbMonth(USD)": "0.1000",
        # 52,428,800 archived bytes / 2^30 x 0.10 = 0.0048828 -> 0.0049
        "archivedMonthlyCost(USD)": "0.0049",
        "priceSource": "override",
        "inUseImages": "0",
        "inUseNotRecentlyPulledImages": "0",
        # The archived image alone: untagged, pushed in 2025, never pulled, nothing runs it.
        "reclaimableImages": "1",
        "reclaimableBytes": "52428800",
        "reclaimableMonthlySavings(USD)": "0.0049",
        "reclaimAfterDays": "90",
    }


def test_archived_bytes_are_priced_at_the_archive_rate() -> None:
    context = ReportContext(
        as_of=AS_OF, prices=StoragePrices(Decimal("0.10"), Decimal("0.05"), "pricing-api")
    )
    row = as_dict(
        repository_row(
            SNAPSHOT, repository_totals(SNAPSHOT, context), context, repository_cleanup(SNAPSHOT, context)
        ),
        REPOSITORY_COLUMNS,
    )
    # (1,231,033,467 - 52,428,800) / 2^30 x 0.10 + 52,428,800 / 2^30 x 0.05 = 0.109766 + 0.002441 -> 0.1122
    assert row["monthlyStorageCost(USD)"] == "0.1122"
    assert (row["archivedMonthlyCost(USD)"], row["archivePricePerGbMonth(USD)"]) == ("0.0024", "0.0500")
    assert row["priceSource"] == "pricing-api"


def manifest(*blobs: tuple[str, int]) -> ParsedManifest:
    return ParsedManifest(OCI_MANIFEST, blobs=tuple(BlobRef(digest, size) for digest, size in blobs))


def test_unique_blob_storage_is_the_billable_basis_when_manifests_were_read() -> None:
    shared = ("sha256:base", 500_000_000)
    manifests = {
        TAGGED.digest: manifest(shared, ("sha256:tagged-app", 40_000_000)),
        ARCHIVED.digest: manifest(shared, ("sha256:archived-app", 50_000_000)),
        CLEAN.digest: manifest(shared, ("sha256:clean-app", 10_000_000)),
    }
    storage = repository_storage(manifests, {i.digest: i.size_bytes for i in SNAPSHOT.images})
    snapshot = RepositorySnapshot(SNAPSHOT.repository, SNAPSHOT.images, POLICY, storage)
    row = as_dict(
        repository_row(
            snapshot, repository_totals(snapshot, CONTEXT), CONTEXT, repository_cleanup(snapshot, CONTEXT)
        ),
        REPOSITORY_COLUMNS,
    )
    # 600,000,000 / 2^30 x 0.10 = 0.0558794 -> 0.0559; image sizes still sum to 1,231,033,467
    assert (row["costBasis"], row["billableSizeBytes"], row["uniqueBlobBytes"]) == (
        "unique-blobs",
        "600000000",
        "600000000",
    )
    assert (row["monthlyStorageCost(USD)"], row["totalSizeBytes"]) == ("0.0559", "1231033467")
    # The policy expires TAGGED (v1, pushed 330 days ago): its own 40,000,000 bytes are freed, not its
    # 104,862,843 bytes of image size, as the 500,000,000-byte base stays with the other two images.
    # 40,000,000 / 2^30 x 0.10 = 0.0037253 -> 0.0037
    assert (row["lifecycleExpiringImages"], row["lifecycleExpiringBytes"]) == ("1", "40000000")
    assert row["lifecycleMonthlySavings(USD)"] == "0.0037"


def test_deleting_every_image_that_shares_a_layer_frees_it() -> None:
    manifests = {
        "sha256:old": manifest(("sha256:base", 700), ("sha256:old-app", 30)),
        "sha256:older": manifest(("sha256:base", 700), ("sha256:older-app", 20)),
        "sha256:new": manifest(("sha256:new-base", 900), ("sha256:new-app", 10)),
        "sha256:index": ParsedManifest(OCI_INDEX, children=("sha256:old",)),
    }
    sizes = {"sha256:old": 730, "sha256:older": 720, "sha256:new": 910, "sha256:index": 730}
    storage = repository_storage(manifests, sizes)

    assert storage.total_bytes == 700 + 30 + 20 + 900 + 10
    assert storage.freed_bytes({"sha256:older"}) == 20
    assert storage.freed_bytes({"sha256:old"}) == 0  # the index still references it
    assert storage.freed_bytes({"sha256:old", "sha256:index", "sha256:older"}) == 700 + 30 + 20
    assert storage.freed_bytes(set()) == 0


def test_trend_against_the_previous_report() -> None:
    previous = PreviousReport("2026-11-20", {"team-a/api": (1_000_000_000, Decimal("0.0931"))})
    context = ReportContext(
        as_of=AS_OF, prices=StoragePrices(Decimal("0.10"), None, "override"), previous=previous
    )
    row = as_dict(
        repository_row(
            SNAPSHOT, repository_totals(SNAPSHOT, context), context, repository_cleanup(SNAPSHOT, context)
        ),
        REPOSITORY_COLUMNS,
    )
    # 1,231,033,467 - 1,000,000,000 bytes; 0.1146 - 0.0931 USD (both as shown in the reports)
    assert (row["previousReportDate"], row["sizeChangeBytes"], row["costChange(USD)"]) == (
        "2026-11-20",
        "231033467",
        "0.0215",
    )
    new_repository = RepositorySnapshot(repository(repositoryName="team-a/new"), (CLEAN,), None)
    row = as_dict(
        repository_row(
            new_repository,
            repository_totals(new_repository, context),
            context,
            repository_cleanup(new_repository, context),
        ),
        REPOSITORY_COLUMNS,
    )
    assert (row["sizeChangeBytes"], row["costChange(USD)"]) == ("1073741824", "0.1000")


def test_a_policy_the_evaluator_cannot_read_leaves_savings_empty() -> None:
    snapshot = RepositorySnapshot(repository(), (TAGGED,), '{"rules": [{"rulePriority": 1}]}')
    row = as_dict(
        repository_row(
            snapshot, repository_totals(snapshot, CONTEXT), CONTEXT, repository_cleanup(snapshot, CONTEXT)
        ),
        REPOSITORY_COLUMNS,
    )
    assert row["lifecyclePolicySource"] == "unsupported-policy"
    assert (row["lifecycleExpiringImages"], row["lifecycleMonthlySavings(USD)"]) == ("", "")


def test_empty_repository_without_policy() -> None:
    snapshot = RepositorySnapshot(
        repository(imageScanningConfiguration={"scanOnPush": False}, createdAt=None), (), None
    )
    row = as_dict(
        repository_row(
            snapshot, repository_totals(snapshot, CONTEXT), CONTEXT, repository_cleanup(snapshot, CONTEXT)
        ),
        REPOSITORY_COLUMNS,
    )
    assert row["createdAt"] == ""
    assert row["scanOnPush"] == "false"
    assert row["totalImages"] == "0"
    assert row["totalSize(MB)"] == "0.00"
    assert row["monthlyStorageCost(USD)"] == "0.0000"
    assert row["hasBeenPulled"] == "false"
    assert row["lastRecordedPullTime"] == ""
    assert row["daysSinceLastPull"] == ""
    assert row["lifecyclePolicyText"] == ""
    assert row["lifecyclePolicySource"] == "recommended"
    assert (row["lifecycleExpiringImages"], row["lifecycleMonthlySavings(USD)"]) == ("0", "0.0000")


def test_the_recommended_policy_expires_untagged_images_older_than_14_days() -> None:
    old_untagged = image(
        "sha256:ddd", 3 * 2**30, imagePushedAt=datetime(2026, 11, 1, tzinfo=UTC), imageStatus="ACTIVE"
    )
    fresh_untagged = image("sha256:eee", 2**30, imagePushedAt=datetime(2026, 11, 20, tzinfo=UTC))
    snapshot = RepositorySnapshot(repository(), (TAGGED, old_untagged, fresh_untagged), None)
    row = as_dict(
        repository_row(
            snapshot, repository_totals(snapshot, CONTEXT), CONTEXT, repository_cleanup(snapshot, CONTEXT)
        ),
        REPOSITORY_COLUMNS,
    )
    # Only the 26-day-old untagged image goes: 3 GiB x 0.10 = 0.3000 USD a month.
    assert (row["lifecyclePolicySource"], row["lifecycleExpiringImages"]) == ("recommended", "1")
    assert (row["lifecycleExpiringBytes"], row["lifecycleMonthlySavings(USD)"]) == ("3221225472", "0.3000")


def test_days_since_is_measured_to_as_of_not_the_clock() -> None:
    later = ReportContext(
        as_of=datetime(2027, 1, 1, tzinfo=UTC), prices=StoragePrices(Decimal("0.10"), None, "override")
    )
    row = as_dict(image_row(TAGGED, "1", "eu-west-1", later, cleanup_of(TAGGED, later)), IMAGE_COLUMNS)
    assert row["daysSinceLastPull"] == "41"
    # A pull after the as-of time (a backfill of an earlier date) counts as 0 days, never negative.
    earlier = ReportContext(
        as_of=datetime(2026, 11, 1, tzinfo=UTC), prices=StoragePrices(Decimal("0.10"), None, "override")
    )
    assert (
        as_dict(image_row(TAGGED, "1", "eu-west-1", earlier, cleanup_of(TAGGED, earlier)), IMAGE_COLUMNS)[
            "daysSinceLastPull"
        ]
        == "0"
    )


def test_repository_from_api_rejects_a_non_ecr_arn() -> None:
    with pytest.raises(ValueError, match="arn:aws:s3"):
        repository(repositoryArn="arn:aws:s3:::bucket")


def test_write_reports_streams_both_files_and_tallies() -> None:
    repositories_out, images_out = io.StringIO(), io.StringIO()
    tally = write_reports(
        [(SNAPSHOT, CONTEXT)],
        ReportCsvWriter(repositories_out, REPOSITORY_COLUMNS),
        ReportCsvWriter(images_out, IMAGE_COLUMNS),
        ReportCsvWriter(io.StringIO(), REGISTRY_COLUMNS),
        [CONTEXT],
    )
    assert tally.as_dict() == {
        "repositories": 1,
        "images": 3,
        "total_size_bytes": 1_231_033_467,
        "billable_size_bytes": 1_231_033_467,
        "monthly_cost_usd": "0.1146",
    }
    images = list(read_canonical(io.StringIO(images_out.getvalue(), newline="")))
    assert [r["imageDigest"] for r in images] == ["sha256:aaa", "sha256:bbb", "sha256:ccc"]
    repositories = list(read_canonical(io.StringIO(repositories_out.getvalue(), newline="")))
    assert repositories[0]["lifecyclePolicyText"].startswith('{"rules"')
    assert repositories_out.getvalue().count("\r\n") == 2
