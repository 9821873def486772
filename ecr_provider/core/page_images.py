"""What a page lists from a date's images_summary rows, streamed once: the images that run (the
``inUse`` column, not pull time) with CRITICAL or HIGH findings, the running images never scanned or
whose scan failed, the running images pull time alone would delete, and the untagged images.

Only the listed images are kept, so a registry of any size is read in one pass.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

SCANNED = "COMPLETE"
"""The one scan status that means findings were read; any other (FAILED, empty, ...) is unscanned."""


@dataclass(frozen=True, slots=True)
class ListedImage:
    repository_name: str
    account_id: str
    region: str
    image_digest: str
    image_tags: str
    critical: int
    high: int
    days_since_last_pull: str
    """Empty when never pulled."""
    scan_status: str
    in_use_by: tuple[str, ...]
    size_bytes: int

    @property
    def where(self) -> str:
        """Where it runs, from ``inUseBy``."""
        return ", ".join(self.in_use_by) or "in use (no consumer named)"


@dataclass(slots=True)
class ImageSections:
    images: int = 0
    running: int = 0
    running_risky: list[ListedImage] = field(default_factory=list)
    """Running with CRITICAL or HIGH findings, worst first."""
    running_unscanned: list[ListedImage] = field(default_factory=list)
    pull_time_would_delete: list[ListedImage] = field(default_factory=list)
    """Running, but not pulled within the repository's ``reclaimAfterDays`` (or never)."""
    untagged: int = 0
    untagged_bytes: int = 0


_NO_TAGS = ("", "[]")
"""An untagged image's ``imageTags``: compared as text, as decoding every row's list cost more."""


def image_sections(rows: Iterable[Mapping[str, str]], reclaim_after_days: Mapping[str, int]) -> ImageSections:
    """``reclaim_after_days``: per repository (``account region name``), its rows' ``reclaimAfterDays``;
    a repository without one uses none, so its running images are never listed as pull-time deletions."""
    found = ImageSections()
    for row in rows:
        found.images += 1
        if row["imageTags"] in _NO_TAGS:
            found.untagged += 1
            found.untagged_bytes += int(row["imageSizeBytes"] or 0)
        if row.get("inUse") != "true":
            continue
        found.running += 1
        image = _listed(row)
        if image.critical or image.high:
            found.running_risky.append(image)
        if image.scan_status != SCANNED:
            found.running_unscanned.append(image)
        limit = reclaim_after_days.get(repository_key(row))
        days = image.days_since_last_pull
        if limit is not None and (days == "" or int(days) > limit):
            found.pull_time_would_delete.append(image)
    found.running_risky.sort(key=lambda i: (-i.critical, -i.high, i.repository_name, i.image_digest))
    return found


def repository_key(row: Mapping[str, str]) -> str:
    return f"{row['accountId']} {row['region']} {row['repositoryName']}"


def _listed(row: Mapping[str, str]) -> ListedImage:
    used_by = json.loads(row["inUseBy"]) if row.get("inUseBy") else []
    return ListedImage(
        repository_name=row["repositoryName"],
        account_id=row["accountId"],
        region=row["region"],
        image_digest=row["imageDigest"],
        image_tags=row["imageTags"],
        critical=int(row.get("findingsCritical") or 0),
        high=int(row.get("findingsHigh") or 0),
        days_since_last_pull=row["daysSinceLastPull"],
        scan_status=row["imageScanStatus"],
        in_use_by=tuple(str(consumer) for consumer in used_by),
        size_bytes=int(row["imageSizeBytes"] or 0),
    )
