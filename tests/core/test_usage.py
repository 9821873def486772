"""Image use from what runs: by digest, by a service's tag, through an index, and Inspector's EKS share."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from ecr_provider.core.cleanup import CleanupRules, Reason, cleanup_verdicts
from ecr_provider.core.records import Image, InspectorUse
from ecr_provider.core.usage import (
    INSPECTOR_PLACE,
    ImageReference,
    ImageUse,
    RegistryUsage,
    SourceUsage,
    ecr_reference,
    foreign_place,
    join_sources,
    join_usage,
    repository_use,
    usage_of_record,
)

ACCOUNT = "111122223333"
REGION = "eu-west-1"
INDEX, ARM, AMD, OLD = (f"sha256:{c * 64}" for c in "1234")


def own(repository: str, tag: str | None, digest: str | None) -> ImageReference:
    return ImageReference(ACCOUNT, REGION, repository, tag, digest)


def image(digest: str, *tags: str, **fields: Any) -> Image:
    return Image.from_api({"repositoryName": "web", "imageDigest": digest, "imageTags": list(tags), **fields})


@pytest.mark.parametrize(
    ("uri", "reference"),
    [
        (f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/team/web:prod", own("team/web", "prod", None)),
        (f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/web@{ARM}", own("web", None, ARM)),
        (f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/web:v1@{ARM}", own("web", "v1", ARM)),
        (f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/web", own("web", "latest", None)),
        (f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com.cn/web:1", own("web", "1", None)),
        (
            f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/web:prod",
            ImageReference(ACCOUNT, "us-east-1", "web", "prod", None),
        ),
        (
            f"999988887777.dkr.ecr.{REGION}.amazonaws.com/web@{ARM}",
            ImageReference("999988887777", REGION, "web", None, ARM),
        ),
        ("public.ecr.aws/aws-observability/aws-for-fluent-bit:stable", None),
        ("nginx:latest", None),
    ],
)
def test_every_private_ecr_image_is_a_reference_with_its_registry(
    uri: str, reference: ImageReference | None
) -> None:
    assert ecr_reference(uri) == reference


def test_running_digests_tags_needed_by_services_and_nothing_else() -> None:
    usage = RegistryUsage(
        running={("web", ARM): {"ecs:prod/web": 3, "lambda:thumbnails": 1}},
        needed={("web", "stable"): frozenset({"ecs:prod/worker"})},
    )
    images = (image(ARM, "v2"), image(AMD, "stable"), image(OLD, "v1"))

    uses = repository_use(images, usage, {})

    assert uses[ARM] == ImageUse(True, 4, None, ("ecs:prod/web", "lambda:thumbnails"))
    assert uses[AMD] == ImageUse(True, 0, None, ("ecs:prod/worker",))
    assert uses[OLD] == ImageUse(False, 0, None, ())


def test_a_running_child_keeps_its_index_in_use() -> None:
    usage = RegistryUsage(running={("web", ARM): {"ecs:prod/edge": 2}})
    images = (image(INDEX, "prod"), image(ARM), image(AMD))

    uses = repository_use(images, usage, {INDEX: (AMD, ARM)})

    assert uses[INDEX] == ImageUse(True, 2, None, ("ecs:prod/edge",))
    assert uses[ARM].in_use is True
    assert uses[AMD] == ImageUse(False, 0, None, ())


def test_inspector_beyond_the_ecs_tasks_found_is_eks() -> None:
    ran = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    usage = RegistryUsage(running={("web", ARM): {"ecs:prod/web": 2}})
    images = (
        replace(image(ARM), inspector_use=InspectorUse(5, ran)),
        replace(image(AMD), inspector_use=InspectorUse(2, ran)),
        replace(image(OLD), inspector_use=InspectorUse(0, None)),
    )

    uses = repository_use(images, usage, {})

    assert uses[ARM] == ImageUse(True, 5, ran, ("ecs:prod/web", INSPECTOR_PLACE))
    assert uses[AMD] == ImageUse(True, 2, ran, (INSPECTOR_PLACE,))
    assert uses[OLD] == ImageUse(False, 0, None, ())


def test_eks_pods_read_count_beside_ecs_tasks_and_inspector_only_beyond_both() -> None:
    usage = RegistryUsage(
        running={
            ("web", ARM): {"ecs:prod/web": 1, "eks:apps/shop/web": 2, "lambda:resize": 1},
            ("web", AMD): {"eks:apps/shop/web": 2},
        }
    )
    images = (
        replace(image(ARM), inspector_use=InspectorUse(3, None)),
        replace(image(AMD), inspector_use=InspectorUse(4, None)),
    )

    uses = repository_use(images, usage, {})

    assert uses[ARM] == ImageUse(True, 4, None, ("ecs:prod/web", "eks:apps/shop/web", "lambda:resize"))
    assert uses[AMD] == ImageUse(True, 4, None, ("eks:apps/shop/web", INSPECTOR_PLACE))


def test_when_ecs_or_lambda_could_not_be_read_an_image_seen_nowhere_is_unknown() -> None:
    usage = RegistryUsage(
        running={("web", ARM): {"ecs:prod/web": 1}}, unknown=("lambda:ListFunctions denied",)
    )
    eks = InspectorUse(1, None)
    images = (image(ARM), image(AMD), replace(image(OLD), inspector_use=eks))

    uses = repository_use(images, usage, {})

    assert uses[ARM].in_use is True
    assert uses[AMD] == ImageUse(None, None, None, ())
    assert uses[OLD] == ImageUse(True, 1, None, (INSPECTOR_PLACE,))
    assert not usage.known
    assert "lambda:ListFunctions denied" in usage.summary()


def test_a_pull_fetches_the_digest_a_reference_names_else_its_tag() -> None:
    assert own("web", "v1", ARM).key == ("web", ARM)
    assert own("web", "prod", None).key == ("web", "prod")


def test_a_service_scaled_to_zero_naming_its_image_by_digest_keeps_that_image_in_use() -> None:
    """Scaling it up pulls exactly that digest, whatever the image's tags are."""
    old = datetime(2025, 1, 1, tzinfo=UTC)
    usage = RegistryUsage(needed={("web", ARM): frozenset({"ecs:prod/idle"})})
    images = tuple(replace(each, pushed_at=old) for each in (image(ARM, "v2"), image(AMD, "v2-amd")))

    uses = repository_use(images, usage, {})
    verdicts = cleanup_verdicts(
        images, uses, CleanupRules(), datetime(2026, 12, 1, tzinfo=UTC), children={}, expiring=()
    )

    assert uses[ARM] == ImageUse(True, 0, None, ("ecs:prod/idle",))
    assert uses[AMD] == ImageUse(False, 0, None, ())
    assert (verdicts[ARM].reason, verdicts[AMD].reason) == (Reason.IN_USE, Reason.UNUSED)


def test_a_service_naming_an_index_by_digest_keeps_the_index_in_use_and_its_children() -> None:
    old = datetime(2025, 1, 1, tzinfo=UTC)
    usage = RegistryUsage(needed={("web", INDEX): frozenset({"ecs:prod/edge"})})
    images = tuple(replace(each, pushed_at=old) for each in (image(INDEX), image(ARM), image(AMD)))

    uses = repository_use(images, usage, {INDEX: (AMD, ARM)})
    verdicts = cleanup_verdicts(
        images,
        uses,
        CleanupRules(),
        datetime(2026, 12, 1, tzinfo=UTC),
        children={INDEX: (AMD, ARM)},
        expiring=(),
    )

    assert uses[INDEX] == ImageUse(True, 0, None, ("ecs:prod/edge",))
    assert [verdicts[digest].reason for digest in (INDEX, ARM, AMD)] == [
        Reason.IN_USE,
        Reason.CHILD_OF_KEPT_INDEX,
        Reason.CHILD_OF_KEPT_INDEX,
    ]


def test_a_place_in_another_account_or_region_names_them() -> None:
    assert (
        foreign_place("ecs:prod/web", ("444455556666", "us-west-2")) == "ecs:444455556666/us-west-2/prod/web"
    )
    assert foreign_place("lambda:thumbs", ("444455556666", REGION)) == "lambda:444455556666/eu-west-1/thumbs"


def test_a_group_travels_as_json_and_the_groups_of_sources_add_up() -> None:
    first = RegistryUsage(
        running={("web", ARM): {"ecs:prod/web": 2}}, needed={("web", "stable"): frozenset({"ecs:prod/w"})}
    )
    second = RegistryUsage(
        running={("web", ARM): {"ecs:prod/web": 1, "lambda:1/r/f": 1}},
        needed={("web", "stable"): frozenset({"ecs:1/r/c/s"})},
    )

    joined = join_usage(
        [usage_of_record(first.as_record()), usage_of_record(second.as_record())],
        unknown=(),
        read_accounts=[ACCOUNT],
    )

    assert joined.running == {("web", ARM): {"ecs:prod/web": 3, "lambda:1/r/f": 1}}
    assert joined.needed == {("web", "stable"): frozenset({"ecs:prod/w", "ecs:1/r/c/s"})}
    assert joined.known
    assert joined.read_accounts == {ACCOUNT}


def test_a_source_whose_reads_failed_leaves_every_registry_unknown_and_its_account_unread() -> None:
    registry = (ACCOUNT, REGION)
    found = SourceUsage(registry, {registry: RegistryUsage(running={("web", ARM): {"ecs:a/b": 1}})})
    failed = SourceUsage(("999988887777", REGION), {}, ("ecs:ListClusters denied",), ("Lambda",))

    usage = join_sources([found, failed], registry)

    assert usage.running == {("web", ARM): {"ecs:a/b": 1}}
    assert usage.unknown == (f"999988887777/{REGION}: ecs:ListClusters denied",)
    assert usage.read_accounts == {ACCOUNT}
    assert usage.sources == ("Lambda",)  # ECS was not read in every source
    assert join_sources([found], registry).sources == ("ECS", "Lambda")
    assert repository_use([image(OLD, "v1")], usage, {})[OLD] == ImageUse(None, None, None, ())
