"""What a run holds for a whole registry lives in temporary SQLite files, in the order the reports need."""

from __future__ import annotations

import random
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from ecr_provider.aws import inspector
from ecr_provider.aws.inspector import FindingSpill, ImageSpill, image_tags_spill, ordered_items
from ecr_provider.core.findings import Finding, finding_order
from ecr_provider.core.records import SEVERITIES

DIGESTS = ["sha256:" + c * 64 for c in "0123456789abcdef"]
NAMES = ["team-a/api", "team-a/web", "team-b/api", "zeta", "équipe/app", "team-a/api-v2"]


def test_an_image_spill_is_a_mapping_iterated_in_key_order_across_batches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(inspector, "SPILL_BATCH", 7)
    rng = random.Random(5)
    entries = {(name, digest): tuple(rng.sample(["v1", "v2", "latest", "prod"], rng.randint(0, 2)))
               for name in NAMES for digest in DIGESTS}  # fmt: skip
    spill = image_tags_spill()
    shuffled = list(entries.items())
    rng.shuffle(shuffled)
    spill.update(shuffled[:40])
    spill.update(shuffled[40:])

    assert len(spill) == len(entries) == 96
    assert list(spill.ordered_items()) == sorted(entries.items())
    assert list(spill) == sorted(entries)
    assert spill == entries
    assert spill[("zeta", DIGESTS[3])] == entries[("zeta", DIGESTS[3])]
    assert ("zeta", "sha256:" + "9" * 63) not in spill
    with pytest.raises(KeyError):
        spill[("nowhere", DIGESTS[0])]
    spill.update([(("zeta", DIGESTS[3]), ("replaced",))])
    assert spill[("zeta", DIGESTS[3])] == ("replaced",)
    assert len(spill) == 96


def test_ordered_items_sorts_a_plain_mapping_and_reads_a_spill_as_it_is() -> None:
    plain = {("b", DIGESTS[0]): ("x",), ("a", DIGESTS[1]): (), ("a", DIGESTS[0]): ("y",)}
    spill = image_tags_spill()
    spill.update(plain.items())
    expected = [(("a", DIGESTS[0]), ("y",)), (("a", DIGESTS[1]), ()), (("b", DIGESTS[0]), ("x",))]
    assert list(ordered_items(plain)) == expected
    assert list(ordered_items(spill)) == expected


def test_an_image_spill_answers_many_threads_at_once() -> None:
    spill: ImageSpill[int] = ImageSpill(str, int)
    spill.update(((NAMES[n % len(NAMES)], f"sha256:{n:064x}"), n) for n in range(3_000))
    with ThreadPoolExecutor(8) as pool:
        found = list(pool.map(lambda n: spill[(NAMES[n % len(NAMES)], f"sha256:{n:064x}")], range(3_000)))
    assert found == list(range(3_000))


def finding(rng: random.Random, number: int) -> Finding:
    moment = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randint(0, 500_000))
    return Finding(
        account_id="111122223333",
        region="eu-west-1",
        repository_name=rng.choice(NAMES),
        image_digest=rng.choice(DIGESTS[:3]),
        image_tags=tuple(rng.sample(["v1", "prod", "ünïcode"], rng.randint(0, 2))),
        finding_id=rng.choice(["", f"arn:aws:inspector2:eu-west-1:111122223333:finding/{number % 5}"]),
        name=rng.choice(["CVE-2026-0001", "CVE-2026-0002", "GHSA-xxxx", "cve-2026-0001"]),
        severity=rng.choice([*SEVERITIES, "UNKNOWN"]),
        cvss_score=rng.choice([None, Decimal("7.5"), Decimal("10.0"), Decimal("0.1")]),
        package_name=rng.choice(["openssl", "zlib", "", "libc, libssl"]),
        installed_version=rng.choice(["1.0", "1:2.3-4", ""]),
        fixed_version=rng.choice(["", "1.1"]),
        status=rng.choice(["ACTIVE", "SUPPRESSED", ""]),
        first_observed_at=rng.choice([None, moment, moment.astimezone(timezone(timedelta(hours=2)))]),
        last_observed_at=rng.choice([None, moment]),
        reference_url=rng.choice(["", "https://nvd.nist.gov/vuln/detail/CVE-2026-0001"]),
    )


def test_a_finding_spill_gives_back_every_finding_as_a_stable_sort_orders_them() -> None:
    rng = random.Random(11)
    findings = [finding(rng, number) for number in range(2_500)]
    spill = FindingSpill()
    spill.add(findings)

    read = list(spill.in_report_order())
    spill.close()

    # Findings whose keys tie differ in other fields: equality shows they kept the order they came in.
    expected = sorted(findings, key=finding_order)
    assert read == expected
    assert len({finding_order(f) for f in findings}) < len(findings)
    offsets = [(f.first_observed_at.utcoffset() if f.first_observed_at else None) for f in read]
    assert offsets == [(f.first_observed_at.utcoffset() if f.first_observed_at else None) for f in expected]


def test_basic_findings_beyond_a_page_are_sorted_in_a_spill_read_by_the_writers_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An image with more findings than a page is sorted on disk, not in the reader's memory; the
    report's order is the same either way, and the spill is closed once it has been read."""
    monkeypatch.setattr(inspector, "BASIC_FINDINGS_PAGE_SIZE", 3)
    spills: list[FindingSpill] = []

    class Recorded(FindingSpill):
        def __init__(self, *, cache_kib: int | None = None) -> None:
            super().__init__(cache_kib=cache_kib)
            spills.append(self)

    monkeypatch.setattr(inspector, "FindingSpill", Recorded)
    client = boto3.client("ecr", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    rng = random.Random(3)
    many = [(f"CVE-2026-{n:04d}", rng.choice(SEVERITIES)) for n in range(7)]
    few = [("CVE-2026-0100", "LOW"), ("CVE-2026-0050", "HIGH")]
    with Stubber(client) as stubber:
        for start, token, next_token in ((0, None, "p2"), (3, "p2", "p3"), (6, "p3", None)):
            stubber.add_response(
                "describe_image_scan_findings",
                scan_page(NAMES[0], DIGESTS[0], many[start : start + 3], next_token),
                {"repositoryName": NAMES[0], "imageId": {"imageDigest": DIGESTS[0]}, "maxResults": 3}
                | ({"nextToken": token} if token else {}),
            )
        stubber.add_response(
            "describe_image_scan_findings",
            scan_page(NAMES[1], DIGESTS[1], few, None),
            {"repositoryName": NAMES[1], "imageId": {"imageDigest": DIGESTS[1]}, "maxResults": 3},
        )
        reader = inspector.RegistryFindings("BASIC", client, None, "111122223333", "us-east-1", 30, 1)

        read = list(reader.read({(NAMES[1], DIGESTS[1]): ("v1",), (NAMES[0], DIGESTS[0]): ()}))

    assert [(f.repository_name, f.name, f.severity) for f in read] == [
        *sorted(((NAMES[0], n, s) for n, s in many), key=lambda f: (SEVERITIES.index(f[2]), f[1])),
        (NAMES[1], "CVE-2026-0050", "HIGH"),
        (NAMES[1], "CVE-2026-0100", "LOW"),
    ]
    assert len(spills) == 1  # the image of seven findings, not the one of two
    with pytest.raises(sqlite3.ProgrammingError):
        list(spills[0].in_report_order())  # closed


def scan_page(
    repository: str, digest: str, findings: list[tuple[str, str]], next_token: str | None
) -> dict[str, Any]:
    page: dict[str, Any] = {
        "registryId": "111122223333",
        "repositoryName": repository,
        "imageId": {"imageDigest": digest},
        "imageScanStatus": {"status": "COMPLETE"},
        "imageScanFindings": {
            "imageScanCompletedAt": datetime(2026, 11, 25, tzinfo=UTC),
            "findings": [{"name": name, "severity": severity} for name, severity in findings],
        },
    }
    if next_token is not None:
        page["nextToken"] = next_token
    return page


@pytest.mark.parametrize(
    ("readers", "page_size"),
    [(1, 1000), (2, 500), (3, 333), (8, 125), (10, 100), (32, 100), (64, 100)],
)
def test_the_readers_share_one_large_page_of_basic_findings_down_to_a_floor(
    readers: int, page_size: int
) -> None:
    assert inspector.basic_page_size(readers) == page_size


def test_a_reader_among_many_asks_for_its_share_of_a_page_and_spills_beyond_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """32 readers: each asks for 100 findings a call, and an image with more is sorted in a spill."""
    spills: list[FindingSpill] = []

    class Recorded(FindingSpill):
        def __init__(self, *, cache_kib: int | None = None) -> None:
            super().__init__(cache_kib=cache_kib)
            spills.append(self)

    monkeypatch.setattr(inspector, "FindingSpill", Recorded)
    client = boto3.client("ecr", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    found = [(f"CVE-2026-{n:04d}", SEVERITIES[n % len(SEVERITIES)]) for n in range(150)]
    with Stubber(client) as stubber:
        for start, token, next_token in ((0, None, "p2"), (100, "p2", None)):
            stubber.add_response(
                "describe_image_scan_findings",
                scan_page(NAMES[0], DIGESTS[0], found[start : start + 100], next_token),
                {"repositoryName": NAMES[0], "imageId": {"imageDigest": DIGESTS[0]}, "maxResults": 100}
                | ({"nextToken": token} if token else {}),
            )
        reader = inspector.RegistryFindings("BASIC", client, None, "111122223333", "us-east-1", 30, 32)

        read = list(reader.read({(NAMES[0], DIGESTS[0]): ()}))
        stubber.assert_no_pending_responses()

    assert len(read) == 150
    assert len(spills) == 1
