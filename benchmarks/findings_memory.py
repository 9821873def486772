"""Findings memory benchmark: peak RSS of reading basic-scan findings, 40 images of 10,000 findings each,
at 1 and 32 readers.

The emulator runs in a process of its own with the images seeded in moto's backend; each concurrency
level reads them in a fresh child process (no emulator, no moto imported) that writes the
image_findings rows to a temporary file, as ``ecr-report --include-findings`` does, and prints its
peak RSS, time and the rows' SHA-256 (the same at every level: the order is the report's).

Run ``python -m benchmarks.findings_memory``; ``--findings-per-image`` and ``--readers`` (repeatable)
change the case, to show what the peak grows with.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3

from benchmarks.extraction import _peak_rss_mb
from ecr_provider.aws.ecr import ecr_client_config
from ecr_provider.aws.inspector import BASIC, RegistryFindings
from ecr_provider.core.columns import FINDING_COLUMNS
from ecr_provider.core.csv_format import ReportCsvWriter
from ecr_provider.core.findings import finding_row

REGION = "us-east-1"
AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
IMAGES = 40
FINDINGS_PER_IMAGE = 10_000
CONCURRENCIES = (1, 32)
READY = "FINDINGS_EMULATOR_READY"
REPOSITORY = "findings/heavy"
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL")


def _findings(count: int) -> list[dict[str, Any]]:
    """One image's findings, shared by every image (moto keeps references), in no report order."""
    return [
        {
            "name": f"CVE-2026-{(number * 7919) % 100_000:05d}",
            "severity": SEVERITIES[number % len(SEVERITIES)],
            "uri": f"https://security-tracker.example/CVE-2026-{number:05d}",
            "description": f"A vulnerability in package-{number % 97} found by a basic scan. " * 3,
            "attributes": [
                {"key": "package_name", "value": f"package-{number % 97}"},
                {"key": "package_version", "value": f"1.{number % 31}.{number}"},
                {"key": "CVSS2_SCORE", "value": f"{number % 10}.{number % 7}"},
            ],
        }
        for number in range(count)
    ]


def _seed(account_id: str, per_image: int) -> list[tuple[str, str]]:
    """The images, in one repository, each with every finding of :func:`_findings`."""
    from emulator.scanned_images import add_scanned_image

    findings = _findings(per_image)
    pushed_at = AS_OF - timedelta(days=1)
    return [
        (
            REPOSITORY,
            add_scanned_image(account_id, REGION, REPOSITORY, f"v{n}", findings, pushed_at=pushed_at),
        )
        for n in range(IMAGES)
    ]


def serve(per_image: int) -> None:
    """The emulator with the images, until SIGTERM; prints the endpoint and the images' keys."""
    from emulator.server import ACCOUNT_ID, Emulator

    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stopping.set())
    with Emulator() as emulator:
        keys = _seed(ACCOUNT_ID, per_image)
        print(READY, emulator.endpoint_url, ACCOUNT_ID, json.dumps(keys), flush=True)
        stopping.wait()


def read(endpoint_url: str, account_id: str, keys: list[list[str]], concurrency: int) -> dict[str, Any]:
    """In a child process: every image's findings written as the report writes them."""
    client = boto3.client(
        "ecr", endpoint_url=endpoint_url, region_name=REGION, config=ecr_client_config(concurrency)
    )
    findings = RegistryFindings(BASIC, client, None, account_id, REGION, 30, concurrency)
    images = {(name, digest): ("v",) for name, digest in keys}
    rss_before = _peak_rss_mb()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as workdir:
        path = Path(workdir) / "image_findings.csv"
        with path.open("w", encoding="utf-8", newline="") as out:
            writer = ReportCsvWriter(out, FINDING_COLUMNS)
            for finding in findings.read(images):
                writer.write(finding_row(finding, AS_OF))
        with path.open("rb") as handle:
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
    return {
        "readers": concurrency,
        "findings": writer.rows_written,
        "seconds": round(time.perf_counter() - started, 1),
        "peak_rss_mb_before_reading": round(rss_before, 1),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "sha256": digest,
    }


@contextmanager
def _served(per_image: int) -> Iterator[list[str]]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchmarks.findings_memory",
            "--serve",
            "--findings-per-image",
            str(per_image),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith(READY):
                yield line.split(maxsplit=3)[1:]
                break
        else:
            raise RuntimeError(f"the emulator exited with code {process.wait()} before it was ready")
    finally:
        process.terminate()
        process.wait(timeout=60)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.findings_memory")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--read", nargs=4, metavar=("URL", "ACCOUNT", "KEYS", "READERS"), help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--findings-per-image", type=int, default=FINDINGS_PER_IMAGE, help="default %(default)s"
    )
    parser.add_argument(
        "--readers",
        type=int,
        action="append",
        help=f"repeatable; default {' and '.join(map(str, CONCURRENCIES))}",
    )
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.findings_per_image)
        return
    if args.read:
        url, account, keys, readers = args.read
        print(json.dumps(read(url, account, json.loads(keys), int(readers))))
        return
    environ = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    print(f"{IMAGES} images x {args.findings_per_image:,} basic-scan findings")
    with _served(args.findings_per_image) as (url, account, keys):
        for readers in args.readers or CONCURRENCIES:
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "benchmarks.findings_memory",
                    "--read",
                    url,
                    account,
                    keys,
                    str(readers),
                ],
                env=environ,
                capture_output=True,
                text=True,
                check=True,
            )
            print(done.stdout.strip(), flush=True)


if __name__ == "__main__":
    main()
