"""moto in server mode on loopback, so the real boto3 wire protocol is exercised without an AWS account.

The server runs in this process because the ECR gap filling writes to moto's in-memory backends. It is
built from the same moto pieces as ``moto.server.ThreadedMotoServer`` (which has no hook for it) so a
per-request latency can be injected to make concurrency measurable.

Run ``python -m ecr_provider.emulator.server [--port P] [--seed-demo] [--as-of ISO] [--region R]``:
it prints ``EMULATOR_READY <endpoint_url>`` on stdout once it accepts requests and serves until
SIGTERM or SIGINT.

Faults for tests: ``Emulator.inject_faults({"ecr:DescribeImages": ["throttle", "503"]})`` answers the
next calls of an operation with the listed faults, one each, then lets calls through (see ``FAULTS``).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn

import boto3
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.moto_api._internal.models import moto_api_backend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from ecr_provider.emulator import moto_athena_gaps, moto_ecr_gaps
from ecr_provider.emulator.synthetic_registry import seed_synthetic_registry

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping, Sequence
    from types import FrameType, TracebackType
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

    from werkzeug.serving import BaseWSGIServer

ACCOUNT_ID = DEFAULT_ACCOUNT_ID
LOOPBACK = "127.0.0.1"
READY_MARKER = "EMULATOR_READY"
DUMMY_CREDENTIALS = {
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
    "aws_session_token": "testing",
}


def use_dummy_credentials() -> None:
    """Make every boto3 client of this process sign with moto's dummy keys, never a real identity."""
    for name, value in DUMMY_CREDENTIALS.items():
        os.environ[name.upper()] = value


def client(service: str, endpoint_url: str, region: str) -> Any:
    """A boto3 client bound to the emulator, independent of the environment's credentials."""
    return boto3.client(service, endpoint_url=endpoint_url, region_name=region, **DUMMY_CREDENTIALS)


class _KeepAliveRequestHandler(MotoRequestHandler):
    """HTTP/1.1 keeps connections open as AWS endpoints do; with HTTP/1.0 every request pays a new
    TCP connection and server thread, which made the emulator, not the client, the bottleneck."""

    protocol_version = "HTTP/1.1"


class _QuietRequestHandler(_KeepAliveRequestHandler):
    """Drops werkzeug's access log line, which would otherwise go to stderr once per request."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return


def _delayed(app: WSGIApplication, seconds: float) -> WSGIApplication:
    def delayed_app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        time.sleep(seconds)
        return app(environ, start_response)

    return delayed_app


def _answer(start_response: StartResponse, status: str, body: bytes, content_type: str) -> list[bytes]:
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


def _json_error(start_response: StartResponse, status: str, code: str, message: str) -> list[bytes]:
    """An error as the JSON-protocol services (ECR, Glue, Athena, Pricing, ...) send it."""
    body = json.dumps({"__type": code, "message": message}).encode()
    return _answer(start_response, status, body, "application/x-amz-json-1.1")


def _throttled(app: WSGIApplication, rate: float, seed: int) -> WSGIApplication:
    """Answer a fixed share of ECR requests with ThrottlingException, as a busy ECR does."""
    rng = random.Random(seed)
    lock = threading.Lock()

    def throttled_app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("AmazonEC2ContainerRegistry"):
            with lock:
                throttle = rng.random() < rate
            if throttle:
                return _json_error(start_response, "400 Bad Request", "ThrottlingException", "Rate exceeded")
        return app(environ, start_response)

    return throttled_app


FAULTS = ("throttle", "500", "503", "reset", "timeout", "denied")
"""``throttle``: the service's throttling error; ``500``/``503``: a server error; ``reset``: the
connection is dropped without an answer; ``timeout``: the answer is held ``stall_seconds`` (set it
above the client's read timeout), the request is still carried out, as a slow AWS may; ``denied``:
the service's access-denied error. Operations are ``service:Operation`` as in IAM, for JSON-protocol
services (named by ``X-Amz-Target``: ECR, Glue, Athena, ...) and S3's object calls."""

_JSON_FAULTS = {
    "throttle": ("400 Bad Request", "ThrottlingException", "Rate exceeded"),
    "500": ("500 Internal Server Error", "InternalFailure", "Injected server error"),
    "503": ("503 Service Unavailable", "ServiceUnavailable", "Injected unavailability"),
    "denied": ("400 Bad Request", "AccessDeniedException", "User is not authorized to perform: {operation}"),
}
_S3_FAULTS = {
    "throttle": ("503 Slow Down", "SlowDown", "Please reduce your request rate."),
    "500": ("500 Internal Server Error", "InternalError", "Injected server error"),
    "503": ("503 Service Unavailable", "ServiceUnavailable", "Injected unavailability"),
    "denied": ("403 Forbidden", "AccessDenied", "User is not authorized to perform: {operation}"),
}
_SIGNING_SERVICE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")


def _s3_operation(environ: WSGIEnvironment) -> str:
    """Path-style S3 (the emulator's endpoint is an IP address): ``/bucket`` or ``/bucket/key``."""
    method, query = environ["REQUEST_METHOD"], environ.get("QUERY_STRING", "")
    has_key = "/" in environ.get("PATH_INFO", "").lstrip("/")
    if method == "PUT" and has_key and "HTTP_X_AMZ_COPY_SOURCE" not in environ and "uploadId" not in query:
        return "PutObject"
    if method == "GET" and has_key:
        return "GetObject"
    if method == "GET" and "list-type=2" in query:
        return "ListObjectsV2"
    if method == "POST" and "delete" in query.split("&"):
        return "DeleteObjects"
    if method == "DELETE" and has_key:
        return "DeleteObject"
    return ""


def _operation(environ: WSGIEnvironment) -> str:
    signed = _SIGNING_SERVICE.search(environ.get("HTTP_AUTHORIZATION", ""))
    service = signed.group(1) if signed else ""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return f"{service}:{target.rsplit('.', 1)[-1]}"
    if service == "s3":
        operation = _s3_operation(environ)
        return f"s3:{operation}" if operation else ""
    return ""


def _reset(environ: WSGIEnvironment) -> NoReturn:
    """Abort the connection: SO_LINGER 0 makes the close a TCP reset; werkzeug then treats the raised
    ConnectionResetError as a dropped client and closes the socket."""
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))  # else read as the next request
    connection = environ["werkzeug.socket"]
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.shutdown(socket.SHUT_RDWR)
    raise ConnectionResetError(f"injected connection reset for {_operation(environ)}")


class _FaultInjector:
    """Answers the next calls of planned operations with planned faults, and records each one."""

    def __init__(self, app: WSGIApplication, stall_seconds: float) -> None:
        self._app = app
        self._stall_seconds = stall_seconds
        self._lock = threading.Lock()
        self._plan: dict[str, list[str]] = {}
        self._injected: list[tuple[str, str]] = []

    def replace_plan(self, plan: Mapping[str, Sequence[str]]) -> None:
        for operation, faults in plan.items():
            if not re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9]+", operation):
                raise ValueError(f"fault plan operation {operation!r} is not service:Operation")
            unknown = sorted(set(faults) - set(FAULTS))
            if isinstance(faults, str) or unknown:
                raise ValueError(f"faults {faults!r} for {operation} must be a list of {', '.join(FAULTS)}")
        with self._lock:
            self._plan = {operation: list(faults) for operation, faults in plan.items() if faults}
            self._injected = []

    def injected(self) -> list[tuple[str, str]]:
        with self._lock:
            return list(self._injected)

    def _next_fault(self, operation: str) -> str | None:
        with self._lock:
            faults = self._plan.get(operation)
            if not faults:
                return None
            fault = faults.pop(0)
            self._injected.append((operation, fault))
            return fault

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if not self._plan:
            return self._app(environ, start_response)
        operation = _operation(environ)
        fault = self._next_fault(operation) if operation else None
        if fault is None:
            return self._app(environ, start_response)
        if fault == "reset":
            _reset(environ)
        if fault == "timeout":
            time.sleep(self._stall_seconds)
            return self._app(environ, start_response)
        if not operation.startswith("s3:"):
            status, code, message = _JSON_FAULTS[fault]
            return _json_error(start_response, status, code, message.format(operation=operation))
        status, code, message = _S3_FAULTS[fault]
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f"<Error><Code>{code}</Code><Message>{message.format(operation=operation)}</Message>"
            "<RequestId>injected-fault</RequestId></Error>"
        ).encode()
        return _answer(start_response, status, body, "application/xml")


_READ_ACTIONS = ("Describe", "Get", "List", "BatchGet")


def _replaying_reads(app: WSGIApplication) -> WSGIApplication:
    """Answer a repeated ECR read from the first answer: for benchmarks of a static registry only.

    moto spends milliseconds of CPU on each response; on a small machine that, not the client under
    test, would set the pace. The registry does not change during a benchmark, so a read with the
    same body has the same answer.
    """
    answers: dict[tuple[str, bytes], tuple[str, list[tuple[str, str]], bytes]] = {}

    def replaying_app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target.startswith("AmazonEC2ContainerRegistry") or not target.split(".")[-1].startswith(
            _READ_ACTIONS
        ):
            return app(environ, start_response)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        key = (target, body)
        if key not in answers:
            environ["wsgi.input"] = io.BytesIO(body)
            captured: list[Any] = []

            def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
                captured[:] = [status, headers]
                return start_response(status, headers, exc_info)

            content = b"".join(app(environ, capture))
            if not captured[0].startswith("200"):
                return [content]
            answers[key] = (captured[0], captured[1], content)
            return [content]
        status, headers, content = answers[key]
        start_response(status, headers)
        return [content]

    return replaying_app


_UNEMULATED = frozenset({"AWSPriceListService"})
"""Services moto does not have; they answer as if the caller lacked the permission."""


def _unemulated(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """A clear, non-retryable 400 instead of moto's 500 and traceback for a service it lacks."""
    return _json_error(
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
        self._faults: _FaultInjector | None = None
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
        moto_api_backend.reset()
        app: WSGIApplication = _TargetCachedDispatcher()
        if self._replay_reads:
            app = _replaying_reads(app)
        if self._throttle_rate:
            app = _throttled(app, self._throttle_rate, seed=1)
        if self._latency_seconds:
            app = _delayed(app, self._latency_seconds)
        self._faults = _FaultInjector(app, self._stall_seconds)
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
        process.wait(timeout=30)


def _aware_datetime(text: str) -> datetime:
    """A command-line time without an offset is taken as UTC, the unit every report uses."""
    value = datetime.fromisoformat(text)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ecr_provider.emulator.server", description="Local AWS emulator (moto)."
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
        metavar="REPOSITORIES:IMAGES",
        help="seed a synthetic registry of this size (benchmarks) instead of or beside the demo",
    )
    return parser


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
            # Imported here: demo_registry imports this module for its clients.
            from ecr_provider.emulator.demo_registry import seed_demo_registry

            registry = seed_demo_registry(emulator.endpoint_url, args.region, as_of)
            print(f"seeded demo registry: {registry.summary()}", file=sys.stderr, flush=True)
        if args.synthetic:
            repositories, images = (int(part) for part in args.synthetic.split(":"))
            synthetic = seed_synthetic_registry(
                ACCOUNT_ID,
                args.region,
                repositories=repositories,
                images=images,
                as_of=as_of,
            )
            print(f"seeded synthetic registry: {synthetic.summary()}", file=sys.stderr, flush=True)
        print(f"{READY_MARKER} {emulator.endpoint_url}", flush=True)
        stopping.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
