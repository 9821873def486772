"""The cleanup verdict of every image, ``keep`` or ``reclaimable``, with the one reason that decided it.

An image is reclaimable only when deleting it cannot break anything this report can see: it is not
in use, no kept image needs it (an index its children, an image its signatures and SBOMs), it was
neither pulled nor pushed within ``reclaim_after_days``, and no tag of it matches a protected
pattern. An image whose use is unknown (the ECS or Lambda reads were denied) is never reclaimable,
nor is one that may run where the run could not look (``core.visibility``: another account or the
organisation may pull it, or EKS pods run unread): its reason then says whose use is not visible.

The reasons, in the order they are decided (the first that holds is the one reported):

keep: ``in-use``, ``protected-tag``, ``child-of-kept-index``, ``referrer-of-kept-image``,
``recently-pulled``, ``recently-pushed``, ``index-children-unknown`` (an index, or an untagged image
that may be a child of one, in a repository whose index manifests were not read), ``usage-unknown``,
``usage-not-visible`` (written with its detail: ``usage-not-visible: use from account 111122223333
is not visible``; an archived image or one the repository's own lifecycle policy expires stays
reclaimable, as no pull can need it or it goes anyway);
reclaimable: ``archived`` (in the archive storage class), ``lifecycle-expiring`` (the repository's own
lifecycle policy expires it anyway), ``unused``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from fnmatch import fnmatchcase

from ecr_provider.core.blobs import INDEX_MEDIA_TYPES
from ecr_provider.core.records import Image
from ecr_provider.core.units import days_ago, utc
from ecr_provider.core.usage import ImageUse

DEFAULT_RECLAIM_AFTER_DAYS = 90
MAX_RECLAIM_AFTER_DAYS = 3650
KEEP = "keep"
RECLAIMABLE = "reclaimable"


class Reason(StrEnum):
    IN_USE = "in-use"
    PROTECTED_TAG = "protected-tag"
    CHILD_OF_KEPT_INDEX = "child-of-kept-index"
    REFERRER_OF_KEPT_IMAGE = "referrer-of-kept-image"
    RECENTLY_PULLED = "recently-pulled"
    RECENTLY_PUSHED = "recently-pushed"
    INDEX_CHILDREN_UNKNOWN = "index-children-unknown"
    USAGE_UNKNOWN = "usage-unknown"
    USAGE_NOT_VISIBLE = "usage-not-visible"
    ARCHIVED = "archived"
    LIFECYCLE_EXPIRING = "lifecycle-expiring"
    UNUSED = "unused"


RECLAIMABLE_REASONS = frozenset({Reason.ARCHIVED, Reason.LIFECYCLE_EXPIRING, Reason.UNUSED})


def check_reclaim_after_days(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_RECLAIM_AFTER_DAYS:
        raise ValueError(
            f"reclaim_after_days must be a whole number of days from 0 to {MAX_RECLAIM_AFTER_DAYS}, "
            f"got {value!r}"
        )
    return value


def check_protected_tag_patterns(value: object) -> tuple[str, ...]:
    """Glob patterns (``*``, ``?``, ``[...]``), matched case-sensitively against every tag."""
    if value in (None, ""):
        return ()
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ValueError(f"protected_tag_patterns must be a list of glob patterns, got {value!r}")
    for pattern in value:
        if not isinstance(pattern, str) or not pattern.strip():
            raise ValueError(f"protected_tag_patterns: {pattern!r} is not a non-empty glob pattern")
    return tuple(dict.fromkeys(value))


@dataclass(frozen=True, slots=True)
class CleanupRules:
    reclaim_after_days: int = DEFAULT_RECLAIM_AFTER_DAYS
    protected_tag_patterns: tuple[str, ...] = ()

    def protects(self, tags: Sequence[str]) -> bool:
        return any(fnmatchcase(tag, pattern) for tag in tags for pattern in self.protected_tag_patterns)


@dataclass(frozen=True, slots=True)
class Verdict:
    reason: Reason
    detail: str = ""
    """What the reason rests on, where it needs saying (whose use is not visible)."""

    @property
    def text(self) -> str:
        """The ``cleanupReason`` cell."""
        return f"{self.reason.value}: {self.detail}" if self.detail else self.reason.value

    @property
    def verdict(self) -> str:
        return RECLAIMABLE if self.reason in RECLAIMABLE_REASONS else KEEP

    @property
    def reclaimable(self) -> bool:
        return self.reason in RECLAIMABLE_REASONS


def cleanup_verdicts(
    images: Sequence[Image],
    uses: Mapping[str, ImageUse],
    rules: CleanupRules,
    as_of: datetime,
    *,
    children: Mapping[str, tuple[str, ...]] | None,
    expiring: Collection[str],
    not_visible: str = "",
) -> dict[str, Verdict]:
    """The verdict of each image of one repository, by digest.

    ``children`` lists what each index references, from its manifest; None when no manifest was read,
    so an index's children are unknown. ``expiring`` holds the digests the repository's own lifecycle
    policy expires. ``not_visible`` says whose use of the repository the run could not see (empty:
    none), which keeps every image that would otherwise be ``unused``.
    """
    cutoff = days_ago(as_of, rules.reclaim_after_days)
    unread = _unread_indexes(images, children)
    own = {
        image.digest: _own_reason(image, uses.get(image.digest), rules, cutoff, unread) for image in images
    }
    if not_visible:
        for image in images:
            if own[image.digest] is None and _reclaimable_reason(image, expiring) is Reason.UNUSED:
                own[image.digest] = Reason.USAGE_NOT_VISIBLE
    kept = _kept_with_dependencies(images, own, children or {})
    verdicts: dict[str, Verdict] = {}
    for image in images:
        reason = own[image.digest]
        if reason is None or reason in _LATER_KEEPS:
            reason = kept.get(image.digest) or reason
        if reason is None:
            reason = _reclaimable_reason(image, expiring)
        verdicts[image.digest] = Verdict(reason, not_visible if reason is Reason.USAGE_NOT_VISIBLE else "")
    return verdicts


_LATER_KEEPS = frozenset(
    {
        Reason.RECENTLY_PULLED,
        Reason.RECENTLY_PUSHED,
        Reason.INDEX_CHILDREN_UNKNOWN,
        Reason.USAGE_UNKNOWN,
        Reason.USAGE_NOT_VISIBLE,
    }
)
"""Own reasons that a kept image's need outranks in the report (it says more about the image)."""


def _unread_indexes(images: Sequence[Image], children: Mapping[str, tuple[str, ...]] | None) -> bool:
    """Whether the repository holds an index whose children are unknown."""
    known = children or {}
    return any(
        image.manifest_media_type in INDEX_MEDIA_TYPES and image.digest not in known for image in images
    )


def _own_reason(
    image: Image, use: ImageUse | None, rules: CleanupRules, cutoff: datetime, unread_indexes: bool
) -> Reason | None:
    """What keeps the image on its own; None when nothing does."""
    if use is not None and use.in_use:
        return Reason.IN_USE
    if rules.protects(image.tags):
        return Reason.PROTECTED_TAG
    if image.last_pull is not None and utc(image.last_pull) >= cutoff:
        return Reason.RECENTLY_PULLED
    pushed = image.last_activated_at or image.pushed_at
    if pushed is not None and utc(pushed) >= cutoff:
        return Reason.RECENTLY_PUSHED
    if unread_indexes and (image.manifest_media_type in INDEX_MEDIA_TYPES or _maybe_child(image)):
        return Reason.INDEX_CHILDREN_UNKNOWN
    if use is None or use.in_use is None:
        return Reason.USAGE_UNKNOWN
    return None


def _maybe_child(image: Image) -> bool:
    """An index's children are untagged manifests of their own; a referrer names its subject instead."""
    return not image.tags and not image.subject_manifest_digest


def _kept_with_dependencies(
    images: Sequence[Image], own: Mapping[str, Reason | None], children: Mapping[str, tuple[str, ...]]
) -> dict[str, Reason]:
    """The images kept only because a kept image needs them: an index's children, a subject's referrers
    (which may be referred to in turn), followed until nothing more is kept."""
    referrers: dict[str, list[str]] = {}
    for image in images:
        if image.subject_manifest_digest:
            referrers.setdefault(image.subject_manifest_digest, []).append(image.digest)
    needed: dict[str, Reason] = {}
    pending = [digest for digest, reason in own.items() if reason is not None]
    while pending:
        digest = pending.pop()
        dependants = [(child, Reason.CHILD_OF_KEPT_INDEX) for child in children.get(digest, ())]
        dependants += [(referrer, Reason.REFERRER_OF_KEPT_IMAGE) for referrer in referrers.get(digest, ())]
        for dependant, reason in dependants:
            if dependant in own and dependant not in needed and own[dependant] not in _STRONG_KEEPS:
                needed[dependant] = reason
                pending.append(dependant)
    return needed


_STRONG_KEEPS = frozenset({Reason.IN_USE, Reason.PROTECTED_TAG})


def _reclaimable_reason(image: Image, expiring: Collection[str]) -> Reason:
    if image.is_archived:
        return Reason.ARCHIVED
    if image.digest in expiring:
        return Reason.LIFECYCLE_EXPIRING
    return Reason.UNUSED
