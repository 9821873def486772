"""How a registry is read, validated once for every door (the CLI, the operator, the benchmark).

The values may arrive as a DAG's rendered templates (text), as command-line options or as Python
values, each under its name in the table of settings; each check names the offending value and what
is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from ecr_provider.core.cleanup import (
    DEFAULT_RECLAIM_AFTER_DAYS,
    CleanupRules,
    check_protected_tag_patterns,
    check_reclaim_after_days,
)
from ecr_provider.core.settings import (
    DEFAULT_FINDINGS_MAX_AGE_DAYS,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_REQUESTS_PER_SECOND,
    ReadManifests,
    check_concurrency,
    check_findings_max_age_days,
    check_flag,
    check_price,
    check_read_manifests,
    check_request_rate,
    whole_number,
)


@dataclass(frozen=True, slots=True)
class RegistryOptions:
    read_manifests: ReadManifests = "if-excluded"
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    findings_max_age_days: int | None = None
    """The image_findings report covers images pushed or pulled within this many days; None: no report."""
    price_per_gb_month: Decimal | None = None
    """Storage price override in USD; None: the Price List API, else the documented table."""
    max_requests_per_second: float | None = None
    """Hard ceiling on the requests sent to the registry; None: none, paced only while throttled."""
    cleanup: CleanupRules = field(default_factory=CleanupRules)
    """When an image that nothing uses counts as reclaimable."""
    repository: str | None = None
    """Only this repository is read (the console command's ``--repository``); None: every one."""

    @classmethod
    def parse(
        cls,
        *,
        read_manifests: object = "if-excluded",
        max_concurrency: object = DEFAULT_MAX_CONCURRENCY,
        include_findings: object = False,
        findings_max_age_days: object = DEFAULT_FINDINGS_MAX_AGE_DAYS,
        price_per_gb_month: object = None,
        max_requests_per_second: object = DEFAULT_REQUESTS_PER_SECOND,
        reclaim_after_days: object = DEFAULT_RECLAIM_AFTER_DAYS,
        protected_tag_patterns: object = (),
    ) -> RegistryOptions:
        """The age bound is checked even when findings are off, so a bad value is caught before the
        day someone turns them on."""
        max_age = check_findings_max_age_days(whole_number(findings_max_age_days))
        return cls(
            read_manifests=check_read_manifests(read_manifests),
            max_concurrency=check_concurrency(whole_number(max_concurrency)),
            findings_max_age_days=max_age if check_flag(include_findings, "include_findings") else None,
            price_per_gb_month=check_price(price_per_gb_month),
            max_requests_per_second=check_request_rate(max_requests_per_second),
            cleanup=CleanupRules(
                check_reclaim_after_days(whole_number(reclaim_after_days)),
                check_protected_tag_patterns(protected_tag_patterns),
            ),
        )
