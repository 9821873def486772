"""Extraction benchmark: API calls against the minimum, wall time, images/s, CPU per image, peak RSS.

Each scenario starts the emulator in its own process with a synthetic registry and a per-request
latency (added in the emulator, so every client pays it equally), then runs the extraction in a
fresh child process per concurrency level so that peak RSS and CPU are the extraction's alone. The
emulator answers each read once and then replays it, so its own CPU does not crowd the client's
out of two cores; the CPU per image is the child's user and system time over the extraction (every
thread of it), divided by the images read. The child imports neither the emulator nor moto, and
hashes the reports a block at a time, so its peak RSS is the extraction's too.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3

from ecr_provider.aws.ecr import PAGE_SIZE, ecr_client_config
from ecr_provider.aws.manifests import InMemoryManifestCache
from ecr_provider.aws.registry import RegistryClients, open_registry
from ecr_provider.core.columns import FINDINGS_REPORT
from ecr_provider.core.csv_format import read_canonical
from ecr_provider.core.options import RegistryOptions
from ecr_provider.core.settings import DEFAULT_MAX_CONCURRENCY
from ecr_provider.report_files import write_registry_report

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
REGION = "us-east-1"


@dataclass(frozen=True)
class Scenario:
    name: str
    repositories: int
    images: int
    latency_ms: int
    throttle_rate: float
    concurrencies: tuple[int, ...]
    retry_mode: str = "adaptive"
    findings: tuple[int | None, ...] = (None,)
    """Runs per concurrency: without the image_findings report (None) or with that of the images
    pushed or pulled within so many days."""


SCENARIOS = (
    Scenario("300 repositories, 6,000 images, 20 ms", 300, 6_000, 20, 0.0, (1, DEFAULT_MAX_CONCURRENCY)),
    Scenario(
        "same, 10% of calls throttled, adaptive retries", 300, 6_000, 20, 0.1, (DEFAULT_MAX_CONCURRENCY,)
    ),
    Scenario(
        "same, 10% of calls throttled, standard retries",
        300,
        6_000,
        20,
        0.1,
        (DEFAULT_MAX_CONCURRENCY,),
        "standard",
    ),
    Scenario(
        "same, with the image_findings report (images pushed or pulled within 30 days)",
        300,
        6_000,
        20,
        0.0,
        (1, DEFAULT_MAX_CONCURRENCY),
        findings=(30,),
    ),
    Scenario(
        "2,000 repositories, 100,000 images, 20 ms", 2_000, 100_000, 20, 0.0, (1, DEFAULT_MAX_CONCURRENCY)
    ),
    Scenario(
        "one registry of 1,000,000 images in 2,000 repositories, 20 ms, without and with the "
        "image_findings report (images pushed or pulled within 7 days)",
        2_000,
        1_000_000,
        20,
        0.0,
        (DEFAULT_MAX_CONCURRENCY,),
        findings=(None, 7),
    ),
)
QUICK = 4
"""The first scenarios, all of 300 repositories."""


def minimum_calls(repositories: int, images: int) -> dict[str, int]:
    """What a perfect reader needs: full pages, one DescribeImages page per 1,000 images, two policy
    reads per repository (lifecycle; who may pull), the registry's scan type and policy once, and one
    look each at ECS, Lambda and EKS (nothing runs; ListClusters is ECS's and EKS's)."""
    from emulator.synthetic_registry import image_counts

    return {
        "DescribeImages": sum(
            max(1, math.ceil(count / PAGE_SIZE)) for count in image_counts(repositories, images)
        ),
        "DescribeRepositories": max(1, math.ceil(repositories / PAGE_SIZE)),
        "GetLifecyclePolicy": repositories,
        "GetRepositoryPolicy": repositories,
        "GetRegistryPolicy": 1,
        "GetRegistryScanningConfiguration": 1,
        "ListClusters": 2,
        "ListFunctions": 1,
    }


def _no_pricing() -> Any:
    raise AssertionError("the benchmark prices storage with an override; the Price List API is not asked")


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def extract(
    endpoint_url: str, account_id: str, concurrency: int, findings_max_age_days: int | None
) -> dict[str, Any]:
    """Run in a child process: one extraction, its numbers as JSON on stdout. CPU is counted from
    the clients' creation to the last report line, the imports of the process left out. The
    emulator's dummy keys come in the environment."""
    cpu_before = _cpu_seconds()
    config = ecr_client_config(concurrency)
    clients = RegistryClients.connect(
        lambda service: boto3.client(service, endpoint_url=endpoint_url, region_name=REGION, config=config),
        REGION,
        account_id,
    )
    options = RegistryOptions(
        read_manifests="never",
        max_concurrency=concurrency,
        findings_max_age_days=findings_max_age_days,
        price_per_gb_month=Decimal("0.10"),
        max_requests_per_second=None,  # the reader's own speed; the ceiling is the rate limit's test
    )
    registry = open_registry(
        clients,
        options,
        as_of=AS_OF,
        manifest_cache=InMemoryManifestCache(),
        pricing_client=_no_pricing,
        price_cache={},
    )
    with tempfile.TemporaryDirectory() as workdir:
        started = time.perf_counter()
        report = write_registry_report([registry], Path(workdir))
        seconds = time.perf_counter() - started
        cpu_seconds = _cpu_seconds() - cpu_before
        digests = {name: _sha256(path) for name, path in report.files.items()}
        findings_images = 0
        if FINDINGS_REPORT in report.files:
            with report.files[FINDINGS_REPORT].open(encoding="utf-8", newline="") as handle:
                findings_images = len(
                    {(row["repositoryName"], row["imageDigest"]) for row in read_canonical(handle)}
                )
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "images": report.tally.images,
        "repositories": report.tally.repositories,
        "calls": registry.reader.calls.as_dict(),
        "findings": report.findings,
        "findings_images": findings_images,
        "peak_rss_mb": _peak_rss_mb(),
        "report_sha256": digests,
    }


def _peak_rss_mb() -> float:
    """The process's own high-water mark: ``ru_maxrss`` keeps that of the parent it was spawned from
    (the benchmark, moto imported), a floor of about 72 MB under every child's figure."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _sha256(path: Path) -> str:
    """A block at a time: the 1,000,000-image report read whole would be the child's peak RSS."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def emulator_options(scenario: Scenario) -> list[str]:
    return [
        "--synthetic",
        f"{scenario.repositories}:{scenario.images}",
        "--as-of",
        AS_OF.isoformat(),
        "--latency-ms",
        str(scenario.latency_ms),
        "--throttle-rate",
        str(scenario.throttle_rate),
        "--replay-reads",
    ]


def run_child(
    endpoint_url: str, concurrency: int, scenario: Scenario, findings_max_age_days: int | None
) -> dict[str, Any]:
    from emulator.server import ACCOUNT_ID, DUMMY_CREDENTIALS

    age = "" if findings_max_age_days is None else str(findings_max_age_days)
    command = [
        sys.executable,
        "-m",
        "benchmarks.extraction",
        "--child",
        endpoint_url,
        ACCOUNT_ID,
        str(concurrency),
        age,
    ]
    environment = {
        **os.environ,
        **{name.upper(): value for name, value in DUMMY_CREDENTIALS.items()},
        "AWS_RETRY_MODE": scenario.retry_mode,
    }
    result = subprocess.run(command, capture_output=True, text=True, check=True, env=environment)
    outcome: dict[str, Any] = json.loads(result.stdout)
    return outcome


def report(scenario: Scenario, concurrency: int, outcome: dict[str, Any]) -> None:
    minimum = minimum_calls(scenario.repositories, scenario.images)
    calls = outcome["calls"]
    findings = "" if outcome["findings"] is None else ", with image_findings"
    print(
        f"  concurrency {concurrency:>2}{findings}: {outcome['seconds']:7.2f} s, "
        f"{outcome['images'] / outcome['seconds']:9.0f} images/s, "
        f"CPU {outcome['cpu_seconds'] / outcome['images'] * 1e6:5.0f} us/image, "
        f"peak RSS {outcome['peak_rss_mb']:6.1f} MB"
    )
    for operation, least in minimum.items():
        counts = calls.get(operation, {"calls": 0, "retries": 0, "throttled": 0})
        verdict = "= minimum" if counts["calls"] == least else f"minimum {least}"
        retried = (
            f", {counts['throttled']} throttled, {counts['retries']} retried" if counts["throttled"] else ""
        )
        print(f"      {operation:<21} {counts['calls']:>6} calls ({verdict}){retried}")
    if outcome["findings"] is not None:
        scans = calls.get("DescribeImageScanFindings", {"calls": 0})["calls"]
        print(
            f"      image_findings: {outcome['findings']} findings of {outcome['findings_images']} images, "
            f"DescribeImageScanFindings {scans} calls (minimum {outcome['findings_images']})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.extraction")
    parser.add_argument(
        "--child", nargs=4, metavar=("ENDPOINT", "ACCOUNT", "CONCURRENCY", "AGE"), help=argparse.SUPPRESS
    )
    parser.add_argument("--quick", action="store_true", help="only the 300-repository scenarios")
    parser.add_argument("--select", metavar="TEXT", help="only the scenarios whose name contains TEXT")
    args = parser.parse_args()
    if args.child:
        endpoint_url, account_id, concurrency, age = args.child
        print(json.dumps(extract(endpoint_url, account_id, int(concurrency), int(age) if age else None)))
        return
    from emulator.server import emulator_process

    baseline: dict[str, str] | None = None
    scenarios = SCENARIOS[:QUICK] if args.quick else SCENARIOS
    for scenario in [s for s in scenarios if args.select is None or args.select in s.name]:
        with emulator_process(*emulator_options(scenario)) as endpoint_url:
            print(f"\n{scenario.name}")
            widest = max(scenario.findings, key=lambda age: -1 if age is None else age)
            warm_up = run_child(endpoint_url, DEFAULT_MAX_CONCURRENCY, scenario, widest)
            print(
                f"  (first read, moto computing each answer: {warm_up['seconds']:.2f} s; replayed from here)"
            )
            timings = {}
            for concurrency in scenario.concurrencies:
                for age in scenario.findings:
                    outcome = run_child(endpoint_url, concurrency, scenario, age)
                    report(scenario, concurrency, outcome)
                    if scenario.repositories == 300:
                        baseline = baseline or outcome["report_sha256"]
                        same = (
                            "identical to"
                            if all(outcome["report_sha256"][name] == sha for name, sha in baseline.items())
                            else "DIFFERENT from"
                        )
                        print(f"      reports {same} the unthrottled run's")
                timings[concurrency] = outcome["seconds"]
            if 1 in timings and len(timings) > 1:
                speed_up = timings[1] / timings[DEFAULT_MAX_CONCURRENCY]
                print(
                    f"  speed-up of concurrency {DEFAULT_MAX_CONCURRENCY} over 1: {speed_up:.1f}x "
                    f"on this machine ({os.cpu_count()} CPUs)"
                )


if __name__ == "__main__":
    main()
