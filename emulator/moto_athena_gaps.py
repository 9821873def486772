"""What moto's Athena lacks for named queries: BatchGetNamedQuery and UpdateNamedQuery.

moto 5 answers ``CreateNamedQuery``, ``GetNamedQuery`` and ``ListNamedQueries`` but raises
NotImplementedError for the two calls the operator also needs. These stand-ins work on moto's own
named-query store and answer in the shapes of the Athena service model; the shapes themselves are
checked against that model with botocore's Stubber in ``tests/queries/test_named_queries_operator.py``.
Like the ECR gaps, they act on moto in this process, so the emulator installs them when it starts.
"""

from __future__ import annotations

import json
from typing import Any

from moto.athena.responses import AthenaResponse


def _named_query(query: Any) -> dict[str, Any]:
    return {
        "Name": query.name,
        "Description": query.description,
        "Database": query.database,
        "QueryString": query.query_string,
        "NamedQueryId": query.id,
        "WorkGroup": query.workgroup.name,
    }


def batch_get_named_query(self: AthenaResponse) -> str:
    stored = self.athena_backend.named_queries
    ids = self._get_param("NamedQueryIds")
    return json.dumps(
        {
            "NamedQueries": [_named_query(stored[i]) for i in ids if i in stored],
            "UnprocessedNamedQueryIds": [
                {"NamedQueryId": i, "ErrorCode": "INVALID_INPUT", "ErrorMessage": "Named query not found"}
                for i in ids
                if i not in stored
            ],
        }
    )


def update_named_query(self: AthenaResponse) -> str | tuple[str, dict[str, int]]:
    query = self.athena_backend.named_queries.get(self._get_param("NamedQueryId"))
    if query is None:
        return self.error("Named query not found", 400)
    query.name = self._get_param("Name")
    query.description = self._get_param("Description")
    query.query_string = self._get_param("QueryString")
    return "{}"


def install() -> None:
    """Idempotent: the methods are plain attributes of moto's response class."""
    AthenaResponse.batch_get_named_query = batch_get_named_query  # type: ignore[attr-defined]
    AthenaResponse.update_named_query = update_named_query  # type: ignore[attr-defined]
