"""AthenaNamedQueriesOperator: the shipped queries saved in a workgroup once, updated when they change.

Against the emulator, with moto's missing BatchGetNamedQuery / UpdateNamedQuery filled in by
``moto_athena_gaps``; paging, batching and the error paths against botocore's Stubber, which checks
every request and response with the real Athena service model.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import count
from typing import Any
from unittest.mock import PropertyMock, patch

import boto3
import pytest
from airflow.providers.amazon.aws.hooks.athena import AthenaHook
from botocore.stub import Stubber

from ecr_provider.aws.errors import AwsCallError
from ecr_provider.operators.athena_named_queries import NAME_PREFIX, AthenaNamedQueriesOperator
from ecr_provider.queries import NamedQuery, named_queries, named_query
from emulator.server import Emulator, client

REGION = "us-east-1"
DATABASE = "ecr_reports"
SHIPPED = {query.name: query for query in named_queries()}
_workgroups = count()


@pytest.fixture
def athena(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Any:
    connection = {"conn_type": "aws", "extra": {"endpoint_url": emulator.endpoint_url, "region_name": REGION}}
    monkeypatch.setenv("AIRFLOW_CONN_EMULATOR", json.dumps(connection))
    return client("athena", emulator.endpoint_url, REGION)


@pytest.fixture
def workgroup(athena: Any) -> str:
    """A workgroup of its own per test, so the tests cannot see each other's named queries."""
    name = f"ecr-reports-{next(_workgroups)}"
    athena.create_work_group(Name=name)
    return name


def operator(**kwargs: Any) -> AthenaNamedQueriesOperator:
    return AthenaNamedQueriesOperator(task_id="named_queries", aws_conn_id="emulator", **kwargs)


def stored(athena: Any, workgroup: str) -> list[dict[str, Any]]:
    """Read back with the calls moto has natively: ListNamedQueries and GetNamedQuery."""
    ids = athena.list_named_queries(WorkGroup=workgroup)["NamedQueryIds"]
    return [athena.get_named_query(NamedQueryId=i)["NamedQuery"] for i in ids]


def test_every_query_is_saved_once(athena: Any, workgroup: str) -> None:
    task = operator(database=DATABASE, workgroup=workgroup)

    first = task.execute({})
    again = task.execute({})

    assert first == {
        "workgroup": workgroup,
        "database": DATABASE,
        "queries": dict.fromkeys(SHIPPED, "created"),
    }
    assert again["queries"] == dict.fromkeys(SHIPPED, "unchanged")
    saved = {query["Name"]: query for query in stored(athena, workgroup)}
    assert sorted(saved) == sorted(NAME_PREFIX + name for name in SHIPPED)
    for name, query in SHIPPED.items():
        assert saved[NAME_PREFIX + name]["QueryString"] == query.sql
        assert saved[NAME_PREFIX + name]["Description"] == query.description
        assert saved[NAME_PREFIX + name]["Database"] == DATABASE
        assert saved[NAME_PREFIX + name]["WorkGroup"] == workgroup


def test_a_query_whose_sql_changed_is_updated_in_place(athena: Any, workgroup: str) -> None:
    task = operator(database=DATABASE, workgroup=workgroup)
    task.execute({})
    old = next(q for q in stored(athena, workgroup) if q["Name"] == NAME_PREFIX + "storage_trend")
    athena.update_named_query(
        NamedQueryId=old["NamedQueryId"], Name=old["Name"], Description="older", QueryString="SELECT 1"
    )

    outcome = task.execute({})

    assert outcome["queries"] == {**dict.fromkeys(SHIPPED, "unchanged"), "storage_trend": "updated"}
    now = athena.get_named_query(NamedQueryId=old["NamedQueryId"])["NamedQuery"]
    assert now["QueryString"] == SHIPPED["storage_trend"].sql
    assert now["Description"] == SHIPPED["storage_trend"].description
    assert len(stored(athena, workgroup)) == len(SHIPPED)


def test_other_databases_and_other_queries_are_left_alone(athena: Any, workgroup: str) -> None:
    foreign = [
        {"Name": NAME_PREFIX + "untagged_images", "Database": "other_reports", "QueryString": "SELECT 2"},
        {"Name": "untagged_images", "Database": DATABASE, "QueryString": "SELECT 3"},
    ]
    for query in foreign:
        athena.create_named_query(**query, WorkGroup=workgroup)

    outcome = operator(database=DATABASE, workgroup=workgroup, queries=["untagged_images"]).execute({})

    assert outcome["queries"] == {"untagged_images": "created"}
    saved = stored(athena, workgroup)
    assert len(saved) == 3
    for query in foreign:
        assert any(all(s[key] == value for key, value in query.items()) for s in saved)


def test_unknown_or_no_query_names_are_refused_at_construction() -> None:
    with pytest.raises(ValueError, match=r"queries \['nope'\] must be a non-empty subset of \["):
        operator(database=DATABASE, queries=["nope"])
    with pytest.raises(ValueError, match=r"queries \[\] must be a non-empty subset"):
        operator(database=DATABASE, queries=[])


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"database": "Bad-Name"}, "athena_database 'Bad-Name' must be lowercase"),
        ({"database": DATABASE, "workgroup": "no spaces"}, "workgroup 'no spaces' must be 1-128 letters"),
    ],
)
def test_bad_settings_fail_before_any_aws_call(
    settings: dict[str, str], message: str, stubbed: tuple[Any, Stubber]
) -> None:
    with pytest.raises(ValueError, match=message):
        operator(**settings).execute({})


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Stubber]]:
    athena = boto3.client("athena", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    monkeypatch.setattr(AthenaHook, "conn", athena)
    with Stubber(athena) as stubber:
        yield athena, stubber
        stubber.assert_no_pending_responses()


def named(query_id: str, name: str, sql: str, description: str, database: str = DATABASE) -> dict[str, Any]:
    return {
        "NamedQueryId": query_id,
        "Name": name,
        "Description": description,
        "Database": database,
        "QueryString": sql,
        "WorkGroup": "primary",
    }


def saved(query: NamedQuery, query_id: str) -> dict[str, Any]:
    return named(query_id, NAME_PREFIX + query.name, query.sql, query.description)


def test_pages_and_batches_of_50_are_all_read(stubbed: tuple[Any, Stubber]) -> None:
    _, stubber = stubbed
    ids = [f"id-{number:03}" for number in range(60)]
    stubber.add_response(
        "list_named_queries", {"NamedQueryIds": ids[:45], "NextToken": "page-2"}, {"WorkGroup": "primary"}
    )
    stubber.add_response(
        "list_named_queries", {"NamedQueryIds": ids[45:]}, {"WorkGroup": "primary", "NextToken": "page-2"}
    )
    others = [named(i, f"someone else's {i}", "SELECT 1", "theirs") for i in ids[:50]]
    stubber.add_response("batch_get_named_query", {"NamedQueries": others}, {"NamedQueryIds": ids[:50]})
    ours = [saved(query, ids[50 + number]) for number, query in enumerate(SHIPPED.values())]
    stubber.add_response("batch_get_named_query", {"NamedQueries": ours}, {"NamedQueryIds": ids[50:]})

    outcome = operator(database=DATABASE).execute({})

    assert outcome["queries"] == dict.fromkeys(SHIPPED, "unchanged")


def test_missing_queries_are_created_and_changed_ones_updated(stubbed: tuple[Any, Stubber]) -> None:
    _, stubber = stubbed
    trend, untagged = named_query("storage_trend"), named_query("untagged_images")
    stubber.add_response("list_named_queries", {"NamedQueryIds": ["a", "b"]}, {"WorkGroup": "analytics"})
    stubber.add_response(
        "batch_get_named_query",
        {
            "NamedQueries": [
                named("a", NAME_PREFIX + "storage_trend", "SELECT 1", "old"),
                saved(untagged, "b"),
            ]
        },
        {"NamedQueryIds": ["a", "b"]},
    )
    stubber.add_response(
        "create_named_query",
        {"NamedQueryId": "c"},
        {
            "Name": NAME_PREFIX + "costliest_repositories",
            "Description": named_query("costliest_repositories").description,
            "Database": DATABASE,
            "QueryString": named_query("costliest_repositories").sql,
            "WorkGroup": "analytics",
        },
    )
    stubber.add_response(
        "update_named_query",
        {},
        {
            "NamedQueryId": "a",
            "Name": NAME_PREFIX + "storage_trend",
            "Description": trend.description,
            "QueryString": trend.sql,
        },
    )
    task = operator(
        database=DATABASE,
        workgroup="analytics",
        queries=["costliest_repositories", "storage_trend", "untagged_images"],
    )

    outcome = task.execute({})

    assert outcome["queries"] == {
        "costliest_repositories": "created",
        "storage_trend": "updated",
        "untagged_images": "unchanged",
    }


def test_of_several_copies_the_first_is_updated_and_the_rest_reported(stubbed: tuple[Any, Stubber]) -> None:
    _, stubber = stubbed
    query = named_query("potential_savings")
    copies = [named(i, NAME_PREFIX + query.name, "SELECT 1", "old") for i in ("z", "m")]
    stubber.add_response("list_named_queries", {"NamedQueryIds": ["z", "m"]}, {"WorkGroup": "primary"})
    stubber.add_response("batch_get_named_query", {"NamedQueries": copies}, {"NamedQueryIds": ["z", "m"]})
    stubber.add_response(
        "update_named_query",
        {},
        {
            "NamedQueryId": "m",
            "Name": NAME_PREFIX + query.name,
            "Description": query.description,
            "QueryString": query.sql,
        },
    )

    with patch.object(AthenaNamedQueriesOperator, "log", new_callable=PropertyMock) as log:
        outcome = operator(database=DATABASE, queries=[query.name]).execute({})

    assert outcome["queries"] == {query.name: "updated"}
    warning = log.return_value.warning
    warning.assert_any_call(
        "%d more named queries called %s in workgroup %s; updating %s only",
        1,
        NAME_PREFIX + query.name,
        "primary",
        "m",
    )


def test_unreadable_named_queries_stop_the_run_instead_of_risking_copies(
    stubbed: tuple[Any, Stubber],
) -> None:
    _, stubber = stubbed
    stubber.add_response("list_named_queries", {"NamedQueryIds": ["gone"]}, {"WorkGroup": "primary"})
    stubber.add_response(
        "batch_get_named_query",
        {
            "NamedQueries": [],
            "UnprocessedNamedQueryIds": [
                {"NamedQueryId": "gone", "ErrorCode": "INTERNAL_FAILURE", "ErrorMessage": "try again"}
            ],
        },
        {"NamedQueryIds": ["gone"]},
    )

    with pytest.raises(
        AwsCallError, match=r"athena:BatchGetNamedQuery on workgroup primary .* first gone: INTERNAL_FAILURE"
    ):
        operator(database=DATABASE).execute({})


def test_a_denied_call_names_the_action_and_the_workgroup(stubbed: tuple[Any, Stubber]) -> None:
    _, stubber = stubbed
    stubber.add_client_error(
        "list_named_queries",
        "AccessDeniedException",
        "not authorized",
        400,
        expected_params={"WorkGroup": "primary"},
    )

    with pytest.raises(
        AwsCallError, match=r"athena:ListNamedQueries on workgroup primary failed with AccessDeniedException"
    ):
        operator(database=DATABASE).execute({})
