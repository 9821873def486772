"""moto in server mode on loopback, so the real boto3 wire protocol is exercised without an AWS account.

The server runs in this process because the ECR gap filling writes to moto's in-memory backends. It is
built from the same moto pieces as ``moto.server.ThreadedMotoServer`` (which has no hook for it) so a
per-request latency can be injected to make concurrency measurable.

Run ``python -m emulator.server [--port P] [--seed-demo] [--as-of ISO] [--region R]``:
it prints ``EMULATOR_READY <endpoint_url>`` on stdout once it accepts requests and serves until
SIGTERM or SIGINT.

Faults for tests: ``Emulator.inject_faults({"ecr:DescribeImages": ["throttle", "503"]})`` answers the
next calls of an operation with the listed faults, one each, then lets calls through (see ``FAULTS``).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from moto.moto_api._internal.models import moto_api_backend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from emulator import (
    moto_athena_gaps,
    moto_ecr_gaps,
    moto_ecs_gaps,
    moto_eks_gaps,
    moto_inspector_gaps,
    moto_lambda_gaps,
)
from emulator.clients import ACCOUNT_ID, DUMMY_CREDENTIALS, client
from emulator.demo_registry import seed_demo_registry
from emulator.faults import FaultInjector, delayed, json_error, replaying_reads, throttled
from emulator.synthetic_registry import seed_synthetic_registry

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping, Sequence
    from types import FrameType, TracebackType
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

    from werkzeug.serving import BaseWSGIServer

__all__ = [
    "ACCOUNT_ID",
    "DUMMY_CREDENTIALS",
    "LOOPBACK",
    "READY_MARKER",
    "Emulator",
    "client",
    "emulator_process",
    "main",
    "use_dummy_credentials",
]
"""What callers import from here; the account and the clients are re-exported from :mod:`emulator.clients`."""

LOOPBACK = "127.0.0.1"
READY_MARKER = "EMULATOR_READY"


def use_dummy_credentials() -> None:
    """Make every boto3 client of this process sign with moto's dummy keys, never a real identity."""
    for name, value in DUMMY_CREDENTIALS.items():
        os.environ[name.upper()] = value


class _KeepAliveRequestHandler(MotoRequestHandler):
    """HTTP/1.1 keeps connections open as AWS endpoints do; with HTTP/1.0 every request pays a new
    TCP connection and server thread, which made the emulator, not the client, the bottleneck."""

    protocol_version = "HTTP/1.1"


class _QuietRequestHandler(_KeepAliveRequestHandler):
    """Drops werkzeug's access log line, which would otherwise go to stderr once per request."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return


_UNEMULATED = frozenset({"AWSPriceListService"})
"""Services moto does not have; they answer as if the caller lacked the permission."""


def _unemulated(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """A clear, non-retryable 400 instead of moto's 500 and traceback for a service it lacks."""
    return json_error(
        start_response, "400 Bad Request", "AccessDeniedException", "the local emulator has no such service"
    )


class _TargetCachedDispatcher(DomainDispatcherApplication):
    """moto's dispatcher re-derives the service of every request under one global lock, which caps
    the emulator at a few hundred requests a second. A JSON-protocol request names its service in
    ``X-Amz-Target``, so the app found for a target prefix is remembered and the lock is skipped."""

    def __init__(self) -> None:
        super().__init__(create_backend_app)
        self._by_target: dict[str, Any] = {}

    def get_application(self, environ: dict[str, Any]) -> Any:
        target = environ.get("HTTP_X_AMZ_TARGET", "").split(".", 1)[0]
        if not target:
            return super().get_application(environ)
        if target in _UNEMULATED:
            return _unemulated
        app = self._by_target.get(target)
        if app is None:
            app = self._by_target[target] = super().get_application(environ)
        return app


class Emulator:
    """A moto server on a loopback port (a free one by default) for the lifetime of a ``with`` block.

    All emulators of a process share moto's backends, so starting one empties them: each starts
    as a fresh, empty AWS.
    """

    def __init__(
        self,
        port: int = 0,
        *,
        latency_ms: int = 0,
        throttle_rate: float = 0.0,
        replay_reads: bool = False,
        log_requests: bool = False,
        stall_seconds: float = 2.0,
    ) -> None:
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be between 0 (any free port) and 65535, got {port!r}")
        if latency_ms < 0:
            raise ValueError(f"latency_ms must be >= 0, got {latency_ms!r}")
        if not 0 <= throttle_rate < 1:
            raise ValueError(f"throttle_rate must be in [0, 1), got {throttle_rate!r}")
        if not stall_seconds > 0:
            raise ValueError(f"stall_seconds must be > 0, got {stall_seconds!r}")
        self._stall_seconds = stall_seconds
        self._faults: FaultInjector | None = None
        self._throttle_rate = throttle_rate
        self._replay_reads = replay_reads
        self._port = port
        self._latency_seconds = latency_ms / 1000
        self._handler = _KeepAliveRequestHandler if log_requests else _QuietRequestHandler
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not running; call start() or use it in a with block")
        return f"http://{self._server.host}:{self._server.port}"

    def inject_faults(self, plan: Mapping[str, Sequence[str]]) -> None:
        """Replace the fault plan: operation -> faults for its next calls, one each (see ``FAULTS``).
        An empty plan stops injecting; ``faults_injected`` starts over."""
        if self._faults is None:
            raise RuntimeError("the emulator is not running; call start() or use it in a with block")
        self._faults.replace_plan(plan)

    @property
    def faults_injected(self) -> list[tuple[str, str]]:
        """(operation, fault) in the order they were answered since the last ``inject_faults``."""
        return self._faults.injected() if self._faults else []

    def start(self) -> Emulator:
        if self._server is not None:
            raise RuntimeError(f"the emulator is already running at {self.endpoint_url}")
        use_dummy_credentials()
        moto_ecr_gaps.install()
        moto_athena_gaps.install()
        moto_ecs_gaps.install()
        moto_lambda_gaps.install()
        moto_inspector_gaps.install()
        moto_eks_gaps.install()
        moto_api_backend.reset()
        app: WSGIApplication = _TargetCachedDispatcher()
        if self._replay_reads:
            app = replaying_reads(app)
        if self._throttle_rate:
            app = throttled(app, self._throttle_rate, seed=1)
        if self._latency_seconds:
            app = delayed(app, self._latency_seconds)
        self._faults = FaultInjector(app, self._stall_seconds)
        app = self._faults
        self._server = make_server(LOOPBACK, self._port, app, threaded=True, request_handler=self._handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        self._server = None
        self._thread = None
        self._faults = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


@contextmanager
def emulator_process(*arguments: str) -> Iterator[str]:
    """This module's command line in a child process (``arguments`` are its options), for a client
    that must talk to the emulator over HTTP only, as to AWS; yields its endpoint URL."""
    command = [sys.executable, "-m", __name__, *arguments]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith(READY_MARKER):
                yield line.split()[1]
                break
        else:
            raise RuntimeError(f"the emulator exited with code {process.wait()} before it was ready")
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a registry of a million images takes long to let go of
            process.kill()
            process.wait()


def _aware_datetime(text: str) -> datetime:
    """A command-line time without an offset is taken as UTC, the unit every report uses."""
    value = datetime.fromisoformat(text)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m emulator.server", description="Local AWS emulator (moto)."
    )
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1; 0 picks a free one")
    parser.add_argument("--region", default="us-east-1", help="region the demo registry is seeded in")
    parser.add_argument("--seed-demo", action="store_true", help="create the demo ECR registry")
    parser.add_argument(
        "--as-of",
        type=_aware_datetime,
        default=None,
        help="ISO time the demo registry's ages are relative to (default: now, UTC)",
    )
    parser.add_argument("--latency-ms", type=int, default=0, help="delay added to every request")
    parser.add_argument(
        "--throttle-rate",
        type=float,
        default=0.0,
        help="share of ECR requests answered with ThrottlingException",
    )
    parser.add_argument(
        "--replay-reads",
        action="store_true",
        help="answer repeated ECR reads from memory (benchmarks of a static registry)",
    )
    parser.add_argument(
        "--synthetic",
        metavar="[ACCOUNT:REGION:]REPOSITORIES:IMAGES",
        action="append",
        default=[],
        help="seed a synthetic registry of this size (benchmarks), in the emulator's own account and "
        "--region unless named; repeatable, for an organisation",
    )
    return parser


def _synthetic(spec: str, region: str) -> tuple[str, str, int, int]:
    """``[ACCOUNT:REGION:]REPOSITORIES:IMAGES``."""
    parts = spec.split(":")
    if len(parts) not in (2, 4) or not all(part.isdigit() for part in parts[-2:]):
        raise SystemExit(f"--synthetic {spec!r} is not [ACCOUNT:REGION:]REPOSITORIES:IMAGES")
    account, where = (parts[0], parts[1]) if len(parts) == 4 else (ACCOUNT_ID, region)
    return account, where, int(parts[-2]), int(parts[-1])


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    with Emulator(
        args.port,
        latency_ms=args.latency_ms,
        throttle_rate=args.throttle_rate,
        replay_reads=args.replay_reads,
    ) as emulator:
        as_of = args.as_of or datetime.now(UTC).replace(microsecond=0)
        if args.seed_demo:
            registry = seed_demo_registry(emulator.endpoint_url, args.region, as_of)
            print(f"seeded demo registry: {registry.summary()}", file=sys.stderr, flush=True)
        for spec in args.synthetic:
            account, region, repositories, images = _synthetic(spec, args.region)
            synthetic = seed_synthetic_registry(
                account, region, repositories=repositories, images=images, as_of=as_of
            )
            print(
                f"seeded synthetic registry {account}/{region}: {synthetic.summary()}",
                file=sys.stderr,
                flush=True,
            )
        print(f"{READY_MARKER} {emulator.endpoint_url}", flush=True)
        stopping.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
