"""Amazon Inspector's view of ECR images, which moto lacks: ListCoverage and ListFindingAggregations.

moto 5.2's inspector2 has neither call (its server answers 404). Under enhanced scanning a reader
gets from them each image's scan status and, in ``resourceMetadata.ecrImage``, whether it runs:
``inUseCount`` (ECS tasks and EKS pods running it) and ``lastInUseAt``; and the severity counts of
every image with findings. Inspector's scanner and its view of EKS are not emulated, so what it would
have found is seeded with :func:`fill_coverage`, per registry (account and region), and both calls
answer from it:

* ListCoverage pages the covered images (``maxResults`` at most 200, ``nextToken``) and honours the
  string criteria ``resourceType``, ``accountId``, ``resourceId``, ``ecrRepositoryName``,
  ``scanStatusCode`` and ``scanStatusReason``; any other criterion is refused, never ignored.
* ListFindingAggregations of type AWS_ECR_CONTAINER pages the images with findings (``maxResults`` at
  most 100), most critical first as Inspector sorts by default, and honours ``accountIds``; an
  ``aggregationRequest`` is refused.

:func:`install` adds the two routes and handlers to moto; the seeded coverage lives on moto's
inspector2 backend, so resetting moto empties it. Like the ECR gaps, it must run in the process
serving the emulator.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from moto.backends import get_backend
from moto.core.exceptions import JsonRESTError
from moto.inspector2 import urls as inspector2_urls
from moto.inspector2.models import Inspector2Backend
from moto.inspector2.responses import Inspector2Response

from emulator import paging, service_model

ECR_IMAGE = "AWS_ECR_CONTAINER_IMAGE"
ECR_AGGREGATION = "AWS_ECR_CONTAINER"
COVERAGE_PAGE_SIZE = paging.PageSize(200, 200)
AGGREGATION_PAGE_SIZE = paging.PageSize(100, 100)
_ROUTES = {
    "{0}/coverage/list$": Inspector2Response.dispatch,
    "{0}/findings/aggregation/list$": Inspector2Response.dispatch,
}
_SEVERITY_MEMBERS = ("critical", "high", "medium", "low", "informational", "untriaged")
"""SeverityCounts besides ``all``: every one is answered, zeros included."""
_COVERAGE_ATTRIBUTE = "_filled_ecr_coverage"
_INSTALLED_MARKER = "_ecr_report_gaps_installed"
_install_lock = threading.Lock()


class ValidationException(JsonRESTError):
    def __init__(self, message: str) -> None:
        super().__init__("ValidationException", message)


@dataclass(frozen=True, slots=True)
class CoveredImage:
    """One ECR image as Inspector covers it; ``severity_counts`` (by Inspector severity) are its
    active findings, which make its ListFindingAggregations entry when there are any."""

    repository_name: str
    digest: str
    tags: tuple[str, ...] = ()
    status_code: str = "ACTIVE"
    reason: str = "SUCCESSFUL"
    last_scanned_at: datetime | None = None
    image_pulled_at: datetime | None = None
    in_use_count: int = 0
    """ECS tasks and EKS pods running the image now."""
    last_in_use_at: datetime | None = None
    severity_counts: Mapping[str, int] = field(default_factory=dict)
    architecture: str = "amd64"

    def __post_init__(self) -> None:
        _check(self.status_code, "ScanStatusCode")
        _check(self.reason, "ScanStatusReason")
        for severity, count in self.severity_counts.items():
            _check(severity, "Severity")
            if count < 0:
                raise ValueError(f"severity count of {severity} must be >= 0, got {count!r}")
        if self.in_use_count < 0:
            raise ValueError(f"in_use_count must be >= 0, got {self.in_use_count!r}")


def install() -> None:
    """Add the two calls to moto; safe to call any number of times from any thread, before the
    emulator's dispatcher is made (its routes are read then)."""
    with _install_lock:
        if getattr(Inspector2Response, _INSTALLED_MARKER, False):
            return
        inspector2_urls.url_paths.update(_ROUTES)
        Inspector2Response.list_coverage = _list_coverage  # type: ignore[attr-defined]
        Inspector2Response.list_finding_aggregations = _list_finding_aggregations  # type: ignore[attr-defined]
        setattr(Inspector2Response, _INSTALLED_MARKER, True)


def fill_coverage(account_id: str, region: str, images: Iterable[CoveredImage]) -> None:
    """Seed Inspector's coverage of a registry; an image seeded again replaces its entry."""
    install()
    coverage = _coverage(get_backend("inspector2")[account_id][region])
    coverage.update({(image.repository_name, image.digest): image for image in images})


def _check(value: str, shape_name: str) -> None:
    service_model.check("inspector2", value, shape_name)


def _coverage(backend: Inspector2Backend) -> dict[tuple[str, str], CoveredImage]:
    coverage: dict[tuple[str, str], CoveredImage] = backend.__dict__.setdefault(_COVERAGE_ATTRIBUTE, {})
    return coverage


def _resource_id(response: Inspector2Response, image: CoveredImage) -> str:
    return (
        f"arn:aws:ecr:{response.region}:{response.current_account}:repository/"
        f"{image.repository_name}/{image.digest}"
    )


def _timestamps(**values: datetime | None) -> dict[str, float]:
    """The given times as rest-json sends them (epoch seconds), leaving out those not known."""
    return {name: value.timestamp() for name, value in values.items() if value is not None}


_CRITERIA: Mapping[str, Callable[[Inspector2Response, CoveredImage], str]] = {
    "resourceType": lambda response, image: ECR_IMAGE,
    "accountId": lambda response, image: response.current_account,
    "resourceId": _resource_id,
    "ecrRepositoryName": lambda response, image: image.repository_name,
    "scanStatusCode": lambda response, image: image.status_code,
    "scanStatusReason": lambda response, image: image.reason,
}


def _matches(value: str, filters: Sequence[Mapping[str, str]]) -> bool:
    """Inspector's StringFilter list: every filter must hold."""
    tests: Mapping[str, Callable[[str, str], bool]] = {
        "EQUALS": str.__eq__,
        "NOT_EQUALS": str.__ne__,
        "PREFIX": str.startswith,
    }
    return all(tests[each["comparison"]](value, each["value"]) for each in filters)


def _list_coverage(response: Inspector2Response) -> str:
    criteria: Mapping[str, Sequence[Mapping[str, str]]] = response._get_param("filterCriteria") or {}
    unknown = sorted(set(criteria) - set(_CRITERIA))
    if unknown:
        raise ValidationException(f"the emulator's ListCoverage has no filter criteria {unknown}")
    covered = [
        image
        for image in _coverage(response.inspector2_backend).values()
        if all(_matches(_CRITERIA[name](response, image), filters) for name, filters in criteria.items())
    ]
    chosen, token = paging.page_of(response, covered, COVERAGE_PAGE_SIZE, ValidationException)
    resources = [_covered_resource(response, image) for image in chosen]
    return json.dumps({"coveredResources": resources, **token})


def _covered_resource(response: Inspector2Response, image: CoveredImage) -> dict[str, Any]:
    ecr_image = {
        "tags": list(image.tags),
        "inUseCount": image.in_use_count,
        **_timestamps(imagePulledAt=image.image_pulled_at, lastInUseAt=image.last_in_use_at),
    }
    return {
        "resourceType": ECR_IMAGE,
        "resourceId": _resource_id(response, image),
        "accountId": response.current_account,
        "scanType": "PACKAGE",
        "scanStatus": {"statusCode": image.status_code, "reason": image.reason},
        "resourceMetadata": {
            "ecrRepository": {"name": image.repository_name, "scanFrequency": "CONTINUOUS_SCAN"},
            "ecrImage": ecr_image,
        },
        **_timestamps(lastScannedAt=image.last_scanned_at),
    }


def _list_finding_aggregations(response: Inspector2Response) -> str:
    aggregation_type = response._get_param("aggregationType")
    if aggregation_type != ECR_AGGREGATION:
        raise ValidationException(f"the emulator aggregates {ECR_AGGREGATION} only, not {aggregation_type}")
    if response._get_param("aggregationRequest"):
        raise ValidationException("the emulator's ListFindingAggregations takes no aggregationRequest")
    accounts: Sequence[Mapping[str, str]] = response._get_param("accountIds") or []
    found = [
        image
        for image in _coverage(response.inspector2_backend).values()
        if sum(image.severity_counts.values()) and _matches(response.current_account, accounts)
    ]
    found.sort(key=lambda image: _most_critical_first(response, image))
    chosen, token = paging.page_of(response, found, AGGREGATION_PAGE_SIZE, ValidationException)
    responses = [{"awsEcrContainerAggregation": _aggregation(response, image)} for image in chosen]
    return json.dumps({"aggregationType": ECR_AGGREGATION, "responses": responses, **token})


def _most_critical_first(response: Inspector2Response, image: CoveredImage) -> tuple[int, int, str]:
    counts = image.severity_counts
    return -counts.get("CRITICAL", 0), -counts.get("HIGH", 0), _resource_id(response, image)


def _aggregation(response: Inspector2Response, image: CoveredImage) -> dict[str, Any]:
    counts = {member: image.severity_counts.get(member.upper(), 0) for member in _SEVERITY_MEMBERS}
    return {
        "resourceId": _resource_id(response, image),
        "imageSha": image.digest,
        "repository": image.repository_name,
        "architecture": image.architecture,
        "imageTags": list(image.tags),
        "accountId": response.current_account,
        "severityCounts": {"all": sum(counts.values()), **counts},
        "inUseCount": image.in_use_count,
        **_timestamps(lastInUseAt=image.last_in_use_at),
    }
