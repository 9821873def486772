"""``ecr-report`` refuses bad input with exit code 2 and one line naming it, before any AWS call."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ecr_provider import cli
from ecr_provider.aws import registry
from ecr_provider.aws.ecr import RegistryReader
from ecr_provider.aws.inspector import RegistryScans
from ecr_provider.aws.registry import RegistryClients
from ecr_provider.aws.usage import UsageReader
from ecr_provider.core.cleanup import CleanupRules
from ecr_provider.core.columns import IMAGES_REPORT, REPORTS, REPOSITORIES_REPORT
from ecr_provider.core.csv_format import CsvFormat, canonical_line
from ecr_provider.core.price_table import StoragePrices
from ecr_provider.core.records import Repository
from ecr_provider.core.report import ReportTally
from ecr_provider.core.settings import CONSOLE_SETTINGS
from ecr_provider.core.usage import SourceUsage
from ecr_provider.core.visibility import ALL_VISIBLE
from ecr_provider.output_folder import LOCK_NAME
from ecr_provider.report_files import RegistryReport

UNREACHABLE_ENDPOINT = "http://127.0.0.1:9"
ACCOUNT = "111122223333"


@dataclass
class ReportCalls:
    """What the CLI handed to the report writer; empty when it stopped before any AWS work."""

    calls: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def report_calls(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> ReportCalls:
    """An unreachable AWS endpoint, a clean environment, and a recording stand-in for the report writer."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", UNREACHABLE_ENDPOINT)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    for name in (
        "LOG_VERBOSITY",
        "DECIMAL_SEPARATOR",
        "AWS_PROFILE",
        "AWS_REGION",
        "REPORT",
        "LOG_FORMAT",
        "LOG_SERVICE_NAME",
        "EXPORT_FORMAT",
    ):
        monkeypatch.delenv(name, raising=False)
    recorded = ReportCalls()

    def write_registry_report(
        registries: Any, directory: Path, *, csv_format: CsvFormat, **progress: Any
    ) -> RegistryReport:
        recorded.calls.append(
            {"registries": list(registries), "directory": directory, "csv_format": csv_format}
        )
        files = {report: directory / f"{report}.csv" for report in (REPOSITORIES_REPORT, IMAGES_REPORT)}
        for report, path in files.items():  # header only: no repository, as the CLI reads them back
            path.write_text(canonical_line(column.header for column in REPORTS[report]))
        return RegistryReport(files=files, tally=ReportTally())

    monkeypatch.setattr(cli, "write_registry_report", write_registry_report)
    # The scan type and the caller's account are AWS's to answer: basic scanning, one account.
    monkeypatch.setattr(registry, "registry_image_scans", lambda *args: RegistryScans("BASIC"))
    monkeypatch.setattr(UsageReader, "read_source", lambda self: SourceUsage(self.source, {}))  # nothing runs
    monkeypatch.setattr(registry, "read_blob_mounting", lambda *args: "DISABLED")
    # One repository in each registry, so everything a registry with images needs is decided.
    monkeypatch.setattr(
        RegistryReader,
        "repositories",
        lambda self: [
            Repository.from_api(
                {
                    "repositoryName": "app",
                    "repositoryArn": f"arn:aws:ecr:{self.client.meta.region_name}:{ACCOUNT}:repository/app",
                }
            )
        ],
    )
    monkeypatch.setattr(registry, "read_visibility", lambda *args, **kwargs: ALL_VISIBLE)  # no policy
    connect = RegistryClients.connect.__func__  # type: ignore[attr-defined]
    monkeypatch.setattr(
        RegistryClients,
        "connect",
        classmethod(
            lambda cls, make_client, region, account_id=None: connect(cls, make_client, region, ACCOUNT)
        ),
    )
    return recorded


def run_expecting_exit(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as caught:
        cli.run(argv)
    assert caught.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("ecr-report: error: ")
    assert "Traceback" not in captured.err
    return lines[0]


FUTURE = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0).isoformat()

BAD_OPTIONS: list[tuple[list[str], str]] = [
    (["--decimal-separator", ";"], "';'"),
    (["--region", "us-east-x"], "'us-east-x'"),
    (["--region", "us-east-1", "--region", "EU-WEST-1"], "'EU-WEST-1'"),
    (["--as-of", "yesterday"], "'yesterday'"),
    (["--as-of", FUTURE], repr(FUTURE)),
    (["--max-concurrency", "0"], "got 0"),
    (["--max-concurrency", "65"], "got 65"),
    (["--max-concurrency", "four"], "'four'"),
    (["--price-per-gb-month", "-1"], "'-1'"),
    (["--price-per-gb-month", "0"], "'0'"),
    (["--price-per-gb-month", "1e24"], "'1e24'"),
    (["--max-requests-per-second", "1001"], "'1001'"),
    (["--reclaim-after-days", "3651"], "got 3651"),
    (["--repository", "Team/App"], "'Team/App'"),
    (["--repository", "app//web"], "'app//web'"),
    (["--log-format", "xml"], "'xml'"),
    (["--format", "xlsx"], "'xlsx'"),
    (["--log-format", "json", "--log-service-name", " "], "' '"),
    (["--include-findings", "--findings-max-age-days", "-1"], "got -1"),
    (["--findings-max-age-days", "3651"], "got 3651"),
    (["--findings-max-age-days", "week"], "'week'"),
]


@pytest.mark.parametrize(("options", "named"), BAD_OPTIONS, ids=[" ".join(o) for o, _ in BAD_OPTIONS])
def test_bad_option_exits_2_with_one_line(
    options: list[str],
    named: str,
    report_calls: ReportCalls,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    output_dir = tmp_path / "out"
    argv = ["--output-dir", str(output_dir), *options]
    if "--region" not in options:
        argv += ["--region", "us-east-1"]

    line = run_expecting_exit(argv, capsys)

    assert named in line
    assert not output_dir.exists()
    assert report_calls.calls == []


def test_bad_log_verbosity_is_named(
    monkeypatch: pytest.MonkeyPatch,
    report_calls: ReportCalls,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("LOG_VERBOSITY", "LOUD")
    output_dir = tmp_path / "out"

    line = run_expecting_exit(["--output-dir", str(output_dir), "--region", "us-east-1"], capsys)

    assert "LOG_VERBOSITY" in line
    assert "'LOUD'" in line
    assert "DEBUG" in line  # what is allowed
    assert not output_dir.exists()
    assert report_calls.calls == []


def test_bad_decimal_separator_from_environment_is_named(
    monkeypatch: pytest.MonkeyPatch,
    report_calls: ReportCalls,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DECIMAL_SEPARATOR", "|")
    output_dir = tmp_path / "out"

    line = run_expecting_exit(["--output-dir", str(output_dir)], capsys)

    assert "'|'" in line
    assert not output_dir.exists()
    assert report_calls.calls == []


def test_missing_output_dir_is_named(
    report_calls: ReportCalls, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = run_expecting_exit(["--region", "us-east-1"], capsys)

    assert "--output-dir" in line
    assert list(tmp_path.iterdir()) == []
    assert report_calls.calls == []


def test_no_region_anywhere_is_refused(
    monkeypatch: pytest.MonkeyPatch,
    report_calls: ReportCalls,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    output_dir = tmp_path / "out"

    line = run_expecting_exit(["--output-dir", str(output_dir)], capsys)

    assert "region" in line
    assert not output_dir.exists()
    assert report_calls.calls == []


def test_good_options_reach_the_report_writer(report_calls: ReportCalls, tmp_path: Path) -> None:
    """The control case: the same fixture lets valid input through, so the refusals above are real."""
    output_dir = tmp_path / "out"

    code = cli.run(
        [
            "--output-dir",
            str(output_dir),
            "--region",
            "eu-west-1",
            "--region",
            "us-east-1",
            "--as-of",
            "2026-01-02T03:04:05Z",
            "--decimal-separator",
            ",",
            "--max-concurrency",
            "3",
            "--read-manifests",
            "never",
            "--price-per-gb-month",
            "0.11",
            "--reclaim-after-days",
            "30",
            "--protected-tag-pattern",
            "v*",
            "--protected-tag-pattern",
            "release-*",
        ]
    )

    assert code == 0
    assert output_dir.is_dir()
    (call,) = report_calls.calls
    assert call["directory"].parent == output_dir  # a temporary folder in it, renamed into place
    assert call["csv_format"] == CsvFormat(",", spreadsheet=True)  # what a person opens
    contexts = [context for _, context in call["registries"]]
    assert {context.as_of for context in contexts} == {datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)}
    assert {context.prices for context in contexts} == {StoragePrices(Decimal("0.11"), None, "override")}
    assert {context.cleanup for context in contexts} == {CleanupRules(30, ("v*", "release-*"))}
    readers = [reader for reader, _ in call["registries"]]
    assert {reader.manifests for reader in readers} == {None}
    assert [reader.client.meta.region_name for reader in readers] == ["eu-west-1", "us-east-1"]
    assert {reader.client.meta.endpoint_url for reader in readers} == {UNREACHABLE_ENDPOINT}
    assert {reader.max_concurrency for reader in readers} == {3}
    assert {reader.findings for reader in readers} == {None}  # image_findings is opt-in


def test_include_findings_gives_every_registry_a_findings_reader(
    report_calls: ReportCalls, tmp_path: Path
) -> None:
    argv = [
        "--output-dir",
        str(tmp_path),
        "--region",
        "eu-west-1",
        "--region",
        "us-east-1",
        "--read-manifests",
        "never",
    ]

    assert cli.run([*argv, "--include-findings", "--findings-max-age-days", "7"]) == 0

    (call,) = report_calls.calls
    findings = [reader.findings for reader, _ in call["registries"]]
    assert [(f.scan_type, f.region, f.account_id, f.max_age_days) for f in findings if f] == [
        ("BASIC", "eu-west-1", ACCOUNT, 7),
        ("BASIC", "us-east-1", ACCOUNT, 7),
    ]


def test_unknown_aws_profile_is_named(
    monkeypatch: pytest.MonkeyPatch,
    report_calls: ReportCalls,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    output_dir = tmp_path / "out"

    line = run_expecting_exit(["--output-dir", str(output_dir), "--region", "us-east-1"], capsys)

    assert "no-such-profile" in line
    assert not output_dir.exists()
    assert report_calls.calls == []


def test_an_earlier_findings_file_left_in_the_folder_is_pointed_out(
    report_calls: ReportCalls, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    earlier = tmp_path / "image_findings.csv"
    earlier.write_bytes(b"accountId\r\n111122223333\r\n")

    assert cli.run(["--output-dir", str(tmp_path), "--region", "us-east-1", "--read-manifests", "never"]) == 0

    assert f"{earlier} is from an earlier run: without --include-findings it was not rewritten" in caplog.text
    assert earlier.read_bytes() == b"accountId\r\n111122223333\r\n"


def test_every_console_setting_of_the_table_is_an_option_under_its_name() -> None:
    options = {action.dest: action.option_strings for action in cli._parser()._actions}

    for setting in CONSOLE_SETTINGS:
        assert options[setting.name] == [setting.flag]


def run_ok(argv: list[str], output_dir: Path) -> None:
    """With nothing to ask AWS (no Price List API, no manifest reads): the endpoint is unreachable."""
    fixed = ["--region", "us-east-1", "--price-per-gb-month", "0.10", "--read-manifests", "never"]
    assert cli.run(["--output-dir", str(output_dir), *fixed, *argv]) == 0


def only_reader(report_calls: ReportCalls) -> Any:
    (call,) = report_calls.calls
    ((reader, _),) = call["registries"]
    return reader


@pytest.mark.parametrize(
    ("environment", "flags", "read"),
    [
        ({}, [], None),
        ({"REPORT": "registry"}, [], None),  # the original's default: every repository
        ({"REPORT": "team/api"}, [], "team/api"),
        ({"REPORT": "team/api"}, ["--repository", "web"], "web"),  # the flag wins
    ],
)
def test_one_repository_is_read_from_the_flag_or_the_original_report_variable(
    environment: dict[str, str],
    flags: list[str],
    read: str | None,
    report_calls: ReportCalls,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    run_ok(flags, tmp_path / "out")

    assert only_reader(report_calls).repository == read


def test_a_bad_report_variable_is_named_before_any_aws_call(
    report_calls: ReportCalls,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REPORT", "My Repo")

    line = run_expecting_exit(["--output-dir", str(tmp_path / "out"), "--region", "us-east-1"], capsys)

    assert "'My Repo'" in line
    assert report_calls.calls == []


def test_no_html_writes_no_page(report_calls: ReportCalls, tmp_path: Path) -> None:
    run_ok([], tmp_path / "with")
    run_ok(["--no-html"], tmp_path / "without")

    assert (tmp_path / "with" / "report.html").is_file()
    assert not (tmp_path / "without" / "report.html").exists()
    assert sorted(path.name for path in (tmp_path / "without").iterdir() if path.name != LOCK_NAME) == [
        f"{IMAGES_REPORT}.csv",
        f"{REPOSITORIES_REPORT}.csv",
    ]


@pytest.mark.parametrize(
    ("environment", "flags", "service"),
    [
        ({"LOG_FORMAT": "json"}, [], "ecr-report"),
        ({"LOG_SERVICE_NAME": "ECRTool"}, ["--log-format", "json"], "ECRTool"),
        ({"LOG_FORMAT": "json", "LOG_SERVICE_NAME": "ECRTool"}, ["--log-service-name", "finops"], "finops"),
    ],
)
def test_json_logs_are_one_object_a_line_naming_the_service(
    environment: dict[str, str],
    flags: list[str],
    service: str,
    report_calls: ReportCalls,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])  # basicConfig configures an unconfigured root only

    run_ok(flags, tmp_path / "out")

    lines = capsys.readouterr().err.splitlines()
    documents = [json.loads(line) for line in lines]
    assert documents
    assert {document["service"] for document in documents} == {service}
    assert any(document["message"].startswith("HTML report: ") for document in documents)
    assert {"timestamp", "level", "logger", "message"} <= set(documents[0])
