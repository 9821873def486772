"""A deterministic demo ECR registry that looks like a real one, seeded through the real ECR API.

Everything is derived from a fixed random seed and the ``as_of`` time, so a test with a fixed
``as_of`` gets the same registry every time and can compute expected report values from the returned
:class:`DemoRegistry` instead of from the emulator. What the ECR API cannot set (sizes, pull times,
scan results, archive state) is filled in by :mod:`emulator.moto_ecr_gaps`, so seeding
must run in the emulator's process. The ECS services, tasks and Lambda functions that run some of its
images are :mod:`emulator.demo_usage`'s.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from ecr_provider.core.records import SEVERITIES
from ecr_provider.core.units import GB, MB
from emulator import moto_ecr_gaps
from emulator.clients import ACCOUNT_ID, client
from emulator.demo_findings import DemoFinding, demo_findings
from emulator.demo_usage import DemoUsage, plan_demo_usage, seed_demo_usage

SEED = 20240601

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
NOTARY_SIGNATURE = "application/vnd.cncf.notary.signature"
_OCI_EMPTY_CONFIG = "application/vnd.oci.empty.v1+json"
_JOSE_ENVELOPE = "application/jose+json"

_DAY = timedelta(days=1)
_UNSUPPORTED = "UnsupportedImageError: The operating system and/or package manager are not supported."
_FAILED = "ScanFailed: The image layers could not be read for scanning."
_COMPLETE = "The scan was completed successfully."


@dataclass(frozen=True, slots=True)
class Blob:
    digest: str
    size_bytes: int


@dataclass(frozen=True, slots=True)
class SeededImage:
    """One manifest as pushed and filled; field names follow ``ecr_provider.core.records.Image``."""

    repository_name: str
    digest: str
    tags: tuple[str, ...]
    manifest_media_type: str
    artifact_media_type: str
    size_bytes: int
    pushed_at: datetime
    status: str
    last_pull: datetime | None
    last_archived_at: datetime | None
    last_activated_at: datetime | None
    scan_status: str
    scan_completed_at: datetime | None
    severity_counts: Mapping[str, int] | None
    subject_manifest_digest: str
    blobs: tuple[Blob, ...]
    """Config and layers; empty for an image index, whose children are images of their own."""
    child_digests: tuple[str, ...]
    manifest: str = field(repr=False)
    findings: tuple[DemoFinding, ...] = field(default=(), repr=False)
    """What DescribeImageScanFindings lists: as many of each severity as ``severity_counts`` says."""


@dataclass(frozen=True, slots=True)
class SeededRepository:
    name: str
    created_at: datetime
    scan_on_push: bool
    tag_mutability: str
    lifecycle_policy: str | None
    images: tuple[SeededImage, ...]

    @property
    def total_size_bytes(self) -> int:
        return sum(image.size_bytes for image in self.images)

    @property
    def unique_blob_bytes(self) -> int:
        """What ECR bills: each layer or config digest once, however many manifests share it."""
        return sum({blob.digest: blob.size_bytes for image in self.images for blob in image.blobs}.values())

    @property
    def last_pull(self) -> datetime | None:
        return max((image.last_pull for image in self.images if image.last_pull), default=None)


@dataclass(frozen=True, slots=True)
class DemoRegistry:
    account_id: str
    region: str
    as_of: datetime
    repositories: tuple[SeededRepository, ...]

    @property
    def images(self) -> tuple[SeededImage, ...]:
        return tuple(image for repository in self.repositories for image in repository.images)

    @property
    def usage(self) -> DemoUsage:
        """The ECS and Lambda workloads that run its images (see :mod:`emulator.demo_usage`)."""
        return plan_demo_usage(self.account_id, self.region, self.images)

    def repository(self, name: str) -> SeededRepository:
        for repository in self.repositories:
            if repository.name == name:
                return repository
        raise KeyError(f"no demo repository named {name!r}")

    def summary(self) -> str:
        images = self.images
        large = sum(repository.total_size_bytes > 5 * GB for repository in self.repositories)
        return (
            f"{len(self.repositories)} repositories, {len(images)} images "
            f"({sum(not image.tags for image in images)} untagged, "
            f"{sum(image.status == 'ARCHIVED' for image in images)} archived, "
            f"{sum(bool(image.child_digests) for image in images)} indexes), "
            f"{sum(image.size_bytes for image in images) / GB:.1f} GB, {large} repositories above 5 GB"
        )


@dataclass(frozen=True, slots=True)
class _MediaTypes:
    manifest: str
    config: str
    layer: str
    index: str


_DOCKER = _MediaTypes(
    manifest="application/vnd.docker.distribution.manifest.v2+json",
    config="application/vnd.docker.container.image.v1+json",
    layer="application/vnd.docker.image.rootfs.diff.tar.gzip",
    index="application/vnd.docker.distribution.manifest.list.v2+json",
)
_OCI = _MediaTypes(
    manifest=OCI_MANIFEST,
    config="application/vnd.oci.image.config.v1+json",
    layer="application/vnd.oci.image.layer.v1.tar+gzip",
    index=OCI_INDEX,
)
_PLATFORMS: Mapping[str, Mapping[str, str]] = {
    "amd64": {"architecture": "amd64", "os": "linux"},
    "arm64": {"architecture": "arm64", "os": "linux", "variant": "v8"},
}


@dataclass(frozen=True, slots=True)
class _Family:
    """A base image: its layers (MB) are shared by every image built on it in the same period."""

    base_layers_mb: tuple[float, ...]
    mean_findings: tuple[float, ...]
    """Mean finding count per severity, in SEVERITIES order; empty when basic scanning cannot read it."""


_FAMILIES: Mapping[str, _Family] = {
    "python": _Family((28.2, 3.4, 12.1, 2.9), (0.2, 1.5, 6, 10, 2, 0.3)),
    "node": _Family((28.2, 4.1, 46.8, 1.3), (0.3, 2, 5, 8, 1, 0.2)),
    "java": _Family((28.6, 16.9, 45.3), (0.4, 2.5, 7, 9, 1, 0.2)),
    "alpine": _Family((3.3,), (0, 0.15, 0.4, 0.3, 0, 0)),
    "ubuntu": _Family((28.6,), (0.1, 1, 5, 12, 3, 0.5)),
    "cuda": _Family((28.6, 84.2, 590.5, 312.7), (0.5, 4, 12, 20, 3, 1)),
    "distroless": _Family((0.8, 1.9), ()),
}
_BASE_PERIOD = timedelta(days=120)


@dataclass(frozen=True, slots=True)
class _Activity:
    """How recently a repository was pushed to and pulled from, in days before as_of."""

    last_push_days: tuple[float, float]
    last_pull_days: tuple[float, float] | None
    build_interval_days: tuple[float, float]


_ACTIVITIES: Mapping[str, _Activity] = {
    "hot": _Activity((0.2, 3), (0, 0.15), (1, 9)),
    "warm": _Activity((10, 45), (2, 9), (4, 20)),
    "stale": _Activity((150, 250), (90, 140), (7, 30)),
    "cold": _Activity((500, 700), (410, 480), (10, 45)),
    "never": _Activity((20, 300), None, (1, 15)),
}


def _rule(priority: int, description: str, selection: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "rulePriority": priority,
        "description": description,
        "selection": dict(selection),
        "action": {"type": "expire"},
    }


def _expire_untagged(priority: int, days: int) -> dict[str, Any]:
    selection = {
        "tagStatus": "untagged",
        "countType": "sinceImagePushed",
        "countUnit": "days",
        "countNumber": days,
    }
    return _rule(priority, f"Expire untagged images older than {days} days", selection)


@dataclass(frozen=True, slots=True)
class _Policy:
    rules: tuple[dict[str, Any], ...]
    untagged_days: int | None
    """Untagged images older than this would already have been expired, so none are seeded."""

    @property
    def text(self) -> str:
        return json.dumps({"rules": list(self.rules)})


_POLICIES: Mapping[str, _Policy] = {
    "untagged-14d": _Policy((_expire_untagged(1, 14),), 14),
    "releases-30": _Policy(
        (
            _expire_untagged(1, 7),
            _rule(
                2,
                "Keep the last 30 release images",
                {
                    "tagStatus": "tagged",
                    "tagPrefixList": ["v"],
                    "countType": "imageCountMoreThan",
                    "countNumber": 30,
                },
            ),
        ),
        7,
    ),
    "last-100": _Policy(
        (
            _rule(
                1,
                "Keep the last 100 images",
                {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 100},
            ),
        ),
        None,
    ),
}


@dataclass(frozen=True, slots=True)
class _Profile:
    """One demo repository; ``images`` counts builds (a multi-arch build pushes three manifests)."""

    name: str
    family: str
    images: int
    app_mb: tuple[float, float]
    activity: str
    scan_on_push: bool = True
    policy: str | None = None
    archived: int = 0
    restored: int = 0
    multi_arch: bool = False
    media: _MediaTypes = _DOCKER
    signed: bool = False
    immutable: bool = False
    untagged_share: float = 0.2


_PROFILES: tuple[_Profile, ...] = (
    _Profile(
        "platform/base/python", "python", 8, (5, 15), "hot", policy="releases-30", multi_arch=True, media=_OCI
    ),
    _Profile(
        "platform/base/node", "node", 8, (5, 12), "hot", policy="releases-30", multi_arch=True, media=_OCI
    ),
    _Profile("platform/base/java", "java", 8, (5, 15), "warm", policy="releases-30"),
    _Profile("platform/base/alpine", "alpine", 10, (17, 30), "warm", policy="releases-30", media=_OCI),
    _Profile("platform/base/ubuntu", "ubuntu", 6, (5, 30), "stale"),
    _Profile(
        "platform/ci/runner", "ubuntu", 16, (550, 800), "hot", policy="untagged-14d", untagged_share=0.4
    ),
    _Profile("platform/ci/buildkit", "alpine", 8, (40, 80), "warm"),
    _Profile("platform/observability/otel-collector", "distroless", 12, (45, 70), "hot", media=_OCI),
    _Profile("platform/observability/fluent-bit", "distroless", 8, (25, 40), "warm"),
    _Profile("platform/ingress/nginx", "alpine", 10, (20, 40), "hot", policy="last-100"),
    _Profile("team-a/api", "python", 24, (80, 140), "hot", policy="untagged-14d", untagged_share=0.3),
    _Profile("team-a/worker", "python", 18, (60, 120), "hot"),
    _Profile("team-a/web", "node", 16, (20, 60), "hot", media=_OCI),
    _Profile("team-a/migrations", "python", 10, (10, 25), "warm", scan_on_push=False),
    _Profile("team-b/checkout", "java", 16, (60, 120), "hot", policy="last-100", immutable=True),
    _Profile("team-b/payments", "java", 14, (70, 130), "hot", media=_OCI, signed=True, immutable=True),
    _Profile("team-b/ledger", "java", 12, (60, 100), "warm", archived=3, restored=1),
    _Profile("team-b/notifications", "node", 10, (15, 40), "warm", scan_on_push=False),
    _Profile("team-c/search", "java", 12, (150, 250), "hot"),
    _Profile("team-c/indexer", "python", 10, (40, 80), "stale"),
    _Profile("team-c/recommender", "python", 8, (300, 500), "warm"),
    _Profile("data/spark-jobs", "java", 16, (550, 750), "warm", archived=4, untagged_share=0.3),
    _Profile("data/airflow", "python", 10, (250, 400), "hot", policy="untagged-14d"),
    _Profile("data/dbt", "python", 8, (60, 100), "warm", scan_on_push=False),
    _Profile("data/jupyter", "python", 4, (600, 900), "cold", scan_on_push=False),
    _Profile("ml/training", "cuda", 12, (300, 450), "warm"),
    _Profile("ml/inference", "cuda", 8, (100, 300), "hot", policy="last-100"),
    _Profile("ml/feature-store", "python", 6, (80, 140), "stale", scan_on_push=False),
    _Profile("security/scanner", "alpine", 8, (30, 60), "hot"),
    _Profile("security/vault-agent", "alpine", 6, (40, 60), "warm"),
    _Profile("legacy/monolith", "ubuntu", 16, (550, 750), "cold", scan_on_push=False, archived=6),
    _Profile("legacy/reports", "java", 8, (80, 150), "cold", scan_on_push=False, archived=3, restored=2),
    _Profile("tools/terraform", "alpine", 8, (60, 90), "warm", scan_on_push=False),
    _Profile("tools/kubectl", "distroless", 8, (20, 30), "warm"),
    _Profile("tools/awscli", "python", 6, (50, 90), "stale"),
    _Profile("sandbox/alice-test", "python", 4, (10, 40), "never", scan_on_push=False, untagged_share=0.5),
    _Profile("sandbox/bob-experiment", "node", 0, (10, 60), "never", scan_on_push=False),
    _Profile("mobile/backend", "node", 14, (40, 90), "hot", media=_OCI),
    _Profile("edge/proxy", "alpine", 6, (18, 30), "hot", multi_arch=True),
    _Profile("archive/old-portal", "ubuntu", 6, (100, 200), "cold", scan_on_push=False, archived=6),
)


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _whole_seconds(value: datetime) -> datetime:
    """ECR times round-trip as epoch seconds here; whole seconds keep seeded and read values equal."""
    return value.replace(microsecond=0)


@dataclass
class _Blobs:
    """Gives each blob label one digest and one size, so a shared layer is the same blob everywhere."""

    rng: random.Random
    sizes: dict[str, int] = field(default_factory=dict)

    def get(self, label: str, low_mb: float, high_mb: float) -> Blob:
        if label not in self.sizes:
            self.sizes[label] = int(self.rng.uniform(low_mb, high_mb) * MB)
        return Blob(_sha256(label.encode()), self.sizes[label])


@dataclass(frozen=True, slots=True)
class _Scan:
    status: str = ""
    description: str = ""
    completed_at: datetime | None = None
    counts: Mapping[str, int] | None = None


_NOT_SCANNED = _Scan()


@dataclass(frozen=True, slots=True)
class _State:
    """Where an image is in its life: pulls and archive storage."""

    last_pull: datetime | None
    status: str = "ACTIVE"
    last_archived_at: datetime | None = None
    last_activated_at: datetime | None = None


@dataclass
class _Planner:
    """Turns the profiles into seeded images; all randomness comes from one seeded generator."""

    as_of: datetime
    rng: random.Random
    blobs: _Blobs

    def days_ago(self, days: tuple[float, float]) -> datetime:
        return _whole_seconds(self.as_of - self.rng.uniform(*days) * _DAY)

    def repository(self, profile: _Profile) -> SeededRepository:
        activity = _ACTIVITIES[profile.activity]
        pushes = self.push_times(profile.images, activity)
        created_at = (pushes[0] if pushes else self.days_ago((20, 300))) - self.rng.uniform(1, 45) * _DAY
        states = self.states(profile, pushes, activity)
        tags = self.tags(profile, pushes)
        images = [
            image
            for number, (pushed_at, state, image_tags) in enumerate(zip(pushes, states, tags, strict=True))
            for image in self.entry(profile, number, pushed_at, state, image_tags)
        ]
        policy = _POLICIES[profile.policy].text if profile.policy else None
        return SeededRepository(
            name=profile.name,
            created_at=_whole_seconds(created_at),
            scan_on_push=profile.scan_on_push,
            tag_mutability="IMMUTABLE" if profile.immutable else "MUTABLE",
            lifecycle_policy=policy,
            images=tuple(images),
        )

    def push_times(self, count: int, activity: _Activity) -> list[datetime]:
        pushes = [self.days_ago(activity.last_push_days)] if count else []
        while len(pushes) < count:
            pushes.append(_whole_seconds(pushes[-1] - self.rng.uniform(*activity.build_interval_days) * _DAY))
        return pushes[::-1]

    def pulls(self, pushes: Sequence[datetime], activity: _Activity) -> list[datetime | None]:
        """An image is pulled until the next one replaces it; some builds are never deployed."""
        if activity.last_pull_days is None or not pushes:
            return [None for _ in pushes]
        latest = self.days_ago(activity.last_pull_days)
        replaced: list[datetime | None] = [
            None
            if self.rng.random() < 0.15
            else min(latest, _whole_seconds(following + self.rng.uniform(0, 2) * _DAY))
            for following in pushes[1:]
        ]
        return [*replaced, latest]

    def states(self, profile: _Profile, pushes: Sequence[datetime], activity: _Activity) -> list[_State]:
        """The oldest images of some repositories sit in archive storage, or were restored from it."""
        states = [_State(pull) for pull in self.pulls(pushes, activity)]
        for number, pushed_at in enumerate(pushes[: profile.archived + profile.restored]):
            states[number] = (
                self.archived(pushed_at, states[number].last_pull)
                if number < profile.archived
                else self.restored(pushed_at)
            )
        return states

    def archived(self, pushed_at: datetime, last_pull: datetime | None) -> _State:
        idle_since = last_pull or pushed_at
        archived_at = idle_since + (self.as_of - idle_since) * self.rng.uniform(0.3, 0.7)
        return _State(last_pull, "ARCHIVED", _whole_seconds(archived_at))

    def restored(self, pushed_at: datetime) -> _State:
        age = self.as_of - pushed_at
        return _State(
            last_pull=_whole_seconds(pushed_at + age * 0.8),
            last_archived_at=_whole_seconds(pushed_at + age * 0.4),
            last_activated_at=_whole_seconds(pushed_at + age * 0.7),
        )

    def tags(self, profile: _Profile, pushes: Sequence[datetime]) -> list[tuple[str, ...]]:
        """Releases get a version (some also a commit tag); superseded CI builds lose theirs."""
        policy = _POLICIES[profile.policy] if profile.policy else None
        keep_untagged = _DAY * policy.untagged_days if policy and policy.untagged_days else None
        major, minor, patch = self.rng.randint(1, 3), self.rng.randint(0, 9), 0
        tags: list[tuple[str, ...]] = []
        for number, pushed_at in enumerate(pushes):
            minor, patch = (minor + 1, 0) if self.rng.random() < 0.15 else (minor, patch + 1)
            release = (
                f"v{major}.{minor}.{patch}",
                "git-" + hashlib.sha1(f"{profile.name}#{number}".encode()).hexdigest()[:7],
            )
            may_untag = keep_untagged is None or self.as_of - pushed_at < keep_untagged
            if number == len(pushes) - 1:
                tags.append(("latest", *release))
            elif may_untag and self.rng.random() < profile.untagged_share:
                tags.append(())
            else:
                tags.append(release if self.rng.random() < 0.4 else release[:1])
        deployed = [number for number, image_tags in enumerate(tags[:-1]) if image_tags]
        if profile.activity == "hot" and deployed:
            tags[deployed[-1]] = ("prod", *tags[deployed[-1]])
        return tags

    def entry(
        self, profile: _Profile, number: int, pushed_at: datetime, state: _State, tags: tuple[str, ...]
    ) -> list[SeededImage]:
        """One build: an image, or a multi-arch index with its children, plus a signature if signed."""
        if not profile.multi_arch:
            image = self.image(profile, number, "amd64", pushed_at=pushed_at, tags=tags, state=state)
            return [image, self.signature(image)] if profile.signed and tags else [image]
        children = [
            self.image(
                profile,
                number,
                arch,
                pushed_at=pushed_at - timedelta(seconds=30 - offset),
                tags=(),
                state=state,
            )
            for offset, arch in enumerate(_PLATFORMS)
        ]
        return [*children, self.index(profile, children, pushed_at, tags, state)]

    def image(
        self,
        profile: _Profile,
        number: int,
        arch: str,
        *,
        pushed_at: datetime,
        tags: tuple[str, ...],
        state: _State,
    ) -> SeededImage:
        family = _FAMILIES[profile.family]
        period = int((self.as_of - pushed_at) / _BASE_PERIOD)
        low, high = profile.app_mb
        layers = [
            *(
                self.blobs.get(f"base/{profile.family}/{arch}/{period}/{layer}", mb, mb * 1.04)
                for layer, mb in enumerate(family.base_layers_mb)
            ),
            self.blobs.get(f"{profile.name}/{arch}/dependencies/{number // 3}", 0.6 * low, 0.6 * high),
            self.blobs.get(f"{profile.name}/{arch}/application/{number}", 0.4 * low, 0.4 * high),
        ]
        config = self.blobs.get(f"{profile.name}/{arch}/config/{number}", 0.002, 0.012)
        media = profile.media
        manifest = _manifest(
            {
                "schemaVersion": 2,
                "mediaType": media.manifest,
                "config": _descriptor(media.config, config),
                "layers": [_descriptor(media.layer, layer) for layer in layers],
            }
        )
        scan = self.scan(profile.scan_on_push, family, pushed_at)
        seeded = _seeded(
            profile.name,
            manifest,
            media.manifest,
            tags=tags,
            pushed_at=pushed_at,
            state=state,
            scan=scan,
            artifact_media_type=media.config,
            blobs=(config, *layers),
        )
        return replace(seeded, findings=demo_findings(profile.family, seeded.digest, scan.counts or {}))

    def index(
        self,
        profile: _Profile,
        children: Sequence[SeededImage],
        pushed_at: datetime,
        tags: tuple[str, ...],
        state: _State,
    ) -> SeededImage:
        """ECR reports an index's size as its largest child's, the bytes are the children's."""
        manifest = _manifest(
            {
                "schemaVersion": 2,
                "mediaType": profile.media.index,
                "manifests": [
                    {**_reference(child), "platform": dict(platform)}
                    for child, platform in zip(children, _PLATFORMS.values(), strict=True)
                ],
            }
        )
        return _seeded(
            profile.name,
            manifest,
            profile.media.index,
            tags=tags,
            pushed_at=pushed_at,
            state=state,
            size_bytes=max(child.size_bytes for child in children),
            child_digests=tuple(child.digest for child in children),
        )

    def signature(self, image: SeededImage) -> SeededImage:
        """A Notation signature: an untagged referrer whose subject is the signed image."""
        config = Blob(_sha256(b"{}"), 2)
        envelope = self.blobs.get(f"{image.digest}/signature", 0.0015, 0.003)
        manifest = _manifest(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "artifactType": NOTARY_SIGNATURE,
                "config": _descriptor(_OCI_EMPTY_CONFIG, config),
                "layers": [_descriptor(_JOSE_ENVELOPE, envelope)],
                "subject": _reference(image),
            }
        )
        state = _State(image.last_pull, image.status, image.last_archived_at, image.last_activated_at)
        return _seeded(
            image.repository_name,
            manifest,
            OCI_MANIFEST,
            tags=(),
            pushed_at=image.pushed_at + timedelta(seconds=90),
            state=state,
            artifact_media_type=NOTARY_SIGNATURE,
            subject_manifest_digest=image.digest,
            blobs=(config, envelope),
        )

    def scan(self, scan_on_push: bool, family: _Family, pushed_at: datetime) -> _Scan:
        """Scan on push scans every image (distroless ones are unsupported); others are scanned by hand."""
        if scan_on_push:
            if not family.mean_findings:
                return _Scan("UNSUPPORTED_IMAGE", _UNSUPPORTED)
            if self.rng.random() < 0.05:
                return _Scan("FAILED", _FAILED)
            completed_at = pushed_at + timedelta(seconds=self.rng.randint(40, 900))
        elif family.mean_findings and self.rng.random() < 0.25:
            completed_at = pushed_at + (self.as_of - pushed_at) * self.rng.random()
        else:
            return _NOT_SCANNED
        ageing = 1 + (self.as_of - pushed_at) / timedelta(days=365)
        drawn = {
            severity: int(self.rng.expovariate(1 / (mean * ageing))) if mean else 0
            for severity, mean in zip(SEVERITIES, family.mean_findings, strict=True)
        }
        counts = {severity: count for severity, count in drawn.items() if count}
        return _Scan("COMPLETE", _COMPLETE, _whole_seconds(min(completed_at, self.as_of)), counts)


def _manifest(document: Mapping[str, Any]) -> str:
    return json.dumps(document, separators=(",", ":"))


def _descriptor(media_type: str, blob: Blob) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": blob.digest, "size": blob.size_bytes}


def _reference(image: SeededImage) -> dict[str, Any]:
    return {
        "mediaType": image.manifest_media_type,
        "digest": image.digest,
        "size": len(image.manifest.encode()),
    }


def _seeded(
    repository_name: str,
    manifest: str,
    media_type: str,
    *,
    tags: tuple[str, ...],
    pushed_at: datetime,
    state: _State,
    scan: _Scan = _NOT_SCANNED,
    size_bytes: int | None = None,
    artifact_media_type: str = "",
    subject_manifest_digest: str = "",
    blobs: tuple[Blob, ...] = (),
    child_digests: tuple[str, ...] = (),
) -> SeededImage:
    """An image's size is its blobs' unless given (an index has no blobs of its own)."""
    return SeededImage(
        repository_name=repository_name,
        digest=_sha256(manifest.encode()),
        tags=tags,
        manifest_media_type=media_type,
        artifact_media_type=artifact_media_type,
        size_bytes=sum(blob.size_bytes for blob in blobs) if size_bytes is None else size_bytes,
        pushed_at=pushed_at,
        status=state.status,
        last_pull=state.last_pull,
        last_archived_at=state.last_archived_at,
        last_activated_at=state.last_activated_at,
        scan_status=scan.status,
        scan_completed_at=scan.completed_at,
        severity_counts=scan.counts,
        subject_manifest_digest=subject_manifest_digest,
        blobs=blobs,
        child_digests=child_digests,
        manifest=manifest,
    )


def plan_demo_registry(region: str, as_of: datetime) -> DemoRegistry:
    """The registry :func:`seed_demo_registry` creates, without creating it."""
    if as_of.tzinfo is None:
        raise ValueError(f"as_of must be timezone-aware (UTC), got naive {as_of.isoformat()!r}")
    as_of = _whole_seconds(as_of.astimezone(UTC))
    rng = random.Random(SEED)
    planner = _Planner(as_of, rng, _Blobs(rng))
    repositories = tuple(planner.repository(profile) for profile in _PROFILES)
    return DemoRegistry(ACCOUNT_ID, region, as_of, repositories)


def seed_demo_registry(endpoint_url: str, region: str, as_of: datetime) -> DemoRegistry:
    """Create the demo registry in the emulator at ``endpoint_url``, which must run in this process."""
    registry = plan_demo_registry(region, as_of)
    ecr = client("ecr", endpoint_url, region)
    for repository in registry.repositories:
        _create_repository(ecr, registry, repository)
    seed_demo_usage(endpoint_url, registry.usage)
    return registry


def _create_repository(ecr: Any, registry: DemoRegistry, repository: SeededRepository) -> None:
    name = repository.name
    ecr.create_repository(repositoryName=name, imageTagMutability=repository.tag_mutability)
    if repository.scan_on_push:
        ecr.put_image_scanning_configuration(
            repositoryName=name, imageScanningConfiguration={"scanOnPush": True}
        )
    if repository.lifecycle_policy is not None:
        ecr.put_lifecycle_policy(repositoryName=name, lifecyclePolicyText=repository.lifecycle_policy)
    moto_ecr_gaps.fill_repository(
        registry.account_id, registry.region, name, created_at=repository.created_at
    )
    for image in sorted(repository.images, key=lambda image: image.pushed_at):
        _push(ecr, image)
        _fill(registry, image)


def _push(ecr: Any, image: SeededImage) -> None:
    """The first put creates the image (by digest when untagged); each further put adds a tag."""
    request = {
        "repositoryName": image.repository_name,
        "imageManifest": image.manifest,
        "imageManifestMediaType": image.manifest_media_type,
        "imageDigest": image.digest,
    }
    for tag in image.tags or (None,):
        ecr.put_image(**request, **({"imageTag": tag} if tag else {}))


def _fill(registry: DemoRegistry, image: SeededImage) -> None:
    moto_ecr_gaps.fill_image(
        registry.account_id,
        registry.region,
        image.repository_name,
        image.digest,
        size_bytes=image.size_bytes,
        pushed_at=image.pushed_at,
        last_recorded_pull_time=image.last_pull,
        image_status=image.status,
        last_archived_at=image.last_archived_at,
        last_activated_at=image.last_activated_at,
        scan_status=image.scan_status or None,
        scan_completed_at=image.scan_completed_at,
        severity_counts=image.severity_counts,
        findings=None if image.severity_counts is None else [finding.as_api() for finding in image.findings],
        artifact_media_type=image.artifact_media_type or None,
        subject_manifest_digest=image.subject_manifest_digest or None,
    )
