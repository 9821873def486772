"""What a repository really stores: the distinct blobs (configs and layers) its manifests reference.

ECR bills a blob once per repository however many images share it, and reports an image index's
``imageSizeInBytes`` as its largest child's, so summing image sizes overstates storage. Parsing the
manifests and counting each blob digest once gives the stored bytes.

Docker schema 1 manifests list ``fsLayers`` without sizes, and a manifest of an unknown media type
cannot be read safely: such images (and images whose manifest could not be read at all) are counted
by their ``imageSizeInBytes`` instead, and the result says its basis is partial. The manifests
themselves (a few KB each) are not counted.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"

INDEX_MEDIA_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
IMAGE_MEDIA_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
SCHEMA1_MEDIA_TYPES = frozenset({DOCKER_SCHEMA1_SIGNED, DOCKER_SCHEMA1})
MANIFEST_MEDIA_TYPES = (
    OCI_INDEX,
    DOCKER_MANIFEST_LIST,
    OCI_MANIFEST,
    DOCKER_MANIFEST,
    DOCKER_SCHEMA1_SIGNED,
    DOCKER_SCHEMA1,
)
"""Every manifest type ECR stores; asking for all of them makes ECR return what was pushed."""

BASIS_UNIQUE_BLOBS = "unique-blobs"
BASIS_PARTIAL = "unique-blobs-partial"
BASIS_IMAGE_SIZE = "image-size"


@dataclass(frozen=True, slots=True)
class BlobRef:
    digest: str
    size_bytes: int


@dataclass(frozen=True, slots=True)
class ParsedManifest:
    """A manifest reduced to what storage depends on; immutable, like the digest it was read by."""

    media_type: str
    blobs: tuple[BlobRef, ...] = ()
    """Config and layers of an image or artifact manifest; empty for an index."""
    children: tuple[str, ...] = ()
    """Digests of the manifests an index or manifest list references."""
    unsupported: str = ""
    """Why the blobs cannot be known (schema 1, unknown type, malformed); empty when they can."""

    def as_record(self) -> dict[str, Any]:
        """A compact JSON-ready form for caches; empty fields are left out."""
        record: dict[str, Any] = {"mediaType": self.media_type}
        if self.blobs:
            record["blobs"] = [[blob.digest, blob.size_bytes] for blob in self.blobs]
        if self.children:
            record["children"] = list(self.children)
        if self.unsupported:
            record["unsupported"] = self.unsupported
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> ParsedManifest:
        return cls(
            media_type=str(record["mediaType"]),
            blobs=tuple(BlobRef(str(digest), int(size)) for digest, size in record.get("blobs", ())),
            children=tuple(str(child) for child in record.get("children", ())),
            unsupported=str(record.get("unsupported", "")),
        )


class _Malformed(ValueError):
    """A manifest that is JSON but not a valid manifest of its type."""


def parse_manifest(text: str, media_type: str = "") -> ParsedManifest:
    """Parse a manifest as BatchGetImage returns it; ``media_type`` is its ``imageManifestMediaType``.

    The document's own ``mediaType`` wins (OCI makes it optional, so the API's is the fallback); with
    neither, the shape decides. Never raises: what cannot be read comes back ``unsupported``.
    """
    try:
        document = json.loads(text)
    except ValueError:
        return ParsedManifest(media_type, unsupported="manifest is not valid JSON")
    if not isinstance(document, dict):
        return ParsedManifest(media_type, unsupported="manifest is not a JSON object")
    declared = document.get("mediaType") or media_type
    if not isinstance(declared, str):
        return ParsedManifest(media_type, unsupported="manifest mediaType is not a string")
    try:
        if declared in SCHEMA1_MEDIA_TYPES or document.get("schemaVersion") == 1:
            return ParsedManifest(
                declared or DOCKER_SCHEMA1,
                unsupported="Docker schema 1 manifest: its fsLayers carry no sizes",
            )
        if declared in INDEX_MEDIA_TYPES or (not declared and "manifests" in document):
            children = tuple(_descriptor(entry).digest for entry in _list(document, "manifests"))
            return ParsedManifest(declared or OCI_INDEX, children=children)
        if declared in IMAGE_MEDIA_TYPES or (not declared and "config" in document):
            config = _descriptor(document.get("config"))
            layers = tuple(_descriptor(layer) for layer in _list(document, "layers"))
            return ParsedManifest(declared or OCI_MANIFEST, blobs=(config, *layers))
    except _Malformed as error:
        return ParsedManifest(declared, unsupported=f"malformed manifest: {error}")
    return ParsedManifest(declared, unsupported=f"unknown manifest media type {declared!r}")


def _list(document: Mapping[str, Any], member: str) -> list[Any]:
    value = document.get(member, [])
    if not isinstance(value, list):
        raise _Malformed(f"{member} is not a list")
    return value


def _descriptor(value: Any) -> BlobRef:
    if not isinstance(value, dict):
        raise _Malformed("descriptor is not an object")
    digest, size = value.get("digest"), value.get("size")
    if not isinstance(digest, str) or ":" not in digest:
        raise _Malformed(f"descriptor digest {digest!r} is not a digest")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise _Malformed(f"descriptor size {size!r} of {digest} is not a byte count")
    return BlobRef(digest, size)


def _reachable(
    manifests: Mapping[str, ParsedManifest], roots: Iterable[str]
) -> tuple[dict[str, int], list[str]]:
    """Blob sizes by digest reachable from ``roots`` through index children, and the manifests
    reached that have no usable blob list, in the order met."""
    blobs: dict[str, int] = {}
    unusable: list[str] = []
    seen: set[str] = set()
    pending = list(roots)
    while pending:
        digest = pending.pop()
        if digest in seen:
            continue
        seen.add(digest)
        manifest = manifests.get(digest)
        if manifest is None or manifest.unsupported:
            unusable.append(digest)
            continue
        blobs.update((blob.digest, blob.size_bytes) for blob in manifest.blobs)
        pending.extend(manifest.children)
    return blobs, unusable


def unique_blob_bytes(manifests: Mapping[str, ParsedManifest], digests_of_repository: Iterable[str]) -> int:
    """Bytes of the distinct blobs of these images and their index children, each digest once.

    Strict: raises KeyError naming the manifests that are missing or unsupported; use
    :func:`repository_storage` to fall back to image sizes for those.
    """
    blobs, unusable = _reachable(manifests, digests_of_repository)
    if unusable:
        raise KeyError(f"no usable manifest for {len(unusable)} digests, e.g. {sorted(unusable)[:3]}")
    return sum(blobs.values())


@dataclass(frozen=True, slots=True)
class StoredBlobs:
    sizes: Mapping[str, int]
    """Bytes of each blob, by digest."""
    fallback_bytes: int
    """``imageSizeInBytes`` of the images whose blobs are unknown: never shared, as far as is known."""

    @property
    def total_bytes(self) -> int:
        return sum(self.sizes.values()) + self.fallback_bytes


@dataclass(frozen=True, slots=True)
class RepositoryStorage:
    """A repository's stored bytes: unique blobs where manifests are known, image sizes elsewhere."""

    blob_bytes: int
    fallback_bytes: int
    """``imageSizeInBytes`` of the images whose blobs are unknown."""
    fallback_digests: tuple[str, ...]
    uncounted_digests: tuple[str, ...]
    """Index children without a usable manifest that are not images of their own: bytes unknown."""
    manifests: Mapping[str, ParsedManifest] = field(repr=False, compare=False)
    image_sizes: Mapping[str, int] = field(repr=False, compare=False)
    """What the figures were computed from, so those without some images can be too."""

    @property
    def images_by_blobs(self) -> int:
        return len(self.image_sizes) - len(self.fallback_digests)

    @property
    def total_bytes(self) -> int:
        return self.blob_bytes + self.fallback_bytes

    def freed_bytes(self, digests: Collection[str]) -> int:
        """What deleting these images frees: blobs no remaining image (or its index) references.

        A lifecycle policy that expires an image sharing its base layers with kept images saves
        only its own layers; pricing its whole size would promise more than the bill can shrink.
        """
        return self.total_bytes - self.stored(without=digests).total_bytes

    def stored(self, without: Collection[str] = ()) -> StoredBlobs:
        """The blobs of the images not in ``without``, by digest, so a registry can count each once
        across its repositories; images without a usable manifest by their own size."""
        kept = {digest: size for digest, size in self.image_sizes.items() if digest not in without}
        blobs, unusable = _reachable(self.manifests, kept)
        return StoredBlobs(blobs, sum(kept[digest] for digest in unusable if digest in kept))

    @property
    def basis(self) -> str:
        """``unique-blobs`` when exact, ``image-size`` when no manifest was usable, else partial."""
        if not self.fallback_digests and not self.uncounted_digests:
            return BASIS_UNIQUE_BLOBS
        return BASIS_IMAGE_SIZE if self.images_by_blobs == 0 else BASIS_PARTIAL


def index_children(manifests: Mapping[str, ParsedManifest]) -> dict[str, tuple[str, ...]]:
    """What each readable index lists; an index whose manifest was unusable is left out (unknown)."""
    return {
        digest: manifest.children
        for digest, manifest in manifests.items()
        if manifest.media_type in INDEX_MEDIA_TYPES and not manifest.unsupported
    }


def repository_storage(
    manifests: Mapping[str, ParsedManifest], image_sizes: Mapping[str, int]
) -> RepositoryStorage:
    """Storage of the images in ``image_sizes`` (digest -> ``imageSizeInBytes``, one repository).

    A blob shared by several images, or by an index's children, counts once. An image without a
    usable manifest counts its ``imageSizeInBytes``; for an index that repeats its largest child's
    bytes, which the partial basis owns up to.
    """
    blobs, unusable = _reachable(manifests, image_sizes)
    fallback = sorted(digest for digest in unusable if digest in image_sizes)
    return RepositoryStorage(
        blob_bytes=sum(blobs.values()),
        fallback_bytes=sum(image_sizes[digest] for digest in fallback),
        fallback_digests=tuple(fallback),
        uncounted_digests=tuple(sorted(digest for digest in unusable if digest not in image_sizes)),
        manifests=manifests,
        image_sizes=image_sizes,
    )
