"""Report rows as an attacker who can write under the report prefix would leave them: every text cell
(and every string inside a JSON cell) is markup that would add an element, run script or leave its
attribute if a page ever inserted it unescaped. Numbers stay numbers, so the page renders every section."""

from __future__ import annotations

import json
from decimal import Decimal

from ecr_provider.core.columns import FINDING_COLUMNS, IMAGE_COLUMNS, REPOSITORY_COLUMNS, Column, Kind
from ecr_provider.core.records import SEVERITIES
from ecr_provider.core.units import GB

Row = dict[str, str]
INJECTED = "data-injected"
"""The attribute every payload's element carries: a page on which any element has it ran stored markup."""


def payload(field: str) -> str:
    """Breaks out of text, of a single- and a double-quoted attribute, and of ``<title>``/``<option>``."""
    return (
        f"'\"></option></title><b {INJECTED}='{field}'>{field}</b>"
        f"<img src=x onerror=\"document.title='pwned'\" {INJECTED}='{field}'>"
        "<script>document.title='pwned'</script>"
    )


def _hostile(columns: tuple[Column, ...], values: Row) -> Row:
    row = {column.header: payload(column.header) if column.kind is Kind.TEXT else "" for column in columns}
    row["lifecyclePolicyText"] = json.dumps(
        {"rules": [{"rulePriority": 1, "description": payload("lifecycle policy description")}]}
    )
    row["imageTags"] = json.dumps([payload("imageTags")])
    row["inUseBy"] = json.dumps([payload("inUseBy")])
    row.update(values)
    return {header: row[header] for header in (column.header for column in columns)}


def repositories() -> list[Row]:
    """Two repositories of the hostile registry: one over a 5 GB threshold with a policy, one without."""
    return [
        _hostile(
            REPOSITORY_COLUMNS,
            {
                "totalImages": "3",
                "totalSize(MB)": str(size_gb * 1024),
                "monthlyStorageCost(USD)": str(Decimal(size_gb) / 10),
                "daysSinceLastPull": "2",
                "totalSizeBytes": str(size_gb * GB),
                "billableSizeBytes": str(size_gb * GB),
                "pricePerGbMonth(USD)": "0.1000",
                "untaggedImages": "1",
                "archivedImages": "0",
                "archivedSizeBytes": "0",
                "archivePricePerGbMonth(USD)": "0.0025",
                "archivedMonthlyCost(USD)": "0.0000",
                "lifecycleMonthlySavings(USD)": "0.0100",
                "reclaimableMonthlySavings(USD)": "0.0200",
                "reclaimableBytes": str(GB // 5),
                "reclaimableImages": "1",
                "inUseImages": "1",
                "inUseNotRecentlyPulledImages": "0",
                "reclaimAfterDays": "90",
                "lifecycleExpiringImages": "1",
                "lifecycleExpiringBytes": str(GB // 10),
                **{f"findings{severity.capitalize()}": "1" for severity in SEVERITIES},
                **({} if with_policy else {"lifecyclePolicyText": ""}),
            },
        )
        for size_gb, with_policy in ((12, True), (2, False))
    ]


def images() -> list[Row]:
    """A running image with CRITICAL findings, a running one never scanned, one running that pull time
    alone would delete, and an idle one."""
    shapes = (
        {"findingsCritical": "2", "findingsHigh": "1", "daysSinceLastPull": "1", "inUse": "true"},
        {"findingsCritical": "", "findingsHigh": "", "daysSinceLastPull": "3", "inUse": "true"},
        {"findingsCritical": "0", "findingsHigh": "0", "daysSinceLastPull": "200", "inUse": "true"},
        {"findingsCritical": "0", "findingsHigh": "4", "daysSinceLastPull": "", "inUse": "false"},
    )
    return [
        _hostile(
            IMAGE_COLUMNS,
            {
                "imageSize(MB)": "100.00",
                "imageSizeBytes": str(100 * 2**20),
                "inUseCount": "1" if shape["inUse"] == "true" else "0",
                **shape,
            },
        )
        for shape in shapes
    ]


def findings() -> list[Row]:
    return [_hostile(FINDING_COLUMNS, {"cvssScore": "9.8"})]
