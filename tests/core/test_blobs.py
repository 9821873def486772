"""Unique-blob storage of a hand-built repository, against totals computed by hand below."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from ecr_provider.core.blobs import (
    BASIS_IMAGE_SIZE,
    BASIS_PARTIAL,
    BASIS_UNIQUE_BLOBS,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    DOCKER_SCHEMA1_SIGNED,
    OCI_INDEX,
    OCI_MANIFEST,
    BlobRef,
    ParsedManifest,
    parse_manifest,
    repository_storage,
    unique_blob_bytes,
)

DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
NOTATION = "application/vnd.cncf.notary.signature"


def sha(label: str) -> str:
    return "sha256:" + hashlib.sha256(label.encode()).hexdigest()


def descriptor(media_type: str, label: str, size: int) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": sha(label), "size": size}


def text(document: dict[str, Any]) -> str:
    return json.dumps(document, separators=(",", ":"))


# Blob sizes in bytes. Base layers are shared by img1, img2 and the amd64 child; the two children of
# the index share the arch-independent "static" layer.
BASE1, BASE2 = ("base/1", 30_000_000), ("base/2", 5_000_000)
ARM_BASE1, ARM_BASE2 = ("arm/base/1", 29_000_000), ("arm/base/2", 4_800_000)
STATIC = ("static", 4_000_000)
CONFIG1, APP1 = ("config/1", 7_000), ("app/1", 12_000_000)
CONFIG2, APP2 = ("config/2", 7_100), ("app/2", 13_000_000)
CONFIG_AMD, CONFIG_ARM = ("config/amd64", 6_000), ("config/arm64", 6_100)
ENVELOPE = ("signature/envelope", 2_500)


def docker_image(config: tuple[str, int], *layers: tuple[str, int]) -> str:
    return text(
        {
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": descriptor(DOCKER_CONFIG, *config),
            "layers": [descriptor(DOCKER_LAYER, *layer) for layer in layers],
        }
    )


def oci_image(config: tuple[str, int], *layers: tuple[str, int]) -> str:
    return text(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": descriptor(OCI_CONFIG, *config),
            "layers": [descriptor(OCI_LAYER, *layer) for layer in layers],
        }
    )


IMG1 = docker_image(CONFIG1, BASE1, BASE2, APP1)
IMG2 = docker_image(CONFIG2, BASE1, BASE2, APP2)
AMD64 = oci_image(CONFIG_AMD, BASE1, BASE2, STATIC)
ARM64 = oci_image(CONFIG_ARM, ARM_BASE1, ARM_BASE2, STATIC)
INDEX = text(
    {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": sha(AMD64),
                "size": len(AMD64),
                "platform": {"architecture": "amd64", "os": "linux"},
            },
            {
                "mediaType": OCI_MANIFEST,
                "digest": sha(ARM64),
                "size": len(ARM64),
                "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"},
            },
        ],
    }
)
SIGNATURE = text(
    {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": NOTATION,
        "config": {"mediaType": OCI_EMPTY, "digest": sha("{}"), "size": 2},
        "layers": [descriptor("application/jose+json", *ENVELOPE)],
        "subject": {"mediaType": DOCKER_MANIFEST, "digest": sha(IMG1), "size": len(IMG1)},
    }
)
MANIFESTS = {
    sha(document): parse_manifest(document) for document in (IMG1, IMG2, AMD64, ARM64, INDEX, SIGNATURE)
}

# imageSizeInBytes as ECR reports it: an image's blobs, an index its largest child's.
IMAGE_SIZES = {
    sha(IMG1): 7_000 + 30_000_000 + 5_000_000 + 12_000_000,  # 47_007_000
    sha(IMG2): 7_100 + 30_000_000 + 5_000_000 + 13_000_000,  # 48_007_100
    sha(AMD64): 6_000 + 30_000_000 + 5_000_000 + 4_000_000,  # 39_006_000, untagged child
    sha(ARM64): 6_100 + 29_000_000 + 4_800_000 + 4_000_000,  # 37_806_100, untagged child
    sha(INDEX): 39_006_000,  # the amd64 child, the larger one
    sha(SIGNATURE): 2 + 2_500,  # 2_502
}
IMAGE_SIZE_SUM = 210_834_702
# Each blob once: base 30_000_000 + 5_000_000, arm base 29_000_000 + 4_800_000, static 4_000_000,
# apps 12_000_000 + 13_000_000, configs 7_000 + 7_100 + 6_000 + 6_100, empty config 2, envelope 2_500.
UNIQUE_BLOB_BYTES = 97_828_702


def test_unique_blobs_count_shared_layers_once_and_image_sizes_do_not() -> None:
    assert sum(IMAGE_SIZES.values()) == IMAGE_SIZE_SUM
    assert unique_blob_bytes(MANIFESTS, IMAGE_SIZES) == UNIQUE_BLOB_BYTES
    assert IMAGE_SIZE_SUM > UNIQUE_BLOB_BYTES * 2

    storage = repository_storage(MANIFESTS, IMAGE_SIZES)
    assert (storage.total_bytes, storage.blob_bytes, storage.fallback_bytes) == (
        UNIQUE_BLOB_BYTES,
        UNIQUE_BLOB_BYTES,
        0,
    )
    assert storage.basis == BASIS_UNIQUE_BLOBS


def test_index_children_are_walked_even_when_not_listed_as_images() -> None:
    listed = [sha(IMG1), sha(IMG2), sha(INDEX), sha(SIGNATURE)]
    assert unique_blob_bytes(MANIFESTS, listed) == UNIQUE_BLOB_BYTES


def test_the_index_alone_is_its_children_blobs() -> None:
    # amd64 6_000 + 30_000_000 + 5_000_000 + 4_000_000, arm64 6_100 + 29_000_000 + 4_800_000 (static once)
    assert unique_blob_bytes(MANIFESTS, [sha(INDEX)]) == 72_812_100


def test_schema1_and_unread_manifests_fall_back_to_image_size_and_say_so() -> None:
    schema1 = text(
        {"schemaVersion": 1, "name": "team/app", "tag": "old", "fsLayers": [{"blobSum": sha("x")}]}
    )
    manifests = {**MANIFESTS, sha(schema1): parse_manifest(schema1, DOCKER_SCHEMA1_SIGNED)}
    manifests.pop(sha(IMG2))
    sizes = {**IMAGE_SIZES, sha(schema1): 1_234}

    storage = repository_storage(manifests, sizes)

    # IMG2's own blobs (config 7_100, app 13_000_000) leave the blob total; base layers stay (IMG1 has them).
    assert storage.blob_bytes == UNIQUE_BLOB_BYTES - 7_100 - 13_000_000
    assert storage.fallback_bytes == 1_234 + 48_007_100
    assert set(storage.fallback_digests) == {sha(schema1), sha(IMG2)}
    assert storage.basis == BASIS_PARTIAL
    with pytest.raises(KeyError, match="2 digests"):
        unique_blob_bytes(manifests, sizes)


def test_without_manifests_the_basis_is_image_size() -> None:
    storage = repository_storage({}, IMAGE_SIZES)
    assert (storage.total_bytes, storage.basis) == (IMAGE_SIZE_SUM, BASIS_IMAGE_SIZE)


def test_an_unreadable_child_that_is_no_image_of_its_own_is_reported_uncounted() -> None:
    manifests = {sha(INDEX): MANIFESTS[sha(INDEX)], sha(AMD64): MANIFESTS[sha(AMD64)]}
    storage = repository_storage(manifests, {sha(INDEX): 39_006_000})
    assert storage.uncounted_digests == (sha(ARM64),)
    assert storage.blob_bytes == 39_006_000
    assert storage.basis == BASIS_PARTIAL


def test_parse_shapes() -> None:
    assert MANIFESTS[sha(INDEX)] == ParsedManifest(OCI_INDEX, children=(sha(AMD64), sha(ARM64)))
    assert MANIFESTS[sha(SIGNATURE)].blobs == (BlobRef(sha("{}"), 2), BlobRef(sha(ENVELOPE[0]), 2_500))
    docker_list = text(
        {
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST_LIST,
            "manifests": [{"mediaType": DOCKER_MANIFEST, "digest": sha(IMG1), "size": len(IMG1)}],
        }
    )
    assert parse_manifest(docker_list).children == (sha(IMG1),)


def test_media_type_from_the_api_when_the_document_has_none() -> None:
    document = json.loads(AMD64)
    del document["mediaType"]
    parsed = parse_manifest(text(document), OCI_MANIFEST)
    assert (parsed.media_type, parsed.blobs) == (OCI_MANIFEST, MANIFESTS[sha(AMD64)].blobs)
    assert parse_manifest(text(document)).media_type == OCI_MANIFEST


@pytest.mark.parametrize(
    ("manifest", "reason"),
    [
        ("not json", "not valid JSON"),
        ("[]", "not a JSON object"),
        (text({"schemaVersion": 1, "fsLayers": []}), "schema 1"),
        (
            text({"schemaVersion": 2, "mediaType": "application/vnd.example+json"}),
            "unknown manifest media type",
        ),
        (text({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": []}), "descriptor is not an object"),
        (
            text({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": {"digest": sha("c"), "size": -1}}),
            "is not a byte count",
        ),
        (text({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": {}}), "manifests is not a list"),
    ],
)
def test_unreadable_manifests_are_unsupported_with_a_reason(manifest: str, reason: str) -> None:
    parsed = parse_manifest(manifest)
    assert reason in parsed.unsupported
    assert (parsed.blobs, parsed.children) == ((), ())


def test_record_round_trip() -> None:
    for manifest in [*MANIFESTS.values(), parse_manifest("{}", DOCKER_SCHEMA1_SIGNED)]:
        assert ParsedManifest.from_record(json.loads(json.dumps(manifest.as_record()))) == manifest
