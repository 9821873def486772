"""Which images run: what ECS, Lambda and Inspector said about a registry, judged image by image.

ECR's ``lastRecordedPullTime`` misleads both ways: a service pulled its image once, long ago, and still
runs it; a cache warmer pulled an image yesterday that nothing runs. So use comes from where images
run, read once per registry (``aws.usage``), and is matched here by what a pull would fetch: a
service none of whose tasks runs (scaled to zero) needs the digest its task definition names, or
whatever its tag points to at the next start; and through image indexes (a task runs a platform's
child manifest; the index that lists it is in use as well).

Inspector counts ECS tasks and EKS pods alike (``inUseCount``); the ECS tasks and EKS pods found
directly are the same ones, so only Inspector's count beyond them is credited to ``EKS (Inspector)``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ecr_provider.core.records import Image

INSPECTOR_PLACE = "EKS (Inspector)"
"""Where the use Inspector counts beyond the ECS tasks found is: EKS pods (or tasks of other accounts)."""
ECS_PREFIX = "ecs:"
LAMBDA_PREFIX = "lambda:"
EKS_PREFIX = "eks:"
DEFAULT_TAG = "latest"

_ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<repository>[a-z0-9][a-z0-9._/-]*?)(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)

ImageKey = tuple[str, str]
"""(repository name, digest) or (repository name, tag)."""


@dataclass(frozen=True, slots=True)
class ImageReference:
    """An image as a task definition, a task or a function names it."""

    repository: str
    tag: str | None
    digest: str | None

    @property
    def key(self) -> ImageKey:
        """What a pull of it fetches: the digest it names, else its tag."""
        return (self.repository, self.digest or self.tag or DEFAULT_TAG)


def ecr_reference(uri: str, account_id: str, region: str) -> ImageReference | None:
    """The reference when ``uri`` is an image of this registry (account and region); None otherwise:
    Docker Hub, another account's registry, a pull-through alias outside ECR. A reference naming
    neither tag nor digest pulls ``latest``, as Docker does."""
    match = _ECR_IMAGE.match(uri.strip())
    if match is None or match["account"] != account_id or match["region"] != region:
        return None
    tag = match["tag"] or (None if match["digest"] else DEFAULT_TAG)
    return ImageReference(match["repository"], tag, match["digest"])


@dataclass(frozen=True, slots=True)
class RegistryUsage:
    """What runs in a registry's account and region, as ``aws.usage`` read it.

    ``running`` counts, per image and place (``ecs:CLUSTER/SERVICE``, ``lambda:FUNCTION``,
    ``eks:CLUSTER/NAMESPACE/OWNER``), the running ECS tasks, functions or EKS pods using it;
    ``needed`` lists the places whose next start pulls a digest or a tag (services' task
    definitions), keyed as ``ImageReference.key``. ``unknown`` names the reads that failed: while it
    is not empty, an image nobody was seen running is of unknown use, never unused. ``sources`` names
    the runtimes read in full (``ECS``, ``Lambda``, ``EKS`` when every cluster's pods were read).
    """

    running: Mapping[ImageKey, Mapping[str, int]] = field(default_factory=dict)
    needed: Mapping[ImageKey, frozenset[str]] = field(default_factory=dict)
    unknown: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()

    @property
    def known(self) -> bool:
        return not self.unknown

    def summary(self) -> str:
        if not self.known:
            return f"image use unknown ({'; '.join(self.unknown)})"
        places = {place for running in self.running.values() for place in running}
        places.update(place for needed in self.needed.values() for place in needed)
        return f"{len(self.running)} images running, {len(places)} places running or needing images"


UNKNOWN_USAGE = RegistryUsage(unknown=("not read",))
"""For readers that do not look: every image is of unknown use."""


@dataclass(frozen=True, slots=True)
class ImageUse:
    """One image's use: ``in_use`` None when it cannot be known; ``count`` the ECS tasks, EKS pods and
    Lambda functions running it (None when unknown)."""

    in_use: bool | None
    count: int | None
    last_in_use_at: datetime | None
    places: tuple[str, ...]


def repository_use(
    images: Sequence[Image], usage: RegistryUsage, children: Mapping[str, tuple[str, ...]]
) -> dict[str, ImageUse]:
    """The use of each image of one repository, by digest.

    ``children`` holds the digests each image index lists (only indexes whose manifests were read): an
    index is used by whatever uses its children.
    """
    own: dict[str, tuple[dict[str, int], int | None, datetime | None]] = {}
    for image in images:
        places = dict(usage.running.get((image.repository_name, image.digest), {}))
        for reference in (image.digest, *image.tags):
            for place in usage.needed.get((image.repository_name, reference), ()):
                places.setdefault(place, 0)
        covered = image.inspector_use
        if covered is None:
            own[image.digest] = places, None, None
        else:
            own[image.digest] = places, covered.count, covered.last_in_use_at
    uses: dict[str, ImageUse] = {}
    for digest, (own_places, inspector_count, own_last) in own.items():
        places = dict(own_places)
        counts = [inspector_count or 0]
        last_in_use_at = own_last
        for child in children.get(digest, ()):
            child_places, child_count, child_last = own.get(child, ({}, None, None))
            for place, running in child_places.items():
                places[place] = places.get(place, 0) + running
            counts.append(child_count or 0)
            last_in_use_at = _later(last_in_use_at, child_last)
        uses[digest] = _use(places, sum(counts), last_in_use_at, usage.known)
    return uses


def _use(
    places: dict[str, int], inspector_count: int, last_in_use_at: datetime | None, known: bool
) -> ImageUse:
    tasks_and_pods = sum(n for place, n in places.items() if place.startswith((ECS_PREFIX, EKS_PREFIX)))
    functions = sum(count for place, count in places.items() if place.startswith(LAMBDA_PREFIX))
    named = sorted(places)
    if inspector_count > tasks_and_pods:
        named.append(INSPECTOR_PLACE)
    count = max(inspector_count, tasks_and_pods) + functions
    if named:
        return ImageUse(True, count, last_in_use_at, tuple(named))
    if known:
        return ImageUse(False, 0, last_in_use_at, ())
    return ImageUse(None, None, last_in_use_at, ())


def _later(first: datetime | None, second: datetime | None) -> datetime | None:
    if first is None or second is None:
        return first or second
    return max(first, second)
