"""What DescribeImageScanFindings lists for a demo image: findings that add up to its severity counts.

Each base-image family has a catalogue of vulnerabilities per severity, so images built on the same
base share CVEs as they do in a real registry; an image's findings are a sample of its family's
catalogue, as many of each severity as its counts say. The sample is seeded by the image digest and
the catalogue by its own names, never by the registry's generator, so the findings change no other
demo value.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ecr_provider.core.records import SEVERITIES

CATALOGUE_SIZE = 60
CVE_YEARS = (2019, 2026)
CVSS_SCORES: Mapping[str, tuple[float, float]] = {
    "CRITICAL": (9.0, 10.0),
    "HIGH": (7.0, 8.9),
    "MEDIUM": (4.0, 6.9),
    "LOW": (0.1, 3.9),
}
"""CVSS v3 bands of each severity; informational and untriaged findings carry no score."""
CVSS_VECTORS: Mapping[str, str] = {
    "CRITICAL": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
    "HIGH": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
    "MEDIUM": "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:L/A:L",
    "LOW": "CVSS:3.1/AV:L/AC:H/PR:L/UI:R/S:U/C:L/I:N/A:N",
}
PACKAGES: Mapping[str, tuple[str, ...]] = {
    "python": (
        "openssl",
        "zlib1g",
        "libexpat1",
        "libsqlite3-0",
        "python3.11",
        "pip",
        "setuptools",
        "urllib3",
    ),
    "node": ("openssl", "zlib1g", "libcurl4", "nodejs", "npm", "semver", "tar", "cross-spawn"),
    "java": ("openssl", "zlib1g", "openjdk-17-jre", "jackson-databind", "netty-codec-http", "spring-web"),
    "alpine": ("busybox", "musl", "libcrypto3", "libssl3", "zlib", "apk-tools"),
    "ubuntu": ("libc6", "openssl", "libssl3", "bash", "tar", "gnutls30", "libsystemd0", "perl-base", "curl"),
    "cuda": ("libc6", "openssl", "libssl3", "python3.10", "numpy", "pillow", "torch", "curl", "libcudnn8"),
}
"""Families without an entry (distroless) are not scannable by basic scanning."""


@dataclass(frozen=True, slots=True)
class DemoFinding:
    name: str
    severity: str
    package_name: str
    package_version: str
    cvss_score: str
    """Empty where the severity has none."""

    @property
    def uri(self) -> str:
        return f"https://nvd.nist.gov/vuln/detail/{self.name}"

    def as_api(self) -> dict[str, Any]:
        """The finding as DescribeImageScanFindings gives it under basic scanning."""
        attributes = [
            {"key": "package_version", "value": self.package_version},
            {"key": "package_name", "value": self.package_name},
        ]
        if self.cvss_score:
            attributes += [
                {"key": "CVSS3_VECTOR", "value": CVSS_VECTORS[self.severity]},
                {"key": "CVSS3_SCORE", "value": self.cvss_score},
            ]
        return {"name": self.name, "uri": self.uri, "severity": self.severity, "attributes": attributes}


_catalogues: dict[tuple[str, str], list[DemoFinding]] = {}


def _catalogue(family: str, severity: str, size: int) -> list[DemoFinding]:
    """The first ``max(size, CATALOGUE_SIZE)`` entries: the same ones whatever was asked before."""
    wanted = max(size, CATALOGUE_SIZE)
    entries = _catalogues.setdefault((family, severity), [])
    block = (sorted(PACKAGES).index(family) * len(SEVERITIES) + SEVERITIES.index(severity) + 1) * 1000
    while len(entries) < wanted:
        number = len(entries)
        rng = random.Random(f"{family}/{severity}/{number}")
        low, high = CVSS_SCORES.get(severity, (0.0, 0.0))
        entries.append(
            DemoFinding(
                name=f"CVE-{rng.randint(*CVE_YEARS)}-{block + number}",
                severity=severity,
                package_name=rng.choice(PACKAGES[family]),
                package_version=f"{rng.randint(0, 3)}.{rng.randint(0, 20)}.{rng.randint(0, 15)}",
                cvss_score=f"{rng.uniform(low, high):.1f}" if severity in CVSS_SCORES else "",
            )
        )
    return entries[:wanted]


def demo_findings(family: str, digest: str, counts: Mapping[str, int]) -> tuple[DemoFinding, ...]:
    """``counts[severity]`` distinct findings of each severity, in severity order."""
    rng = random.Random(digest)
    return tuple(
        finding
        for severity in SEVERITIES
        if counts.get(severity)
        for finding in rng.sample(_catalogue(family, severity, counts[severity]), counts[severity])
    )
