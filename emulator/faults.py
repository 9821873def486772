"""WSGI layers in front of moto that make the emulator behave like a busy, faulty or distant AWS:
per-request latency, random throttling, planned faults per operation, and replayed reads."""

from __future__ import annotations

import io
import json
import random
import re
import socket
import struct
import threading
import time
from functools import cache
from typing import TYPE_CHECKING, Any, NoReturn

import botocore.session
from botocore.exceptions import UnknownServiceError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment


def delayed(app: WSGIApplication, seconds: float) -> WSGIApplication:
    def delayed_app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        time.sleep(seconds)
        return app(environ, start_response)

    return delayed_app


def _answer(start_response: StartResponse, status: str, body: bytes, content_type: str) -> list[bytes]:
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


def json_error(start_response: StartResponse, status: str, code: str, message: str) -> list[bytes]:
    """An error as the JSON-protocol services (ECR, Glue, Athena, Pricing, ...) send it; REST-JSON
    clients read the same body."""
    body = json.dumps({"__type": code, "message": message}).encode()
    return _answer(start_response, status, body, "application/x-amz-json-1.1")


def throttled(app: WSGIApplication, rate: float, seed: int) -> WSGIApplication:
    """Answer a fixed share of ECR requests with ThrottlingException, as a busy ECR does."""
    rng = random.Random(seed)
    lock = threading.Lock()

    def throttled_app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("AmazonEC2ContainerRegistry"):
            with lock:
                throttle = rng.random() < rate
            if throttle:
                return json_error(start_response, "400 Bad Request", "ThrottlingException", "Rate exceeded")
        return app(environ, start_response)

    return throttled_app


FAULTS = ("throttle", "500", "503", "reset", "timeout", "denied")
"""``throttle``: the service's throttling error; ``500``/``503``: a server error; ``reset``: the
connection is dropped without an answer; ``timeout``: the answer is held ``stall_seconds`` (set it
above the client's read timeout), the request is still carried out, as a slow AWS may; ``denied``:
the service's access-denied error. Operations are ``service:Operation`` as in IAM, for JSON-protocol
services (named by ``X-Amz-Target``: ECR, ECS, Glue, Athena, ...), REST-JSON ones (named by method
and path in the service model: Lambda, Inspector, ...) and S3's object calls."""

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


@cache
def _rest_json_operations(service: str) -> tuple[tuple[str, re.Pattern[str], str], ...]:
    """(method, path pattern, operation) of a REST-JSON service's model (Lambda, Inspector, ...), the
    longest literal paths first, so ``/functions/{name}/code`` is not taken for ``/functions/{name}``."""
    try:
        model = botocore.session.get_session().get_service_model(service)
    except UnknownServiceError:
        return ()
    if model.protocol != "rest-json":
        return ()
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        path = http["requestUri"].split("?", 1)[0]
        pattern = re.sub(r"\\\{[^}]+\\\+\\\}", ".+", re.escape(path))
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", pattern)
        routes.append((len(re.sub(r"\{[^}]+\}", "", path)), http["method"], re.compile(pattern), name))
    routes.sort(key=lambda route: -route[0])
    return tuple((method, pattern, name) for _, method, pattern, name in routes)


def _rest_json_operation(service: str, environ: WSGIEnvironment) -> str:
    path, method = environ.get("PATH_INFO", ""), environ["REQUEST_METHOD"]
    for route_method, pattern, name in _rest_json_operations(service):
        if route_method == method and pattern.fullmatch(path):
            return name
    return ""


def _operation(environ: WSGIEnvironment) -> str:
    signed = _SIGNING_SERVICE.search(environ.get("HTTP_AUTHORIZATION", ""))
    service = signed.group(1) if signed else ""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return f"{service}:{target.rsplit('.', 1)[-1]}"
    operation = _s3_operation(environ) if service == "s3" else _rest_json_operation(service, environ)
    return f"{service}:{operation}" if operation else ""


def _reset(environ: WSGIEnvironment) -> NoReturn:
    """Abort the connection: SO_LINGER 0 makes the close a TCP reset; werkzeug then treats the raised
    ConnectionResetError as a dropped client and closes the socket."""
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))  # else read as the next request
    connection = environ["werkzeug.socket"]
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.shutdown(socket.SHUT_RDWR)
    raise ConnectionResetError(f"injected connection reset for {_operation(environ)}")


class FaultInjector:
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
            return json_error(start_response, status, code, message.format(operation=operation))
        status, code, message = _S3_FAULTS[fault]
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f"<Error><Code>{code}</Code><Message>{message.format(operation=operation)}</Message>"
            "<RequestId>injected-fault</RequestId></Error>"
        ).encode()
        return _answer(start_response, status, body, "application/xml")


_READ_ACTIONS = ("Describe", "Get", "List", "BatchGet")


def replaying_reads(app: WSGIApplication) -> WSGIApplication:
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
