"""The ECR report page in the Airflow UI: a FastAPI app on the api-server and a link in its navigation.

It reads the reports from S3 through the DAG's own AWS connection and bucket (the ``ecr_report_config``
Variable), never Athena, and only for users allowed to read the ``ecr_report`` DAG (Airflow's auth
manager decides, as for the DAG's own pages). A year of daily reports stays fast: a page reads one
date's repositories and images summaries and the small run manifests, and both are cached.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from airflow.api_fastapi.core_api.security import requires_access_dag
from airflow.plugins_manager import AirflowPlugin
from fastapi import Depends, FastAPI, HTTPException, Query
from fastapi.responses import HTMLResponse

from ecr_provider.core.html_report import ALL_REGISTRIES, PageChoices, Scope, render_report
from ecr_provider.core.layout import check_report_date
from ecr_provider.core.settings import CONFIG_VARIABLE, DEFAULTS, check_bucket, check_prefix
from ecr_provider.core.thresholds import ThresholdPolicy
from ecr_provider.hooks.report_lake import TREND_DATES, ReportLakeHook
from ecr_provider.plugins import URL_PREFIX

DAG_ID = "ecr_report"
MANIFEST_SECONDS = 600.0
"""How long a run manifest (and the list of dates) is trusted before it is read again: a rerun of a
date shows within this time."""
PAGES = 64
"""Rendered pages kept, per date, registry and the date's manifest (so a rerun's page is never stale)."""


@dataclass(frozen=True, slots=True)
class LakeSettings:
    """Where the DAG writes, from the settings its scheduled runs use."""

    bucket: str
    prefix: str
    aws_conn_id: str
    policy: ThresholdPolicy

    @classmethod
    def from_config(cls, config: str) -> LakeSettings:
        document = json.loads(config) if config.strip() else {}
        if not isinstance(document, Mapping):
            raise ValueError(f"the {CONFIG_VARIABLE} Variable must hold a JSON object")
        value = {**DEFAULTS, **document}
        return cls(
            bucket=check_bucket(value["report_bucket"]),
            prefix=check_prefix(value["report_prefix"]),
            aws_conn_id=str(value["aws_conn_id"]),
            policy=ThresholdPolicy.from_params(
                value["storage_threshold_gb"], value["repository_thresholds_gb"]
            ),
        )


def variable_settings() -> LakeSettings:
    from airflow.models import Variable

    return LakeSettings.from_config(Variable.get(CONFIG_VARIABLE, default_var=""))


class PageCache:
    """Run manifests and date lists for :data:`MANIFEST_SECONDS`; rendered pages least recently used out."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._records: dict[Hashable, tuple[float, Any]] = {}
        self._pages: OrderedDict[Hashable, str] = OrderedDict()

    def record(self, key: Hashable, read: Callable[[], Any]) -> Any:
        now = self._clock()
        with self._lock:
            cached = self._records.get(key)
        if cached is not None and now - cached[0] < MANIFEST_SECONDS:
            return cached[1]
        value = read()
        with self._lock:
            self._records[key] = (now, value)
        return value

    def page(self, key: Hashable, render: Callable[[], str]) -> str:
        with self._lock:
            if key in self._pages:
                self._pages.move_to_end(key)
                return self._pages[key]
        document = render()
        with self._lock:
            self._pages[key] = document
            while len(self._pages) > PAGES:
                self._pages.popitem(last=False)
        return document


def _scope(registry: str | None) -> Scope:
    if not registry:
        return ALL_REGISTRIES
    account_id, _, region = registry.partition(" ")
    if not account_id.isdigit() or not region:
        raise HTTPException(400, f"registry {registry!r} must be '<account id> <region>'")
    return Scope(account_id, region)


def create_app(
    settings: Callable[[], LakeSettings] = variable_settings,
    lake: Callable[[str], ReportLakeHook] = lambda conn_id: ReportLakeHook(aws_conn_id=conn_id),
    cache: PageCache | None = None,
) -> FastAPI:
    """``settings`` and ``lake`` are the Variable and the connection's hook; tests pass their own."""
    pages = cache or PageCache()
    app = FastAPI(
        title="ECR report",
        dependencies=[Depends(requires_access_dag("GET", param_dag_id=DAG_ID))],
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    @app.get("/", response_class=HTMLResponse)
    def report_page(
        date: str | None = Query(None, description="report date YYYY-MM-DD; default the newest complete one"),
        registry: str | None = Query(None, description="'<account id> <region>'; default all registries"),
    ) -> HTMLResponse:
        scope = _scope(registry)
        try:
            where = settings()
        except ValueError as error:
            raise HTTPException(503, f"Set the {CONFIG_VARIABLE} Variable's report_bucket: {error}") from None
        hook = lake(where.aws_conn_id)
        base = (where.bucket, where.prefix)
        dates = pages.record((*base, "dates"), lambda: hook.manifest_dates(where.bucket, where.prefix))
        manifests = {
            day: manifest
            for day in dates[-TREND_DATES:]
            if (
                manifest := pages.record(
                    (*base, day), partial(hook.read_manifest, where.bucket, where.prefix, day)
                )
            )
            is not None
        }
        chosen = _chosen_date(date, manifests)
        manifest = manifests.get(chosen, {})
        registries = sorted(
            (target["account_id"], target["region"])
            for target in manifest.get("targets", ())
            if target.get("account_id")
        )
        key = (*base, chosen, scope, manifest.get("as_of"), manifest.get("complete"))
        document = pages.page(
            key,
            lambda: render_report(
                hook.read_report_page(
                    where.bucket,
                    where.prefix,
                    chosen,
                    manifests=manifests,
                    scope=scope,
                    policy=where.policy,
                ),
                PageChoices(sorted(manifests, reverse=True), registries),
            ),
        )
        return HTMLResponse(document)

    return app


def _chosen_date(date: str | None, manifests: Mapping[str, Mapping[str, Any]]) -> str:
    if date is not None:
        try:
            return check_report_date(date)
        except ValueError as error:
            raise HTTPException(400, str(error)) from None
    complete = [day for day, manifest in manifests.items() if manifest.get("complete")]
    if not complete:
        raise HTTPException(
            404, "No complete report date yet: the page shows once a run of the DAG completes"
        )
    return max(complete)


class EcrReportPlugin(AirflowPlugin):
    """Registered through the ``airflow.plugins`` entry point and the provider's ``plugins``."""

    name = "ecr_report"
    # Airflow reads (and edits) these class attributes as lists.
    fastapi_apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "ECR report"}]  # noqa: RUF012
    external_views = [  # noqa: RUF012
        {
            "name": "ECR report",
            "href": f"{URL_PREFIX}/",
            "destination": "nav",
            "category": "browse",
            "url_route": "ecr-report",
        }
    ]
