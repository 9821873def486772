"""The run manifest: what one run of a report date loaded, skipped and failed, kept beside its CSVs.

A reader (or an auditor) must be able to tell a whole report date from a partial one without
trusting the Airflow UI: the manifest names every registry of the run, the generation its objects
are under, the objects each wrote, its counts, the repositories it skipped and why, the error of each
registry that failed, and whether the date is ``complete``. Written once the objects of failed
registries are removed from the generation, so a manifest describes exactly the objects under it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, NotRequired, TypedDict, cast

from ecr_provider.core import units
from ecr_provider.core.targets import RegistryTarget, TargetParams, registry_label
from ecr_provider.core.thresholds import BreachRecord

MANIFEST_VERSION = 2
"""2: the manifest names the generation its objects are under (1: objects directly under the date)."""
LOADED: Literal["loaded"] = "loaded"
FAILED: Literal["failed"] = "failed"
ERROR_LIMIT = 2000
"""Characters of a failed task's error kept for the manifest; describe_failure messages are far shorter."""


class RegistrySummary(TypedDict):
    """What a report task returns: object keys and a handful of numbers, never rows."""

    account_id: str
    region: str
    report_date: str
    keys: dict[str, str]
    repositories: int
    images: int
    total_size_bytes: int
    billable_size_bytes: int
    monthly_cost_usd: str
    findings: NotRequired[int]
    """Rows of the image_findings object, when that report was asked for and written."""
    findings_error: NotRequired[str]
    """Why the image_findings object was not written (the failed call), when it was asked for."""
    skipped: list[dict[str, str]]
    calls: list[dict[str, dict[str, int]]]


class OutcomeRecord(TypedDict):
    """One registry's outcome in its report task's record (``core.run_plan``), loaded or failed:
    Airflow keeps no exception of a failed task, and the manifest must name each registry's error."""

    index: int
    """The registry's position in the run's targets."""
    target: TargetParams
    status: Literal["loaded", "failed"]
    summary: RegistrySummary | None
    error: str | None
    breaches: list[BreachRecord]
    """Its repositories over their storage threshold, for the alert."""


class ReportPartFailed(RuntimeError):
    """A registry's summaries loaded and a part of its report did not."""


def check_loaded(summary: RegistrySummary) -> RegistrySummary:
    """``summary`` when every report asked for was written. Otherwise raises, naming the failed call,
    so the task (recorded as loaded, its summaries written) still fails and the run ends failed."""
    error = summary.get("findings_error")
    if error:
        raise ReportPartFailed(
            f"image_findings of {registry_label(summary['account_id'], summary['region'])} was not written "
            f"({error}); its other reports were"
        )
    return summary


def error_line(error: BaseException) -> str:
    """The error on one line, its type first, short enough for the manifest."""
    return " ".join(f"{type(error).__name__}: {error}".split())[:ERROR_LIMIT]


@dataclass(frozen=True, slots=True)
class TargetOutcome:
    """One registry of the run. ``account_id`` None: the connection's own account, never reached."""

    region: str
    role_arn: str | None
    account_id: str | None
    status: str
    keys: Mapping[str, str]
    repositories: int | None
    images: int | None
    skipped: tuple[Mapping[str, str], ...]
    error: str | None
    findings: int | None = None
    """Rows of its image_findings object; None when the report was off or the registry failed."""
    findings_error: str | None = None
    """A loaded registry whose image_findings could not be read: the call that failed."""
    storage: Mapping[str, int | str] | None = None
    """Its image-size and unique-blob bytes and monthly cost, as its summary has them; None when it failed.
    Kept in the manifest so a trend over dates reads one small JSON per date, not the date's CSVs."""

    @property
    def label(self) -> str:
        return registry_label(self.account_id, self.region)

    def as_dict(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "region": self.region,
            "role_arn": self.role_arn,
            "status": self.status,
            "keys": dict(self.keys),
            "repositories": self.repositories,
            "images": self.images,
            "findings": self.findings,
            "skipped": [dict(skip) for skip in self.skipped],
            "error": self.error,
            "findings_error": self.findings_error,
        }


def target_outcomes(
    targets: Sequence[RegistryTarget], records: Mapping[int, OutcomeRecord]
) -> tuple[TargetOutcome, ...]:
    """``records`` are this run's, by target index; one recorded for another target does not count."""
    outcomes = []
    for index, target in enumerate(targets):
        record = records.get(index)
        if record is not None and record["target"] != target.as_operator_kwargs():
            record = None
        summary = record["summary"] if record is not None and record["status"] == LOADED else None
        if summary is not None:
            outcomes.append(
                TargetOutcome(
                    region=target.region,
                    role_arn=target.role_arn,
                    account_id=summary["account_id"],
                    status=LOADED,
                    keys=dict(summary["keys"]),
                    repositories=summary["repositories"],
                    images=summary["images"],
                    skipped=tuple(dict(skip) for skip in summary["skipped"]),
                    error=None,
                    findings=summary.get("findings"),
                    findings_error=summary.get("findings_error"),
                    storage=_storage(summary),
                )
            )
            continue
        error = record["error"] if record is not None else None
        outcomes.append(
            TargetOutcome(
                region=target.region,
                role_arn=target.role_arn,
                account_id=target.account_id,
                status=FAILED,
                keys={},
                repositories=None,
                images=None,
                skipped=(),
                error=error
                or f"target {index} ({target.label}) has no outcome in this run; see its report task's log",
            )
        )
    return tuple(outcomes)


def _storage(summary: RegistrySummary) -> dict[str, int | str] | None:
    """None for a summary recorded without them (by an earlier version of the report task)."""
    storage = {
        key: summary.get(key) for key in ("total_size_bytes", "billable_size_bytes", "monthly_cost_usd")
    }
    if any(value is None for value in storage.values()):
        return None
    return cast("dict[str, int | str]", storage)


@dataclass(frozen=True, slots=True)
class RunRecord:
    report_date: str
    as_of: str
    code_version: str
    targets: tuple[TargetOutcome, ...]

    @property
    def complete(self) -> bool:
        return all(target.status == LOADED and target.findings_error is None for target in self.targets)

    @property
    def failed(self) -> tuple[TargetOutcome, ...]:
        return tuple(target for target in self.targets if target.status == FAILED)

    @property
    def findings_failed(self) -> tuple[TargetOutcome, ...]:
        """Loaded registries whose image_findings part failed: their summaries stand, the date is
        incomplete all the same."""
        return tuple(target for target in self.targets if target.findings_error is not None)

    def gaps(self) -> str:
        """What makes the run incomplete, each registry named with its error; empty when complete."""
        parts = []
        if self.failed:
            errors = "; ".join(f"{target.label}: {target.error}" for target in self.failed)
            parts.append(f"{len(self.failed)} of {len(self.targets)} registries failed ({errors})")
        if self.findings_failed:
            errors = "; ".join(f"{target.label}: {target.findings_error}" for target in self.findings_failed)
            parts.append(
                f"image_findings of {len(self.findings_failed)} of {len(self.targets)} registries failed "
                f"({errors})"
            )
        return "; ".join(parts)

    def stale(self, listed: Iterable[str]) -> list[str]:
        """Objects listed under the run's generation that no loaded registry of it recorded: parts a
        registry wrote before it failed."""
        written = {key for target in self.targets for key in target.keys.values()}
        return sorted(set(listed) - written)

    def manifest(
        self,
        *,
        reports: Sequence[str],
        generation: str,
        removed: Sequence[str],
        prices: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """``reports``: those the run wrote, whose partitions of the date it vouches for, under
        ``generation``; ``removed``: objects of failed registries deleted from the generation, so a
        failed registry contributes nothing to it; ``prices``: per region, the storage prices every
        registry of the run was priced at, and their source."""
        return {
            "manifest_version": MANIFEST_VERSION,
            "report_date": self.report_date,
            "generation": generation,
            "as_of": self.as_of,
            "code_version": self.code_version,
            "complete": self.complete,
            "reports": list(reports),
            "prices": dict(prices or {}),
            "targets": [target.as_dict() for target in self.targets],
            "totals": {
                "targets": len(self.targets),
                "loaded": len(self.targets) - len(self.failed),
                "failed": len(self.failed),
                "findings_failed": len(self.findings_failed),
                "repositories": sum(target.repositories or 0 for target in self.targets),
                "images": sum(target.images or 0 for target in self.targets),
                "findings": sum(target.findings or 0 for target in self.targets),
                "skipped_repositories": sum(len(target.skipped) for target in self.targets),
            },
            "removed_objects": list(removed),
            "storage": self.storage(),
        }

    def storage(self) -> dict[str, Any]:
        """The loaded registries' storage, in all and per registry: this date's point of the trend."""
        loaded = [(target, target.storage) for target in self.targets if target.storage is not None]
        return {
            "total_size_bytes": sum(int(storage["total_size_bytes"]) for _, storage in loaded),
            "billable_size_bytes": sum(int(storage["billable_size_bytes"]) for _, storage in loaded),
            "monthly_cost_usd": units.usd(
                sum((Decimal(str(storage["monthly_cost_usd"])) for _, storage in loaded), Decimal(0))
            ),
            "registries": [
                {"account_id": target.account_id, "region": target.region, **storage}
                for target, storage in loaded
            ],
        }
