"""Reads a registry: repositories, their images (archived included) and lifecycle policies.

Repositories are read concurrently on a bounded pool and handed on in name order, so reports
are deterministic and only a window of repositories is ever held in memory.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ecr_provider.aws.call_stats import CallStats
from ecr_provider.aws.errors import describe_failure, error_code
from ecr_provider.aws.inspector import RegistryFindings, RegistryScans, registry_image_scans
from ecr_provider.aws.manifests import ManifestReader
from ecr_provider.aws.pool import ordered_map
from ecr_provider.core.blobs import repository_storage
from ecr_provider.core.records import Image, Repository, RepositorySnapshot
from ecr_provider.core.settings import DEFAULT_MAX_CONCURRENCY, check_concurrency

log = logging.getLogger(__name__)

PAGE_SIZE = 1000
MAX_ATTEMPTS = 10
RETRY_MODES = ("adaptive", "standard", "legacy")


def ecr_client_config(max_concurrency: int = DEFAULT_MAX_CONCURRENCY) -> Config:
    """Retries absorb throttling (adaptive unless ``AWS_RETRY_MODE`` says otherwise, as in every AWS
    SDK); the pool is large enough for every worker thread."""
    mode = os.environ.get("AWS_RETRY_MODE", "adaptive")
    if mode not in RETRY_MODES:
        raise ValueError(f"AWS_RETRY_MODE {mode!r} is not one of {', '.join(RETRY_MODES)}")
    return Config(
        retries={"mode": mode, "max_attempts": MAX_ATTEMPTS},
        max_pool_connections=max(10, max_concurrency + 2),
    )


@dataclass(frozen=True, slots=True)
class SkippedRepository:
    name: str
    reason: str


@dataclass
class RegistryReader:
    """Reads one registry (one account and region) through an ECR client."""

    client: Any
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    skipped: list[SkippedRepository] = field(default_factory=list)
    calls: CallStats = field(default_factory=CallStats)
    manifests: ManifestReader | None = None
    """Set to read manifests for unique-blob storage; see ``manifests.plan_manifest_reads``."""
    scans: RegistryScans | None = None
    """Under enhanced scanning, Inspector's status and counts (DescribeImages has none then)."""
    findings: RegistryFindings | None = None
    """Set to write the ``image_findings`` report of this registry."""

    def __post_init__(self) -> None:
        check_concurrency(self.max_concurrency)
        self.calls.attach(self.client)

    def attach_scans(
        self,
        inspector2_client: Any,
        account_id: str,
        region: str,
        *,
        findings_max_age_days: int | None = None,
    ) -> str:
        """Learn where the registry's scan results are (and, under ENHANCED, Inspector's counts);
        with ``findings_max_age_days``, the findings report is written too. Returns the scan type."""
        self.scans = registry_image_scans(self.client, inspector2_client, account_id, region)
        if findings_max_age_days is not None:
            self.findings = RegistryFindings(
                scan_type=self.scans.scan_type,
                ecr_client=self.client,
                inspector2_client=inspector2_client,
                account_id=account_id,
                region=region,
                max_age_days=findings_max_age_days,
                max_concurrency=self.max_concurrency,
            )
        return self.scans.scan_type

    def repositories(self) -> list[Repository]:
        paginator = self.client.get_paginator("describe_repositories")
        found: list[Repository] = []
        try:
            for page in paginator.paginate(PaginationConfig={"PageSize": PAGE_SIZE}):
                found.extend(Repository.from_api(detail) for detail in page["repositories"])
        except (ClientError, BotoCoreError) as error:
            raise describe_failure(error, "ecr") from error
        return sorted(found, key=lambda repository: repository.name)

    def read(self, repository: Repository) -> RepositorySnapshot | None:
        """One repository's images and policy; None (and a recorded skip) if it vanished meanwhile."""
        try:
            images = self._images(repository)
            if self.scans is not None:
                images = tuple(self.scans.apply(image) for image in images)
            policy = self._lifecycle_policy(repository)
            storage = None
            if self.manifests is not None:
                # Only now, with every pull time of the repository read: a manifest read is a pull.
                sizes = {image.digest: image.size_bytes for image in images}
                storage = repository_storage(self.manifests.read(repository, sizes), sizes)
        except ClientError as error:
            if error_code(error) == "RepositoryNotFoundException":
                log.warning("Repository %s disappeared during the run; skipped", repository.name)
                self.skipped.append(SkippedRepository(repository.name, "RepositoryNotFoundException"))
                return None
            raise describe_failure(error, "ecr", repository.arn) from error
        except BotoCoreError as error:
            raise describe_failure(error, "ecr", repository.arn) from error
        return RepositorySnapshot(repository, images, policy, storage)

    def snapshots(self, repositories: list[Repository]) -> Iterator[RepositorySnapshot]:
        """Yield snapshots in the given order while up to ``max_concurrency`` repositories are read."""
        for snapshot in ordered_map(self.read, repositories, self.max_concurrency, "ecr-read"):
            if snapshot is not None:
                yield snapshot

    def _images(self, repository: Repository) -> tuple[Image, ...]:
        paginator = self.client.get_paginator("describe_images")
        pages = paginator.paginate(
            repositoryName=repository.name,
            registryId=repository.account_id,
            filter={"imageStatus": "ANY"},
            PaginationConfig={"PageSize": PAGE_SIZE},
        )
        images = [Image.from_api(detail) for page in pages for detail in page["imageDetails"]]
        return tuple(
            sorted(images, key=lambda image: (image.pushed_at is None, image.pushed_at, image.digest))
        )

    def _lifecycle_policy(self, repository: Repository) -> str | None:
        try:
            response = self.client.get_lifecycle_policy(
                repositoryName=repository.name, registryId=repository.account_id
            )
        except ClientError as error:
            if error_code(error) == "LifecyclePolicyNotFoundException":
                return None
            raise
        return str(response["lifecyclePolicyText"])
