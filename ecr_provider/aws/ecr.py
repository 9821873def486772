"""Reads a registry: repositories, their images (archived included) and lifecycle policies.

Repositories are read concurrently on a bounded pool and handed on in name order, so reports
are deterministic and only a window of repositories is ever held in memory.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.parsers import ResponseParserFactory
from botocore.utils import parse_timestamp

from ecr_provider.aws.call_stats import CallStats
from ecr_provider.aws.errors import aws_call, error_code
from ecr_provider.aws.inspector import RegistryFindings, RegistryScans
from ecr_provider.aws.manifests import ManifestReader
from ecr_provider.aws.pool import ordered_map
from ecr_provider.aws.repository_policies import RepositoryPolicies
from ecr_provider.core.blobs import repository_storage
from ecr_provider.core.records import Image, Repository, RepositorySnapshot
from ecr_provider.core.settings import DEFAULT_MAX_CONCURRENCY, check_concurrency

log = logging.getLogger(__name__)

PAGE_SIZE = 1000
MAX_ATTEMPTS = 10
RETRY_MODES = ("adaptive", "standard", "legacy")
IMAGES_READ_AHEAD = 10_000
"""Images of repositories read (or being read) ahead of the report writer before no more reads start
(about 9 MB of records): a writer slower than the reads holds this, not a window of the largest
repositories."""


def ecr_client_config(max_concurrency: int = DEFAULT_MAX_CONCURRENCY) -> Config:
    """Retries absorb throttling: botocore's standard mode unless ``AWS_RETRY_MODE`` says otherwise
    (adaptive measured about 15 times slower under random throttling, as it keeps lowering its send
    rate; ``rate_limit.ThrottlePacing`` paces a registry instead); the pool is large enough for every
    thread."""
    mode = os.environ.get("AWS_RETRY_MODE", "standard")
    if mode not in RETRY_MODES:
        raise ValueError(f"AWS_RETRY_MODE {mode!r} is not one of {', '.join(RETRY_MODES)}")
    return Config(
        retries={"mode": mode, "max_attempts": MAX_ATTEMPTS},
        max_pool_connections=pool_size(max_concurrency),
    )


def pool_size(threads: int) -> int:
    """Connections a client shared by ``threads`` threads keeps, so none waits for or drops one."""
    return max(10, threads + 2)


def epoch_timestamp(value: Any) -> datetime:
    """The JSON protocols' epoch seconds in UTC, any other form as botocore parses it.

    botocore's own parser gives every epoch a ``dateutil`` local time zone, whose conversions cost
    more CPU than the rest of an image's row; the instant is the same, and reports are written in UTC.
    """
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError):
            pass  # beyond the platform's range: botocore's fallback handles it
    parsed: datetime = parse_timestamp(value)
    return parsed


def parse_epochs_in_utc(client: Any) -> None:
    """Give ``client`` :func:`epoch_timestamp`. botocore takes a parser per session (the
    ``response_parser_factory`` component), but the clients come from sessions their callers own
    (the CLI's, an Airflow connection's), so the client's endpoint gets a factory of its own: it
    builds the parser of every response."""
    factory = ResponseParserFactory()
    factory.set_parser_defaults(timestamp_parser=epoch_timestamp)
    client._endpoint._response_parser_factory = factory


@dataclass(frozen=True, slots=True)
class SkippedRepository:
    name: str
    reason: str


@dataclass
class RegistryReader:
    """Reads one registry (one account and region) through an ECR client; :func:`open_registry`
    builds one with the scan source, manifest reads and findings decided for the registry."""

    client: Any
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    scans: RegistryScans | None = None
    """Under enhanced scanning, Inspector's status and counts (DescribeImages has none then)."""
    manifests: ManifestReader | None = None
    """Reads manifests for unique-blob storage; None reports image sizes."""
    findings: RegistryFindings | None = None
    """Reads the findings for the ``image_findings`` report; None: no such report."""
    repository: str | None = None
    """Only this repository is read; None: every repository of the registry."""
    policies: RepositoryPolicies | None = None
    """Reads each repository's policy (who may pull); None: not read, as no verdict depends on it."""
    skipped: list[SkippedRepository] = field(default_factory=list, init=False)
    calls: CallStats = field(default_factory=CallStats)
    """The client's calls; given by whoever called it before the reader existed, to count those too."""
    listed: list[Repository] | None = None
    """The repositories once listed (``open_registry`` lists them before deciding what else to read)."""

    def __post_init__(self) -> None:
        check_concurrency(self.max_concurrency)
        self.calls.attach(self.client)

    def repositories(self) -> list[Repository]:
        """Listed once, in name order. ECR refuses a page size beside repository names, so one
        repository is asked for alone."""
        if self.listed is not None:
            return self.listed
        with aws_call("ecr"):
            if self.repository is not None:
                pages = [self.client.describe_repositories(repositoryNames=[self.repository])]
            else:
                paginator = self.client.get_paginator("describe_repositories")
                pages = paginator.paginate(PaginationConfig={"PageSize": PAGE_SIZE})
            found = [Repository.from_api(detail) for page in pages for detail in page["repositories"]]
        self.listed = sorted(found, key=lambda repository: repository.name)
        return self.listed

    def read(self, repository: Repository) -> RepositorySnapshot | None:
        """One repository's images and policy; None (and a recorded skip) if it vanished meanwhile."""
        with aws_call("ecr", repository.arn):
            try:
                images = self._images(repository)
                if self.scans is not None:
                    images = tuple(self.scans.apply(image) for image in images)
                policy = self._lifecycle_policy(repository)
                pull_policy = None if self.policies is None else self.policies.read(repository)
                storage = None
                if self.manifests is not None:
                    # Only now, with every pull time of the repository read: a manifest read is a pull.
                    sizes = {image.digest: image.size_bytes for image in images}
                    storage = repository_storage(self.manifests.read(repository, sizes), sizes)
            except ClientError as error:
                if error_code(error) != "RepositoryNotFoundException":
                    raise
                log.warning("Repository %s disappeared during the run; skipped", repository.name)
                self.skipped.append(SkippedRepository(repository.name, "RepositoryNotFoundException"))
                return None
        return RepositorySnapshot(repository, images, policy, storage, pull_policy)

    def snapshots(self, repositories: list[Repository]) -> Iterator[RepositorySnapshot]:
        """Yield snapshots in the given order while up to ``max_concurrency`` repositories are read."""
        for snapshot in ordered_map(
            self.read,
            repositories,
            self.max_concurrency,
            "ecr-read",
            weight=_image_count,
            max_ahead=IMAGES_READ_AHEAD,
        ):
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


def _image_count(snapshot: RepositorySnapshot | None) -> int:
    return 0 if snapshot is None else len(snapshot.images)
