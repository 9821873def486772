"""Which images run: what ECS, Lambda and Inspector said about a registry, judged image by image.

Use is read per source (an account and region of the run, ``aws.usage``) and kept with every ECR
reference's full registry, so a workload in one account that pulls from a shared account's registry
counts for that registry: :class:`SourceUsage` groups what a source runs by the registry it points to,
:func:`join_usage` puts a registry's groups from every source back together.

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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ecr_provider.core.records import Image

INSPECTOR_PLACE = "EKS (Inspector)"
"""Where the use Inspector counts beyond the ECS tasks found is: EKS pods (or tasks of other accounts)."""
ECS_PREFIX = "ecs:"
LAMBDA_PREFIX = "lambda:"
EKS_PREFIX = "eks:"
DEFAULT_TAG = "latest"
EKS_SOURCE = "EKS"
LIST_CLUSTERS = "eks:ListClusters"
"""In ``usageSources`` when the run read EKS pods and no cluster's pods went unread."""

_ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<repository>[a-z0-9][a-z0-9._/-]*?)(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)

ImageKey = tuple[str, str]
"""(repository name, digest) or (repository name, tag)."""
Registry = tuple[str, str]
"""(account id, region): a registry, or a source whose workloads are read."""
FullKey = tuple[Registry, ImageKey]
"""An image as ``ImageReference.key`` names it, in the registry it is in."""


@dataclass(frozen=True, slots=True)
class ImageReference:
    """An image as a task definition, a task or a function names it, with the registry it is in."""

    account_id: str
    region: str
    repository: str
    tag: str | None
    digest: str | None

    @property
    def key(self) -> ImageKey:
        """What a pull of it fetches: the digest it names, else its tag."""
        return (self.repository, self.digest or self.tag or DEFAULT_TAG)

    @property
    def registry(self) -> Registry:
        return (self.account_id, self.region)


def ecr_reference(uri: str) -> ImageReference | None:
    """The reference when ``uri`` is an image of an ECR private registry, whichever account and region;
    None otherwise: Docker Hub, ECR Public, a pull-through alias outside ECR. A reference naming
    neither tag nor digest pulls ``latest``, as Docker does."""
    match = _ECR_IMAGE.match(uri.strip())
    if match is None:
        return None
    tag = match["tag"] or (None if match["digest"] else DEFAULT_TAG)
    return ImageReference(match["account"], match["region"], match["repository"], tag, match["digest"])


def foreign_place(place: str, source: Registry) -> str:
    """``ecs:CLUSTER/SERVICE`` run in another account or region than the image's registry, named
    ``ecs:ACCOUNT/REGION/CLUSTER/SERVICE`` (``lambda:`` and ``eks:`` likewise)."""
    kind, _, name = place.partition(":")
    return f"{kind}:{source[0]}/{source[1]}/{name}"


@dataclass
class FoundUse:
    """What one cluster, function or set of pods showed, by image in whichever registry; merged into
    a source's :class:`SourceUsage`."""

    running: dict[FullKey, dict[str, int]] = field(default_factory=dict)
    needed: dict[FullKey, set[str]] = field(default_factory=dict)

    def run(self, key: FullKey, place: str, count: int = 1) -> None:
        places = self.running.setdefault(key, {})
        places[place] = places.get(place, 0) + count

    def need(self, key: FullKey, place: str) -> None:
        self.needed.setdefault(key, set()).add(place)

    def merge(self, other: FoundUse) -> None:
        for key, places in other.running.items():
            for place, count in places.items():
                self.run(key, place, count)
        for key, needed in other.needed.items():
            self.needed.setdefault(key, set()).update(needed)


@dataclass(frozen=True, slots=True, order=True)
class UnseenEks:
    """EKS use in a source the run could not read: a cluster whose pods were not read, or (``cluster``
    empty) the source's every cluster, when ``eks:ListClusters`` was refused. It may run the images of
    any registry of its account, or of one whose policy lets its account pull."""

    account_id: str
    region: str
    cluster: str = ""

    def named_from(self, registry: Registry) -> str:
        """The cluster's name, after ``ACCOUNT/REGION/`` when not in ``registry``'s account and region."""
        where = (self.account_id, self.region)
        return self.cluster if where == registry else f"{self.account_id}/{self.region}/{self.cluster}"

    def listing_from(self, registry: Registry) -> str:
        """The refused listing, as ``cleanupReason`` names a denied call."""
        where = (self.account_id, self.region)
        return LIST_CLUSTERS if where == registry else f"{LIST_CLUSTERS} in {self.account_id}/{self.region}"

    def as_record(self) -> list[str]:
        return [self.account_id, self.region, self.cluster]


@dataclass(frozen=True, slots=True)
class RegistryUsage:
    """What runs a registry's images, as ``aws.usage`` read it in the sources of the run.

    ``running`` counts, per image and place (``ecs:CLUSTER/SERVICE``, ``lambda:FUNCTION``,
    ``eks:CLUSTER/NAMESPACE/OWNER``, with ``ACCOUNT/REGION/`` after the colon when the place is in another
    account or region than the registry), the running ECS tasks, functions or EKS pods using it;
    ``needed`` lists the places whose next start pulls a digest or a tag (services' task definitions),
    keyed as ``ImageReference.key``. ``unknown`` names the reads that failed: while it is not empty, an
    image nobody was seen running is of unknown use, never unused. ``read_accounts`` are the accounts
    whose workloads were read (every region of the run), so use from any other account is not seen.
    ``sources`` names the runtimes read in full in every source of the run (``ECS``, ``Lambda``, ``EKS``
    when pods were read and no cluster's went unread). ``unseen_eks`` are the run's clusters (and
    refused cluster listings) whose pods were not read: ``core.visibility`` weighs those that could
    pull from the registry.
    """

    running: Mapping[ImageKey, Mapping[str, int]] = field(default_factory=dict)
    needed: Mapping[ImageKey, frozenset[str]] = field(default_factory=dict)
    unknown: tuple[str, ...] = ()
    read_accounts: frozenset[str] = frozenset()
    sources: tuple[str, ...] = ()
    unseen_eks: tuple[UnseenEks, ...] = ()

    @property
    def known(self) -> bool:
        return not self.unknown

    def summary(self) -> str:
        if not self.known:
            return f"image use unknown ({'; '.join(self.unknown)})"
        places = {place for running in self.running.values() for place in running}
        places.update(place for needed in self.needed.values() for place in needed)
        return f"{len(self.running)} images running, {len(places)} places running or needing images"

    def as_record(self) -> dict[str, Any]:
        """The found use as JSON, for a group in S3 (``unknown`` and ``read_accounts`` are the run's)."""
        return {
            "running": [
                [repository, reference, dict(places)]
                for (repository, reference), places in sorted(self.running.items())
            ],
            "needed": [
                [repository, reference, sorted(places)]
                for (repository, reference), places in sorted(self.needed.items())
            ],
        }


RUNTIMES = ("ECS", "Lambda")
"""The runtimes whose use ``aws.usage`` reads, as ``usageSources`` names them."""

UNKNOWN_USAGE = RegistryUsage(unknown=("not read",))
"""For readers that do not look: every image is of unknown use."""


@dataclass(frozen=True, slots=True)
class SourceUsage:
    """What one source (an account and region) runs, grouped by the registry each image is in."""

    source: Registry
    groups: Mapping[Registry, RegistryUsage]
    unknown: tuple[str, ...] = ()
    """The reads that failed in this source: what it runs from any registry is not known."""
    sources: tuple[str, ...] = RUNTIMES
    """The runtimes read in full in this source (``EKS`` when it had clusters and read them all)."""
    unseen_eks: tuple[UnseenEks, ...] = ()
    """The source's clusters whose pods were not read, or its refused cluster listing."""


def usage_of_record(record: Mapping[str, Any]) -> RegistryUsage:
    """A group as :meth:`RegistryUsage.as_record` wrote it."""
    return RegistryUsage(
        running={(str(r), str(k)): dict(places) for r, k, places in record["running"]},
        needed={(str(r), str(k)): frozenset(places) for r, k, places in record["needed"]},
    )


def join_usage(
    groups: Iterable[RegistryUsage],
    *,
    unknown: Sequence[str],
    read_accounts: Iterable[str],
    sources: Sequence[str] = (),
    unseen_eks: Iterable[UnseenEks] = (),
) -> RegistryUsage:
    """One registry's use from the groups every source found for it: counts of one place add up.
    ``sources`` are the runtimes read in full in every source of the run, ``unseen_eks`` the run's."""
    running: dict[ImageKey, dict[str, int]] = {}
    needed: dict[ImageKey, set[str]] = {}
    for group in groups:
        for key, places in group.running.items():
            merged = running.setdefault(key, {})
            for place, count in places.items():
                merged[place] = merged.get(place, 0) + count
        for key, more in group.needed.items():
            needed.setdefault(key, set()).update(more)
    return RegistryUsage(
        running=running,
        needed={key: frozenset(places) for key, places in needed.items()},
        unknown=tuple(unknown),
        read_accounts=frozenset(read_accounts),
        sources=tuple(sources),
        unseen_eks=tuple(sorted(set(unseen_eks))),
    )


def join_sources(sources: Sequence[SourceUsage], registry: Registry) -> RegistryUsage:
    """One registry's use from the sources one process read: a source whose reads failed leaves
    every registry's use unknown (it may run any of their images) and its account not read."""
    failed = {source.source[0] for source in sources if source.unknown}
    unseen = [unseen for source in sources for unseen in source.unseen_eks]
    return join_usage(
        (source.groups[registry] for source in sources if registry in source.groups),
        unknown=[
            f"{source.source[0]}/{source.source[1]}: {error}"
            for source in sources
            for error in source.unknown
        ],
        read_accounts={source.source[0] for source in sources} - failed,
        sources=read_in_all([source.sources for source in sources], eks_unseen=bool(unseen)),
        unseen_eks=unseen,
    )


def read_in_all(read: Sequence[Sequence[str]], *, eks_unseen: bool) -> tuple[str, ...]:
    """The runtimes read in full in every source (none when there was no source)."""
    each = [set(sources) for sources in read]
    found = tuple(runtime for runtime in RUNTIMES if each and all(runtime in s for s in each))
    return with_eks(found, eks_read=any(EKS_SOURCE in s for s in each), eks_unseen=eks_unseen)


def with_eks(runtimes: Sequence[str], *, eks_read: bool, eks_unseen: bool) -> tuple[str, ...]:
    """``runtimes``, and ``EKS`` when some source's pods were read and no cluster's went unread."""
    return (*runtimes, *((EKS_SOURCE,) if eks_read and not eks_unseen else ()))


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
