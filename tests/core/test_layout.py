"""The generations of a report date: their names, where their objects and manifests are, and how a
listed key is told to be of one generation or of a date written before generations."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ecr_provider.core.layout import (
    check_generation,
    generation_manifest_key,
    generation_of,
    generation_prefix,
    in_progress_key,
    new_generation,
    partition_prefix,
    report_key,
)

DATE = "2026-11-20"
GENERATION = "20261120T010203Z-0a1b2c3d"


def test_a_generation_is_named_by_its_start_and_random_bits_so_it_sorts_by_age_and_never_repeats() -> None:
    early = new_generation(datetime(2026, 11, 20, 1, 2, 3, tzinfo=UTC))
    same_second = new_generation(datetime(2026, 11, 20, 1, 2, 3, tzinfo=UTC))
    later = new_generation(datetime(2026, 11, 21, tzinfo=UTC))

    assert early.startswith("20261120T010203Z-")
    assert check_generation(early) == early
    assert early != same_second
    assert max(early, same_second) < later


def test_a_generation_sorts_after_the_newest_one_known_whatever_the_clock() -> None:
    now = datetime(2026, 11, 20, 1, 2, 3, tzinfo=UTC)
    assert new_generation(now, after="20261120T010203Z-ffffffff").startswith("20261120T010204Z-")
    assert new_generation(now, after="20261120T093000Z-00000000").startswith("20261120T093001Z-")
    assert new_generation(now, after="20261119T235959Z-ffffffff").startswith("20261120T010203Z-")


@pytest.mark.parametrize("bad", ["", "latest", "20261120T010203Z", "20261120T010203Z-0A1B2C3D", "../x"])
def test_a_generation_that_is_not_one_is_refused_naming_it(bad: str) -> None:
    with pytest.raises(ValueError, match=f"generation {bad!r} is not"):
        check_generation(bad)


def test_a_generations_objects_sit_under_the_dates_partition_and_its_manifest_beside_the_runs() -> None:
    assert generation_prefix("p", "images_summary", DATE, GENERATION) == (
        f"p/images_summary/report_date={DATE}/generation={GENERATION}/"
    )
    assert report_key("p", "images_summary", DATE, "111111111111", "eu-west-1", generation=GENERATION) == (
        f"p/images_summary/report_date={DATE}/generation={GENERATION}/111111111111-eu-west-1.csv"
    )
    assert report_key("p", "images_summary", DATE, "111111111111", "eu-west-1", generation=None) == (
        f"p/images_summary/report_date={DATE}/111111111111-eu-west-1.csv"
    )
    assert generation_manifest_key("p", DATE, GENERATION) == (
        f"p/_runs/report_date={DATE}/generation={GENERATION}/manifest.json"
    )
    assert in_progress_key("p", DATE) == f"p/_runs/report_date={DATE}/in_progress.json"


def test_a_listed_key_is_of_its_generation_or_of_none_when_written_before_generations() -> None:
    partition = partition_prefix("p", "images_summary", DATE)
    new = report_key("p", "images_summary", DATE, "111111111111", "eu-west-1", generation=GENERATION)
    old = report_key("p", "images_summary", DATE, "111111111111", "eu-west-1", generation=None)

    assert generation_of(new, partition) == GENERATION
    assert generation_of(old, partition) is None
