"""Images with basic-scan findings of a test's or a benchmark's choosing, written into moto's backend."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from moto.backends import get_backend
from moto.ecr import models as ecr_models

from emulator import moto_ecr_gaps

_MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"})


def add_scanned_image(
    account_id: str,
    region: str,
    repository_name: str,
    tag: str,
    findings: Sequence[Mapping[str, Any]],
    *,
    pushed_at: datetime,
) -> str:
    """A 1 MiB image pushed and scanned at ``pushed_at`` with these findings (the repository created
    when missing); its digest. The findings are kept by reference, so images may share them."""
    moto_ecr_gaps.install()
    backend = get_backend("ecr")[account_id][region]
    repository = backend.repositories.get(repository_name) or backend.create_repository(
        repository_name, None, {}, {"scanOnPush": True}, "MUTABLE", []
    )
    digest = "sha256:" + hashlib.sha256(f"{repository_name}:{tag}".encode()).hexdigest()
    image = ecr_models.Image(account_id, tag, _MANIFEST, repository_name, None, digest)
    moto_ecr_gaps.fill_image_model(
        image,
        size_bytes=2**20,
        pushed_at=pushed_at,
        scan_status="COMPLETE",
        scan_completed_at=pushed_at,
        severity_counts=dict(Counter(finding["severity"] for finding in findings)),
        findings=findings,
    )
    repository.images.append(image)
    return digest
