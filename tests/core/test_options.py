"""RegistryOptions: the one check of how a registry is read, for the CLI's arguments and the operator's
rendered templates alike."""

from __future__ import annotations

import inspect
import re
from decimal import Decimal

import pytest

from ecr_provider.core.cleanup import CleanupRules
from ecr_provider.core.options import RegistryOptions
from ecr_provider.core.settings import CONSOLE_SETTINGS


def test_rendered_template_text_is_read_as_the_values_it_renders() -> None:
    options = RegistryOptions.parse(
        read_manifests="never",
        max_concurrency="8",
        include_findings=True,
        findings_max_age_days="7",
        price_per_gb_month="0.11",
    )

    assert options == RegistryOptions("never", 8, 7, Decimal("0.11"))


def test_without_findings_there_is_no_age_bound_but_a_bad_one_is_still_refused() -> None:
    assert (
        RegistryOptions.parse(include_findings=False, findings_max_age_days=7).findings_max_age_days is None
    )
    with pytest.raises(ValueError, match=r"findings_max_age_days .*got 3651"):
        RegistryOptions.parse(include_findings=False, findings_max_age_days=3651)


def test_the_console_options_of_the_settings_table_are_the_registry_options_and_the_regions() -> None:
    """The console command hands its table-made options to ``parse`` by name, the regions, the
    workload accounts (whose usage it reads before any registry) and the Glue database of
    ``--upload`` aside."""
    console = {setting.name for setting in CONSOLE_SETTINGS}

    assert console - {"regions", "workload_accounts", "athena_database"} == set(
        inspect.signature(RegistryOptions.parse).parameters
    )


def test_the_request_ceiling_and_the_cleanup_rules_are_read_from_rendered_text() -> None:
    """The report operator's rendered fields are text."""
    options = RegistryOptions.parse(
        max_requests_per_second="5", reclaim_after_days="30", protected_tag_patterns=["v*"]
    )

    assert options.max_requests_per_second == 5.0
    assert options.cleanup == CleanupRules(30, ("v*",))


@pytest.mark.parametrize(
    ("values", "named"),
    [
        (
            {"reclaim_after_days": "-1"},
            "reclaim_after_days must be a whole number of days from 0 to 3650, got '-1'",
        ),
        ({"reclaim_after_days": 3651}, "got 3651"),
        (
            {"protected_tag_patterns": "v*"},
            "protected_tag_patterns must be a list of glob patterns, got 'v*'",
        ),
        (
            {"protected_tag_patterns": ["v*", " "]},
            "protected_tag_patterns: ' ' is not a non-empty glob pattern",
        ),
    ],
)
def test_bad_cleanup_rules_are_named(values: dict[str, object], named: str) -> None:
    with pytest.raises(ValueError, match=re.escape(named)):
        RegistryOptions.parse(**values)


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"read_manifests": "sometimes"}, "read_manifests 'sometimes'"),
        ({"max_concurrency": "65"}, "got 65"),
        ({"max_concurrency": "four"}, "got 'four'"),
        ({"include_findings": "yes"}, "include_findings must be true or false, got 'yes'"),
        ({"price_per_gb_month": "0"}, "price_per_gb_month must be a positive USD amount"),
    ],
)
def test_a_bad_value_is_refused_naming_it(values: dict[str, object], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        RegistryOptions.parse(**values)
