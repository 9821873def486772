"""Cleanup verdicts: every reason, its precedence, and what a kept image keeps with it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ecr_provider.core.blobs import OCI_INDEX, OCI_MANIFEST
from ecr_provider.core.cleanup import CleanupRules, cleanup_verdicts
from ecr_provider.core.records import Image
from ecr_provider.core.usage import ImageUse

AS_OF = datetime(2026, 11, 27, tzinfo=UTC)
LONG_AGO = AS_OF - timedelta(days=400)
RULES = CleanupRules(reclaim_after_days=90, protected_tag_patterns=("release-*",))
UNUSED = ImageUse(False, 0, None, ())
RUNNING = ImageUse(True, 1, None, ("ecs:prod/web",))
UNKNOWN = ImageUse(None, None, None, ())


def image(digest: str, *tags: str, **fields: Any) -> Image:
    detail = {
        "repositoryName": "web",
        "imageDigest": digest,
        "imageTags": list(tags),
        "imagePushedAt": LONG_AGO,
        "imageManifestMediaType": OCI_MANIFEST,
        "imageSizeInBytes": 10,
        **fields,
    }
    return Image.from_api(detail)


def verdicts(
    images: tuple[Image, ...],
    uses: dict[str, ImageUse] | None = None,
    *,
    children: dict[str, tuple[str, ...]] | None = None,
    expiring: frozenset[str] = frozenset(),
    not_visible: str = "",
) -> dict[str, tuple[str, str]]:
    found = cleanup_verdicts(
        images,
        {one.digest: (uses or {}).get(one.digest, UNUSED) for one in images},
        RULES,
        AS_OF,
        children=children if children is not None else {},
        expiring=expiring,
        not_visible=not_visible,
    )
    return {digest: (verdict.verdict, verdict.text) for digest, verdict in found.items()}


@pytest.mark.parametrize(
    ("one", "use", "expected"),
    [
        (image("a", "v1"), RUNNING, ("keep", "in-use")),
        (image("a", "release-7"), UNUSED, ("keep", "protected-tag")),
        (
            image("a", "v1", lastRecordedPullTime=AS_OF - timedelta(days=89)),
            UNUSED,
            ("keep", "recently-pulled"),
        ),
        (image("a", "v1", imagePushedAt=AS_OF - timedelta(days=3)), UNUSED, ("keep", "recently-pushed")),
        (image("a", "v1", lastActivatedAt=AS_OF - timedelta(days=3)), UNUSED, ("keep", "recently-pushed")),
        (image("a", "v1"), UNKNOWN, ("keep", "usage-unknown")),
        (image("a", "v1", imageStatus="ARCHIVED"), UNUSED, ("reclaimable", "archived")),
        (
            image("a", "v1", lastRecordedPullTime=AS_OF - timedelta(days=91)),
            UNUSED,
            ("reclaimable", "unused"),
        ),
        (image("a", "v1"), UNUSED, ("reclaimable", "unused")),
    ],
)
def test_each_reason_on_its_own(one: Image, use: ImageUse, expected: tuple[str, str]) -> None:
    assert verdicts((one,), {"a": use}) == {"a": expected}


def test_in_use_outranks_everything_and_unknown_use_is_never_reclaimable() -> None:
    found = verdicts(
        (image("a", "release-1", imageStatus="ARCHIVED"), image("b", imageStatus="ARCHIVED")),
        {"a": RUNNING, "b": UNKNOWN},
    )
    assert found == {"a": ("keep", "in-use"), "b": ("keep", "usage-unknown")}


def test_the_repositorys_own_lifecycle_policy_expiring_an_unused_image_says_so() -> None:
    found = verdicts(
        (image("a", "v1"), image("b", "v2", imagePushedAt=AS_OF)), expiring=frozenset({"a", "b"})
    )
    assert found == {"a": ("reclaimable", "lifecycle-expiring"), "b": ("keep", "recently-pushed")}


def test_a_kept_index_keeps_its_children_and_an_unused_one_frees_them() -> None:
    kept = image("index", "prod", imageManifestMediaType=OCI_INDEX, lastRecordedPullTime=AS_OF)
    gone = image("old-index", "v0", imageManifestMediaType=OCI_INDEX)
    images = (kept, image("arm"), image("amd"), gone, image("old-arm"))

    found = verdicts(images, children={"index": ("arm", "amd"), "old-index": ("old-arm",)})

    assert found == {
        "index": ("keep", "recently-pulled"),
        "arm": ("keep", "child-of-kept-index"),
        "amd": ("keep", "child-of-kept-index"),
        "old-index": ("reclaimable", "unused"),
        "old-arm": ("reclaimable", "unused"),
    }


def test_referrers_of_a_kept_image_are_kept_in_turn_and_those_of_a_reclaimable_one_go_with_it() -> None:
    images = (
        image("app", "v1", lastRecordedPullTime=AS_OF),
        image("signature", subjectManifestDigest="app", artifactMediaType="application/vnd.dev.cosign"),
        image("sbom", subjectManifestDigest="app"),
        image("sbom-signature", subjectManifestDigest="sbom"),
        image("stale", "v0"),
        image("stale-signature", subjectManifestDigest="stale"),
    )

    found = verdicts(images)

    assert found == {
        "app": ("keep", "recently-pulled"),
        "signature": ("keep", "referrer-of-kept-image"),
        "sbom": ("keep", "referrer-of-kept-image"),
        "sbom-signature": ("keep", "referrer-of-kept-image"),
        "stale": ("reclaimable", "unused"),
        "stale-signature": ("reclaimable", "unused"),
    }


def test_without_index_manifests_an_index_and_every_untagged_manifest_may_be_related_so_are_kept() -> None:
    images = (
        image("index", "v1", imageManifestMediaType=OCI_INDEX),
        image("maybe-child"),
        image("tagged", "v2"),
        image("referrer", subjectManifestDigest="tagged"),
    )

    found = verdicts(images, children=None)

    assert found == {
        "index": ("keep", "index-children-unknown"),
        "maybe-child": ("keep", "index-children-unknown"),
        "tagged": ("reclaimable", "unused"),
        "referrer": ("reclaimable", "unused"),
    }


def test_without_any_index_unread_manifests_change_nothing() -> None:
    assert verdicts((image("a"), image("b", "v1")), children=None) == {
        "a": ("reclaimable", "unused"),
        "b": ("reclaimable", "unused"),
    }


def test_protected_patterns_are_case_sensitive_globs() -> None:
    rules = CleanupRules(90, ("v?.*", "[Ll]atest"))
    protected = [("v1.2",), ("Latest",), ("x", "latest")]
    unprotected = [("v10.2",), ("LATEST",), ()]
    assert [rules.protects(tags) for tags in protected + unprotected] == [True] * 3 + [False] * 3


NOT_VISIBLE = "use from account 444455556666 is not visible"


def test_use_not_visible_keeps_only_what_would_be_unused_and_says_whose_use() -> None:
    found = verdicts(
        (
            image("unused", "v1"),
            image("running", "v2"),
            image("archived", "v3", imageStatus="ARCHIVED"),
            image("expiring", "v4"),
        ),
        {"running": RUNNING},
        expiring=frozenset({"expiring"}),
        not_visible=NOT_VISIBLE,
    )
    assert found == {
        "unused": ("keep", f"usage-not-visible: {NOT_VISIBLE}"),
        "running": ("keep", "in-use"),
        "archived": ("reclaimable", "archived"),
        "expiring": ("reclaimable", "lifecycle-expiring"),
    }


def test_an_index_kept_as_not_visible_keeps_its_children() -> None:
    index = image("index", "v1", imageManifestMediaType=OCI_INDEX)
    found = verdicts(
        (index, image("child")),
        children={"index": ("child",)},
        not_visible=NOT_VISIBLE,
    )
    assert found == {
        "index": ("keep", f"usage-not-visible: {NOT_VISIBLE}"),
        "child": ("keep", "child-of-kept-index"),
    }
