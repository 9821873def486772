"""Lifecycle policy evaluation against the worked examples of the Amazon ECR User Guide.

Doc examples give push times as "N days ago"; ``pushed`` below is that N, relative to ``AS_OF``.
Image letters are the digests, so each assertion names exactly the images the guide names.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from ecr_provider.core.lifecycle import (
    RECOMMENDED_POLICY_TEXT,
    ActionType,
    CountType,
    LifecycleOutcome,
    LifecycleRule,
    StorageClass,
    TagStatus,
    evaluate,
    parse_policy,
)
from ecr_provider.core.records import Image

AS_OF = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)

Json = dict[str, object]


def days_ago(days: float) -> datetime:
    return AS_OF - timedelta(days=days)


def image(
    digest: str,
    tags: Sequence[str] = (),
    *,
    pushed: float,
    size: int = 100,
    status: str = "ACTIVE",
    pulled: float | None = None,
    archived: float | None = None,
    activated: float | None = None,
) -> Image:
    detail: Json = {
        "repositoryName": "app",
        "imageDigest": digest,
        "imageTags": list(tags),
        "imagePushedAt": days_ago(pushed),
        "imageSizeInBytes": size,
        "imageStatus": status,
    }
    for key, days in (
        ("lastRecordedPullTime", pulled),
        ("lastArchivedAt", archived),
        ("lastActivatedAt", activated),
    ):
        if days is not None:
            detail[key] = days_ago(days)
    return Image.from_api(detail)


def rule(priority: int, selection: Json, action: Json | None = None) -> Json:
    return {
        "rulePriority": priority,
        "description": f"Rule {priority}",
        "selection": selection,
        "action": action or {"type": "expire"},
    }


def count_more_than(number: int = 1, tag_status: str = "any", **tags: object) -> Json:
    return {"tagStatus": tag_status, **tags, "countType": "imageCountMoreThan", "countNumber": number}


def older_than(
    days: int, tag_status: str = "any", *, count_type: str = "sinceImagePushed", **extra: object
) -> Json:
    return {
        "tagStatus": tag_status,
        **extra,
        "countType": count_type,
        "countUnit": "days",
        "countNumber": days,
    }


TRANSITION: Json = {"type": "transition", "targetStorageClass": "archive"}
ARCHIVE_AGE = "sinceImageTransitioned"


def outcome(rules: Sequence[Json], images: Sequence[Image]) -> LifecycleOutcome:
    return evaluate(parse_policy(json.dumps({"rules": list(rules)})), images, AS_OF)


def expired(rules: Sequence[Json], images: Sequence[Image]) -> tuple[str, ...]:
    return tuple(i.digest for i in outcome(rules, images).expired)


def archived(rules: Sequence[Json], images: Sequence[Image]) -> tuple[str, ...]:
    return tuple(i.digest for i in outcome(rules, images).archived)


# The guide's examples use tagPatternList ["prod*"]; the first published version used tagPrefixList
# ["prod"] for the same outcomes. Both are checked.
PROD = [{"tagPatternList": ["prod*"]}, {"tagPrefixList": ["prod"]}]
BETA = [{"tagPatternList": ["beta*"]}, {"tagPrefixList": ["beta"]}]
ALPHA_AND_BETA = [{"tagPatternList": ["alpha*", "beta*"]}, {"tagPrefixList": ["alpha", "beta"]}]


# --- "Examples of lifecycle policies", one test per worked example ---------------------------------


def test_filtering_on_image_age() -> None:
    """prod* tagged images pushed more than 14 days ago expire; ``prod*`` is anchored at the start."""
    images = [
        image("A", ["prod-1"], pushed=20),
        image("B", ["production"], pushed=15),
        image("C", ["prod-2"], pushed=10),
        image("D", ["dev-1"], pushed=30),
        image("E", [], pushed=30),
        image("F", ["myprod"], pushed=30),
    ]
    policy = [rule(1, older_than(14, "tagged", tagPatternList=["prod*"]))]
    assert expired(policy, images) == ("A", "B")


def test_filtering_on_image_count() -> None:
    images = [
        image("U1", pushed=5),
        image("U2", pushed=3),
        image("U3", pushed=1),
        image("T", ["v1"], pushed=10),
    ]
    assert expired([rule(1, count_more_than(1, "untagged"))], images) == ("U1", "U2")


MULTIPLE_RULES_REPOSITORY = [
    image("A", ["beta-1", "prod-1"], pushed=10),
    image("B", ["beta-2", "prod-2"], pushed=9),
    image("C", ["beta-3"], pushed=8),
]


@pytest.mark.parametrize(("prod", "beta"), zip(PROD, BETA, strict=True))
def test_multiple_rules_example_a(prod: Json, beta: Json) -> None:
    """Rule 2 would mark A and B, but both match rule 1's tags, so only rule 1's A expires."""
    policy = [rule(1, count_more_than(1, "tagged", **prod)), rule(2, count_more_than(1, "tagged", **beta))]
    assert expired(policy, MULTIPLE_RULES_REPOSITORY) == ("A",)


@pytest.mark.parametrize(("prod", "beta"), zip(PROD, BETA, strict=True))
def test_multiple_rules_example_b(prod: Json, beta: Json) -> None:
    """Same images, priorities swapped: rule 1 (beta) sees all three and expires A and B."""
    policy = [rule(1, count_more_than(1, "tagged", **beta)), rule(2, count_more_than(1, "tagged", **prod))]
    assert expired(policy, MULTIPLE_RULES_REPOSITORY) == ("A", "B")


@pytest.mark.parametrize("alpha_and_beta", ALPHA_AND_BETA)
def test_multiple_tags_in_a_single_rule_example_a(alpha_and_beta: Json) -> None:
    """Every listed filter must match one of the image's tags: only C and F qualify, C is old enough."""
    images = [
        image("A", ["alpha-1"], pushed=12),
        image("B", ["beta-1"], pushed=11),
        image("C", ["alpha-2", "beta-2"], pushed=10),
        image("D", ["alpha-3"], pushed=4),
        image("E", ["beta-3"], pushed=3),
        image("F", ["alpha-4", "beta-4"], pushed=2),
    ]
    assert expired([rule(1, {**older_than(5, "tagged"), **alpha_and_beta})], images) == ("C",)


@pytest.mark.parametrize("alpha_and_beta", ALPHA_AND_BETA)
def test_multiple_tags_in_a_single_rule_example_b(alpha_and_beta: Json) -> None:
    """Tags are not exclusive: an extra gamma tag does not stop a match."""
    images = [
        image("A", ["alpha-1", "beta-1", "gamma-1"], pushed=10),
        image("B", ["alpha-2", "beta-2"], pushed=9),
        image("C", ["alpha-3", "beta-3", "gamma-2"], pushed=8),
    ]
    assert expired([rule(1, count_more_than(1, "tagged", **alpha_and_beta))], images) == ("A", "B")


def test_filtering_on_all_images_example_a() -> None:
    images = [
        image("A", ["alpha-1"], pushed=4),
        image("B", ["beta-1"], pushed=3),
        image("C", [], pushed=2),
        image("D", ["alpha-2"], pushed=1),
    ]
    assert expired([rule(1, count_more_than(1))], images) == ("A", "B", "C")


def test_filtering_on_all_images_example_b() -> None:
    """Rule 3 keeps only the newest of all five (E) and marks A-D, but may act on D alone: A, B, C
    and E were identified by rules 1 and 2. The guide has D and E both "1 day ago"; its outcome
    needs E the newer and not older than one day, hence 0.9."""
    images = [
        image("A", ["alpha-1", "beta-1"], pushed=4),
        image("B", [], pushed=3),
        image("C", ["alpha-2"], pushed=2),
        image("D", ["git hash"], pushed=1),
        image("E", [], pushed=0.9),
    ]
    policy = [
        rule(1, count_more_than(1, "tagged", tagPatternList=["alpha*"])),
        rule(2, older_than(1, "untagged")),
        rule(3, count_more_than(1)),
    ]
    assert expired(policy, images) == ("A", "B", "D")


def test_filtering_on_last_pulled_time() -> None:
    """Also "Archiving images not pulled in a specified number of days": never pulled counts from
    the push, and archived images are not standard-class so the rule ignores them."""
    images = [
        image("A", ["v1"], pushed=200, pulled=100),
        image("B", ["v2"], pushed=200, pulled=10),
        image("C", [], pushed=120),
        image("D", [], pushed=30),
        image("E", ["v0"], pushed=300, status="ARCHIVED", archived=150),
    ]
    policy = [rule(1, older_than(90, count_type="sinceImagePulled"), TRANSITION)]
    assert archived(policy, images) == ("A", "C")
    assert expired(policy, images) == ()


def test_filtering_on_archive_transition_time() -> None:
    """Counts from lastArchivedAt, not the push, and considers archived images only."""
    images = [
        image("A", ["v1"], pushed=500, status="ARCHIVED", archived=400),
        image("B", ["v2"], pushed=500, status="ARCHIVED", archived=100),
        image("C", ["v3"], pushed=1000),
        image("D", ["v4"], pushed=400, status="ARCHIVED", archived=366),
    ]
    policy = [rule(1, older_than(365, count_type="sinceImageTransitioned", storageClass="archive"))]
    assert expired(policy, images) == ("A", "D")
    assert archived(policy, images) == ()


def test_archiving_images_older_than_a_number_of_days() -> None:
    images = [
        image("A", ["prod-1"], pushed=31),
        image("B", ["prod-2"], pushed=29),
        image("C", ["dev-1"], pushed=90),
    ]
    policy = [rule(1, older_than(30, "tagged", tagPatternList=["prod*"]), TRANSITION)]
    assert archived(policy, images) == ("A",)


def test_combining_archive_and_expire_rules() -> None:
    """Both rules are tagStatus any, valid because each is last in its own storage class."""
    images = [
        image("A", ["v1"], pushed=40),
        image("B", [], pushed=10),
        image("C", ["v0"], pushed=800, status="ARCHIVED", archived=400),
        image("D", ["v00"], pushed=800, status="ARCHIVED", archived=200),
    ]
    policy = [
        rule(1, older_than(30), TRANSITION),
        rule(2, older_than(365, count_type="sinceImageTransitioned", storageClass="archive")),
    ]
    result = outcome(policy, images)
    assert [i.digest for i in result.archived] == ["A"]
    assert [i.digest for i in result.expired] == ["C"]


# --- priority and one action per image ------------------------------------------------------------


def test_higher_rule_protects_what_it_identifies_but_still_counts_for_lower_rules() -> None:
    """Rule 1 expires nothing yet shields P1 and P2; rule 2 keeps only Z because it counts P1 and P2."""
    images = [
        image("P1", ["prod-1"], pushed=50),
        image("P2", ["prod-2"], pushed=40),
        image("X", ["dev-1"], pushed=30),
        image("Y", [], pushed=20),
        image("Z", ["dev-2"], pushed=10),
    ]
    policy = [rule(1, older_than(365, "tagged", tagPrefixList=["prod"])), rule(2, count_more_than(1))]
    assert expired(policy, images) == ("X", "Y")


def test_an_image_gets_at_most_one_action() -> None:
    """The transition rule claims every v* image, so the later expire rule cannot delete them."""
    images = [image(d, [f"v{n}"], pushed=100 - n) for n, d in enumerate("ABCD")]
    policy = [
        rule(1, count_more_than(1, "tagged", tagPrefixList=["v"]), TRANSITION),
        rule(2, count_more_than(1)),
    ]
    result = outcome(policy, images)
    assert [i.digest for i in result.archived] == ["A", "B", "C"]
    assert result.expired == ()


def test_rules_apply_by_priority_not_document_order() -> None:
    images = [image("A", ["prod-1"], pushed=10), image("B", ["prod-2"], pushed=5)]
    policy = [
        rule(7, count_more_than(1)),
        rule(3, count_more_than(1, "tagged", tagPrefixList=["prod"]), TRANSITION),
    ]
    assert parse_policy(json.dumps({"rules": policy})).rules[0].priority == 3
    assert archived(policy, images) == ("A",)
    assert expired(policy, images) == ()


# --- time measurement -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pushed", "pulled", "activated", "selected"),
    [
        (60, 5, None, False),  # recent pull wins over an old push
        (60, None, None, True),  # never pulled: the push time
        (120, 90, 60, True),  # restored, not pulled since: the restore time, not the stale pull
        (120, 90, 10, False),
        (120, 40, 90, True),  # pulled after the restore: the pull time
        (120, 10, 90, False),
        (120, None, 10, False),  # restored, never pulled at all: the restore time
    ],
)
def test_since_image_pulled_measures_from(
    pushed: float, pulled: float | None, activated: float | None, selected: bool
) -> None:
    images = [image("A", ["v1"], pushed=pushed, pulled=pulled, activated=activated)]
    assert archived([rule(1, older_than(30, count_type="sinceImagePulled"), TRANSITION)], images) == (
        ("A",) if selected else ()
    )


def test_restored_image_counts_from_its_restore_for_push_rules() -> None:
    """R was pushed first but restored 2 days ago, so it is the newest and not 30 days old."""
    images = [image("R", ["v1"], pushed=100, activated=2), image("N", ["v2"], pushed=5)]
    assert expired([rule(1, older_than(30))], images) == ()
    assert expired([rule(1, count_more_than(1))], images) == ("N",)


def test_older_than_is_strict() -> None:
    images = [image("EXACT", pushed=14), image("OVER", pushed=14 + 1 / 86400)]
    assert expired([rule(1, older_than(14, "untagged"))], images) == ("OVER",)


def test_naive_times_are_utc() -> None:
    naive = Image.from_api(
        {"repositoryName": "app", "imageDigest": "N", "imagePushedAt": datetime(2025, 5, 1, 12, 0)}
    )
    policy = parse_policy(json.dumps({"rules": [rule(1, older_than(30, "untagged"))]}))
    assert evaluate(policy, [naive], datetime(2025, 5, 31, 12, 0, 1)).expired == (naive,)
    assert evaluate(policy, [naive], datetime(2025, 5, 31, 12, 0)).expired == ()


def test_equal_push_times_do_not_depend_on_input_order() -> None:
    images = [image("X", pushed=3), image("Y", pushed=3), image("Z", pushed=3)]
    policy = [rule(1, count_more_than(1))]
    assert expired(policy, images) == expired(policy, images[::-1])[::-1]
    assert len(expired(policy, images)) == 2


def test_images_without_the_measured_time_or_in_no_storage_class_are_left_alone() -> None:
    no_push = Image.from_api({"repositoryName": "app", "imageDigest": "P"})
    activating = image("G", pushed=500, status="ACTIVATING")
    no_archive_time = image("H", pushed=500, status="ARCHIVED")
    images = [no_push, activating, no_archive_time, image("K", pushed=400)]
    policy = [
        rule(1, older_than(30), TRANSITION),
        rule(2, older_than(90, count_type="sinceImageTransitioned", storageClass="archive")),
    ]
    result = outcome(policy, images)
    assert [i.digest for i in result.archived] == ["K"]
    assert result.expired == ()


def test_outcome_bytes() -> None:
    images = [
        image("A", pushed=9, size=300),
        image("B", pushed=8, size=50),
        image("C", ["v1"], pushed=7, size=1000),
        image("D", [], pushed=1, size=7),
    ]
    policy = [
        rule(1, count_more_than(1, "tagged", tagPrefixList=["v"]), TRANSITION),
        rule(2, older_than(2, "untagged")),
    ]
    result = outcome(policy, images)
    assert (result.expired_bytes, result.archived) == (350, ())
    archived = outcome([rule(1, older_than(5), TRANSITION)], images).archived
    assert sum(image.size_bytes for image in archived) == 1350


# --- the recommended policy -----------------------------------------------------------------------


def test_recommended_policy_is_the_documented_untagged_14_day_rule() -> None:
    (recommended,) = parse_policy(RECOMMENDED_POLICY_TEXT).rules
    assert recommended == LifecycleRule(
        priority=1,
        description="Expire untagged images pushed more than 14 days ago",
        tag_status=TagStatus.UNTAGGED,
        tag_prefixes=(),
        tag_patterns=(),
        storage_class=StorageClass.STANDARD,
        count_type=CountType.SINCE_IMAGE_PUSHED,
        count_number=14,
        action=ActionType.EXPIRE,
    )


def test_recommended_policy_expires_only_old_untagged_images() -> None:
    images = [
        image("OLD", pushed=15, size=10),
        image("NEW", pushed=13, size=20),
        image("TAGGED", ["v1"], pushed=400, size=40),
        image("ARCHIVED", pushed=400, status="ARCHIVED", archived=100, size=80),
    ]
    result = evaluate(parse_policy(RECOMMENDED_POLICY_TEXT), images, AS_OF)
    assert result == LifecycleOutcome(expired=(images[0],), archived=())
    assert result.expired_bytes == 10


# --- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ([rule(1, older_than(7, "untagged")), rule(1, count_more_than(5))], "duplicate rulePriority 1"),
        (
            [rule(1, count_more_than(1, "tagged"))],
            "rule 1: tagStatus tagged needs a tagPrefixList or a tagPatternList",
        ),
        (
            [rule(1, count_more_than(1, "tagged", tagPrefixList=["a"], tagPatternList=["a*"]))],
            "rule 1: give tagPrefixList ['a'] or tagPatternList, not both",
        ),
        (
            [rule(1, count_more_than(1, "untagged", tagPrefixList=["a"]))],
            "rule 1: tagPrefixList and tagPatternList need tagStatus tagged, not untagged",
        ),
        (
            [rule(1, count_more_than(1, "any", tagPatternList=["a*"]))],
            "rule 1: tagPrefixList and tagPatternList need tagStatus tagged, not any",
        ),
        (
            [rule(1, count_more_than(1, "tagged", tagPrefixList=[]))],
            "rule 1: tagPrefixList must be a non-empty list of non-empty strings, got []",
        ),
        (
            [rule(1, count_more_than(1)), rule(2, older_than(7, "untagged"))],
            "rule 1: tagStatus any must have the highest rulePriority of the standard rules, but rule 2",
        ),
        (
            [rule(1, {"tagStatus": "any", "countType": "sinceImageCreated", "countNumber": 1})],
            "rule 1: countType must be one of imageCountMoreThan | sinceImagePushed | sinceImagePulled"
            " | sinceImageTransitioned, got 'sinceImageCreated'",
        ),
        (
            [rule(1, {"tagStatus": "untagged", "countType": "sinceImagePushed", "countNumber": 14})],
            "rule 1: countType sinceImagePushed needs countUnit 'days', got None",
        ),
        (
            [rule(1, {**older_than(14), "countUnit": "hours"})],
            "rule 1: countType sinceImagePushed needs countUnit 'days', got 'hours'",
        ),
        (
            [rule(1, {**count_more_than(3), "countUnit": "days"})],
            "rule 1: countUnit 'days' is not allowed with countType imageCountMoreThan",
        ),
        (
            [rule(1, count_more_than(1, "tagged", tagPatternList=["test*1*2*3*4*5*6"]))],
            "rule 1: tag pattern 'test*1*2*3*4*5*6' has more than 4 '*' wildcards",
        ),
        ([rule(1, count_more_than(0))], "rule 1: countNumber must be a positive integer, got 0"),
        ([rule(1, count_more_than(True))], "rule 1: countNumber must be an integer, got True"),
        (
            [rule(1, {**count_more_than(), "countNumber": "5"})],
            "rule 1: countNumber must be an integer, got '5'",
        ),
        (
            [rule(1, count_more_than(1, "all"))],
            "rule 1: tagStatus must be one of tagged | untagged | any, got 'all'",
        ),
        ([{**rule(1, count_more_than()), "rulePriority": "1"}], "rulePriority must be an integer, got '1'"),
        (
            [rule(1, older_than(7, "untagged")), rule(2, count_more_than(3, "untagged"))],
            "rules [1, 2]: only one standard rule may select untagged images",
        ),
        (
            [
                rule(1, count_more_than(1, "tagged", tagPrefixList=["prod", "beta"])),
                rule(2, older_than(9, "tagged", tagPrefixList=["beta", "prod"])),
            ],
            "rule 2: tag list ['beta', 'prod'] repeats rule 1's",
        ),
        (
            [rule(1, older_than(90, count_type="sinceImagePulled"))],
            "rule 1: countType sinceImagePulled needs action transition, not expire",
        ),
        (
            [rule(1, older_than(90, count_type="sinceImageTransitioned"))],
            "rule 1: storageClass standard cannot be used with countType sinceImageTransitioned",
        ),
        (
            [rule(1, older_than(90, storageClass="archive"))],
            "rule 1: storageClass archive cannot be used with countType sinceImagePushed",
        ),
        (
            [rule(1, older_than(90, storageClass="glacier"))],
            "rule 1: storageClass must be one of standard | archive, got 'glacier'",
        ),
        (
            [
                rule(
                    1, older_than(90, count_type="sinceImageTransitioned", storageClass="archive"), TRANSITION
                )
            ],
            "rule 1: countType sinceImageTransitioned needs action expire, not transition",
        ),
        (
            [rule(1, older_than(30, count_type="sinceImageTransitioned", storageClass="archive"))],
            "rule 1: countNumber 30 is under the 90-day archive minimum",
        ),
        (
            [rule(1, older_than(30), {"type": "transition"})],
            "rule 1: action transition needs targetStorageClass 'archive', got None",
        ),
        (
            [rule(1, older_than(30), {"type": "transition", "targetStorageClass": "standard"})],
            "rule 1: action transition needs targetStorageClass 'archive', got 'standard'",
        ),
        (
            [rule(1, older_than(30), {"type": "delete"})],
            "rule 1: action type must be one of expire | transition, got 'delete'",
        ),
        (
            [{"rulePriority": 1, "action": {"type": "expire"}}],
            "rule 1: selection must be a JSON object, got None",
        ),
        ([{**rule(1, count_more_than()), "description": 5}], "rule 1: description must be a string, got 5"),
        ([1], "lifecycle rule must be a JSON object, got 1"),
        ([], "lifecycle policy needs a non-empty 'rules' list, got []"),
    ],
)
def test_invalid_policy_names_the_bad_value(rules: list[object], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_policy(json.dumps({"rules": rules}))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "lifecycle policy is not valid JSON"),
        ('{"Rules": []}', "lifecycle policy needs a non-empty 'rules' list, got None"),
        ("[]", "lifecycle policy needs a non-empty 'rules' list, got None"),
    ],
)
def test_invalid_policy_document(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_policy(text)


def test_documented_valid_edge_cases_parse() -> None:
    """Four wildcards per pattern is the limit (the guide's valid example); the untagged, unique
    tag list and any-last constraints hold per storage class, so these rule sets are accepted."""
    policy = parse_policy(
        json.dumps(
            {
                "rules": [
                    rule(1, count_more_than(1, "tagged", tagPatternList=["*test*1*2*3", "test*1*2*3*"])),
                    rule(2, older_than(30, "tagged", tagPatternList=["*-sha-*"]), TRANSITION),
                    rule(3, older_than(90, "untagged"), TRANSITION),
                    rule(
                        4,
                        older_than(
                            90,
                            "tagged",
                            count_type=ARCHIVE_AGE,
                            tagPatternList=["*-sha-*"],
                            storageClass="archive",
                        ),
                    ),
                    rule(5, older_than(90, "untagged", count_type=ARCHIVE_AGE, storageClass="archive")),
                    rule(6, count_more_than(100)),
                ]
            }
        )
    )
    assert [r.priority for r in policy.rules] == [1, 2, 3, 4, 5, 6]
