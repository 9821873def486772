"""The named queries shipped with the provider: one Athena (Trino) ``.sql`` file each, in this package.

A file's first line is a ``--`` comment that describes the query; it becomes the named query's
description. Named queries take no bind parameters, so a query that needs one (a number of days,
a report date) declares it as a literal in a ``parameters`` CTE at its top, for the user to edit.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

_COMMENT = "--"


@dataclass(frozen=True, slots=True)
class NamedQuery:
    name: str
    description: str
    sql: str


def _load(name: str, sql: str) -> NamedQuery:
    first_line = sql.lstrip().partition("\n")[0]
    if not first_line.startswith(_COMMENT) or not first_line[len(_COMMENT) :].strip():
        raise ValueError(f"query {name!r} must start with a '--' comment that describes it")
    return NamedQuery(name, first_line[len(_COMMENT) :].strip(), sql.strip() + "\n")


def named_queries() -> tuple[NamedQuery, ...]:
    """Every shipped query, sorted by name."""
    files = (entry for entry in resources.files(__name__).iterdir() if entry.name.endswith(".sql"))
    return tuple(
        _load(entry.name.removesuffix(".sql"), entry.read_text(encoding="utf-8"))
        for entry in sorted(files, key=lambda entry: entry.name)
    )


def named_query(name: str) -> NamedQuery:
    for query in named_queries():
        if query.name == name:
            return query
    raise ValueError(f"unknown query {name!r}; shipped: {[query.name for query in named_queries()]}")
