"""What moto's ECS leaves out of "which images run here", filled in so the emulator answers like ECS.

moto 5.2 falls short of ECS in five ways that a reader of running images sees; :func:`install` patches
them once:

* A task gets one container, its definition's first, with no ``imageDigest``, status PENDING and the
  task definition's ARN as its ``taskArn``. ECS runs every container of the definition and records the
  digest it pulled: here each ECR image is resolved in moto's ECR when the task starts, so a tag moved
  later does not change what a running task runs (an image of another registry gets no digest: the
  emulator has nothing to pull it from).
* A task moves one state towards STOPPED each time it is described; an ECS task runs until stopped.
* A service starts no tasks and takes ``runningCount`` from an environment variable. A FARGATE service
  here starts ``desiredCount`` tasks (group ``service:NAME``) when created, and its counts are those of
  its tasks still running, so StopTask leaves it short of its desired count (EC2 capacity is not
  emulated: an EC2 service starts nothing).
* ListClusters, ListTasks and ListServices return everything at once; ECS pages them (100, 100 and 10
  by default, at most 100 a page).
* DescribeTasks and DescribeServices take any number of names; ECS takes at most 100 tasks and 10
  services a call.

Everything works on moto's in-memory backend, so it must run in the process serving the emulator.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, cast

from moto.core.responses import ActionResult
from moto.ecs import models as ecs_models
from moto.ecs.exceptions import InvalidParameterException
from moto.ecs.responses import EC2ContainerServiceResponse
from moto.moto_api._internal import mock_random

from emulator import moto_ecr_gaps, paging

LIST_PAGE_SIZE = paging.PageSize(100, 100)
SERVICES_PAGE_SIZE = paging.PageSize(10, 100)
MAX_DESCRIBED_TASKS = 100
MAX_DESCRIBED_SERVICES = 10
_INSTALLED_MARKER = "_ecr_report_gaps_installed"
_install_lock = threading.Lock()


def install() -> None:
    """Apply the moto patches; safe to call any number of times from any thread."""
    with _install_lock:
        if getattr(ecs_models.Task, _INSTALLED_MARKER, False):
            return
        ecs_models.Task.__init__ = _with_every_container(ecs_models.Task.__init__)  # type: ignore[method-assign]
        ecs_models.Task.advance = _keep_running  # type: ignore[method-assign, assignment]
        backend = ecs_models.EC2ContainerServiceBackend
        backend.create_service = _starting_tasks(backend.create_service)  # type: ignore[method-assign]
        response = EC2ContainerServiceResponse
        for name, member, sizes in (
            ("list_clusters", "clusterArns", LIST_PAGE_SIZE),
            ("list_tasks", "taskArns", LIST_PAGE_SIZE),
            ("list_services", "serviceArns", SERVICES_PAGE_SIZE),
        ):
            paged = paging.paged_action(getattr(response, name), member, sizes, InvalidParameterException)
            setattr(response, name, paged)
        response.describe_tasks = _at_most(response.describe_tasks, "tasks", MAX_DESCRIBED_TASKS)  # type: ignore[method-assign, assignment]
        describe_services = _with_live_counts(response.describe_services)
        response.describe_services = _at_most(describe_services, "services", MAX_DESCRIBED_SERVICES)  # type: ignore[method-assign, assignment]
        response.create_service = _with_live_counts(response.create_service)  # type: ignore[method-assign, assignment]
        setattr(ecs_models.Task, _INSTALLED_MARKER, True)


class RunningContainer:
    """One container of a task; moto serialises the attributes named after ECS's Container members."""

    def __init__(self, task: ecs_models.Task, definition: dict[str, Any]) -> None:
        self._task = task
        self.container_arn = f"{task.task_arn.replace(':task/', ':container/', 1)}/{mock_random.uuid4()}"
        self.task_arn = task.task_arn
        self.name = str(definition["name"])
        self.image = str(definition["image"])
        reference = moto_ecr_gaps.parse_image_uri(self.image)
        self.image_digest = None if reference is None else moto_ecr_gaps.resolve_digest(reference)
        self.cpu = str(definition.get("cpu", 0))
        self.memory = None if definition.get("memory") is None else str(definition["memory"])
        self.health_status = "UNKNOWN"
        self.network_interfaces: list[dict[str, Any]] = []

    @property
    def last_status(self) -> str:
        """A container stops with its task."""
        return self._task.last_status


def _with_every_container(init: Callable[..., None]) -> Callable[..., None]:
    def __init__(task: ecs_models.Task, *args: Any, **kwargs: Any) -> None:
        init(task, *args, **kwargs)
        definition = task._backend.describe_task_definition(task.task_definition_arn)
        running = [RunningContainer(task, each) for each in definition.container_definitions]
        task.containers = cast("list[ecs_models.Container]", running)

    return __init__


def _keep_running(task: ecs_models.Task) -> None:
    """Describing a task leaves it in its state (moto's ManagedState would step it towards STOPPED)."""


def _starting_tasks(create_service: Callable[..., ecs_models.Service]) -> Callable[..., ecs_models.Service]:
    def create(
        backend: ecs_models.EC2ContainerServiceBackend, *args: Any, **kwargs: Any
    ) -> ecs_models.Service:
        service = create_service(backend, *args, **kwargs)
        if service.task_definition and service.launch_type == "FARGATE" and service.desired_count:
            backend.run_task(
                service.cluster_arn,
                service.task_definition,
                service.desired_count,
                overrides=None,
                started_by=str(service.deployments[0]["id"]) if service.deployments else "",
                tags=None,
                launch_type="FARGATE",
                networking_configuration=service.network_configuration or None,
                group=f"service:{service.name}",
            )
        return service

    return create


def _refresh_counts(service: ecs_models.Service) -> None:
    """A service's running count is its tasks' still running; none are ever being placed."""
    tasks = service._backend.tasks.get(service.cluster_name, {}).values()
    running = sum(task.group == f"service:{service.name}" and task.last_status == "RUNNING" for task in tasks)
    service.running_count = running
    service.pending_count = 0
    for deployment in service.deployments:
        if deployment["taskDefinition"] == service.task_definition:
            deployment.update(runningCount=running, pendingCount=0)


def _with_live_counts(
    call: Callable[[EC2ContainerServiceResponse], ActionResult],
) -> Callable[[EC2ContainerServiceResponse], ActionResult]:
    def with_live_counts(response: EC2ContainerServiceResponse) -> ActionResult:
        result = call(response)
        answered = cast("dict[str, Any]", result.result)
        for service in answered["services"] if "services" in answered else [answered["service"]]:
            _refresh_counts(service)
        return result

    return with_live_counts


def _at_most(
    call: Callable[[EC2ContainerServiceResponse], ActionResult], member: str, largest: int
) -> Callable[[EC2ContainerServiceResponse], ActionResult]:
    def at_most(response: EC2ContainerServiceResponse) -> ActionResult:
        names = response._get_param(member) or []
        if len(names) > largest:
            raise InvalidParameterException(f"{member} can have at most {largest} items, got {len(names)}")
        return call(response)

    return at_most
