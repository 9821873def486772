"""Which images EKS pods run, read through each cluster's Kubernetes API where the reporting role has
access (an EKS access entry allowing ``get``/``list`` on pods, e.g. ``AmazonEKSViewPolicy``).

Per cluster of a source of the run (an account and region whose workloads ``aws.usage`` reads):
``eks:DescribeCluster`` (the API endpoint and its CA), a bearer token, then ``GET /api/v1/pods`` of
the running pods, paged with ``limit`` and ``continue``. Each container's and init container's
``image`` names the repository, its status's ``imageID`` the digest it runs, in whichever registry.
The token is the one ``aws eks get-token`` and the amazon provider's EKS hook make (a presigned STS
``GetCallerIdentity`` URL signing the ``x-k8s-aws-id`` header, base64url, prefixed ``k8s-aws-v1.``),
made here from the source's own STS client because the provider's helper takes an Airflow connection
(9.10) or a session (later) rather than a client.

Optional, like every read beyond ECR's: a refused or unreachable cluster gives one warning naming it
and the call, and its use stays not visible (``core.visibility``), so no image is called reclaimable
on a guess.
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import ssl
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from ecr_provider.aws.errors import AwsCallError, aws_call
from ecr_provider.core.repeated_causes import warn_registry
from ecr_provider.core.targets import registry_label
from ecr_provider.core.usage import EKS_PREFIX, FoundUse, FullKey, ecr_reference

log = logging.getLogger(__name__)

PODS_PATH = "/api/v1/pods"
PODS_CALL = f"GET {PODS_PATH}"
PODS_PAGE_SIZE = 500
RUNNING = "status.phase=Running"
TOKEN_PREFIX = "k8s-aws-v1."
CLUSTER_ID_HEADER = "x-k8s-aws-id"
TOKEN_EXPIRES_IN = 60
"""Seconds: the token is made just before a cluster's pages are read, and EKS caps it at 15 minutes."""
TIMEOUT_SECONDS = 30
_HANDLER_ID = "ecr-report-x-k8s-aws-id"
"""Handlers registered once per client (botocore keeps one handler per id, whatever the event)."""
_WORKLOAD_OWNERS = frozenset({"DaemonSet", "StatefulSet", "Job", "ReplicaSet"})


class PodsRefused(RuntimeError):
    """The Kubernetes API refused the pods' listing or could not be reached."""


@dataclass(frozen=True, slots=True)
class EksPods:
    """What the clusters' pods run, by image in whichever registry, at places
    ``eks:CLUSTER/NAMESPACE/OWNER`` (``needed``: containers naming a tag with no digest known);
    ``read`` and ``refused`` are the clusters whose pods were read or not."""

    found: FoundUse = field(default_factory=FoundUse)
    read: tuple[str, ...] = ()
    refused: tuple[str, ...] = ()


def read_pods(
    eks_client: Any, sts_client: Any, clusters: Sequence[str], *, account_id: str, region: str
) -> EksPods:
    """The running pods' ECR images of ``clusters`` (of ``account_id`` in ``region``), each cluster
    read or refused as a whole."""
    found = FoundUse()
    read: list[str] = []
    refused: list[str] = []
    label = registry_label(account_id, region)
    for cluster in clusters:
        try:
            pods = list(_cluster_pods(eks_client, sts_client, cluster))
        except (AwsCallError, PodsRefused) as error:
            warn_registry(
                log,
                label,
                f"Account {account_id} in {region}: the pods of EKS cluster {cluster} are not read, so "
                f"the use they would show is not visible (no image unused): {error}",
                {"account": account_id, "region": region, "cluster": cluster},
            )
            refused.append(cluster)
            continue
        for pod in pods:
            place = f"{EKS_PREFIX}{cluster}/{pod_place(pod)}"
            running, tags = pod_images(pod)
            for key in running:
                found.run(key, place)
            for key in tags:
                found.need(key, place)
        read.append(cluster)
    return EksPods(found, tuple(read), tuple(refused))


def _cluster_pods(eks_client: Any, sts_client: Any, cluster: str) -> Iterator[dict[str, Any]]:
    with aws_call("eks", cluster):
        described = eks_client.describe_cluster(name=cluster)["cluster"]
    endpoint = urlsplit(str(described.get("endpoint", "")))
    authority = str(described.get("certificateAuthority", {}).get("data", ""))
    if endpoint.scheme != "https" or not endpoint.hostname or not authority:
        raise PodsRefused(
            f"EKS cluster {cluster} has no API endpoint or CA yet (status {described.get('status')})"
        )
    try:
        context = ssl.create_default_context(cadata=base64.b64decode(authority).decode("ascii"))
    except (ValueError, ssl.SSLError) as error:
        raise PodsRefused(f"EKS cluster {cluster}'s CA is not a certificate: {error}") from error
    headers = {"Authorization": f"Bearer {cluster_token(sts_client, cluster)}", "Accept": "application/json"}
    connection = http.client.HTTPSConnection(
        endpoint.hostname, endpoint.port, context=context, timeout=TIMEOUT_SECONDS
    )
    try:
        yield from _pages(connection, headers, cluster)
    except (OSError, http.client.HTTPException, ValueError) as error:
        raise PodsRefused(f"{PODS_CALL} on EKS cluster {cluster} failed: {error}") from error
    finally:
        connection.close()


def _pages(
    connection: http.client.HTTPSConnection, headers: Mapping[str, str], cluster: str
) -> Iterator[dict[str, Any]]:
    after = ""
    while True:
        query = {"fieldSelector": RUNNING, "limit": PODS_PAGE_SIZE, **({"continue": after} if after else {})}
        connection.request("GET", f"{PODS_PATH}?{urlencode(query)}", headers=dict(headers))
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise PodsRefused(f"{PODS_CALL} on EKS cluster {cluster} failed with HTTP {response.status}")
        page = json.loads(body)
        yield from page.get("items") or ()
        after = str((page.get("metadata") or {}).get("continue") or "")
        if not after:
            return


def cluster_token(sts_client: Any, cluster: str) -> str:
    """A bearer token for ``cluster``: STS ``GetCallerIdentity`` presigned with the cluster's name in
    the signed ``x-k8s-aws-id`` header; the API server has STS run it to learn who calls."""
    events = sts_client.meta.events
    events.register(
        "provide-client-params.sts.GetCallerIdentity", _take_cluster_id, unique_id=f"{_HANDLER_ID}-take"
    )
    events.register("before-sign.sts.GetCallerIdentity", _sign_cluster_id, unique_id=f"{_HANDLER_ID}-sign")
    url = sts_client.generate_presigned_url(
        "get_caller_identity",
        Params={CLUSTER_ID_HEADER: cluster},
        ExpiresIn=TOKEN_EXPIRES_IN,
        HttpMethod="GET",
    )
    return TOKEN_PREFIX + base64.urlsafe_b64encode(str(url).encode("utf-8")).decode("ascii").rstrip("=")


def _take_cluster_id(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    """GetCallerIdentity takes no parameters: the cluster's name moves to the request context."""
    if CLUSTER_ID_HEADER in params:
        context[CLUSTER_ID_HEADER] = params.pop(CLUSTER_ID_HEADER)


def _sign_cluster_id(request: Any, **_: Any) -> None:
    if CLUSTER_ID_HEADER in request.context:
        request.headers[CLUSTER_ID_HEADER] = request.context[CLUSTER_ID_HEADER]


def pod_place(pod: Mapping[str, Any]) -> str:
    """``NAMESPACE/OWNER``: the workload that keeps the pod running (a Deployment's name, from its
    ReplicaSet's less the pod template hash; a DaemonSet, StatefulSet or Job), else the pod's name."""
    metadata = pod.get("metadata") or {}
    owner = next(
        (ref for ref in metadata.get("ownerReferences") or () if ref.get("kind") in _WORKLOAD_OWNERS), None
    )
    name = str(metadata.get("name", ""))
    if owner is not None:
        name = str(owner.get("name", name))
        template_hash = (metadata.get("labels") or {}).get("pod-template-hash")
        if owner.get("kind") == "ReplicaSet" and template_hash:
            name = name.removesuffix(f"-{template_hash}")
    return f"{metadata.get('namespace', 'default')}/{name}"


def pod_images(pod: Mapping[str, Any]) -> tuple[set[FullKey], set[FullKey]]:
    """The ECR images a pod runs, by digest (its containers' and init containers' status ``imageID``),
    and the tags it names whose digest is not known yet, each with its registry."""
    status = pod.get("status") or {}
    statuses = [*(status.get("initContainerStatuses") or ()), *(status.get("containerStatuses") or ())]
    spec = pod.get("spec") or {}
    named = {
        str(container.get("name")): str(container.get("image", ""))
        for container in [*(spec.get("initContainers") or ()), *(spec.get("containers") or ())]
    }
    by_digest: set[FullKey] = set()
    by_tag: set[FullKey] = set()
    seen: set[str] = set()
    for container in statuses:
        name = str(container.get("name"))
        seen.add(name)
        reference = ecr_reference(named.get(name) or str(container.get("image", "")))
        if reference is None:
            continue
        # REPOSITORY@DIGEST (docker-pullable:// before it under Docker); a bare sha256 is the
        # image's config, not its manifest, and says nothing of which manifest runs.
        _, at, digest = str(container.get("imageID", "")).rpartition("@")
        digest = digest if at and digest.startswith("sha256:") else reference.digest or ""
        if digest:
            by_digest.add((reference.registry, (reference.repository, digest)))
        else:
            by_tag.add((reference.registry, reference.key))
    for name, image in named.items():
        reference = ecr_reference(image)
        if name not in seen and reference is not None:
            (by_digest if reference.digest else by_tag).add((reference.registry, reference.key))
    return by_digest, by_tag
