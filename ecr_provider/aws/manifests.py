"""Reads image manifests for unique-blob storage, without corrupting pull times, once per digest ever.

BatchGetImage is how clients pull a manifest, so ECR records it as a pull and moves the image's
``lastRecordedPullTime`` unless the caller is in the registry's pull-time update exclusions. So:

1. read pull times (DescribeImages) before any manifest read;
2. read manifests only when ``core.manifest_policy.should_read_manifests`` says so, which by
   default needs the reporting principal (:func:`reporting_principal_arn`) to be excluded
   (:func:`is_excluded_from_pull_time_updates`);
3. read each digest once ever: manifests are immutable by digest, so their parsed blob lists are kept
   in a :class:`ManifestCache` (``hooks.report_lake.S3ManifestCache`` in production).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from ecr_provider.aws.errors import AwsCallError, aws_call, error_code
from ecr_provider.core.blobs import MANIFEST_MEDIA_TYPES, ParsedManifest, parse_manifest
from ecr_provider.core.manifest_policy import principal_arn_of, should_read_manifests
from ecr_provider.core.records import Repository
from ecr_provider.core.repeated_causes import warn_registry
from ecr_provider.core.settings import ReadManifests

log = logging.getLogger(__name__)

BATCH_GET_IMAGE_LIMIT = 100
EXCLUSIONS_PAGE_SIZE = 1000


# -- cache -------------------------------------------------------------------------------------------


class ManifestCache(Protocol):
    """Parsed manifests of one repository by digest; entries never change, they only accrue."""

    def load(self, repository: Repository) -> dict[str, ParsedManifest]: ...

    def save(self, repository: Repository, new: Mapping[str, ParsedManifest]) -> None:
        """Add the manifests read since :meth:`load` (called once after each load, maybe empty)."""


@dataclass
class InMemoryManifestCache:
    """For tests and one-off CLI runs: lives as long as the process."""

    entries: dict[tuple[str, str, str], dict[str, ParsedManifest]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def load(self, repository: Repository) -> dict[str, ParsedManifest]:
        with self._lock:
            return dict(self.entries.get(_key(repository), {}))

    def save(self, repository: Repository, new: Mapping[str, ParsedManifest]) -> None:
        with self._lock:
            self.entries.setdefault(_key(repository), {}).update(new)


def _key(repository: Repository) -> tuple[str, str, str]:
    return (repository.account_id, repository.region, repository.name)


# -- reading manifests ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ManifestFailure:
    """A manifest that could not be read; its image is then counted by ``imageSizeInBytes``."""

    repository_name: str
    digest: str
    code: str
    reason: str


def _digest_matches(manifest: str, digest: str) -> bool:
    algorithm, _, expected = digest.partition(":")
    try:
        return hashlib.new(algorithm, manifest.encode()).hexdigest() == expected
    except ValueError:
        return False


@dataclass
class ManifestReader:
    """Fetches the manifests a repository's storage needs: only digests the cache lacks, at most
    100 per BatchGetImage call, plus the children of every index (BatchGetImage returns an index
    alone; its children are images of the same repository, fetched by digest)."""

    client: Any
    cache: ManifestCache
    failures: list[ManifestFailure] = field(default_factory=list)

    def read(self, repository: Repository, digests: Iterable[str]) -> dict[str, ParsedManifest]:
        """Parsed manifests of ``digests`` and of their index children, by digest.

        Pass every image of the repository, archived ones included: an archived image cannot be
        pulled, but its manifest comes from the cache if it was read while active (an uncached one
        fails and counts its image size). What cannot be read is left out and recorded in
        :attr:`failures`, never cached, so it is tried again next run. Safe to call for different
        repositories from several threads.
        """
        cached = self.cache.load(repository)
        new: dict[str, ParsedManifest] = {}
        found: dict[str, ParsedManifest] = {}
        failures: list[ManifestFailure] = []
        requested: set[str] = set()
        frontier = list(dict.fromkeys(digests))
        gone = False
        while frontier and not gone:
            wanted = [digest for digest in frontier if digest not in cached and digest not in requested]
            requested.update(wanted)
            gone = self._fetch(repository, wanted, new, failures)
            children: list[str] = []
            for digest in frontier:
                manifest = cached.get(digest) or new.get(digest)
                if manifest is not None:
                    found[digest] = manifest
                    children.extend(manifest.children)
            done = requested | found.keys()
            frontier = [child for child in dict.fromkeys(children) if child not in done]
        self.cache.save(repository, new)
        if failures:
            self.failures.extend(failures)
            codes = Counter(failure.code for failure in failures)
            log.warning(
                "%d manifests of %s could not be read (%s); those images count their imageSizeInBytes",
                len(failures),
                repository.name,
                ", ".join(f"{code} {count}" for code, count in sorted(codes.items())),
            )
        return found

    def _fetch(
        self,
        repository: Repository,
        digests: list[str],
        into: dict[str, ParsedManifest],
        failures: list[ManifestFailure],
    ) -> bool:
        """Fill ``into`` from BatchGetImage; True when the repository has vanished meanwhile."""
        for start in range(0, len(digests), BATCH_GET_IMAGE_LIMIT):
            batch = digests[start : start + BATCH_GET_IMAGE_LIMIT]
            with aws_call("ecr", repository.arn):
                try:
                    response = self.client.batch_get_image(
                        registryId=repository.account_id,
                        repositoryName=repository.name,
                        imageIds=[{"imageDigest": digest} for digest in batch],
                        acceptedMediaTypes=list(MANIFEST_MEDIA_TYPES),
                    )
                except ClientError as error:
                    if error_code(error) != "RepositoryNotFoundException":
                        raise
                    failures.append(
                        ManifestFailure(
                            repository.name, "", "RepositoryNotFoundException", "deleted during the run"
                        )
                    )
                    return True
            for image in response.get("images", ()):
                digest = image.get("imageId", {}).get("imageDigest", "")
                text = image.get("imageManifest", "")
                if _digest_matches(text, digest):
                    into[digest] = parse_manifest(text, image.get("imageManifestMediaType", ""))
                else:
                    failures.append(
                        ManifestFailure(
                            repository.name, digest, "DigestMismatch", "manifest does not hash to its digest"
                        )
                    )
            failures.extend(
                ManifestFailure(
                    repository.name,
                    failure.get("imageId", {}).get("imageDigest", ""),
                    failure.get("failureCode", ""),
                    failure.get("failureReason", ""),
                )
                for failure in response.get("failures", ())
            )
        return False


# -- pull-time safety ------------------------------------------------------------------------------


def reporting_principal_arn(sts_client: Any, iam_client: Any | None = None) -> str:
    """The ARN to look for in the pull-time update exclusions: the caller's user or role.

    With ``iam_client`` an assumed role's path is recovered with iam:GetRole; without it, or when
    that is denied, a role with a path gets a path-less ARN that matches no correctly registered
    exclusion, so manifests are not read (the safe side) and the warning says how to fix it.
    """
    with aws_call("sts"):
        caller = str(sts_client.get_caller_identity()["Arn"])
    principal = principal_arn_of(caller)
    if iam_client is None or principal == caller:
        return principal
    role_name = principal.rsplit("/", 1)[1]
    try:
        return str(iam_client.get_role(RoleName=role_name)["Role"]["Arn"])
    except (ClientError, BotoCoreError) as error:
        code = error_code(error) if isinstance(error, ClientError) else type(error).__name__
        log.warning(
            "iam:GetRole on %s failed (%s); using %s, which lacks the role's path if it has one",
            role_name,
            code,
            principal,
        )
        return principal


def is_excluded_from_pull_time_updates(ecr_client: Any, principal_arn: str) -> bool:
    """Whether ECR leaves pull times alone when ``principal_arn`` reads manifests.

    Compares ARNs exactly, so a path-less ARN of a role registered with its path is not excluded:
    the safe side, as ECR documents its matching only as "the role ARN". The list
    (ListPullTimeUpdateExclusions, paged by hand: botocore has no paginator for it) belongs to the
    registry of the client's own account and region: use a client with the registry account's
    credentials, in each region. Any failure the retries did not cure raises ``AwsCallError``.
    """
    request: dict[str, Any] = {"maxResults": EXCLUSIONS_PAGE_SIZE}
    while True:
        with aws_call("ecr"):
            response = ecr_client.list_pull_time_update_exclusions(**request)
        if principal_arn in response.get("pullTimeUpdateExclusions", ()):
            return True
        if not response.get("nextToken"):
            return False
        request["nextToken"] = response["nextToken"]


def plan_manifest_reads(
    mode: ReadManifests,
    *,
    ecr_client: Any,
    sts_client: Any,
    cache: ManifestCache,
    region: str,
    registry: str,
) -> ManifestReader | None:
    """Decide once per registry whether manifests are read, log why, and give the reader if so.

    The exclusion check only decides between unique-blob and image-size storage, so a check that
    cannot be answered (denied, an endpoint or partition without the API, a 5xx after the retries)
    degrades to "not excluded" with one warning naming the call, and never fails the registry. The
    warning's cause is usually every registry's in a task, so it is logged once per task
    (:mod:`ecr_provider.core.repeated_causes`).
    """
    principal, excluded, unchecked = "", False, ""
    if mode != "never":
        try:
            principal = reporting_principal_arn(sts_client)
            excluded = is_excluded_from_pull_time_updates(ecr_client, principal)
        except AwsCallError as error:
            unchecked = str(error)
    decision = should_read_manifests(
        mode, excluded, principal_arn=principal, region=region, unchecked=unchecked
    )
    if decision.warn:
        warn_registry(log, registry, decision.reason, {"principal": principal, "region": region})
    else:
        log.info("%s", decision.reason)
    return ManifestReader(ecr_client, cache) if decision.read else None
