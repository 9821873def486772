"""Reads which images run in one account and region (a source of the run): ECS tasks and services,
Lambda, EKS pods; every ECR image they name is kept with its registry, whichever account and region
it is in.

One pass per source, paged, the clusters and functions read concurrently:

* ECS: ``ListClusters``; per cluster ``ListTasks`` (RUNNING) and ``DescribeTasks`` (100 a call) give
  each container's ``imageDigest``; ``ListServices`` and ``DescribeServices`` (10 a call) give every
  service's task definitions, read with ``DescribeTaskDefinition`` only when no task of theirs runs
  (a running task already shows its images as the task definition names them).
* Lambda: ``ListFunctions`` (every version: an alias may point to an older one) and, for each image
  function, ``GetFunction`` for ``Code.ResolvedImageUri``.
* EKS: ``ListClusters``, then each cluster's pods through its Kubernetes API (``aws.eks_pods``).

Optional, like every read beyond ECR's: a denied ECS or Lambda call, or a service the region does not
offer, leaves the source's use unknown (``SourceUsage.unknown``) with one warning naming the call, and
the cleanup verdict then never calls an image reclaimable. A refused cluster listing or a cluster
whose pods cannot be read is narrower (``SourceUsage.unseen_eks``): ``core.visibility`` then says use
is not visible for the registries those pods could pull from (the source's account's, and those whose
policy lets that account pull).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from ecr_provider.aws.eks_pods import read_pods
from ecr_provider.aws.errors import AwsCallError, aws_call
from ecr_provider.aws.pool import ordered_map
from ecr_provider.core.repeated_causes import warn_registry
from ecr_provider.core.targets import registry_label
from ecr_provider.core.usage import (
    ECS_PREFIX,
    EKS_SOURCE,
    LAMBDA_PREFIX,
    FoundUse,
    FullKey,
    ImageKey,
    Registry,
    RegistryUsage,
    SourceUsage,
    UnseenEks,
    ecr_reference,
    foreign_place,
    join_usage,
)

log = logging.getLogger(__name__)

DESCRIBE_TASKS_LIMIT = 100
DESCRIBE_SERVICES_LIMIT = 10
LIST_PAGE_SIZE = 100
LIST_FUNCTIONS_PAGE_SIZE = 50
LIST_CLUSTERS_PAGE_SIZE = 100
USAGE_SERVICES = ("ecs", "lambda", "eks")
"""The services a source's use is read with, paced together as the source's account's quotas."""
ACTIVE_SERVICE = "ACTIVE"
SERVICE_GROUP = "service:"

Item = TypeVar("Item")


@dataclass(frozen=True, slots=True)
class UsageReader:
    """Reads one source's use with the source's own identity: ``client(service)`` gives its ECS,
    Lambda, EKS and STS clients (STS only asked when a cluster's pods are read)."""

    client: Callable[[str], Any]
    account_id: str
    region: str
    max_concurrency: int

    @property
    def source(self) -> Registry:
        return (self.account_id, self.region)

    def read(self) -> RegistryUsage:
        """The use of the source's own registry by the source's own workloads: a run of one registry."""
        read = self.read_source()
        own = read.groups.get(self.source, RegistryUsage())
        return join_usage(
            [own],
            unknown=read.unknown,
            read_accounts=() if read.unknown else (self.account_id,),
            sources=read.sources,
            unseen_eks=read.unseen_eks,
        )

    def read_source(self) -> SourceUsage:
        """Every ECR image the source runs or needs, grouped by its registry; a place in another account
        or region than the image's registry is named with the source's account and region."""
        found = FoundUse()
        unknown: list[str] = []
        sources: list[str] = []
        for runtime, read in (("ECS", self._ecs), ("Lambda", self._lambda)):
            try:
                with aws_call(runtime.lower()):
                    found.merge(read())
                sources.append(runtime)
            except AwsCallError as error:
                self._warn(
                    f"which images {runtime} runs is unknown, so no image is called reclaimable", error
                )
                unknown.append(str(error))
        # Once ECS or Lambda failed, every registry's use is unknown: what EKS shows could change nothing.
        unseen = () if unknown else self._eks(found)
        if unseen is None:
            sources.append(EKS_SOURCE)
        running: dict[Registry, dict[ImageKey, dict[str, int]]] = {}
        needed: dict[Registry, dict[ImageKey, frozenset[str]]] = {}
        for (registry, key), places in found.running.items():
            named = {self._place(place, registry): count for place, count in places.items()}
            running.setdefault(registry, {})[key] = named
        for (registry, key), needing in found.needed.items():
            needed.setdefault(registry, {})[key] = frozenset(self._place(p, registry) for p in needing)
        groups = {
            registry: RegistryUsage(running.get(registry, {}), needed.get(registry, {}))
            for registry in sorted(running.keys() | needed.keys())
        }
        return SourceUsage(self.source, groups, tuple(unknown), tuple(sources), unseen or ())

    def _eks(self, found: FoundUse) -> tuple[UnseenEks, ...] | None:
        """The source's clusters whose pods were not read (the listing itself when refused); None when
        there were clusters and every one was read."""
        try:
            with aws_call("eks"):
                pages = (
                    self.client("eks")
                    .get_paginator("list_clusters")
                    .paginate(PaginationConfig={"PageSize": LIST_CLUSTERS_PAGE_SIZE})
                )
                clusters = sorted(name for page in pages for name in page["clusters"])
        except AwsCallError as error:
            self._warn("its EKS clusters are unknown, so the use their pods would show is not visible", error)
            return (UnseenEks(self.account_id, self.region),)
        if not clusters:
            return ()
        log.info("Account %s in %s: EKS clusters: %s", self.account_id, self.region, ", ".join(clusters))
        pods = read_pods(
            self.client("eks"), self.client("sts"), clusters, account_id=self.account_id, region=self.region
        )
        found.merge(pods.found)
        if pods.refused:
            return tuple(UnseenEks(self.account_id, self.region, cluster) for cluster in pods.refused)
        return None

    def _warn(self, what: str, error: AwsCallError) -> None:
        """Once per task for a cause repeated across its sources (``core.repeated_causes``)."""
        warn_registry(
            log,
            registry_label(self.account_id, self.region),
            f"Account {self.account_id} in {self.region}: {what}: {error}",
            {"account": self.account_id, "region": self.region},
        )

    def _place(self, place: str, registry: Registry) -> str:
        return place if registry == self.source else foreign_place(place, self.source)

    def _ecs(self) -> FoundUse:
        pages = (
            self.client("ecs")
            .get_paginator("list_clusters")
            .paginate(PaginationConfig={"PageSize": LIST_PAGE_SIZE})
        )
        clusters = [arn for page in pages for arn in page["clusterArns"]]
        found = FoundUse()
        for cluster in ordered_map(self._cluster, clusters, self.max_concurrency, "ecs-usage"):
            found.merge(cluster)
        return found

    def _cluster(self, cluster_arn: str) -> FoundUse:
        found = FoundUse()
        cluster = cluster_arn.rsplit("/", 1)[-1]
        running_definitions: set[str] = set()
        task_arns = self._listed("list_tasks", "taskArns", cluster=cluster_arn, desiredStatus="RUNNING")
        for chunk in _chunks(task_arns, DESCRIBE_TASKS_LIMIT):
            response = self.client("ecs").describe_tasks(cluster=cluster_arn, tasks=chunk)
            for task in response["tasks"]:
                group = task.get("group", "")
                place = f"{ECS_PREFIX}{cluster}/{group.removeprefix(SERVICE_GROUP)}"
                if group.startswith(SERVICE_GROUP):
                    running_definitions.add(task.get("taskDefinitionArn", ""))
                self._task(task, place, group.startswith(SERVICE_GROUP), found)
        service_arns = self._listed("list_services", "serviceArns", cluster=cluster_arn)
        unread: dict[str, set[str]] = {}
        for chunk in _chunks(service_arns, DESCRIBE_SERVICES_LIMIT):
            response = self.client("ecs").describe_services(cluster=cluster_arn, services=chunk)
            for service in response["services"]:
                if service.get("status") != ACTIVE_SERVICE:
                    continue
                place = f"{ECS_PREFIX}{cluster}/{service['serviceName']}"
                definitions = {service.get("taskDefinition", "")}
                definitions.update(d.get("taskDefinition", "") for d in service.get("deployments", ()))
                for definition in definitions - running_definitions - {""}:
                    unread.setdefault(definition, set()).add(place)
        for definition, places in sorted(unread.items()):
            response = self.client("ecs").describe_task_definition(taskDefinition=definition)
            for container in response["taskDefinition"].get("containerDefinitions", ()):
                reference = ecr_reference(container.get("image", ""))
                if reference is not None:
                    for place in places:
                        found.need((reference.registry, reference.key), place)
        return found

    def _task(self, task: dict[str, Any], place: str, of_service: bool, found: FoundUse) -> None:
        """A task counts once per image it runs; a service's task also needs, at the next start, what its
        definition names (the digest when it pins one, else whatever the tag then points to)."""
        keys: set[FullKey] = set()
        for container in task.get("containers", ()):
            reference = ecr_reference(container.get("image", ""))
            if reference is None:
                continue
            digest = container.get("imageDigest") or reference.digest
            if digest:
                keys.add((reference.registry, (reference.repository, digest)))
            if of_service or not digest:
                found.need((reference.registry, reference.key), place)
        for key in keys:
            found.run(key, place)

    def _lambda(self) -> FoundUse:
        pages = (
            self.client("lambda")
            .get_paginator("list_functions")
            .paginate(FunctionVersion="ALL", PaginationConfig={"PageSize": LIST_FUNCTIONS_PAGE_SIZE})
        )
        functions = [
            function
            for page in pages
            for function in page["Functions"]
            if function.get("PackageType") == "Image"
        ]
        found = FoundUse()
        for function, code in zip(
            functions,
            ordered_map(self._function_code, functions, self.max_concurrency, "lambda-usage"),
            strict=True,
        ):
            reference = ecr_reference(code.get("ResolvedImageUri", ""))
            if reference is not None and reference.digest:
                found.running.setdefault((reference.registry, (reference.repository, reference.digest)), {})[
                    f"{LAMBDA_PREFIX}{function['FunctionName']}"
                ] = 1
        return found

    def _function_code(self, function: dict[str, Any]) -> dict[str, Any]:
        """Each version listed: an alias may point to a published version of an older image."""
        response = self.client("lambda").get_function(
            FunctionName=function["FunctionName"], Qualifier=function.get("Version", "$LATEST")
        )
        code: dict[str, Any] = response.get("Code", {})
        return code

    def _listed(self, operation: str, member: str, **kwargs: Any) -> list[str]:
        pages = (
            self.client("ecs")
            .get_paginator(operation)
            .paginate(**kwargs, PaginationConfig={"PageSize": LIST_PAGE_SIZE})
        )
        return [arn for page in pages for arn in page[member]]


def _chunks(items: Sequence[Item], size: int) -> Iterator[list[Item]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])
