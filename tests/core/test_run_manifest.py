"""The run manifest builder: targets matched to summaries by map index, stale objects, the JSON record."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from ecr_provider.core.layout import date_record_key, run_manifest_key
from ecr_provider.core.run_manifest import (
    ERROR_LIMIT,
    FAILED,
    LOADED,
    OutcomeRecord,
    ReportPartFailed,
    RunRecord,
    check_loaded,
    error_line,
    target_outcomes,
)
from ecr_provider.core.targets import RegistryTarget

OWN = {"region_name": "us-east-1", "role_arn": None}
ROLE = "arn:aws:iam::222222222222:role/ecr-report"
OTHER = {"region_name": "eu-west-1", "role_arn": ROLE}
GENERATION = "20261120T010203Z-0a1b2c3d"
KEYS = {
    report: f"p/{report}/report_date=2026-11-20/generation={GENERATION}/111111111111-us-east-1.csv"
    for report in ("repositories_summary", "images_summary")
}
SUMMARY = {
    "account_id": "111111111111",
    "region": "us-east-1",
    "report_date": "2026-11-20",
    "keys": KEYS,
    "repositories": 3,
    "images": 12,
    "skipped": [{"repository": "gone", "reason": "RepositoryNotFoundException"}],
}
DENIED = "AwsCallError: sts:AssumeRole on " + ROLE + " failed with AccessDenied: not authorized"


RUN_ID = "scheduled__2026-11-20T00:00:00+00:00"


TARGETS = [RegistryTarget("us-east-1"), RegistryTarget("eu-west-1", ROLE)]


def outcome(index: int, target: Any, summary: Any, error: str | None) -> OutcomeRecord:
    return OutcomeRecord(
        index=index,
        target=target,
        status=LOADED if summary else FAILED,
        summary=summary,
        error=error,
        breaches=[],
    )


def record(summaries: list[Any], errors: list[str | None]) -> RunRecord:
    """Each target left a record: loaded with its summary, or failed with its error (or none)."""
    records = {
        index: outcome(index, target, summary, error)
        for index, (target, summary, error) in enumerate(zip([OWN, OTHER], summaries, errors, strict=True))
        if summary or error
    }
    return RunRecord(
        report_date="2026-11-20",
        as_of="2026-11-20T00:00:00+00:00",
        code_version="0.1.0",
        targets=target_outcomes(TARGETS, records),
    )


def test_keys_sit_beside_the_partitions_outside_the_tables() -> None:
    assert (
        run_manifest_key("ecr-reports", "2026-11-20")
        == "ecr-reports/_runs/report_date=2026-11-20/manifest.json"
    )
    assert run_manifest_key("", "2026-11-20") == "_runs/report_date=2026-11-20/manifest.json"
    assert date_record_key("a/b", "_notifications", "2026-01-02", "alert.json") == (
        "a/b/_notifications/report_date=2026-01-02/alert.json"
    )
    with pytest.raises(ValueError, match=re.escape("'2026-1-2'")):
        run_manifest_key("p", "2026-1-2")


def test_a_target_with_a_summary_loaded_one_without_failed_with_its_error() -> None:
    run = record([SUMMARY, None], [None, DENIED])

    loaded, failed = run.targets
    assert (loaded.status, loaded.account_id, loaded.region, loaded.role_arn) == (
        LOADED,
        "111111111111",
        "us-east-1",
        None,
    )
    assert (loaded.repositories, loaded.images, dict(loaded.keys)) == (3, 12, KEYS)
    assert loaded.findings is None  # the image_findings report was off
    assert loaded.skipped == ({"repository": "gone", "reason": "RepositoryNotFoundException"},)
    assert (failed.status, failed.account_id, failed.region, failed.error) == (
        FAILED,
        "222222222222",
        "eu-west-1",
        DENIED,
    )
    assert failed.label == "222222222222/eu-west-1"
    assert not run.complete
    assert run.failed == (failed,)


def test_a_task_that_recorded_nothing_points_to_its_log() -> None:
    run = record([None, None], [None, None])

    assert [target.error for target in run.targets] == [
        "target 0 (own account/us-east-1) has no outcome in this run; see its report task's log",
        "target 1 (222222222222/eu-west-1) has no outcome in this run; see its report task's log",
    ]
    assert run.targets[0].label == "own account/us-east-1"


def test_an_outcome_recorded_for_another_target_does_not_count() -> None:
    """A record that names another registry than the plan's at its index (a plan rewritten meanwhile)."""
    misplaced = {0: outcome(0, OWN, SUMMARY, None), 1: outcome(1, OWN, SUMMARY, None)}

    outcomes = target_outcomes(TARGETS, misplaced)

    assert [target.status for target in outcomes] == [LOADED, FAILED]
    assert outcomes[1].keys == {}


def test_error_line_is_one_line_with_its_type_and_bounded() -> None:
    assert error_line(RuntimeError("ecr:DescribeImages on arn\n  failed")) == (
        "RuntimeError: ecr:DescribeImages on arn failed"
    )
    assert len(error_line(ValueError("x" * 5000))) == ERROR_LIMIT


def test_stale_objects_are_those_no_loaded_registry_of_the_run_recorded() -> None:
    run = record([SUMMARY, {**SUMMARY, "account_id": "222222222222", "keys": {}}], [None, None])
    old = f"p/images_summary/report_date=2026-11-20/generation={GENERATION}/333333333333-us-east-1.csv"

    assert run.complete
    assert run.stale([*KEYS.values(), old]) == [old]
    assert run.stale(KEYS.values()) == []


def test_manifest_is_json_with_counts_version_and_completeness() -> None:
    run = record([{**SUMMARY, "findings": 42}, None], [None, DENIED])

    manifest = run.manifest(
        reports=["repositories_summary", "images_summary"],
        generation=GENERATION,
        removed=["p/failed.csv"],
        prices={"us-east-1": {"standard": "0.10", "archive": None, "source": "override"}},
    )

    assert json.loads(json.dumps(manifest)) == manifest
    assert manifest["complete"] is False
    assert (manifest["manifest_version"], manifest["generation"]) == (2, GENERATION)
    assert manifest["reports"] == ["repositories_summary", "images_summary"]
    assert manifest["prices"] == {"us-east-1": {"standard": "0.10", "archive": None, "source": "override"}}
    assert manifest["code_version"] == "0.1.0"
    assert manifest["as_of"] == "2026-11-20T00:00:00+00:00"
    assert manifest["totals"] == {
        "targets": 2,
        "loaded": 1,
        "failed": 1,
        "findings_failed": 0,
        "repositories": 3,
        "images": 12,
        "findings": 42,
        "skipped_repositories": 1,
    }
    assert manifest["targets"][0]["findings"] == 42
    assert manifest["removed_objects"] == ["p/failed.csv"]
    assert [target["status"] for target in manifest["targets"]] == [LOADED, FAILED]
    assert manifest["targets"][1] == {
        "account_id": "222222222222",
        "region": "eu-west-1",
        "role_arn": ROLE,
        "status": FAILED,
        "keys": {},
        "repositories": None,
        "images": None,
        "findings": None,
        "skipped": [],
        "error": DENIED,
        "findings_error": None,
    }
    assert run.gaps() == f"1 of 2 registries failed (222222222222/eu-west-1: {DENIED})"


FINDINGS_DENIED = (
    "AwsCallError: inspector2:ListFindings failed with AccessDeniedException: not authorized to "
    "perform: inspector2:ListFindings"
)


def test_a_registry_whose_findings_failed_loaded_its_summaries_and_leaves_the_date_incomplete() -> None:
    run = record(
        [SUMMARY, {**SUMMARY, "account_id": "222222222222", "findings_error": FINDINGS_DENIED}], [None, None]
    )

    assert not run.complete
    assert run.failed == ()
    [partial] = run.findings_failed
    assert (partial.status, partial.keys, partial.findings, partial.findings_error) == (
        LOADED,
        KEYS,
        None,
        FINDINGS_DENIED,
    )
    assert run.gaps() == (
        f"image_findings of 1 of 2 registries failed (222222222222/eu-west-1: {FINDINGS_DENIED})"
    )
    manifest = run.manifest(reports=["repositories_summary"], generation=GENERATION, removed=[])
    assert manifest["targets"][1]["findings_error"] == FINDINGS_DENIED
    assert (manifest["totals"]["loaded"], manifest["totals"]["findings_failed"]) == (2, 1)
    assert run.stale([*KEYS.values()]) == []


def test_check_loaded_passes_a_whole_summary_and_fails_one_without_its_findings() -> None:
    whole: Any = {**SUMMARY, "findings": 3}
    assert check_loaded(whole) is whole
    with pytest.raises(ReportPartFailed) as failed:
        check_loaded({**SUMMARY, "findings_error": FINDINGS_DENIED})  # type: ignore[typeddict-item]
    assert str(failed.value) == (
        f"image_findings of 111111111111/us-east-1 was not written ({FINDINGS_DENIED}); "
        "its other reports were"
    )
