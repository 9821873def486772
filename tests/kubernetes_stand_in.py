"""A small Kubernetes API stand-in: ``GET /api/v1/pods`` over HTTPS on loopback, with a self-signed
certificate made here, paged as the API server pages (``limit``, ``metadata.continue``), answering
only a bearer token of the shape EKS takes, and 403 for a cluster whose access entry is missing."""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import ssl
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ecr_provider.aws.eks_pods import CLUSTER_ID_HEADER, PODS_PATH, RUNNING, TOKEN_PREFIX

LOOPBACK = "127.0.0.1"


def self_signed(directory: Path) -> tuple[Path, Path, str]:
    """A certificate for 127.0.0.1 and its key, as files, and the certificate as PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubernetes")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(LOOPBACK))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_text(pem)
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file, pem


def token_is_eks_shaped(authorization: str) -> bool:
    """``Bearer k8s-aws-v1.`` + base64url of a presigned STS GetCallerIdentity URL that signs the
    ``x-k8s-aws-id`` header."""
    token = authorization.removeprefix("Bearer ")
    if not token.startswith(TOKEN_PREFIX) or token.endswith("="):
        return False
    encoded = token.removeprefix(TOKEN_PREFIX)
    try:
        url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8")
    except ValueError:
        return False
    query = parse_qs(urlsplit(url).query)
    return (
        query.get("Action") == ["GetCallerIdentity"]
        and CLUSTER_ID_HEADER in query.get("X-Amz-SignedHeaders", [""])[0].split(";")
        and "X-Amz-Signature" in query
    )


@dataclass
class KubernetesApi:
    """What one cluster's API server serves; ``requests`` records each pods request's query."""

    pods: Sequence[dict[str, Any]]
    allowed: bool = True
    endpoint: str = ""
    certificate_authority: str = ""
    """Base64 of the PEM, as ``eks:DescribeCluster`` gives ``certificateAuthority.data``."""
    requests: list[dict[str, list[str]]] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)

    def answer(self, path: str, authorization: str) -> tuple[int, dict[str, Any]]:
        url = urlsplit(path)
        query = parse_qs(url.query)
        self.requests.append(query)
        self.tokens.append(authorization)
        if not token_is_eks_shaped(authorization):
            return 401, {"kind": "Status", "reason": "Unauthorized", "code": 401}
        if not self.allowed:
            return 403, {"kind": "Status", "reason": "Forbidden", "code": 403}
        if url.path != PODS_PATH or query.get("fieldSelector") != [RUNNING]:
            return 400, {"kind": "Status", "reason": "BadRequest", "code": 400}
        start = int(query.get("continue", ["0"])[0])
        limit = int(query.get("limit", [str(len(self.pods))])[0])
        end = start + limit
        metadata = {"continue": str(end)} if end < len(self.pods) else {}
        return 200, {"kind": "PodList", "metadata": metadata, "items": list(self.pods[start:end])}


@contextmanager
def serving(api: KubernetesApi) -> Iterator[KubernetesApi]:
    """Serve ``api`` on a free loopback port while the block runs; fills its endpoint and CA."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = api.answer(self.path, self.headers.get("Authorization", ""))
            payload = json.dumps(body).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            return

    with tempfile.TemporaryDirectory() as directory:
        cert_file, key_file, pem = self_signed(Path(directory))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        api.endpoint = f"https://{LOOPBACK}:{server.server_address[1]}"
        api.certificate_authority = base64.b64encode(pem.encode("ascii")).decode("ascii")
        thread = threading.Thread(target=server.serve_forever, name="kubernetes-api", daemon=True)
        thread.start()
        try:
            yield api
        finally:
            server.shutdown()
            server.server_close()
            thread.join()


def pod(
    name: str,
    containers: Sequence[tuple[str, str, str]],
    *,
    namespace: str = "default",
    owner: tuple[str, str] | None = None,
    labels: dict[str, str] | None = None,
    init: Sequence[tuple[str, str, str]] = (),
) -> dict[str, Any]:
    """A running pod as the API lists it; each container is (name, image, imageID)."""
    metadata: dict[str, Any] = {"name": name, "namespace": namespace, "labels": labels or {}}
    if owner is not None:
        metadata["ownerReferences"] = [{"kind": owner[0], "name": owner[1], "controller": True}]
    return {
        "metadata": metadata,
        "spec": {
            "initContainers": [{"name": n, "image": image} for n, image, _ in init],
            "containers": [{"name": n, "image": image} for n, image, _ in containers],
        },
        "status": {
            "phase": "Running",
            "initContainerStatuses": [
                {"name": n, "image": image, "imageID": image_id} for n, image, image_id in init
            ],
            "containerStatuses": [
                {"name": n, "image": image, "imageID": image_id} for n, image, image_id in containers
            ],
        },
    }
