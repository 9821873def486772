"""Checks of filled-in data against the botocore service models, so it is data AWS could return."""

from __future__ import annotations

from functools import cache

import botocore.session


@cache
def enum(service: str, shape_name: str) -> frozenset[str]:
    """The values a string shape of the service's model allows."""
    model = botocore.session.get_session().get_service_model(service)
    return frozenset(model.shape_for(shape_name).enum)


def check(service: str, value: str, shape_name: str) -> str:
    """``value`` when the model's ``shape_name`` allows it; a ValueError naming the allowed ones if not."""
    allowed = enum(service, shape_name)
    if value not in allowed:
        raise ValueError(f"{value!r} is not a valid {service} {shape_name}; allowed: {sorted(allowed)}")
    return value
