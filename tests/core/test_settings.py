"""The settings: every bad input is refused with a message naming it; good input is normalised."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, get_type_hints

import pytest

from ecr_provider.core.settings import (
    DEFAULTS,
    REPORT_DATE_PARAM,
    SETTINGS,
    CheckedSettings,
    DatedSettings,
    check_as_of,
    check_settings,
    resolve_dated_settings,
    resolve_settings,
    run_dates,
)
from tools.settings_reference import CONFIGURATION, SHAPES, configuration_page, shapes_source

BUCKET = "ecr-report-bucket"
NAN = float("nan")

# (setting, bad value, the text the error must contain: the value's repr unless said otherwise)
BAD_INPUTS: list[tuple[str, Any, str]] = [
    ("batch_size", 0, "batch_size must be a whole number of registries from 1 to 10000, got 0"),
    ("batch_size", "50", "got '50'"),
    ("max_requests_per_second", -5, "from 0 (no ceiling) to 1000, got -5"),
    ("max_requests_per_second", "fast", "got 'fast'"),
    ("max_requests_per_second", True, "got True"),
    ("regions", ["us-east-x"], "'us-east-x'"),
    ("regions", ["US-EAST-1"], "'US-EAST-1'"),
    ("regions", [""], "''"),
    ("regions", ["us-east-1", "eu-west-1", "mars-1"], "'mars-1'"),
    ("regions", [], "[]"),
    ("regions", "us-east-1", "'us-east-1'"),
    ("regions", None, "None"),
    ("report_bucket", "My_Bucket", "'My_Bucket'"),
    ("report_bucket", "ab", "'ab'"),
    ("report_bucket", "a..b", "'a..b'"),
    ("report_bucket", "192.168.1.1", "'192.168.1.1'"),
    ("report_bucket", "-bucket", "'-bucket'"),
    ("report_bucket", "bucket-", "'bucket-'"),
    ("report_bucket", "b" * 64, repr("b" * 64)),
    ("report_prefix", "/reports", "'/reports'"),
    ("report_prefix", "reports/", "'reports/'"),
    ("report_prefix", "ecr//reports", "'ecr//reports'"),
    ("athena_database", "ECR-Reports", "'ECR-Reports'"),
    ("storage_threshold_gb", -1, "-1"),
    ("storage_threshold_gb", "-0.5", "'-0.5'"),
    ("storage_threshold_gb", "ten", "'ten'"),
    ("storage_threshold_gb", NAN, "nan"),
    ("storage_threshold_gb", "NaN", "'NaN'"),
    ("storage_threshold_gb", "Infinity", "'Infinity'"),
    ("storage_threshold_gb", True, "True"),
    ("storage_threshold_gb", None, "None"),
    ("repository_thresholds_gb", ["team-*"], "['team-*']"),
    ("repository_thresholds_gb", "team-*=5", "'team-*=5'"),
    ("repository_thresholds_gb", {"team-[a": 5}, "'team-[a'"),
    ("repository_thresholds_gb", {"": 5}, "''"),
    ("repository_thresholds_gb", {"team-*": -5}, "-5"),
    ("repository_thresholds_gb", {"team-*": "lots"}, "'lots'"),
    ("repository_thresholds_gb", {"team-*": False}, "False"),
    ("sns_topic_arn", "not-an-arn", "'not-an-arn'"),
    ("sns_topic_arn", "arn:aws:sns:us-east-1:1234:alerts", "'arn:aws:sns:us-east-1:1234:alerts'"),
    (
        "sns_topic_arn",
        "arn:aws:sqs:us-east-1:123456789012:alerts",
        "'arn:aws:sqs:us-east-1:123456789012:alerts'",
    ),
    ("max_concurrency", 0, "0"),
    ("max_concurrency", 65, "65"),
    ("max_concurrency", "8", "'8'"),
    ("max_concurrency", 2.5, "2.5"),
    ("max_concurrency", True, "True"),
    ("price_per_gb_month", 0, "0"),
    ("price_per_gb_month", "0", "'0'"),
    ("price_per_gb_month", -0.1, "-0.1"),
    ("price_per_gb_month", "cheap", "'cheap'"),
    ("aws_conn_id", 42, "42"),
    ("include_findings", "yes", "'yes'"),
    ("include_findings", 1, "1"),
    ("findings_max_age_days", -1, "-1"),
    ("findings_max_age_days", 3651, "3651"),
    ("findings_max_age_days", "30", "'30'"),
    ("findings_max_age_days", 7.5, "7.5"),
    ("findings_max_age_days", True, "True"),
    ("report_kms_key_id", "my-key", "'my-key'"),
    (
        "report_kms_key_id",
        "key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "'key/1234abcd-12ab-34cd-56ef-1234567890ab'",
    ),
    (
        "report_kms_key_id",
        "arn:aws:kms:eu-west-1:1234:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "'arn:aws:kms:eu-west-1:1234:key/1234abcd-12ab-34cd-56ef-1234567890ab'",
    ),
    ("report_kms_key_id", "arn:aws:s3:::bucket", "'arn:aws:s3:::bucket'"),
    ("report_kms_key_id", "alias/", "'alias/'"),
    ("report_kms_key_id", 42, "42"),
    ("reclaim_after_days", -1, "-1"),
    ("reclaim_after_days", "90", "'90'"),
    ("protected_tag_patterns", "v*", "'v*'"),
    ("protected_tag_patterns", ["v*", 7], "7"),
    ("regionz", ["us-east-1"], "'regionz'"),
]


@pytest.mark.parametrize(
    ("setting", "value", "named"),
    BAD_INPUTS,
    ids=[f"{setting}={value!r}"[:60] for setting, value, _ in BAD_INPUTS],
)
def test_bad_input_is_refused_naming_the_value(setting: str, value: Any, named: str) -> None:
    values = {"report_bucket": BUCKET, setting: value}

    with pytest.raises(ValueError, match=re.escape(named)):
        check_settings(values)


def test_unknown_setting_error_lists_the_allowed_names() -> None:
    with pytest.raises(ValueError, match="unknown setting") as caught:
        check_settings({"report_bucket": BUCKET, "regionz": ["us-east-1"]})
    message = str(caught.value)
    assert "'regionz'" in message
    assert all(repr(name) in message for name in DEFAULTS)


def test_defaults_fill_everything_but_the_bucket() -> None:
    settings = check_settings({"report_bucket": BUCKET})

    assert settings == {
        "regions": ["us-east-1"],
        "accounts": [],
        "role_name": "",
        "discover_accounts": False,
        "workload_accounts": [],
        "discover_workload_accounts": False,
        "report_bucket": BUCKET,
        "report_prefix": "ecr-reports",
        "athena_database": "ecr_reports",
        "storage_threshold_gb": "50",
        "repository_thresholds_gb": {},
        "sns_topic_arn": "",
        "aws_conn_id": "aws_default",
        "price_per_gb_month": None,
        "max_concurrency": 32,
        "read_manifests": "if-excluded",
        "force_resend_notification": False,
        "include_findings": False,
        "max_requests_per_second": None,
        "batch_size": 50,
        "findings_max_age_days": 30,
        "report_kms_key_id": "",
        "reclaim_after_days": 90,
        "protected_tag_patterns": [],
    }


def test_good_input_is_normalised() -> None:
    settings = check_settings(
        {
            "regions": ["eu-west-1", "us-gov-west-1", "eu-west-1"],
            "report_bucket": "reports.example-1",
            "report_prefix": "",
            "storage_threshold_gb": "12.5",
            "repository_thresholds_gb": {"team-*": 5, "team-a/*": "20"},
            "sns_topic_arn": "arn:aws:sns:eu-west-1:123456789012:ecr-alerts.fifo",
            "aws_conn_id": "",
            "price_per_gb_month": "0.11",
            "max_concurrency": 64,
            "include_findings": True,
            "findings_max_age_days": 0,
        }
    )

    assert settings["regions"] == ["eu-west-1", "us-gov-west-1"]
    assert settings["report_prefix"] == ""
    assert settings["storage_threshold_gb"] == "12.5"
    assert settings["repository_thresholds_gb"] == {"team-*": "5", "team-a/*": "20"}
    assert settings["aws_conn_id"] is None
    assert settings["price_per_gb_month"] == "0.11"
    assert settings["max_concurrency"] == 64
    assert settings["include_findings"] is True
    assert settings["findings_max_age_days"] == 0


def test_resolve_explicit_params_override_configured_which_override_defaults() -> None:
    configured = json.dumps(
        {
            "report_bucket": "configured-bucket",
            "regions": ["eu-central-1"],
            "storage_threshold_gb": 10,
            "max_concurrency": 4,
        }
    )
    explicit = {"storage_threshold_gb": 20, "report_prefix": "adhoc"}

    settings = resolve_settings(configured, explicit)

    assert settings["report_bucket"] == "configured-bucket"  # configured only
    assert settings["regions"] == ["eu-central-1"]  # configured over default
    assert settings["max_concurrency"] == 4
    assert settings["storage_threshold_gb"] == "20"  # explicit over configured
    assert settings["report_prefix"] == "adhoc"  # explicit over default
    assert settings["athena_database"] == "ecr_reports"  # default


@pytest.mark.parametrize("configured", ["", "  \n", "{}"])
def test_resolve_with_empty_configuration_uses_defaults(configured: str) -> None:
    settings = resolve_settings(configured, {"report_bucket": BUCKET})
    assert settings == check_settings({"report_bucket": BUCKET})


@pytest.mark.parametrize("configured", ['["not", "an", "object"]', "{regions: us-east-1}", "42"])
def test_resolve_refuses_configuration_that_is_not_a_json_object(configured: str) -> None:
    with pytest.raises(ValueError, match="configured settings") as caught:
        resolve_settings(configured, {"report_bucket": BUCKET})
    assert repr(configured) in str(caught.value)


def test_resolve_validates_configured_values() -> None:
    with pytest.raises(ValueError, match="'us-east-x'"):
        resolve_settings('{"regions": ["us-east-x"]}', {"report_bucket": BUCKET})


# A value other than the default for every setting, with what it depends on.
NOT_DEFAULT: dict[str, dict[str, Any]] = {
    "regions": {"regions": ["eu-west-1", "ap-southeast-2"]},
    "accounts": {"accounts": ["123456789012", "arn:aws:iam::210987654321:role/ecr"], "role_name": "ecr"},
    "role_name": {"role_name": "path/ecr-reader"},
    "discover_accounts": {"discover_accounts": True, "role_name": "ecr"},
    "workload_accounts": {"workload_accounts": ["333333333333"], "role_name": "ecr"},
    "discover_workload_accounts": {"discover_workload_accounts": True, "role_name": "ecr"},
    "report_bucket": {"report_bucket": "reports.example"},
    "report_prefix": {"report_prefix": "a/b"},
    "athena_database": {"athena_database": "finops_ecr"},
    "storage_threshold_gb": {"storage_threshold_gb": 0.5},
    "repository_thresholds_gb": {"repository_thresholds_gb": {"*": 1, "ml-*": "250", "ml-*/cache": 0}},
    "sns_topic_arn": {"sns_topic_arn": "arn:aws:sns:eu-west-1:123456789012:ecr"},
    "aws_conn_id": {"aws_conn_id": None},
    "price_per_gb_month": {"price_per_gb_month": "0.095"},
    "max_concurrency": {"max_concurrency": 16},
    "force_resend_notification": {"force_resend_notification": True},
    "read_manifests": {"read_manifests": "never"},
    "include_findings": {"include_findings": True},
    "max_requests_per_second": {"max_requests_per_second": 25},
    "batch_size": {"batch_size": 7},
    "findings_max_age_days": {"findings_max_age_days": 90},
    "report_kms_key_id": {"report_kms_key_id": "arn:aws:kms:eu-west-1:123456789012:alias/ecr-reports"},
    "reclaim_after_days": {"reclaim_after_days": 30},
    "protected_tag_patterns": {"protected_tag_patterns": ["v*", "release-*"]},
}
ALL_NOT_DEFAULT = {name: value for values in NOT_DEFAULT.values() for name, value in values.items()}


def test_every_setting_has_a_typed_checked_form() -> None:
    names = [setting.name for setting in SETTINGS]

    assert list(get_type_hints(CheckedSettings)) == names
    assert list(get_type_hints(DatedSettings)) == [*names, "as_of", "report_date"]
    assert sorted(NOT_DEFAULT) == sorted(names)


@pytest.mark.parametrize(
    "values",
    [*NOT_DEFAULT.values(), ALL_NOT_DEFAULT],
    ids=[*NOT_DEFAULT, "all"],
)
def test_checked_settings_round_trip_through_json(values: dict[str, Any]) -> None:
    settings = check_settings({"report_bucket": BUCKET, **values})
    assert settings != check_settings({"report_bucket": BUCKET})

    params = json.loads(json.dumps(settings))

    assert list(params) == list(DEFAULTS)
    assert check_settings(params) == settings


def test_checked_settings_are_json_with_amounts_as_exact_text() -> None:
    assert check_settings(ALL_NOT_DEFAULT) == {
        "regions": ["eu-west-1", "ap-southeast-2"],
        "accounts": ["arn:aws:iam::123456789012:role/ecr", "arn:aws:iam::210987654321:role/ecr"],
        "role_name": "ecr",
        "discover_accounts": True,
        "workload_accounts": ["arn:aws:iam::333333333333:role/ecr"],
        "discover_workload_accounts": True,
        "report_bucket": "reports.example",
        "report_prefix": "a/b",
        "athena_database": "finops_ecr",
        "storage_threshold_gb": "0.5",
        "repository_thresholds_gb": {"*": "1", "ml-*": "250", "ml-*/cache": "0"},
        "sns_topic_arn": "arn:aws:sns:eu-west-1:123456789012:ecr",
        "aws_conn_id": None,
        "price_per_gb_month": "0.095",
        "max_concurrency": 16,
        "force_resend_notification": True,
        "read_manifests": "never",
        "include_findings": True,
        "max_requests_per_second": 25.0,
        "batch_size": 7,
        "findings_max_age_days": 90,
        "report_kms_key_id": "arn:aws:kms:eu-west-1:123456789012:alias/ecr-reports",
        "reclaim_after_days": 30,
        "protected_tag_patterns": ["v*", "release-*"],
    }


NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_as_of_in_the_future_is_refused() -> None:
    future = (NOW + timedelta(hours=1)).isoformat()
    with pytest.raises(ValueError, match="future") as caught:
        check_as_of(future, now=NOW)
    assert repr(future) in str(caught.value)


def test_as_of_within_clock_skew_is_accepted() -> None:
    assert check_as_of(NOW + timedelta(minutes=1), now=NOW) == NOW + timedelta(minutes=1)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-27T00:00:00", datetime(2026, 11, 27, tzinfo=UTC)),
        (datetime(2026, 11, 27), datetime(2026, 11, 27, tzinfo=UTC)),
        ("2026-11-27T00:00:00Z", datetime(2026, 11, 27, tzinfo=UTC)),
        (" 2026-11-26T23:30:00Z ", datetime(2026, 11, 26, 23, 30, tzinfo=UTC)),
        ("2026-11-27T02:00:00+02:00", datetime(2026, 11, 27, tzinfo=UTC)),
        (datetime(2026, 11, 27, 2, tzinfo=timezone(timedelta(hours=2))), datetime(2026, 11, 27, tzinfo=UTC)),
        ("2026-11-27", datetime(2026, 11, 27, tzinfo=UTC)),
    ],
)
def test_as_of_is_read_as_utc(value: object, expected: datetime) -> None:
    moment = check_as_of(value, now=NOW)

    assert moment == expected
    assert moment.utcoffset() == timedelta(0)


@pytest.mark.parametrize("garbage", ["yesterday", "", "27/11/2026", "2026-13-01T00:00:00Z", None])
def test_as_of_garbage_is_refused(garbage: object) -> None:
    with pytest.raises(ValueError, match="ISO-8601") as caught:
        check_as_of(garbage, now=NOW)
    assert repr(garbage) in str(caught.value)


SCHEDULED_END = datetime(2026, 11, 20, tzinfo=UTC)
CLICKED = datetime(2026, 11, 20, 14, 37, 5, tzinfo=UTC)
EMPTY_FORM = {**{setting.name: None for setting in SETTINGS}, REPORT_DATE_PARAM.name: None}


def test_a_form_left_empty_takes_the_configuration_not_the_built_in_defaults() -> None:
    """A UI trigger sends every field; the empty ones must not override ecr_report_config."""
    configured = json.dumps({"report_bucket": "lake", "storage_threshold_gb": 5, "include_findings": True})

    run = resolve_dated_settings(configured, EMPTY_FORM, interval_end=CLICKED, run_after=CLICKED)

    assert (run["report_bucket"], run["storage_threshold_gb"], run["include_findings"]) == ("lake", "5", True)
    assert run["report_prefix"] == DEFAULTS["report_prefix"]


def test_a_filled_field_overrides_the_configuration_and_a_null_in_it_is_unset() -> None:
    configured = json.dumps({"report_bucket": "lake", "storage_threshold_gb": None})

    run = resolve_dated_settings(
        configured, {**EMPTY_FORM, "storage_threshold_gb": 7}, interval_end=CLICKED, run_after=CLICKED
    )

    assert (run["report_bucket"], run["storage_threshold_gb"]) == ("lake", "7")
    assert (
        resolve_dated_settings(configured, {}, interval_end=None, run_after=CLICKED)["storage_threshold_gb"]
        == "50"
    )


def test_every_bad_value_is_named_in_one_error() -> None:
    params = {
        **EMPTY_FORM,
        "regions": ["mars-east-9"],
        "storage_threshold_gb": -1,
        "max_concurrency": 0,
        "report_date": "2026-13-01",
    }

    with pytest.raises(ValueError, match="mars-east-9") as caught:
        resolve_dated_settings('{"report_bucket": "lake"}', params, interval_end=CLICKED, run_after=CLICKED)

    message = str(caught.value)
    for named in ("'mars-east-9'", "storage_threshold_gb", "max_concurrency", "got 0", "'2026-13-01'"):
        assert named in message
    assert message.count("; ") == 3


def test_a_bad_role_name_is_named_once_not_again_through_the_accounts() -> None:
    with pytest.raises(ValueError, match="role_name") as caught:
        check_settings({"report_bucket": "lake", "role_name": "bad role!", "accounts": ["111122223333"]})
    assert str(caught.value) == "role_name 'bad role!' is not an IAM role name (letters, digits and +=,.@_-/)"


def test_a_scheduled_run_reports_its_interval_end_as_of_that_moment() -> None:
    assert run_dates(None, SCHEDULED_END, SCHEDULED_END + timedelta(seconds=3)) == (
        "2026-11-20",
        SCHEDULED_END,
    )


def test_a_manual_run_reports_its_day_as_of_the_days_start_not_the_click() -> None:
    """Two manual runs of a day, and its scheduled run, measure "days since" to the same moment."""
    later = CLICKED + timedelta(hours=5)
    assert run_dates(None, CLICKED, CLICKED) == run_dates("", later, later) == ("2026-11-20", SCHEDULED_END)


def test_a_manual_rerun_of_an_earlier_date_reproduces_its_as_of() -> None:
    assert run_dates("2026-11-03", CLICKED, CLICKED) == ("2026-11-03", datetime(2026, 11, 3, tzinfo=UTC))


@pytest.mark.parametrize(
    ("report_date", "named"),
    [
        ("2026-11-21", "'2026-11-21' is in the future"),
        ("2026-02-30", "'2026-02-30' is not a calendar date"),
        ("20261120", "'20261120' is not a date YYYY-MM-DD"),
        (20261120, "20261120 is not a date YYYY-MM-DD"),
    ],
)
def test_a_bad_report_date_is_refused(report_date: object, named: str) -> None:
    with pytest.raises(ValueError, match=re.escape(named)):
        run_dates(report_date, CLICKED, CLICKED)


def test_the_report_date_is_a_trigger_param_and_not_a_setting() -> None:
    """Configured, it would pin every scheduled run to one date."""
    with pytest.raises(ValueError, match=re.escape("unknown setting(s) ['report_date']")):
        resolve_dated_settings(
            '{"report_bucket": "lake", "report_date": "2026-11-01"}', {}, interval_end=None, run_after=CLICKED
        )


@pytest.mark.parametrize(
    "key_id",
    [
        "1234abcd-12ab-34cd-56ef-1234567890ab",
        "mrk-1234abcd12ab34cd56ef1234567890ab",
        "alias/ecr-reports",
        "alias/aws/s3",
        "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab",
        "arn:aws:kms:eu-west-1:123456789012:alias/team/ecr-reports",
    ],
)
def test_a_kms_key_id_alias_or_arn_is_taken_as_written(key_id: str) -> None:
    settings = check_settings({"report_bucket": BUCKET, "report_kms_key_id": key_id})
    assert settings["report_kms_key_id"] == key_id


def test_the_typed_shapes_and_the_docs_tables_are_those_the_table_makes_now() -> None:
    """Stale after a change to the table: run ``python -m tools.settings_reference``."""
    page = CONFIGURATION.read_text(encoding="utf-8")

    assert SHAPES.read_text(encoding="utf-8") == shapes_source()
    assert configuration_page(page) == page
    for setting in SETTINGS:
        assert f"| `{setting.name}` | `{json.dumps(setting.default)}` |" in page


NUMERIC_SETTINGS = [
    setting
    for setting in SETTINGS
    if {"number", "integer", "object"} & set(setting.form_schema["type"]) and setting.name != "accounts"
]


@pytest.mark.parametrize("setting", NUMERIC_SETTINGS, ids=[setting.name for setting in NUMERIC_SETTINGS])
def test_every_numeric_setting_declares_its_range_to_the_form(setting: Any) -> None:
    schema = setting.form_schema
    bounds = schema.get("additionalProperties", schema)

    assert "maximum" in bounds
    assert "minimum" in bounds or "exclusiveMinimum" in bounds


# (setting, the values at the ends of its range, values beyond them with the text naming each)
RANGES: list[tuple[str, list[Any], list[tuple[Any, str]]]] = [
    (
        "price_per_gb_month",
        ["0.0001", 100],
        [(1e24, "got 1e+24"), ("1e24", "got '1e24'"), (100.01, "at most 100 per GB-month, got 100.01")],
    ),
    (
        "storage_threshold_gb",
        [0, 1_000_000],
        [(1_000_000.5, "at most 1000000 GB, got 1000000.5"), (1e24, "got 1e+24"), (-1, "got -1")],
    ),
    (
        "repository_thresholds_gb",
        [{"ml-*": 0}, {"ml-*": 1_000_000}],
        [({"ml-*": 1e24}, "repository_thresholds_gb['ml-*'] must be at most 1000000 GB, got 1e+24")],
    ),
    ("max_concurrency", [1, 64], [(0, "got 0"), (65, "got 65")]),
    ("max_requests_per_second", [0, 0.5, 1000], [(-1, "got -1"), (1000.5, "got 1000.5")]),
    ("batch_size", [1, 10_000], [(0, "got 0"), (10_001, "got 10001")]),
    ("findings_max_age_days", [0, 3650], [(-1, "got -1"), (3651, "got 3651")]),
    ("reclaim_after_days", [0, 3650], [(-1, "got -1"), (3651, "got 3651")]),
]


def test_the_ranges_cover_every_numeric_setting() -> None:
    assert sorted(name for name, _, _ in RANGES) == sorted(setting.name for setting in NUMERIC_SETTINGS)


@pytest.mark.parametrize(("setting", "ends", "beyond"), RANGES, ids=[name for name, _, _ in RANGES])
def test_each_numeric_setting_takes_the_ends_of_its_range_and_refuses_beyond_naming_the_value(
    setting: str, ends: list[Any], beyond: list[tuple[Any, str]]
) -> None:
    for value in ends:
        check_settings({"report_bucket": BUCKET, setting: value})
    for value, named in beyond:
        with pytest.raises(ValueError, match=re.escape(named)) as caught:
            check_settings({"report_bucket": BUCKET, setting: value})
        assert setting in str(caught.value)


def test_a_price_too_large_for_the_reports_fails_the_first_task_not_the_writing() -> None:
    """Before the range, 1e24 passed and the run failed after minutes of retries (InvalidOperation)."""
    with pytest.raises(ValueError, match=re.escape("price_per_gb_month")) as caught:
        resolve_dated_settings(
            '{"report_bucket": "lake"}',
            {"price_per_gb_month": 1e24},
            interval_end=CLICKED,
            run_after=CLICKED,
        )
    assert "got 1e+24" in str(caught.value)


def test_workload_accounts_given_by_id_or_discovered_need_the_role_name() -> None:
    with pytest.raises(ValueError, match="workload_accounts: account '333333333333' is an account id"):
        check_settings({"report_bucket": BUCKET, "workload_accounts": ["333333333333"]})
    with pytest.raises(ValueError, match="discover_workload_accounts needs role_name"):
        check_settings({"report_bucket": BUCKET, "discover_workload_accounts": True})
