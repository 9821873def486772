"""The typed views as Athena views in the Glue catalog, created and kept current like the tables.

Athena has no API for views besides running ``CREATE VIEW``, which needs a query result location
and a running query. A view is also just a Glue table that Athena (Trino) recognises: table type
``VIRTUAL_VIEW``, parameter ``presto_view=true`` and, in ``ViewOriginalText``, the base64 of a
JSON definition (SQL, catalog, schema and the output columns with their Trino types) between
``/* Presto View: `` and `` */``. The stored column types must be what the SQL produces, or Athena
reports the view as stale; both come from the same :class:`~ecr_provider.queries.views.TypedView`.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from ecr_provider.aws.glue_catalog import ensure_glue_table
from ecr_provider.queries.views import TypedView

ATHENA_CATALOG = "awsdatacatalog"
VIEW_TEXT_PREFIX = "/* Presto View: "
VIEW_TEXT_SUFFIX = " */"
VIEW_EXPANDED_TEXT = "/* Presto View */"
VIEW_PARAMETERS = {"presto_view": "true", "comment": "Presto View"}


def view_definition(view: TypedView, database: str) -> dict[str, Any]:
    return {
        "originalSql": view.sql,
        "catalog": ATHENA_CATALOG,
        "schema": database,
        "columns": [{"name": column.name, "type": column.sql_type} for column in view.columns],
    }


def encode_view_text(definition: dict[str, Any]) -> str:
    payload = json.dumps(definition, separators=(",", ":")).encode("utf-8")
    return f"{VIEW_TEXT_PREFIX}{base64.b64encode(payload).decode('ascii')}{VIEW_TEXT_SUFFIX}"


def decode_view_text(text: str) -> dict[str, Any]:
    """The JSON definition of a Presto view's ``ViewOriginalText``; ValueError for anything else."""
    if not (text.startswith(VIEW_TEXT_PREFIX) and text.endswith(VIEW_TEXT_SUFFIX)):
        raise ValueError("not a Presto view text")
    encoded = text[len(VIEW_TEXT_PREFIX) : -len(VIEW_TEXT_SUFFIX)]
    try:
        decoded = json.loads(base64.b64decode(encoded, validate=True))
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"unreadable Presto view text: {error}") from error
    if not isinstance(decoded, dict):
        raise ValueError("a Presto view definition must be a JSON object")
    return decoded


def view_input(view: TypedView, database: str) -> dict[str, Any]:
    """Glue ``TableInput`` of the view, shaped like what Athena's own ``CREATE VIEW`` stores."""
    return {
        "Name": view.name,
        "Description": f"Typed view over {view.table}: timestamps, numbers, arrays; empty fields as NULL",
        "TableType": "VIRTUAL_VIEW",
        "Parameters": dict(VIEW_PARAMETERS),
        "ViewOriginalText": encode_view_text(view_definition(view, database)),
        "ViewExpandedText": VIEW_EXPANDED_TEXT,
        "PartitionKeys": [],
        "StorageDescriptor": {
            "Columns": [
                {"Name": column.name, "Type": column.hive_type, "Comment": column.comment}
                for column in view.columns
            ],
            "Location": "",
            "SerdeInfo": {},
        },
    }


def ensure_view(glue: Any, database: str, view: TypedView) -> str:
    """Create the view, or replace its definition when the SQL or columns changed; idempotent."""
    return ensure_glue_table(glue, database, view_input(view, database), _differs)


def _differs(current: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """Compares the decoded definitions, so a re-encoding of the same definition is no change."""
    try:
        definition = decode_view_text(current.get("ViewOriginalText", ""))
    except ValueError:
        return True
    return (
        current.get("TableType") != wanted["TableType"]
        or definition != decode_view_text(wanted["ViewOriginalText"])
        or current.get("ViewExpandedText") != wanted["ViewExpandedText"]
        or current.get("StorageDescriptor", {}).get("Columns") != wanted["StorageDescriptor"]["Columns"]
        or not wanted["Parameters"].items() <= current.get("Parameters", {}).items()
    )
