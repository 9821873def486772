"""Fills in what moto's ECR backend leaves out, so the emulator answers like ECR does.

moto serialises any attribute of its model objects named after the snake_case form of a botocore
output member, so setting ``last_recorded_pull_time`` on a moto ``Image`` makes DescribeImages return
``lastRecordedPullTime``. Two behaviours need a patch instead, applied once by :func:`install`:

* ``imageSizeInBytes`` is a moto property computed from the config blob; an explicitly filled
  compressed size must win.
* DescribeImages ignores ``filter.imageStatus``; ECR returns only ACTIVE images unless asked for
  ``ANY``, and a reader that forgets the filter must miss archived images here too.
* DescribeRepositories and DescribeImages ignore ``maxResults`` and return everything at once;
  ECR pages (default 100, at most 1000 a page), and call counts are only honest when we do too.
* DescribeImageScanFindings answers one fixed made-up finding for any image scanned through the
  API; an image filled with ``findings`` gets those (consistent with its severity counts), paged.
* moto has no GetAccountSetting and PutAccountSetting; the ``BLOB_MOUNTING`` setting is added, per
  registry, ``DISABLED`` until put.

The ECS and Lambda gaps resolve the ECR image URIs that task definitions and functions name to moto's
digests here (:func:`parse_image_uri`, :func:`resolve_digest`), as a pull would.

Everything works on moto's in-memory backend, so it must run in the process serving the emulator.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict, Unpack, cast

from moto.backends import get_backend
from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult
from moto.ecr import models as ecr_models
from moto.ecr.responses import ECRResponse

from emulator import paging, service_model

if TYPE_CHECKING:
    from datetime import datetime

DEFAULT_PAGE_SIZE = 100
PAGE_SIZE = paging.PageSize(DEFAULT_PAGE_SIZE, 1000)
_SIZE_ATTRIBUTE = "_filled_size_bytes"
_FINDINGS_ATTRIBUTE = "_filled_scan_findings"
_INSTALLED_MARKER = "_ecr_report_gaps_installed"
_install_lock = threading.RLock()


def install() -> None:
    """Apply the moto patches; safe to call any number of times from any thread."""
    with _install_lock:
        if getattr(ecr_models.Image, _INSTALLED_MARKER, False):
            return
        image_size = _size_preferring_filled(ecr_models.Image.get_image_size_in_bytes)
        ecr_models.Image.get_image_size_in_bytes = image_size  # type: ignore[method-assign, assignment]
        describe = _paged(_describe_images_by_status(ECRResponse.describe_images), "imageDetails")
        ECRResponse.describe_images = describe  # type: ignore[method-assign, assignment]
        repositories = _paged(ECRResponse.describe_repositories, "repositories")
        ECRResponse.describe_repositories = repositories  # type: ignore[method-assign, assignment]
        findings = _filled_scan_findings(ECRResponse.describe_image_scan_findings)
        ECRResponse.describe_image_scan_findings = findings  # type: ignore[method-assign, assignment]
        install_pull_time_exclusions()
        install_account_settings()
        setattr(ecr_models.Image, _INSTALLED_MARKER, True)


def _paged(
    describe: Callable[[ECRResponse], ActionResult], member: str
) -> Callable[[ECRResponse], ActionResult]:
    """ECR's paging: ``maxResults`` (default 100) per page and an opaque ``nextToken`` to continue."""
    return paging.paged_action(describe, member, PAGE_SIZE)


def _filled_scan_findings(
    describe: Callable[[ECRResponse], ActionResult],
) -> Callable[[ECRResponse], ActionResult]:
    """An image with filled findings answers them; any other image is left to moto."""

    def describe_image_scan_findings(response: ECRResponse) -> ActionResult:
        repository = response.ecr_backend._get_repository(
            response._get_param("repositoryName"), response._get_param("registryId")
        )
        image_id = response._get_param("imageId") or {}
        image = repository._get_image(image_id.get("imageTag"), image_id.get("imageDigest"))
        findings: Sequence[Mapping[str, Any]] | None = image.__dict__.get(_FINDINGS_ATTRIBUTE)
        if findings is None:
            return describe(response)
        page, following = paging.page_of(response, findings, PAGE_SIZE)
        summary = image.__dict__["image_scan_findings_summary"]
        return ActionResult(
            {
                "registryId": repository.registry_id,
                "repositoryName": repository.name,
                "imageId": {"imageDigest": image.image_digest, **image_id},
                "imageScanStatus": image.__dict__.get("image_scan_status", {"status": "COMPLETE"}),
                "imageScanFindings": {
                    **summary,
                    "vulnerabilitySourceUpdatedAt": summary["imageScanCompletedAt"],
                    "findings": list(page),
                },
                **following,
            }
        )

    return describe_image_scan_findings


def _size_preferring_filled(
    computed: Callable[[ecr_models.Image], int | None],
) -> Callable[[ecr_models.Image], int | None]:
    def get_image_size_in_bytes(image: ecr_models.Image) -> int | None:
        filled: int | None = image.__dict__.get(_SIZE_ATTRIBUTE)
        return filled if filled is not None else computed(image)

    return get_image_size_in_bytes


def _describe_images_by_status(
    describe: Callable[[ECRResponse], ActionResult],
) -> Callable[[ECRResponse], ActionResult]:
    def describe_images(response: ECRResponse) -> ActionResult:
        result = describe(response)
        wanted = (response._get_param("filter") or {}).get("imageStatus", "ACTIVE")
        if wanted == "ANY":
            return result
        details = cast("dict[str, list[ecr_models.Image]]", result.result)["imageDetails"]
        return ActionResult({"imageDetails": [image for image in details if _status(image) == wanted]})

    return describe_images


def _status(image: ecr_models.Image) -> str:
    return str(getattr(image, "image_status", "ACTIVE"))


def _check(value: str, shape_name: str) -> str:
    return service_model.check("ecr", value, shape_name)


def _backend(account_id: str, region: str) -> ecr_models.ECRBackend:
    return get_backend("ecr")[account_id][region]


def fill_repository(account_id: str, region: str, repository_name: str, *, created_at: datetime) -> None:
    """moto stamps ``createdAt`` with the wall clock; a demo needs repositories of different ages."""
    _backend(account_id, region)._get_repository(repository_name).created_at = created_at


class ImageFields(TypedDict, total=False):
    """The ImageDetail fields moto never produces; a field left out or None keeps its value."""

    size_bytes: int | None
    pushed_at: datetime | None
    last_recorded_pull_time: datetime | None
    image_status: str | None
    last_archived_at: datetime | None
    last_activated_at: datetime | None
    scan_status: str | None
    scan_description: str | None
    scan_completed_at: datetime | None
    severity_counts: Mapping[str, int] | None
    findings: Sequence[Mapping[str, Any]] | None
    """DescribeImageScanFindings ``findings`` entries, kept as given (not copied: shared entries cost
    nothing per image); their severities must add up to the counts."""
    artifact_media_type: str | None
    subject_manifest_digest: str | None


def fill_image(
    account_id: str, region: str, repository_name: str, image_digest: str, **fields: Unpack[ImageFields]
) -> None:
    """Fill one image found by digest; see :func:`fill_image_model`."""
    install()
    image = _backend(account_id, region)._get_repository(repository_name)._get_image(None, image_digest)
    fill_image_model(image, **fields)


def fill_image_model(image: ecr_models.Image, **filled: Unpack[ImageFields]) -> None:
    """Set the ImageDetail fields moto never produces on a moto image object in hand.

    ``severity_counts`` and ``scan_completed_at`` together make the findings summary (an empty
    mapping is a scan that found nothing), so they must be given together.
    """
    severity_counts = filled.get("severity_counts")
    scan_completed_at = filled.get("scan_completed_at")
    size_bytes = filled.get("size_bytes")
    image_status = filled.get("image_status")
    scan_status = filled.get("scan_status")
    scan_description = filled.get("scan_description")
    findings = filled.get("findings")
    if (severity_counts is None) != (scan_completed_at is None):
        raise ValueError("severity_counts and scan_completed_at must be given together")
    if findings is not None:
        counted = Counter(_check(finding["severity"], "FindingSeverity") for finding in findings)
        if severity_counts is None or counted != Counter(severity_counts):
            raise ValueError(
                f"findings have severities {dict(counted)}, the severity counts say {severity_counts}"
            )
    if size_bytes is not None and size_bytes < 0:
        raise ValueError(f"size_bytes must be >= 0, got {size_bytes!r}")
    fields: dict[str, Any] = {
        _SIZE_ATTRIBUTE: size_bytes,
        "image_pushed_at": filled.get("pushed_at"),
        "last_recorded_pull_time": filled.get("last_recorded_pull_time"),
        "image_status": image_status and _check(image_status, "ImageStatus"),
        "last_archived_at": filled.get("last_archived_at"),
        "last_activated_at": filled.get("last_activated_at"),
        "artifact_media_type": filled.get("artifact_media_type"),
        "subject_manifest_digest": filled.get("subject_manifest_digest"),
        _FINDINGS_ATTRIBUTE: None if findings is None else tuple(findings),
    }
    if scan_status is not None:
        status = {"status": _check(scan_status, "ScanStatus")}
        fields["image_scan_status"] = status | ({"description": scan_description} if scan_description else {})
    if severity_counts is not None:
        for severity in severity_counts:
            _check(severity, "FindingSeverity")
        fields["image_scan_findings_summary"] = {
            "imageScanCompletedAt": scan_completed_at,
            "findingSeverityCounts": dict(severity_counts),
        }
    for name, value in fields.items():
        if value is not None:
            setattr(image, name, value)


_EXCLUSIONS_ATTRIBUTE = "_pull_time_update_exclusions"
_EXCLUSIONS_MARKER = "_ecr_report_pull_time_exclusions_installed"
MAX_PULL_TIME_UPDATE_EXCLUSIONS = 100


class ExclusionAlreadyExistsException(ServiceException):
    """Defined outside moto's package, so moto serialises it with the ECR model (a 400, not a 500)."""

    code = "ExclusionAlreadyExistsException"


class ExclusionLimitExceededException(ServiceException):
    code = "LimitExceededException"


def install_pull_time_exclusions() -> None:
    """moto 5.2 has no pull-time update exclusions: this adds RegisterPullTimeUpdateExclusion and
    ListPullTimeUpdateExclusions (paged like ECR: ``maxResults``, default 100, and ``nextToken``),
    keeping one list per registry (account and region). Safe to call any number of times."""
    _add_actions(
        _EXCLUSIONS_MARKER,
        register_pull_time_update_exclusion=_register_pull_time_update_exclusion,
        list_pull_time_update_exclusions=_list_pull_time_update_exclusions,
    )


def _add_actions(marker: str, **actions: Callable[[ECRResponse], ActionResult]) -> None:
    """Give moto's ECR the actions it lacks (named as moto dispatches them: the operation in
    snake_case), once, whoever asks first."""
    with _install_lock:
        if getattr(ECRResponse, marker, False):
            return
        for name, action in actions.items():
            setattr(ECRResponse, name, action)
        setattr(ECRResponse, marker, True)


def _exclusions(response: ECRResponse) -> dict[str, datetime]:
    """Kept on moto's backend object, so resetting moto empties the list like everything else."""
    exclusions: dict[str, datetime] = response.ecr_backend.__dict__.setdefault(_EXCLUSIONS_ATTRIBUTE, {})
    return exclusions


def _register_pull_time_update_exclusion(response: ECRResponse) -> ActionResult:
    from datetime import UTC, datetime

    principal_arn = str(response._get_param("principalArn"))
    exclusions = _exclusions(response)
    if principal_arn in exclusions:
        raise ExclusionAlreadyExistsException(f"An exclusion for {principal_arn} already exists")
    if len(exclusions) >= MAX_PULL_TIME_UPDATE_EXCLUSIONS:
        raise ExclusionLimitExceededException(
            f"A registry has at most {MAX_PULL_TIME_UPDATE_EXCLUSIONS} pull time update exclusions",
        )
    exclusions[principal_arn] = created_at = datetime.now(UTC)
    return ActionResult({"principalArn": principal_arn, "createdAt": created_at})


def _all_pull_time_update_exclusions(response: ECRResponse) -> ActionResult:
    return ActionResult({"pullTimeUpdateExclusions": list(_exclusions(response))})


_list_pull_time_update_exclusions = _paged(_all_pull_time_update_exclusions, "pullTimeUpdateExclusions")


_ACCOUNT_SETTINGS_MARKER = "_ecr_report_account_settings_installed"
_ACCOUNT_SETTINGS_ATTRIBUTE = "_account_settings"
ACCOUNT_SETTING_VALUES = {"BLOB_MOUNTING": ("DISABLED", frozenset({"ENABLED", "DISABLED"}))}
"""The settings the emulator knows: default value and accepted values. ECR has others
(``BASIC_SCAN_TYPE_VERSION``, ``REGISTRY_POLICY_SCOPE``) that no code here reads."""


class AccountSettingValidationException(ServiceException):
    code = "ValidationException"


def install_account_settings() -> None:
    """Adds GetAccountSetting and PutAccountSetting for the settings of ``ACCOUNT_SETTING_VALUES``,
    kept per registry (account and region). Safe to call any number of times."""
    _add_actions(
        _ACCOUNT_SETTINGS_MARKER,
        get_account_setting=_get_account_setting,
        put_account_setting=_put_account_setting,
    )


def _account_setting(response: ECRResponse) -> tuple[str, dict[str, str]]:
    name = str(response._get_param("name"))
    if name not in ACCOUNT_SETTING_VALUES:
        raise AccountSettingValidationException(f"Account setting name {name!r} is not supported")
    settings: dict[str, str] = response.ecr_backend.__dict__.setdefault(_ACCOUNT_SETTINGS_ATTRIBUTE, {})
    return name, settings


def _get_account_setting(response: ECRResponse) -> ActionResult:
    name, settings = _account_setting(response)
    return ActionResult({"name": name, "value": settings.get(name, ACCOUNT_SETTING_VALUES[name][0])})


def _put_account_setting(response: ECRResponse) -> ActionResult:
    name, settings = _account_setting(response)
    value = str(response._get_param("value"))
    if value not in ACCOUNT_SETTING_VALUES[name][1]:
        raise AccountSettingValidationException(f"Value {value!r} is not valid for account setting {name}")
    settings[name] = value
    return ActionResult({"name": name, "value": value})


_IMAGE_URI = re.compile(
    r"(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/(?P<repository>[^:@]+)"
    r"(?::(?P<tag>[^@]+))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?"
)


@dataclass(frozen=True, slots=True)
class ImageReference:
    """An image as a task definition or a function names it: by digest (a tag beside it is ignored, as
    by a pull), else by tag (``latest`` when none)."""

    account_id: str
    region: str
    repository_name: str
    tag: str
    digest: str

    @property
    def repository_uri(self) -> str:
        return f"{self.account_id}.dkr.ecr.{self.region}.amazonaws.com/{self.repository_name}"


def parse_image_uri(uri: str) -> ImageReference | None:
    """The reference of an ECR image URI; None for an image of any other registry."""
    found = _IMAGE_URI.fullmatch(uri)
    if found is None:
        return None
    digest = found["digest"] or ""
    tag = "" if digest else found["tag"] or "latest"
    return ImageReference(found["account"], found["region"], found["repository"], tag, digest)


def resolve_digest(reference: ImageReference) -> str | None:
    """The digest the reference names now in moto's ECR (what a pull would get); None when there is no
    such repository or image."""
    backend = _backend(reference.account_id, reference.region)
    try:
        repository = backend._get_repository(reference.repository_name)
        image = repository._get_image(reference.tag or None, reference.digest or None)
    except ServiceException:
        return None
    return str(image.get_image_digest())
