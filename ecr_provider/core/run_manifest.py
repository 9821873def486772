"""The run manifest: what one run of a report date loaded, skipped and failed, kept beside its CSVs.

A reader (or an auditor) must be able to tell a whole report date from a partial one without
trusting the Airflow UI: the manifest names every registry of the run, the objects each wrote, its
counts, the repositories it skipped and why, the error of each registry that failed, and whether
the date is ``complete``. Written last (after stale objects are removed), so a manifest that says
complete describes exactly the objects under the date's partitions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ecr_provider.core.layout import check_report_date
from ecr_provider.core.targets import RegistryTarget, registry_label

MANIFEST_VERSION = 1
RUNS_DIRECTORY = "_runs"
MANIFEST_NAME = "manifest.json"
LOADED = "loaded"
FAILED = "failed"


def date_record_key(prefix: str, directory: str, report_date: str, name: str) -> str:
    """``{prefix}/{directory}/report_date=YYYY-MM-DD/{name}``: a record about a date, outside the
    report tables' locations so Athena never reads it as a row."""
    base = f"{prefix}/{directory}" if prefix else directory
    return f"{base}/report_date={check_report_date(report_date)}/{name}"


def run_manifest_key(prefix: str, report_date: str) -> str:
    return date_record_key(prefix, RUNS_DIRECTORY, report_date, MANIFEST_NAME)


def check_targets(targets: object) -> list[RegistryTarget]:
    """The targets task's XCom (``region_name``, ``role_arn`` per registry), in map-index order."""
    if isinstance(targets, str | bytes | Mapping) or not isinstance(targets, Sequence) or not targets:
        raise ValueError(f"targets must be the registry targets task's non-empty list, got {targets!r}")
    checked = []
    for target in targets:
        if (
            not isinstance(target, Mapping)
            or not isinstance(target.get("region_name"), str)
            or not isinstance(target.get("role_arn"), str | None)
        ):
            raise ValueError(f"target {target!r} is not a mapping of region_name and role_arn")
        checked.append(RegistryTarget(target["region_name"], target["role_arn"]))
    return checked


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
        }


def target_outcomes(
    targets: Sequence[RegistryTarget],
    summaries: Sequence[Mapping[str, Any] | None],
    errors: Sequence[str | None],
    report_task_id: str,
) -> tuple[TargetOutcome, ...]:
    """Map index ``i`` of the report task read ``targets[i]``: a summary means it loaded, none that it
    failed; its error is what the task recorded, else a pointer to its log (a killed task records none)."""
    outcomes = []
    for index, (target, summary, error) in enumerate(zip(targets, summaries, errors, strict=True)):
        if summary:
            outcomes.append(
                TargetOutcome(
                    region=target.region,
                    role_arn=target.role_arn,
                    account_id=str(summary["account_id"]),
                    status=LOADED,
                    keys=dict(summary["keys"]),
                    repositories=int(summary["repositories"]),
                    images=int(summary["images"]),
                    skipped=tuple(dict(skip) for skip in summary.get("skipped", ())),
                    error=None,
                    findings=None if summary.get("findings") is None else int(summary["findings"]),
                )
            )
        else:
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
                    or f"{report_task_id}[{index}] wrote no report and recorded no error; see its task log",
                )
            )
    return tuple(outcomes)


@dataclass(frozen=True, slots=True)
class RunRecord:
    report_date: str
    as_of: str
    code_version: str
    targets: tuple[TargetOutcome, ...]

    @property
    def complete(self) -> bool:
        return all(target.status == LOADED for target in self.targets)

    @property
    def failed(self) -> tuple[TargetOutcome, ...]:
        return tuple(target for target in self.targets if target.status == FAILED)

    def stale(self, listed: Iterable[str]) -> list[str]:
        """Objects under the date's partitions that this run did not write: parts of registries no
        longer reported, or of registries that failed this time."""
        written = {key for target in self.targets for key in target.keys.values()}
        return sorted(set(listed) - written)

    def manifest(self, *, removed: Sequence[str], kept: Sequence[str]) -> dict[str, Any]:
        """``removed``: stale objects deleted; ``kept``: stale objects left because the run is
        incomplete (a failed registry's earlier part is not thrown away before a rerun replaces it)."""
        return {
            "manifest_version": MANIFEST_VERSION,
            "report_date": self.report_date,
            "as_of": self.as_of,
            "code_version": self.code_version,
            "complete": self.complete,
            "targets": [target.as_dict() for target in self.targets],
            "totals": {
                "targets": len(self.targets),
                "loaded": len(self.targets) - len(self.failed),
                "failed": len(self.failed),
                "repositories": sum(target.repositories or 0 for target in self.targets),
                "images": sum(target.images or 0 for target in self.targets),
                "findings": sum(target.findings or 0 for target in self.targets),
                "skipped_repositories": sum(len(target.skipped) for target in self.targets),
            },
            "stale_objects": {"removed": list(removed), "kept": list(kept)},
        }
