"""Debian's Chromium for the tests that look as a person would: installed when missing (as root with
apt-get, as in CI), driven by Playwright pointed at it (Playwright's own browser download has no
network here), the folder their screenshots are saved in, and an app served over HTTP for it."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest

from tests.conftest import REPO_ROOT

if TYPE_CHECKING:
    from fastapi import FastAPI
    from playwright.sync_api import Browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(os.environ.get("ECR_REPORT_TEST_ARTIFACTS", REPO_ROOT / "test-artifacts"))
"""Screenshots (git-ignored)."""


def unavailable(reason: str) -> NoReturn:
    """Skip where a prerequisite cannot be had here; in CI that is a failure, never a silent skip."""
    if os.environ.get("CI"):
        pytest.fail(f"test prerequisite missing in CI: {reason}")
    pytest.skip(reason)


def ensure_chromium() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        unavailable(f"{CHROMIUM} is missing and only root can install Debian's chromium package")
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        done = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            unavailable(
                f"{' '.join(command)} failed, so Debian's chromium cannot be had: {done.stderr[-500:]}"
            )
    return CHROMIUM


@contextmanager
def chromium() -> Iterator[Browser]:
    """Headless Chromium for the length of a ``with`` block."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package is not installed (it is in the dev extra)")
    executable = ensure_chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """``app`` served by uvicorn, as the api-server serves a plugin's app; yields its base URL."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{server.config.port}/"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def served_lake_page(endpoint_url: str, bucket: str, prefix: str, region: str) -> Iterator[str]:
    """The plugin's page over the emulator's ``bucket``, through a connection of its own."""
    from ecr_provider.plugins.ecr_page import LakeSettings, create_app

    connection = json.dumps(
        {"conn_type": "aws", "extra": {"endpoint_url": endpoint_url, "region_name": region}}
    )
    settings = LakeSettings.from_config(
        json.dumps({"report_bucket": bucket, "report_prefix": prefix, "aws_conn_id": "ecr_page_lake"})
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW_CONN_ECR_PAGE_LAKE", connection)
        with served(create_app(settings=lambda: settings)) as url:
            yield url
