"""The DAG on ``iam/ecr-report-policy.json`` alone, with IAM enforced by the emulator.

Every run is the DAG in process (``dag.test()``) as its own IAM user, whose one attached policy is
the repo's policy with the placeholders filled in for that run's prefix, database and topic: the
bucket is shared, so a run can only write under its own prefix. Two runs with the whole policy succeed:

* the first report of a lake (no database, no earlier report, no named query): every ``Create*``;
* a daily report after it: an earlier report is read for the trend columns, a table and a named
  query left by an older release are updated.

Then, for each action of the policy, a run whose policy lacks only that action must fail a task
with a message that names the action, in the ``describe_failure`` form ``service:Operation [on
resource] failed with Code``. Those runs start from the daily state (the first-report state for
``glue:CreateDatabase``), in which every action is used. They run one after the other in this
process, which serves the emulator, without task retries, so a failing run does not wait out the
DAG's retry delay.

Two more runs turn on the image_findings report: with ``iam/optional/image-findings.json`` attached
too it succeeds, on the policy alone it fails naming ``ecr:DescribeImageScanFindings``.

Two optional actions are asked for by default and denied here: the run must carry on without them
(``TRIED_AND_DONE_WITHOUT``). One action of the policy degrades the report when it is taken away
(``DEGRADES_WITHOUT``): that run succeeds with one warning naming it. Known gaps, where the message
does not name the IAM action or the run does not end failed, are strict xfails that say where the
code falls short.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from typing import Any

import pytest

from ecr_provider.aws.glue_catalog import table_input
from ecr_provider.core.columns import (
    FINDINGS_REPORT,
    IMAGES_REPORT,
    REGISTRIES_REPORT,
    REPORTS,
    REPOSITORIES_REPORT,
    reports_written,
)
from ecr_provider.core.csv_format import read_canonical
from ecr_provider.core.layout import report_key, run_manifest_key
from ecr_provider.operators.athena_named_queries import NAME_PREFIX
from ecr_provider.queries import named_queries
from emulator.demo_registry import DemoRegistry
from emulator.destination import receive_notifications
from emulator.moto_iam import iam_enforced
from emulator.server import Emulator, client
from tests.conftest import REPO_ROOT
from tests.integration.conftest import REGION, REPORT_DATE, DagRunResult, RunDag, as_identity

pytestmark = pytest.mark.integration

POLICY_FILE = REPO_ROOT / "iam" / "ecr-report-policy.json"
BUCKET = "ecr-report-least-privilege"
WORKGROUP = "primary"
FIRST_DATE = "2026-11-19"
DAILY_DATE = REPORT_DATE
THRESHOLD_GB = 5
PLACEHOLDER = re.compile(r"\b[A-Z]+(?:_[A-Z]+)+\b")
DENIED = re.compile(r"is not authorized to perform: ([\w-]+:\w+)")
DENIAL = re.compile(r"\b([\w-]+:\w+)(?: on [^\n]+?)? failed with (?:AccessDenied|AccessDeniedException)\b")
TRIED_AND_DONE_WITHOUT = {
    "pricing:GetProducts",
    "ecr:ListPullTimeUpdateExclusions",
    "ecs:ListClusters",
    "lambda:ListFunctions",
}
"""Optional actions (iam/optional/) the default path asks for, warning and carrying on when denied."""
DEGRADES_WITHOUT = {"ecr:GetAccountSetting"}
"""Actions of the policy whose denial degrades the report (one warning naming the call) instead of
failing it: the registries_summary's ``blobMounting`` is left empty."""


def statement_actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(actions)


def policy_actions(document: dict[str, Any]) -> list[str]:
    return [action for statement in document["Statement"] for action in statement_actions(statement)]


def without_action(document: dict[str, Any], action: str) -> dict[str, Any]:
    """The policy minus one action; a statement left with no action goes too."""
    statements = []
    for statement in document["Statement"]:
        kept = [name for name in statement_actions(statement) if name != action]
        if kept:
            statements.append({**statement, "Action": kept})
    assert policy_actions({"Statement": statements}) == [a for a in policy_actions(document) if a != action]
    return {**document, "Statement": statements}


POLICY_ACTIONS = policy_actions(json.loads(POLICY_FILE.read_text()))


@dataclass(frozen=True)
class Case:
    """One run: its own prefix, database, topic and IAM user, and the action its policy lacks."""

    name: str
    removed: str | None = None
    first_report: bool = False
    """Nothing exists yet: no earlier report, no database, no named query for the database."""
    optional_policy: str | None = None
    """A file of iam/optional/ attached too, for the feature the run turns on."""
    include_findings: bool = False

    @property
    def prefix(self) -> str:
        return f"least-privilege/{self.name}"

    @property
    def database(self) -> str:
        return "least_privilege_" + self.name.replace("-", "_")

    @property
    def topic(self) -> str:
        return f"ecr-report-{self.name}"

    @property
    def user(self) -> str:
        return f"ecr-report-{self.name}"


def without(action: str, *, first_report: bool = False) -> Case:
    service, _, operation = action.partition(":")
    stage = "first-report" if first_report else "daily"
    return Case(f"{stage}-without-{service}-{operation.lower()}", action, first_report)


FIRST = Case("first-report", first_report=True)
DAILY = Case("daily")
REMOVALS = {
    action: without(action, first_report=action == "glue:CreateDatabase") for action in POLICY_ACTIONS
}
FIRST_WITHOUT_GET_OBJECT = without("s3:GetObject", first_report=True)
FINDINGS = Case("daily-findings", optional_policy="image-findings.json", include_findings=True)
FINDINGS_WITHOUT_OPTIONAL_POLICY = Case("daily-findings-on-the-policy-alone", include_findings=True)
USAGE = Case("daily-usage", optional_policy="image-usage.json")


def denial_of(action: str) -> re.Pattern[str]:
    """The ``describe_failure`` message of a denied call of ``action``."""
    return re.compile(
        rf"{re.escape(action)}(?: on [^\n]+?)? failed with (?:AccessDenied|AccessDeniedException)\b"
    )


class Lake:
    """The shared bucket, and per case its IAM user, topic and starting state, in the emulator."""

    def __init__(self, emulator: Emulator, registry: DemoRegistry, dag_runner: RunDag) -> None:
        self.endpoint_url = emulator.endpoint_url
        self.account_id = registry.account_id
        self.dag_runner = dag_runner
        self.credentials: dict[str, dict[str, str]] = {}
        self.queues: dict[str, str] = {}
        self.client("s3").create_bucket(Bucket=BUCKET)

    def client(self, service: str) -> Any:
        return client(service, self.endpoint_url, REGION)

    def topic_arn(self, case: Case) -> str:
        return f"arn:aws:sns:{REGION}:{self.account_id}:{case.topic}"

    def key(self, case: Case, report: str, report_date: str) -> str:
        """The registry's object at the generation the date's manifest makes visible; directly under
        the date when it has no manifest (a date written before generations)."""
        s3 = self.client("s3")
        try:
            body = s3.get_object(Bucket=BUCKET, Key=run_manifest_key(case.prefix, report_date))["Body"]
        except s3.exceptions.NoSuchKey:
            generation = None
        else:
            generation = json.loads(body.read())["generation"]
        return report_key(case.prefix, report, report_date, self.account_id, REGION, generation=generation)

    def policy(self, case: Case) -> dict[str, Any]:
        text = POLICY_FILE.read_text()
        if case.optional_policy:
            main = json.loads(text)
            optional = json.loads((POLICY_FILE.parent / "optional" / case.optional_policy).read_text())
            text = json.dumps({**main, "Statement": main["Statement"] + optional["Statement"]})
        values = {
            "REGISTRY_ACCOUNT_ID": self.account_id,
            "ACCOUNT_ID": self.account_id,
            "REPORT_BUCKET": BUCKET,
            "REPORT_PREFIX": case.prefix,
            "GLUE_REGION": REGION,
            "ATHENA_DATABASE": case.database,
            "SNS_TOPIC_NAME": case.topic,
        }
        for placeholder, value in values.items():
            text = text.replace(placeholder, value)
        assert not PLACEHOLDER.search(text), PLACEHOLDER.findall(text)
        document: dict[str, Any] = json.loads(text)
        return without_action(document, case.removed) if case.removed else document

    def prepare(self, case: Case, *, subscribe: bool = False, earlier_report: str | None = None) -> None:
        """The case's user (the policy attached, nothing else) and topic, and its starting state."""
        iam = self.client("iam")
        iam.create_user(UserName=case.user)
        policy = iam.create_policy(PolicyName=case.user, PolicyDocument=json.dumps(self.policy(case)))
        iam.attach_user_policy(UserName=case.user, PolicyArn=policy["Policy"]["Arn"])
        self.credentials[case.name] = iam.create_access_key(UserName=case.user)["AccessKey"]
        self.client("sns").create_topic(Name=case.topic)
        if subscribe:
            sqs = self.client("sqs")
            self.queues[case.name] = sqs.create_queue(QueueName=case.topic)["QueueUrl"]
            queue_arn = sqs.get_queue_attributes(
                QueueUrl=self.queues[case.name], AttributeNames=["QueueArn"]
            )["Attributes"]["QueueArn"]
            self.client("sns").subscribe(TopicArn=self.topic_arn(case), Protocol="sqs", Endpoint=queue_arn)
        if not case.first_report:
            assert earlier_report is not None
            self._older_lake(case, earlier_report)

    def _older_lake(self, case: Case, earlier_report: str) -> None:
        """An earlier report, the database with a table of an older release and the daily date's
        partition registered by it (so it is read and updated: glue:GetPartition and
        glue:BatchUpdatePartition), one outdated named query."""
        self.client("s3").copy_object(
            Bucket=BUCKET,
            Key=self.key(case, REPOSITORIES_REPORT, FIRST_DATE),
            CopySource={"Bucket": BUCKET, "Key": earlier_report},
        )
        # A part of a registry no longer reported: a complete run removes it (s3:DeleteObject).
        self.client("s3").copy_object(
            Bucket=BUCKET,
            Key=report_key(
                case.prefix, REPOSITORIES_REPORT, DAILY_DATE, "999999999999", REGION, generation=None
            ),
            CopySource={"Bucket": BUCKET, "Key": earlier_report},
        )
        glue = self.client("glue")
        glue.create_database(DatabaseInput={"Name": case.database})
        older = table_input(REPOSITORIES_REPORT, BUCKET, case.prefix)
        older["StorageDescriptor"]["Columns"] = older["StorageDescriptor"]["Columns"][:-1]
        glue.create_table(DatabaseName=case.database, TableInput=older)
        descriptor = dict(older["StorageDescriptor"])
        descriptor["Location"] += f"report_date={DAILY_DATE}/"
        glue.create_partition(
            DatabaseName=case.database,
            TableName=REPOSITORIES_REPORT,
            PartitionInput={"Values": [DAILY_DATE], "StorageDescriptor": descriptor},
        )
        query = named_queries()[0]
        self.client("athena").create_named_query(
            Name=NAME_PREFIX + query.name,
            Description=query.description,
            Database=case.database,
            QueryString="SELECT 1",
            WorkGroup=WORKGROUP,
        )

    def run(self, case: Case, report_date: str) -> DagRunResult:
        """The DAG with the case's user's keys as its only credentials."""
        key = self.credentials[case.name]
        conf = {
            "regions": [REGION],
            "report_bucket": BUCKET,
            "report_prefix": case.prefix,
            "athena_database": case.database,
            "storage_threshold_gb": THRESHOLD_GB,
            "sns_topic_arn": self.topic_arn(case),
            "include_findings": case.include_findings,
        }
        environ = as_identity(self.endpoint_url, key["AccessKeyId"], key["SecretAccessKey"])
        return self.dag_runner(conf, report_date, environ)


@pytest.fixture(scope="module")
def lake(emulator: Emulator, demo_registry: DemoRegistry, dag_runner: RunDag) -> Lake:
    return Lake(emulator, demo_registry, dag_runner)


@pytest.fixture(scope="module")
def first_run(lake: Lake) -> DagRunResult:
    lake.prepare(FIRST, subscribe=True)
    with iam_enforced():
        return lake.run(FIRST, FIRST_DATE)


@pytest.fixture(scope="module")
def daily_runs(lake: Lake, first_run: DagRunResult) -> dict[str, DagRunResult]:
    """The daily run with the whole policy and every run that lacks one action, by case name."""
    earlier_report = lake.key(FIRST, REPOSITORIES_REPORT, FIRST_DATE)
    cases = [
        DAILY,
        FIRST_WITHOUT_GET_OBJECT,
        FINDINGS,
        FINDINGS_WITHOUT_OPTIONAL_POLICY,
        USAGE,
        *REMOVALS.values(),
    ]
    for case in cases:
        lake.prepare(case, subscribe=case == DAILY, earlier_report=earlier_report)
    with iam_enforced():
        return {case.name: lake.run(case, DAILY_DATE) for case in cases}


def denied_actions(output: str) -> set[str]:
    return set(DENIED.findall(output)) | set(DENIAL.findall(output))


def assert_succeeded(run: DagRunResult) -> None:
    assert run.state == "success", run.tail()
    assert run.tasks_in("failed", "upstream_failed", "up_for_retry") == [], run.tail()
    assert denied_actions(run.output) <= TRIED_AND_DONE_WITHOUT, run.tail()


def shipped_queries_of(lake: Lake, database: str) -> dict[str, str]:
    athena = lake.client("athena")
    pages = athena.get_paginator("list_named_queries").paginate(WorkGroup=WORKGROUP)
    ids = [query_id for page in pages for query_id in page["NamedQueryIds"]]
    found = [
        query
        for start in range(0, len(ids), 50)
        for query in athena.batch_get_named_query(NamedQueryIds=ids[start : start + 50])["NamedQueries"]
    ]
    return {query["Name"]: query["QueryString"] for query in found if query["Database"] == database}


def assert_report_landed(lake: Lake, case: Case, report_date: str, registry: DemoRegistry) -> None:
    s3 = lake.client("s3")
    keys = [lake.key(case, report, report_date) for report in (IMAGES_REPORT, REPOSITORIES_REPORT)]
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=case.prefix + "/")["Contents"]
    assert set(keys) <= {item["Key"] for item in listed}
    body = s3.get_object(Bucket=BUCKET, Key=keys[1])["Body"].read().decode()
    names = {row["repositoryName"] for row in read_canonical(io.StringIO(body))}
    assert names == {repository.name for repository in registry.repositories}
    glue = lake.client("glue")
    for report in REPORTS:
        partitions = glue.get_partitions(DatabaseName=case.database, TableName=report)["Partitions"]
        registered = [report_date] in [partition["Values"] for partition in partitions]
        assert registered == (report in reports_written(case.include_findings)), report
        table = glue.get_table(DatabaseName=case.database, Name=report)["Table"]
        current = table_input(report, BUCKET, case.prefix)["StorageDescriptor"]["Columns"]
        assert table["StorageDescriptor"]["Columns"] == current
    assert shipped_queries_of(lake, case.database) == {NAME_PREFIX + q.name: q.sql for q in named_queries()}
    notifications = receive_notifications(lake.endpoint_url, REGION, lake.queues[case.name])
    assert [message["Subject"].startswith(f"ECR report {report_date}:") for message in notifications] == [
        True
    ]


def assert_fails_naming(run: DagRunResult, action: str) -> None:
    failed = run.tasks_in("failed")
    logs = run.task_logs()
    naming = [task for task in failed if denial_of(action).search(logs.get(task, ""))]
    assert naming, f"no failed task of {failed} logged {denial_of(action).pattern!r}:\n{run.tail()}"


def test_first_report_on_the_policy_alone_lands_reports_partitions_queries_and_alert(
    first_run: DagRunResult, lake: Lake, demo_registry: DemoRegistry
) -> None:
    assert_succeeded(first_run)
    assert_report_landed(lake, FIRST, FIRST_DATE, demo_registry)


def test_daily_report_on_the_policy_alone_reads_the_earlier_report_and_updates_the_lake(
    daily_runs: dict[str, DagRunResult], lake: Lake, demo_registry: DemoRegistry
) -> None:
    assert_succeeded(daily_runs[DAILY.name])
    assert_report_landed(lake, DAILY, DAILY_DATE, demo_registry)


@pytest.mark.parametrize("action", [action for action in POLICY_ACTIONS if action not in DEGRADES_WITHOUT])
def test_without_one_action_a_task_fails_naming_it(daily_runs: dict[str, DagRunResult], action: str) -> None:
    assert_fails_naming(daily_runs[REMOVALS[action].name], action)


def registries_of(lake: Lake, case: Case) -> list[dict[str, str]]:
    key = lake.key(case, REGISTRIES_REPORT, DAILY_DATE)
    body = lake.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"]
    return list(read_canonical(io.StringIO(body.read().decode())))


def test_blob_mounting_is_read_on_the_policy(daily_runs: dict[str, DagRunResult], lake: Lake) -> None:
    assert [row["blobMounting"] for row in registries_of(lake, DAILY)] == ["DISABLED"]


@pytest.mark.parametrize("action", sorted(DEGRADES_WITHOUT))
def test_without_a_degrading_action_the_run_succeeds_warning_once_and_blob_mounting_is_empty(
    daily_runs: dict[str, DagRunResult], lake: Lake, action: str
) -> None:
    case = REMOVALS[action]
    run = daily_runs[case.name]
    assert run.state == "success", run.tail()
    assert run.tasks_in("failed", "upstream_failed", "up_for_retry") == [], run.tail()
    assert denied_actions(run.output) <= TRIED_AND_DONE_WITHOUT | {action}, run.tail()
    warnings = [
        line for line in run.output.splitlines() if "WARNING" in line and denial_of(action).search(line)
    ]
    assert len(warnings) == 1, run.tail()
    assert "blob mounting unknown" in warnings[0]
    [row] = registries_of(lake, case)
    assert (row["blobMounting"], row["costBasis"]) == ("", "repositories")


def test_first_report_without_s3_get_object_fails_naming_it(daily_runs: dict[str, DagRunResult]) -> None:
    assert_fails_naming(daily_runs[FIRST_WITHOUT_GET_OBJECT.name], "s3:GetObject")


def test_image_findings_on_the_policy_and_its_optional_file(
    daily_runs: dict[str, DagRunResult], lake: Lake
) -> None:
    assert_succeeded(daily_runs[FINDINGS.name])
    findings = lake.client("s3").get_object(
        Bucket=BUCKET, Key=lake.key(FINDINGS, FINDINGS_REPORT, DAILY_DATE)
    )
    rows = list(read_canonical(io.StringIO(findings["Body"].read().decode())))
    assert len(rows) > 100
    assert {row["severity"] for row in rows} >= {"CRITICAL", "HIGH", "MEDIUM", "LOW"}


def test_image_findings_without_its_optional_file_fails_naming_the_action(
    daily_runs: dict[str, DagRunResult], lake: Lake
) -> None:
    """The summaries still land and the manifest records the findings part as failed."""
    case = FINDINGS_WITHOUT_OPTIONAL_POLICY
    assert_fails_naming(daily_runs[case.name], "ecr:DescribeImageScanFindings")
    s3 = lake.client("s3")
    manifest = json.loads(
        s3.get_object(Bucket=BUCKET, Key=run_manifest_key(case.prefix, DAILY_DATE))["Body"].read()
    )
    [target] = manifest["targets"]
    assert (manifest["complete"], target["status"], target["error"]) == (False, "loaded", None)
    assert denial_of("ecr:DescribeImageScanFindings").search(target["findings_error"])
    assert sorted(target["keys"]) == [IMAGES_REPORT, REGISTRIES_REPORT, REPOSITORIES_REPORT]
    for report in (IMAGES_REPORT, REGISTRIES_REPORT, REPOSITORIES_REPORT):
        assert target["keys"][report] == lake.key(case, report, DAILY_DATE)
        assert s3.head_object(Bucket=BUCKET, Key=target["keys"][report])["ContentLength"] > 0


def images_of(lake: Lake, case: Case) -> list[dict[str, str]]:
    body = lake.client("s3").get_object(Bucket=BUCKET, Key=lake.key(case, IMAGES_REPORT, DAILY_DATE))["Body"]
    return list(read_canonical(io.StringIO(body.read().decode())))


def test_image_use_on_the_policy_and_its_optional_file(
    daily_runs: dict[str, DagRunResult], lake: Lake
) -> None:
    """With image-usage.json the ECS reads are allowed and show what runs; on the policy alone use is
    unknown, nothing is reclaimable, and who may pull is not asked (tests/integration/
    test_visibility_least_privilege.py proves those reads). Lambda cannot be proven here: under IAM
    enforcement moto refuses every Lambda request's signature (SignatureDoesNotMatch), so no Lambda
    action is denied by policy."""
    run = daily_runs[USAGE.name]
    assert_succeeded(run)
    assert not {action for action in denied_actions(run.output) if action.startswith("ecs:")}
    assert "the use it would show is not visible" not in daily_runs[DAILY.name].output
    assert "is not authorized to perform: lambda:" not in run.output
    used = images_of(lake, USAGE)
    assert any(row["inUse"] == "true" and row["inUseBy"].startswith('["ecs:') for row in used)
    alone = images_of(lake, DAILY)
    assert "is not authorized to perform: ecs:ListClusters" in daily_runs[DAILY.name].output
    assert {row["cleanupVerdict"] for row in alone} == {"keep"}
    assert {row["inUse"] for row in alone if not row["inUseBy"]} == {""}


def test_every_run_without_an_action_ends_failed(daily_runs: dict[str, DagRunResult]) -> None:
    succeeding = {DAILY.name, FINDINGS.name, USAGE.name} | {
        REMOVALS[action].name for action in DEGRADES_WITHOUT
    }
    ended = {name: run.state for name, run in daily_runs.items() if name not in succeeding}
    assert ended == dict.fromkeys(ended, "failed")
