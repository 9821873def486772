"""Amazon Inspector's view of ECR images in the project's terms: findings, severity counts, images.

Severities: SeverityCounts ``critical``, ``high``, ``medium``, ``low`` and ``informational`` map to
ECR's keys of the same name and ``untriaged`` to UNDEFINED. The API reference documents only ``all``,
``critical``, ``high`` and ``medium`` (the other three are newer in the service model); when a
response lacks them, what ``all`` counts beyond the severities given goes under UNDEFINED, so an
image's total is still Inspector's.

Pure: :mod:`ecr_provider.aws.inspector` makes the calls and hands their entries here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from ecr_provider.core.findings import Finding, ImageKey
from ecr_provider.core.records import SEVERITIES

ECR_IMAGE = "AWS_ECR_CONTAINER_IMAGE"
NO_FIX = "NotAvailable"
"""What Inspector puts in ``fixedInVersion`` when no fixed version exists."""
INSPECTOR_SEVERITIES = {
    "critical": "CRITICAL",
    "high": "HIGH",
    "medium": "MEDIUM",
    "low": "LOW",
    "informational": "INFORMATIONAL",
    "untriaged": "UNDEFINED",
}


def ecr_severity_counts(severity_counts: Mapping[str, int]) -> dict[str, int]:
    """Inspector's SeverityCounts in ECR's keys and order, zeros left out as DescribeImages does."""
    found = {
        ecr: int(severity_counts[key])
        for key, ecr in INSPECTOR_SEVERITIES.items()
        if severity_counts.get(key)
    }
    unattributed = int(severity_counts.get("all", 0)) - sum(found.values())
    if unattributed > 0:
        found["UNDEFINED"] = found.get("UNDEFINED", 0) + unattributed
    return {severity: found[severity] for severity in SEVERITIES if severity in found}


def image_key(resource_id: str) -> ImageKey:
    """``arn:aws:ecr:<region>:<account>:repository/<name>/sha256:<hex>`` -> (name, digest)."""
    _, separator, path = resource_id.partition(":repository/")
    name, _, digest = path.rpartition("/")
    if not separator or not name or not digest.startswith("sha256:"):
        raise ValueError(f"not an ECR image resource id: {resource_id!r}")
    return name, digest


def inspector_finding(raw: Mapping[str, Any], region: str) -> Finding | None:
    """A ListFindings entry as a Finding; None when it names no ECR image."""
    image = next(
        (
            resource["details"]["awsEcrContainerImage"]
            for resource in raw["resources"]
            if resource["type"] == ECR_IMAGE and "awsEcrContainerImage" in resource.get("details", {})
        ),
        None,
    )
    if image is None:
        return None
    details = raw.get("packageVulnerabilityDetails", {})
    packages = details.get("vulnerablePackages", [])
    score = raw.get("inspectorScore")
    references = details.get("referenceUrls", [])
    return Finding(
        account_id=raw["awsAccountId"],
        region=region,
        repository_name=image["repositoryName"],
        image_digest=image["imageHash"],
        image_tags=tuple(image.get("imageTags", ())),
        finding_id=raw["findingArn"],
        name=details.get("vulnerabilityId") or raw.get("title", ""),
        severity="UNDEFINED" if raw["severity"] == "UNTRIAGED" else raw["severity"],
        cvss_score=_cvss_score(details.get("cvss", [])) if score is None else Decimal(str(score)),
        package_name=_joined(package["name"] for package in packages),
        installed_version=_joined(_installed_version(package) for package in packages),
        fixed_version=_joined(_fixed_version(package) for package in packages),
        status=raw["status"],
        first_observed_at=raw["firstObservedAt"],
        last_observed_at=raw["lastObservedAt"],
        reference_url=details.get("sourceUrl") or (references[0] if references else ""),
    )


def _cvss_score(scores: Iterable[Mapping[str, Any]]) -> Decimal | None:
    """The base score of the newest CVSS version given (the first source of it, as Inspector lists)."""
    best = max(scores, key=lambda score: _version_key(score["version"]), default=None)
    return None if best is None else Decimal(str(best["baseScore"]))


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def _installed_version(package: Mapping[str, Any]) -> str:
    """epoch:version-release as the package manager writes it; epoch 0 and no release are left out."""
    epoch = package.get("epoch")
    release = package.get("release")
    return f"{f'{epoch}:' if epoch else ''}{package['version']}{f'-{release}' if release else ''}"


def _fixed_version(package: Mapping[str, Any]) -> str:
    fixed = str(package.get("fixedInVersion", ""))
    return "" if fixed == NO_FIX else fixed


def _joined(values: Iterable[str]) -> str:
    """A finding may name several packages; their values go in one field, in the same order."""
    listed = list(values)
    return ", ".join(listed) if any(listed) else ""
