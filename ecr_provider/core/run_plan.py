"""The plan of a run, written once to S3 before any registry is read: which registries, in which
batches, at which storage prices. What grows with the organisation travels through S3, never XCom:
the mapped tasks get only their batch number, and write their registries' outcomes back beside it
(``core.layout.plan_key`` and ``outcomes_key``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TypedDict, cast

from ecr_provider.core.price_table import PriceSource, StoragePrices
from ecr_provider.core.run_manifest import OutcomeRecord
from ecr_provider.core.targets import RegistryTarget, TargetParams, plan_targets

LARGE_REGISTRY_IMAGES = 50_000
"""A registry that had this many images at its last report gets a batch of its own."""


class PricesRecord(TypedDict):
    standard: str
    archive: str | None
    source: PriceSource


class RunPlan(TypedDict):
    run_id: str
    report_date: str
    generation: str
    """Where every report task of the run writes its objects (``core.layout.generation_prefix``)."""
    targets: list[TargetParams]
    batches: list[list[int]]
    """Target indexes of each batch; batch ``b`` is the report task of map index ``b``."""
    workloads: list[TargetParams]
    """Accounts x regions whose workloads are read for usage although no registry of theirs is reported."""
    prices: dict[str, PricesRecord]
    """Per region of the run, resolved once so every registry of the run is priced alike."""


class InProgress(TypedDict):
    """The mark of a run writing a date, so readers say the date is being rewritten."""

    run_id: str
    generation: str
    started: str


class TaskOutcomes(TypedDict):
    """What one report task left: the outcomes of its registries so far (a retry keeps the loaded)."""

    run_id: str
    generation: str
    """The plan's: a run cleared and run again keeps its run id, not its generation."""
    outcomes: list[OutcomeRecord]


def written_by(record: Mapping[str, object], run_id: str, generation: str) -> bool:
    """Whether ``record`` is of the attempt of run ``run_id`` that planned ``generation``.

    A task retried within a run keeps what it recorded; a run cleared and run again (Airflow's Clear
    keeps the run id) plans another generation, and what an earlier, killed or failed attempt recorded
    is not this one's: a registry it loaded lies under the old generation, which this attempt's
    manifest task deletes, and the use it read may have changed since."""
    return record.get("run_id") == run_id and record.get("generation") == generation


def planned_outcomes(document: Mapping[str, object] | None, plan: RunPlan) -> list[OutcomeRecord]:
    """The outcomes of a report task's record when the run of ``plan`` wrote it (:func:`written_by`)."""
    if document is None or not written_by(document, plan["run_id"], plan["generation"]):
        return []
    return cast("list[OutcomeRecord]", document["outcomes"])


def unique_registries(targets: Sequence[RegistryTarget], own_account: str) -> list[RegistryTarget]:
    """One target per (account, region): an account listed under two role names, or the connection's
    own account listed by a role too, would otherwise be reported twice into the same objects."""
    seen: dict[tuple[str, str], RegistryTarget] = {}
    for target in targets:
        seen.setdefault((target.account_id or own_account, target.region), target)
    return list(seen.values())


def workload_sources(
    targets: Sequence[RegistryTarget], role_arns: Sequence[str], regions: Sequence[str], own_account: str
) -> list[RegistryTarget]:
    """The workload accounts in every region, but for the registries of the run (read anyway)."""
    if not role_arns:
        return []
    seen = {(target.account_id or own_account, target.region) for target in targets}
    return [
        workload
        for workload in unique_registries(plan_targets(role_arns, regions), own_account)
        if (workload.account_id or own_account, workload.region) not in seen
    ]


def usage_sources(plan: RunPlan, batch: int) -> list[RegistryTarget]:
    """The sources the usage task of ``batch`` reads: its registries' own accounts and regions, and
    every n-th workload source (n batches), so workload accounts spread over the batches."""
    registries = [RegistryTarget.of(plan["targets"][index]) for index in plan["batches"][batch]]
    workloads = [RegistryTarget.of(params) for params in plan["workloads"][batch :: len(plan["batches"])]]
    return registries + workloads


def plan_batches(
    images: Sequence[int | None], batch_size: int, max_batches: int, large: int = LARGE_REGISTRY_IMAGES
) -> list[list[int]]:
    """Target indexes in batches of ``batch_size``, in order, a registry known to be large (``images``
    at its last report) alone; the batch size grows when the batches would exceed ``max_batches``
    (Airflow's ``max_map_length``), so no organisation is too large to map."""
    alone = [[index] for index, count in enumerate(images) if count is not None and count >= large]
    rest = [index for index, count in enumerate(images) if count is None or count < large]
    room = max_batches - len(alone)
    if room < 1 and rest:
        raise ValueError(
            f"{len(alone)} large registries leave no room under the map limit of {max_batches}: "
            "raise [core] max_map_length"
        )
    size = max(batch_size, math.ceil(len(rest) / room)) if rest else batch_size
    return [*alone, *(rest[start : start + size] for start in range(0, len(rest), size))]


def prices_record(prices: StoragePrices) -> PricesRecord:
    return PricesRecord(
        standard=str(prices.standard),
        archive=None if prices.archive is None else str(prices.archive),
        source=prices.source,
    )


def prices_of(plan: RunPlan) -> dict[str, StoragePrices]:
    return {
        region: StoragePrices(
            Decimal(record["standard"]),
            None if record["archive"] is None else Decimal(record["archive"]),
            record["source"],
        )
        for region, record in plan["prices"].items()
    }


def check_plan(document: Mapping[str, object] | None, run_id: str, where: str) -> RunPlan:
    """The plan this run wrote; another run's (a rerun of the date) would assign other registries."""
    if document is None:
        raise ValueError(f"no run plan at {where}: the registry_targets task of this run did not write it")
    if document.get("run_id") != run_id:
        raise ValueError(f"the run plan at {where} is of run {document.get('run_id')!r}, not of {run_id!r}")
    return cast("RunPlan", document)
