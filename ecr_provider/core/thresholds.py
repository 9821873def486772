"""Which repositories are over their storage threshold (docs/reports.md: global GB plus glob overrides)."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TypedDict

from ecr_provider.core.units import GB


def non_negative_number(value: object, name: str, unit: str) -> Decimal:
    """A finite number >= 0, given as a number or a numeric string (trigger forms send strings)."""
    try:
        if isinstance(value, bool):
            raise InvalidOperation
        number = Decimal(str(value).strip())
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite() or number < 0:
        raise ValueError(f"{name} must be a number of {unit} >= 0, got {value!r}")
    return number


def gigabytes(value: object, name: str) -> Decimal:
    return non_negative_number(value, name, "GB")


def check_glob(pattern: object) -> str:
    if not isinstance(pattern, str) or not pattern.strip():
        raise ValueError(f"repository pattern must be a non-empty glob string, got {pattern!r}")
    if pattern.count("[") != pattern.count("]"):
        raise ValueError(f"repository pattern {pattern!r} has an unbalanced '[' or ']'")
    return pattern


@dataclass(frozen=True, slots=True)
class ThresholdPolicy:
    global_gb: Decimal
    overrides: tuple[tuple[str, Decimal], ...] = ()

    @classmethod
    def from_params(cls, global_gb: object, overrides: Mapping[str, object] | None) -> ThresholdPolicy:
        if overrides is not None and not isinstance(overrides, Mapping):
            raise ValueError(f"repository_thresholds_gb must be an object of glob -> GB, got {overrides!r}")
        return cls(
            gigabytes(global_gb, "storage_threshold_gb"),
            tuple(
                (check_glob(pattern), gigabytes(gb, f"repository_thresholds_gb[{pattern!r}]"))
                for pattern, gb in (overrides or {}).items()
            ),
        )

    def threshold_gb(self, repository_name: str) -> Decimal:
        """The last matching pattern wins, so general patterns go first and exceptions after."""
        matched = self.global_gb
        for pattern, gb in self.overrides:
            if fnmatch.fnmatchcase(repository_name, pattern):
                matched = gb
        return matched


@dataclass(frozen=True, slots=True)
class Breach:
    repository_name: str
    account_id: str
    region: str
    billable_size_bytes: int
    threshold_gb: Decimal
    monthly_cost_usd: str
    days_since_last_pull: str

    @property
    def size_gb(self) -> Decimal:
        return Decimal(self.billable_size_bytes) / GB

    @property
    def identity(self) -> str:
        """The repository, once in an organisation: names repeat across accounts and regions."""
        return f"{self.account_id}/{self.region}/{self.repository_name}"

    def as_record(self) -> BreachRecord:
        return BreachRecord(
            repository_name=self.repository_name,
            account_id=self.account_id,
            region=self.region,
            billable_size_bytes=self.billable_size_bytes,
            threshold_gb=str(self.threshold_gb),
            monthly_cost_usd=self.monthly_cost_usd,
            days_since_last_pull=self.days_since_last_pull,
        )

    @classmethod
    def from_record(cls, record: BreachRecord) -> Breach:
        return cls(
            repository_name=record["repository_name"],
            account_id=record["account_id"],
            region=record["region"],
            billable_size_bytes=record["billable_size_bytes"],
            threshold_gb=Decimal(record["threshold_gb"]),
            monthly_cost_usd=record["monthly_cost_usd"],
            days_since_last_pull=record["days_since_last_pull"],
        )


class BreachRecord(TypedDict):
    """A breach as JSON, in the report task's outcome record."""

    repository_name: str
    account_id: str
    region: str
    billable_size_bytes: int
    threshold_gb: str
    monthly_cost_usd: str
    days_since_last_pull: str


def largest_first(breaches: Iterable[Breach]) -> list[Breach]:
    return sorted(breaches, key=lambda b: (-b.billable_size_bytes, b.account_id, b.region, b.repository_name))


def find_breaches(rows: Iterable[Mapping[str, str]], policy: ThresholdPolicy) -> list[Breach]:
    """Rows are repositories_summary rows keyed by header; the largest breach comes first."""
    breaches = []
    for row in rows:
        name = row["repositoryName"]
        threshold = policy.threshold_gb(name)
        size = int(row["billableSizeBytes"])
        if size > threshold * GB:
            breaches.append(
                Breach(
                    repository_name=name,
                    account_id=row["accountId"],
                    region=row["region"],
                    billable_size_bytes=size,
                    threshold_gb=threshold,
                    monthly_cost_usd=row["monthlyStorageCost(USD)"],
                    days_since_last_pull=row["daysSinceLastPull"],
                )
            )
    return largest_first(breaches)
