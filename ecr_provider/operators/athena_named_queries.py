"""Register the shipped queries as Athena named queries (saved queries) of a workgroup, idempotently."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.hooks.athena import AthenaHook
from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields

from ecr_provider.aws.errors import AwsCallError, aws_call
from ecr_provider.core.settings import check_database
from ecr_provider.queries import NamedQuery, named_queries

if TYPE_CHECKING:
    from airflow.sdk import Context

NAME_PREFIX = "ecr_report."
"""Athena names are free text and not unique; the prefix marks ours and groups them in the console."""
WORKGROUP = re.compile(r"^[a-zA-Z0-9._-]{1,128}$")
BATCH_GET_LIMIT = 50
"""BatchGetNamedQuery takes at most 50 ids a call."""


def check_workgroup(workgroup: object) -> str:
    if not isinstance(workgroup, str) or not WORKGROUP.match(workgroup):
        raise ValueError(
            f"workgroup {workgroup!r} must be 1-128 letters, digits, '.', '_' or '-', such as 'primary'"
        )
    return workgroup


def _chunks(ids: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


class AthenaNamedQueriesOperator(AwsBaseOperator[AthenaHook]):
    """
    Save every shipped query (``ecr_provider/queries/*.sql``) as an Athena named query.

    A query is found by its name and database in the workgroup: it is created when missing and
    updated when its SQL or description changed, so running the task again never adds a copy.

    :param database: Athena (Glue) database the queries run in (templated)
    :param workgroup: Athena workgroup that holds the named queries (templated)
    :param queries: names of the shipped queries to register; all by default
    """

    aws_hook_class = AthenaHook
    template_fields: Sequence[str] = aws_template_fields("database", "workgroup")

    def __init__(
        self,
        *,
        database: str,
        workgroup: str = "primary",
        queries: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        shipped = [query.name for query in named_queries()]
        if queries is not None:
            unknown = sorted(set(queries) - set(shipped))
            if unknown or not queries:
                raise ValueError(f"queries {list(queries)!r} must be a non-empty subset of {shipped}")
        self.database = database
        self.workgroup = workgroup
        self.queries = tuple(shipped if queries is None else dict.fromkeys(queries))

    def execute(self, context: Context) -> dict[str, Any]:
        database = check_database(self.database)
        workgroup = check_workgroup(self.workgroup)
        athena = self.hook.conn
        with aws_call("athena", f"workgroup {workgroup}"):
            existing = self._existing(athena, workgroup, database)
            outcome = {
                query.name: self._ensure(athena, workgroup, database, query, existing.get(query.name, []))
                for query in named_queries()
                if query.name in self.queries
            }
        self.log.info("Athena named queries in workgroup %s, database %s: %s", workgroup, database, outcome)
        return {"workgroup": workgroup, "database": database, "queries": outcome}

    def _existing(self, athena: Any, workgroup: str, database: str) -> dict[str, list[dict[str, Any]]]:
        """This database's named queries of the workgroup whose name carries our prefix, by query name."""
        paginator = athena.get_paginator("list_named_queries")
        ids = [
            named_query_id
            for page in paginator.paginate(WorkGroup=workgroup)
            for named_query_id in page.get("NamedQueryIds", [])
        ]
        found: dict[str, list[dict[str, Any]]] = {}
        for chunk in _chunks(ids, BATCH_GET_LIMIT):
            response = athena.batch_get_named_query(NamedQueryIds=list(chunk))
            unprocessed = response.get("UnprocessedNamedQueryIds", [])
            if unprocessed:
                first = unprocessed[0]
                raise AwsCallError(
                    f"athena:BatchGetNamedQuery on workgroup {workgroup} could not read "
                    f"{len(unprocessed)} named query(ies), first {first.get('NamedQueryId')}: "
                    f"{first.get('ErrorCode')} {first.get('ErrorMessage', '')}".rstrip()
                )
            for named in response.get("NamedQueries", []):
                name = str(named.get("Name", ""))
                if named.get("Database") == database and name.startswith(NAME_PREFIX):
                    found.setdefault(name.removeprefix(NAME_PREFIX), []).append(named)
        return found

    def _ensure(
        self,
        athena: Any,
        workgroup: str,
        database: str,
        query: NamedQuery,
        existing: list[dict[str, Any]],
    ) -> str:
        name = NAME_PREFIX + query.name
        if not existing:
            athena.create_named_query(
                Name=name,
                Description=query.description,
                Database=database,
                QueryString=query.sql,
                WorkGroup=workgroup,
            )
            return "created"
        current, *copies = sorted(existing, key=lambda named: str(named["NamedQueryId"]))
        if copies:
            self.log.warning(
                "%d more named queries called %s in workgroup %s; updating %s only",
                len(copies),
                name,
                workgroup,
                current["NamedQueryId"],
            )
        if current.get("QueryString") == query.sql and current.get("Description") == query.description:
            return "unchanged"
        athena.update_named_query(
            NamedQueryId=current["NamedQueryId"],
            Name=name,
            Description=query.description,
            QueryString=query.sql,
        )
        return "updated"
