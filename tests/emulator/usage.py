"""Shared by the usage tests: every answer is checked against the service model, as the Stubber checks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.validate import validate_parameters


def valid(service_client: Any, operation: str, response: dict[str, Any]) -> dict[str, Any]:
    """The response, once botocore's validator found it of the operation's output shape (no member
    the model lacks, every member of its type, every required one present)."""
    answer = {name: value for name, value in response.items() if name != "ResponseMetadata"}
    validate_parameters(answer, service_client.meta.service_model.operation_model(operation).output_shape)
    return response


def pages(service_client: Any, method: str, operation: str, **arguments: Any) -> Iterator[dict[str, Any]]:
    """Every page of a paginated call, each validated."""
    for page in service_client.get_paginator(method).paginate(**arguments):
        yield valid(service_client, operation, page)


def items(service_client: Any, method: str, operation: str, member: str, **arguments: Any) -> list[Any]:
    """Every entry of ``member`` over all pages of a paginated call, each page validated."""
    return [item for page in pages(service_client, method, operation, **arguments) for item in page[member]]
