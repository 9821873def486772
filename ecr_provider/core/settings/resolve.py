"""Settings resolved for a run: built-in defaults, then the deployment's configuration, then the run's
own params, every value checked and every bad one named in one error, so one trigger shows them all."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from functools import partial
from typing import Any, cast

from ecr_provider.core.settings.checks import check_regions
from ecr_provider.core.settings.report_date import run_dates
from ecr_provider.core.settings.shapes import CheckedSettings, DatedSettings
from ecr_provider.core.settings.table import CONFIG_VARIABLE, DEFAULTS, REPORT_DATE_PARAM, SETTINGS
from ecr_provider.core.targets import check_accounts


def _unset(values: Mapping[str, Any]) -> dict[str, Any]:
    """A null (a form field left empty) takes the value from further down: configured, else built in."""
    return {name: value for name, value in values.items() if value is not None}


def check_settings(values: Mapping[str, Any], known_regions: Collection[str] = ()) -> CheckedSettings:
    """The defaults completed by ``values``, checked, in their JSON form (amounts as exact text)."""
    unknown = sorted(set(values) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"unknown setting(s) {unknown}; allowed: {sorted(DEFAULTS)}")
    merged = {**DEFAULTS, **values}
    checks: dict[str, Callable[[Any], Any]] = {
        setting.name: setting.check for setting in SETTINGS if setting.check is not None
    }
    checks["regions"] = partial(check_regions, known=known_regions)
    checked: dict[str, Any] = {}
    problems: list[str] = []
    for name, check in checks.items():
        try:
            checked[name] = check(merged[name])
        except ValueError as error:
            problems.append(str(error))
    role_name = checked.get("role_name")
    if role_name is not None:  # accounts given by id are completed by a valid role name
        try:
            checked["accounts"] = check_accounts(merged["accounts"], role_name)
        except ValueError as error:
            problems.append(str(error))
        try:
            checked["workload_accounts"] = check_accounts(merged["workload_accounts"], role_name)
        except ValueError as error:
            problems.append(f"workload_accounts: {error}")
    for discover in ("discover_accounts", "discover_workload_accounts"):
        if checked.get(discover) and role_name == "":
            problems.append(f"{discover} needs role_name: the role to assume in each account it finds")
    if problems:
        raise ValueError("; ".join(problems))
    return cast(
        "CheckedSettings", {setting.name: setting.to_json(checked[setting.name]) for setting in SETTINGS}
    )


def resolve_settings(
    configured: str, explicit: Mapping[str, Any], known_regions: Collection[str] = ()
) -> CheckedSettings:
    """``configured`` is the deployment's JSON configuration (may be empty); a null at either level
    leaves the value below it."""
    try:
        parsed = json.loads(configured) if configured.strip() else {}
    except ValueError as error:
        raise ValueError(
            f"configured settings ({CONFIG_VARIABLE}) {configured!r} are not valid JSON: {error}"
        ) from None
    if not isinstance(parsed, Mapping):
        raise ValueError(f"configured settings ({CONFIG_VARIABLE}) must be a JSON object, got {configured!r}")
    return check_settings({**_unset(parsed), **_unset(explicit)}, known_regions)


def resolve_dated_settings(
    configured: str,
    params: Mapping[str, Any],
    *,
    interval_end: datetime | None,
    run_after: datetime,
    known_regions: Collection[str] = (),
) -> DatedSettings:
    """The DAG's first task: every param and configured value checked, every bad one named at once."""
    explicit = dict(params)
    requested_date = explicit.pop(REPORT_DATE_PARAM.name, None)
    problems: list[str] = []
    try:
        settings = resolve_settings(configured, explicit, known_regions)
    except ValueError as error:
        problems.append(str(error))
    try:
        report_date, as_of = run_dates(requested_date, interval_end, run_after)
    except ValueError as error:
        problems.append(str(error))
    if problems:
        raise ValueError("; ".join(problems))
    return cast("DatedSettings", {**settings, "as_of": as_of.isoformat(), "report_date": report_date})
