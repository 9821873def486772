"""A registry of any size for benchmarks, written straight into moto's backend.

Pushing 100,000 images through PutImage would take minutes (moto compares each manifest with every
image of its repository); building the model objects directly takes seconds. Sizes follow a
deterministic spread, and one repository in fifty is large enough to need several DescribeImages
pages, so paging is measured too. Every image has basic-scan findings to list, as its counts say.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from moto.backends import get_backend
from moto.ecr import models as ecr_models

from emulator import moto_ecr_gaps

_MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"})
_LARGE_EVERY = 50
_MOST_FINDINGS = 12


@dataclass(frozen=True, slots=True)
class SyntheticRegistry:
    repositories: int
    images_per_repository: tuple[int, ...]

    @property
    def images(self) -> int:
        return sum(self.images_per_repository)

    def summary(self) -> str:
        largest = max(self.images_per_repository)
        return f"{self.repositories} repositories, {self.images} images, at most {largest} in one"


def _finding(severity: str, number: int) -> dict[str, Any]:
    return {
        "name": f"CVE-2026-{number:05d}",
        "severity": severity,
        "attributes": [
            {"key": "package_name", "value": f"package-{number % 7}"},
            {"key": "package_version", "value": f"1.{number}.0"},
        ],
    }


_FINDINGS = {
    severity: tuple(_finding(severity, offset + number) for number in range(_MOST_FINDINGS))
    for offset, severity in ((0, "HIGH"), (_MOST_FINDINGS, "MEDIUM"))
}
"""Shared by every image (moto keeps references), so 100,000 images cost no extra memory for them."""


def _findings(counts: dict[str, int]) -> list[dict[str, Any]]:
    """As many basic-scan findings of each severity as counted: the first of the shared ones."""
    return [finding for severity, count in counts.items() for finding in _FINDINGS[severity][:count]]


def image_counts(repositories: int, images: int) -> list[int]:
    """Image counts per repository that add up to ``images``, with a few repositories 10x the mean."""
    weights = [10 if index % _LARGE_EVERY == 0 else 1 for index in range(repositories)]
    counts = [images * weight // sum(weights) for weight in weights]
    for index in range(images - sum(counts)):
        counts[index % repositories] += 1
    return counts


def seed_synthetic_registry(
    account_id: str, region: str, *, repositories: int, images: int, as_of: datetime, seed: int = 7
) -> SyntheticRegistry:
    if repositories < 1 or images < 0:
        raise ValueError(f"need >= 1 repository and >= 0 images, got {repositories!r} and {images!r}")
    moto_ecr_gaps.install()
    backend = get_backend("ecr")[account_id][region]
    rng = random.Random(seed)
    counts = image_counts(repositories, images)
    for index, count in enumerate(counts):
        name = f"service-{index // 100:03d}/component-{index:05d}"
        repository = backend.create_repository(name, None, {}, {"scanOnPush": True}, "MUTABLE", [])
        repository.created_at = as_of - timedelta(days=400 + index % 300)
        if index % 3 == 0:
            repository.lifecycle_policy = json.dumps(
                {
                    "rules": [
                        {
                            "rulePriority": 1,
                            "selection": {
                                "tagStatus": "untagged",
                                "countType": "imageCountMoreThan",
                                "countNumber": 5,
                            },
                            "action": {"type": "expire"},
                        }
                    ]
                }
            )
        for number in range(count):
            digest = "sha256:" + hashlib.sha256(f"{name}:{number}".encode()).hexdigest()
            tag = f"v{number}" if number % 4 else None
            image = ecr_models.Image(account_id, tag, _MANIFEST, name, None, digest)  # type: ignore[arg-type]
            pushed = as_of - timedelta(hours=rng.randint(1, 24 * 400))
            pulled = pushed + timedelta(hours=rng.randint(0, 24 * 30)) if number % 5 else None
            severity_counts = {"HIGH": rng.randint(0, 4), "MEDIUM": rng.randint(0, _MOST_FINDINGS)}
            moto_ecr_gaps.fill_image_model(
                image,
                size_bytes=rng.randint(5, 900) * 2**20,
                pushed_at=pushed,
                last_recorded_pull_time=min(pulled, as_of) if pulled else None,
                scan_status="COMPLETE",
                scan_completed_at=pushed + timedelta(minutes=3),
                severity_counts=severity_counts,
                findings=_findings(severity_counts),
            )
            repository.images.append(image)
    return SyntheticRegistry(repositories, tuple(counts))
