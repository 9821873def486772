"""Typed views of what the ECR API returns, parsed once so the transform never touches raw dicts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ecr_provider.core.blobs import RepositoryStorage
    from ecr_provider.core.visibility import PolicyRead

SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED")


@dataclass(frozen=True, slots=True)
class Repository:
    name: str
    arn: str
    account_id: str
    region: str
    uri: str
    created_at: datetime | None
    scan_on_push: bool
    tag_mutability: str
    encryption_type: str

    @classmethod
    def from_api(cls, detail: Mapping[str, Any]) -> Repository:
        """Build from a DescribeRepositories entry; account and region come from the ARN."""
        arn = detail["repositoryArn"]
        parts = arn.split(":", 5)
        if len(parts) != 6 or parts[2] != "ecr":
            raise ValueError(f"not an ECR repository ARN: {arn!r}")
        return cls(
            name=detail["repositoryName"],
            arn=arn,
            account_id=detail.get("registryId") or parts[4],
            region=parts[3],
            uri=detail.get("repositoryUri", ""),
            created_at=detail.get("createdAt"),
            scan_on_push=bool(detail.get("imageScanningConfiguration", {}).get("scanOnPush", False)),
            tag_mutability=detail.get("imageTagMutability", ""),
            encryption_type=detail.get("encryptionConfiguration", {}).get("encryptionType", ""),
        )


@dataclass(frozen=True, slots=True)
class InspectorUse:
    """Inspector's in-use fields of a covered image (``resourceMetadata.ecrImage``): the ECS tasks and
    EKS pods running it, and when it last ran."""

    count: int
    last_in_use_at: datetime | None


@dataclass(frozen=True, slots=True)
class Image:
    repository_name: str
    digest: str
    tags: tuple[str, ...]
    pushed_at: datetime | None
    size_bytes: int
    manifest_media_type: str
    artifact_media_type: str
    status: str
    scan_status: str
    scan_completed_at: datetime | None
    severity_counts: Mapping[str, int] | None
    last_pull: datetime | None
    last_archived_at: datetime | None
    last_activated_at: datetime | None
    subject_manifest_digest: str
    inspector_use: InspectorUse | None = None
    """Under enhanced scanning, for an image Inspector covers; DescribeImages has no such fields."""

    @property
    def is_archived(self) -> bool:
        return self.status == "ARCHIVED"

    @classmethod
    def from_api(cls, detail: Mapping[str, Any]) -> Image:
        """Build from a DescribeImages ``imageDetails`` entry.

        ``severity_counts`` is None when ECR has no findings summary (never scanned, or enhanced
        scanning, which reports findings elsewhere) and an empty mapping when a scan found nothing.
        """
        summary = detail.get("imageScanFindingsSummary")
        counts = None
        if summary is not None:
            raw = summary.get("findingSeverityCounts", {})
            counts = {severity: int(raw[severity]) for severity in SEVERITIES if raw.get(severity)}
        return cls(
            repository_name=detail["repositoryName"],
            digest=detail["imageDigest"],
            tags=tuple(detail.get("imageTags", ())),
            pushed_at=detail.get("imagePushedAt"),
            size_bytes=int(detail.get("imageSizeInBytes", 0)),
            manifest_media_type=detail.get("imageManifestMediaType", ""),
            artifact_media_type=detail.get("artifactMediaType", ""),
            status=detail.get("imageStatus", "ACTIVE"),
            scan_status=detail.get("imageScanStatus", {}).get("status", ""),
            scan_completed_at=(summary or {}).get("imageScanCompletedAt"),
            severity_counts=counts,
            last_pull=detail.get("lastRecordedPullTime"),
            last_archived_at=detail.get("lastArchivedAt"),
            last_activated_at=detail.get("lastActivatedAt"),
            subject_manifest_digest=detail.get("subjectManifestDigest", ""),
        )


@dataclass(frozen=True, slots=True)
class RepositorySnapshot:
    """One repository as read in one run: the unit every report row is built from."""

    repository: Repository
    images: tuple[Image, ...]
    lifecycle_policy: str | None = None
    storage: RepositoryStorage | None = None
    """Unique-blob storage, when manifests were read; None means image sizes are the basis."""
    pull_policy: PolicyRead | None = None
    """The repository's policy (who may pull); None when not read, as no verdict depended on it."""
