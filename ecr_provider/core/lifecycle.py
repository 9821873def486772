"""Which images a repository's lifecycle policy would expire or archive, evaluated locally.

Follows the Amazon ECR User Guide: "Lifecycle policy evaluation rules" (LifecyclePolicies.html),
"Lifecycle policy properties" (lifecycle_policy_parameters.html) and the worked outcomes in
"Examples of lifecycle policies" (lifecycle_policy_examples.html). Every rule first identifies the
images its tag selection matches in its storage class, then marks some of them by its count type
over *all* it identified; rules are then applied lowest ``rulePriority`` first, and a rule may not
act on an image that a higher-priority rule identified, even one that rule left alone.

Each image record is evaluated on its own. ECR also refuses to expire or archive an image that a
manifest list (image index) still references, and removes referrer artifacts (signatures, SBOMs)
within 24 hours of their subject; neither relation is visible in DescribeImages, so an untagged
child of a live index may be reported here although ECR would keep it, and a referrer is reported
only if a rule selects it itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache
from itertools import pairwise
from typing import TypeVar

from ecr_provider.core.records import Image
from ecr_provider.core.units import utc

MAX_WILDCARDS = 4
MIN_ARCHIVE_DAYS = 90

# Suggested for repositories without a policy: the guide's "Filtering on image age" example as first
# published (untagged, 14 days). Untagged images are superseded builds nobody pulls by tag, two weeks
# leaves time to re-tag one still wanted, and tagged images are never touched.
RECOMMENDED_POLICY_TEXT = """\
{
  "rules": [
    {
      "rulePriority": 1,
      "description": "Expire untagged images pushed more than 14 days ago",
      "selection": {
        "tagStatus": "untagged",
        "countType": "sinceImagePushed",
        "countUnit": "days",
        "countNumber": 14
      },
      "action": {
        "type": "expire"
      }
    }
  ]
}
"""


class TagStatus(StrEnum):
    TAGGED = "tagged"
    UNTAGGED = "untagged"
    ANY = "any"


class StorageClass(StrEnum):
    STANDARD = "standard"
    ARCHIVE = "archive"


class CountType(StrEnum):
    IMAGE_COUNT_MORE_THAN = "imageCountMoreThan"
    SINCE_IMAGE_PUSHED = "sinceImagePushed"
    SINCE_IMAGE_PULLED = "sinceImagePulled"
    SINCE_IMAGE_TRANSITIONED = "sinceImageTransitioned"


class ActionType(StrEnum):
    EXPIRE = "expire"
    TRANSITION = "transition"


# DescribeImages imageStatus of the images each storage class holds; ACTIVATING (being restored)
# images are in neither, so no rule considers them.
_STATUS_OF_CLASS = {StorageClass.STANDARD: "ACTIVE", StorageClass.ARCHIVE: "ARCHIVED"}


@dataclass(frozen=True, slots=True)
class LifecycleRule:
    priority: int
    description: str
    tag_status: TagStatus
    tag_prefixes: tuple[str, ...]
    tag_patterns: tuple[str, ...]
    storage_class: StorageClass
    count_type: CountType
    count_number: int
    action: ActionType


@dataclass(frozen=True, slots=True)
class LifecyclePolicy:
    """Rules ordered by ``rulePriority``, lowest (applied first) first."""

    rules: tuple[LifecycleRule, ...]


@dataclass(frozen=True, slots=True)
class LifecycleOutcome:
    """What one evaluation would do; no image is in both tuples, and each keeps the input order.

    ``expired`` can hold ACTIVE images and already ARCHIVED ones (``Image.is_archived``), which are
    priced differently; ``archived`` holds ACTIVE images the policy would move to the archive class.
    """

    expired: tuple[Image, ...]
    archived: tuple[Image, ...]

    @property
    def expired_bytes(self) -> int:
        return sum(image.size_bytes for image in self.expired)


def parse_policy(text: str) -> LifecyclePolicy:
    """Parse lifecycle policy JSON, rejecting what the properties page says ECR rejects."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"lifecycle policy is not valid JSON: {exc}") from exc
    raw_rules = document.get("rules") if isinstance(document, dict) else None
    if not isinstance(raw_rules, list) or not raw_rules:
        raise ValueError(f"lifecycle policy needs a non-empty 'rules' list, got {raw_rules!r}")
    rules = tuple(sorted((_parse_rule(raw) for raw in raw_rules), key=lambda rule: rule.priority))
    _check_rule_set(rules)
    return LifecyclePolicy(rules)


def evaluate(policy: LifecyclePolicy, images: Sequence[Image], as_of: datetime) -> LifecycleOutcome:
    """Apply ``policy`` to one repository's ``images`` as ECR would at ``as_of``.

    Marking counts every image a rule identifies, including ones a higher-priority rule
    identified ("can still identify them as if they haven't been expired or archived"); acting
    skips those ("an image that matches the tagging requirements of a rule cannot be expired or
    archived by a rule with a lower priority"), so each image gets at most one action.
    """
    now = utc(as_of)
    claimed: set[str] = set()
    actions: dict[str, ActionType] = {}
    for rule in policy.rules:
        identified = [image for image in images if _identifies(rule, image)]
        for image in _marked(rule, identified, now):
            if image.digest not in claimed:
                actions[image.digest] = rule.action
        claimed.update(image.digest for image in identified)
    return LifecycleOutcome(
        expired=tuple(image for image in images if actions.get(image.digest) is ActionType.EXPIRE),
        archived=tuple(image for image in images if actions.get(image.digest) is ActionType.TRANSITION),
    )


def _identifies(rule: LifecycleRule, image: Image) -> bool:
    """The rule's storage class and tag selection; prefix and pattern lists match only if *every*
    entry matches at least one of the image's tags (evaluation rules; "multiple tags" examples)."""
    if image.status != _STATUS_OF_CLASS[rule.storage_class]:
        return False
    if rule.tag_status is TagStatus.ANY:
        return True
    if rule.tag_status is TagStatus.UNTAGGED:
        return not image.tags
    if rule.tag_prefixes:
        return all(any(tag.startswith(prefix) for tag in image.tags) for prefix in rule.tag_prefixes)
    return all(any(_wildcard(pattern).fullmatch(tag) for tag in image.tags) for pattern in rule.tag_patterns)


@cache
def _wildcard(pattern: str) -> re.Pattern[str]:
    """``*`` matches any run of characters, everything else itself: ``prod*`` matches ``production``."""
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")))


def _marked(rule: LifecycleRule, identified: Sequence[Image], now: datetime) -> list[Image]:
    """The images the count type selects; an image lacking the time it measures is never selected."""
    timed = [
        (when, image) for image in identified if (when := _measured_time(rule.count_type, image)) is not None
    ]
    if rule.count_type is CountType.IMAGE_COUNT_MORE_THAN:
        # "sorted from youngest to oldest based on pushed_at_time", then all past the count; equal
        # times are ordered by digest so the outcome does not depend on the input order.
        timed.sort(key=lambda pair: (pair[0], pair[1].digest), reverse=True)
        return [image for _, image in timed[rule.count_number :]]
    cutoff = now - timedelta(days=rule.count_number)
    return [image for when, image in timed if when < cutoff]


def _measured_time(count_type: CountType, image: Image) -> datetime | None:
    if count_type is CountType.SINCE_IMAGE_TRANSITIONED:
        return _utc_or_none(image.last_archived_at)
    pushed = _pushed_time(image)
    if count_type is not CountType.SINCE_IMAGE_PULLED or image.last_pull is None:
        # sinceImagePulled: "If an image was never pulled, the image's pushed_at_time is used".
        return pushed
    pulled = utc(image.last_pull)
    if image.last_activated_at is not None and pulled < utc(image.last_activated_at):
        # "archived and then restored ... but never pulled since ... last_activated_at is used".
        return utc(image.last_activated_at)
    return pulled


def _pushed_time(image: Image) -> datetime | None:
    """A restored image counts from its restore: "If an image was archived and then restored ...,
    the image's last_activated_at is used instead of pushed_at_time" (evaluation rules)."""
    return _utc_or_none(image.last_activated_at or image.pushed_at)


def _utc_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else utc(value)


_E = TypeVar("_E", bound=StrEnum)


def _member(kind: type[_E], value: object, name: str) -> _E:
    if isinstance(value, str):
        for member in kind:
            if member.value == value:
                return member
    choices = " | ".join(member.value for member in kind)
    raise ValueError(f"{name} must be one of {choices}, got {value!r}")


def _object(value: object, name: str) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be a JSON object, got {value!r}")
    return value


def _integer(value: object, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    return value


def _tag_list(selection: Mapping[str, object], key: str, where: str) -> tuple[str, ...]:
    value = selection.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"{where}: {key} must be a non-empty list of non-empty strings, got {value!r}")
    return tuple(value)


def _parse_rule(raw: object) -> LifecycleRule:
    rule = _object(raw, "lifecycle rule")
    priority = _integer(rule.get("rulePriority"), "rulePriority")
    where = f"rule {priority}"
    description = rule.get("description", "")
    if not isinstance(description, str):
        raise ValueError(f"{where}: description must be a string, got {description!r}")
    selection = _object(rule.get("selection"), f"{where}: selection")
    action = _object(rule.get("action"), f"{where}: action")

    tag_status = _member(TagStatus, selection.get("tagStatus"), f"{where}: tagStatus")
    prefixes = _tag_list(selection, "tagPrefixList", where)
    patterns = _tag_list(selection, "tagPatternList", where)
    if tag_status is not TagStatus.TAGGED and (prefixes or patterns):
        raise ValueError(f"{where}: tagPrefixList and tagPatternList need tagStatus tagged, not {tag_status}")
    if tag_status is TagStatus.TAGGED and not (prefixes or patterns):
        raise ValueError(f"{where}: tagStatus tagged needs a tagPrefixList or a tagPatternList")
    if prefixes and patterns:
        raise ValueError(f"{where}: give tagPrefixList {list(prefixes)} or tagPatternList, not both")
    for pattern in patterns:
        if pattern.count("*") > MAX_WILDCARDS:
            raise ValueError(f"{where}: tag pattern {pattern!r} has more than {MAX_WILDCARDS} '*' wildcards")

    count_type = _member(CountType, selection.get("countType"), f"{where}: countType")
    count_number = _integer(selection.get("countNumber"), f"{where}: countNumber")
    if count_number < 1:
        # Properties page: "Acceptable values are positive integers (0 is not an accepted value)".
        raise ValueError(f"{where}: countNumber must be a positive integer, got {count_number}")
    count_unit = selection.get("countUnit")
    if count_type is CountType.IMAGE_COUNT_MORE_THAN and count_unit is not None:
        raise ValueError(f"{where}: countUnit {count_unit!r} is not allowed with countType {count_type}")
    if count_type is not CountType.IMAGE_COUNT_MORE_THAN and count_unit != "days":
        raise ValueError(f"{where}: countType {count_type} needs countUnit 'days', got {count_unit!r}")

    storage_class = _member(StorageClass, selection.get("storageClass", "standard"), f"{where}: storageClass")
    action_type = _member(ActionType, action.get("type"), f"{where}: action type")
    target = action.get("targetStorageClass")
    if action_type is ActionType.TRANSITION and target != StorageClass.ARCHIVE:
        raise ValueError(f"{where}: action transition needs targetStorageClass 'archive', got {target!r}")
    _check_count_type(where, count_type, count_number, storage_class, action_type)
    return LifecycleRule(
        priority=priority,
        description=description,
        tag_status=tag_status,
        tag_prefixes=prefixes,
        tag_patterns=patterns,
        storage_class=storage_class,
        count_type=count_type,
        count_number=count_number,
        action=action_type,
    )


def _check_count_type(
    where: str, count_type: CountType, count_number: int, storage_class: StorageClass, action: ActionType
) -> None:
    """Storage class: only sinceImageTransitioned selects (and must select) archive. Examples page:
    sinceImagePulled only transitions, sinceImageTransitioned only expires, after >= 90 days."""
    archive_count = count_type is CountType.SINCE_IMAGE_TRANSITIONED
    if archive_count != (storage_class is StorageClass.ARCHIVE):
        raise ValueError(f"{where}: storageClass {storage_class} cannot be used with countType {count_type}")
    if count_type is CountType.SINCE_IMAGE_PULLED and action is not ActionType.TRANSITION:
        raise ValueError(f"{where}: countType {count_type} needs action transition, not {action}")
    if archive_count and action is not ActionType.EXPIRE:
        raise ValueError(f"{where}: countType {count_type} needs action expire, not {action}")
    if archive_count and count_number < MIN_ARCHIVE_DAYS:
        raise ValueError(
            f"{where}: countNumber {count_number} is under the {MIN_ARCHIVE_DAYS}-day archive minimum"
        )


def _check_rule_set(rules: Sequence[LifecycleRule]) -> None:
    """Constraints across rules. The evaluation rules scope the untagged and unique-prefix limits to
    "rules selecting a specific storage class", and the guide's own combined archive example puts an
    ``any`` rule before an archive-class ``any`` rule, so "any must be last" is per class too."""
    for earlier, later in pairwise(rules):
        if earlier.priority == later.priority:
            raise ValueError(f"duplicate rulePriority {later.priority}")
    for storage_class in StorageClass:
        group = [rule for rule in rules if rule.storage_class is storage_class]
        for rule in group[:-1]:
            if rule.tag_status is TagStatus.ANY:
                raise ValueError(
                    f"rule {rule.priority}: tagStatus any must have the highest rulePriority of the"
                    f" {storage_class} rules, but rule {group[-1].priority} comes after it"
                )
        untagged = [rule.priority for rule in group if rule.tag_status is TagStatus.UNTAGGED]
        if len(untagged) > 1:
            raise ValueError(f"rules {untagged}: only one {storage_class} rule may select untagged images")
        seen: dict[tuple[frozenset[str], frozenset[str]], int] = {}
        for rule in group:
            if rule.tag_status is TagStatus.TAGGED:
                filters = (frozenset(rule.tag_prefixes), frozenset(rule.tag_patterns))
                if filters in seen:
                    tags = list(rule.tag_prefixes or rule.tag_patterns)
                    raise ValueError(f"rule {rule.priority}: tag list {tags} repeats rule {seen[filters]}'s")
                seen[filters] = rule.priority
