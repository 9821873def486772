"""The ECR report page in the Airflow UI: a FastAPI app on the api-server and a link in its navigation.

It reads the reports from S3 through the DAG's own AWS connection and bucket (the ``ecr_report_config``
Variable), never Athena, and only for users allowed to read the ``ecr_report`` DAG (Airflow's auth
manager decides, as for the DAG's own pages). A year of daily reports stays fast: a page reads one
date's repositories and images summaries and the small run manifests, and both are cached. Breaches
and the alert are those the date's run wrote (its breaches record and alert marker), never derived
again from today's Variable. A date shows at the generation its manifest makes visible; while a run
rewrites it (its in-progress mark), the page shows that state and says the date is being rewritten.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from airflow.api_fastapi.core_api.security import requires_access_dag
from airflow.plugins_manager import AirflowPlugin
from cachetools import Cache, LRUCache, TTLCache
from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse

from ecr_provider.core.html_report import ALL_REGISTRIES, PageChoices, RunDecision, Scope
from ecr_provider.core.layout import breaches_key, check_report_date, notification_marker_key
from ecr_provider.core.settings import CONFIG_VARIABLE, DEFAULTS, check_bucket, check_prefix
from ecr_provider.core.thresholds import Breach
from ecr_provider.hooks.report_lake import TREND_DATES, ReportLakeHook, rewriting
from ecr_provider.pages.render import CONTENT_SECURITY_POLICY, render_report
from ecr_provider.plugins import URL_PREFIX

DAG_ID = "ecr_report"
MANIFEST_SECONDS = 600.0
"""How long a run manifest (and the list of dates) is trusted before it is read again: a rerun of a
date shows within this time."""
SECURITY_HEADERS = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "X-Content-Type-Options": "nosniff"}
"""On every response of the app, errors and refusals included."""
PAGES = 64
"""Rendered pages kept, per date, registry and the date's manifest (so a rerun's page is never stale)."""
RECORDS = 4 * 366
"""Run manifests and date lists kept: a year of daily dates, for a few buckets."""


@dataclass(frozen=True, slots=True)
class LakeSettings:
    """Where the DAG writes, from the settings its scheduled runs use."""

    bucket: str
    prefix: str
    aws_conn_id: str

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
        )


def variable_settings() -> LakeSettings:
    from airflow.models import Variable

    return LakeSettings.from_config(Variable.get(CONFIG_VARIABLE, default_var=""))


class PageCache:
    """Run manifests and date lists for :data:`MANIFEST_SECONDS`; rendered pages least recently used out.

    A miss reads outside the lock, so a slow S3 read never holds up pages already cached.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._records: TTLCache[Hashable, Any] = TTLCache(RECORDS, MANIFEST_SECONDS, timer=clock)
        self._pages: LRUCache[Hashable, str] = LRUCache(PAGES)

    def record(self, key: Hashable, read: Callable[[], Any]) -> Any:
        return self._get(self._records, key, read)

    def page(self, key: Hashable, render: Callable[[], str]) -> str:
        return str(self._get(self._pages, key, render))

    def _get(self, cache: Cache[Hashable, Any], key: Hashable, make: Callable[[], Any]) -> Any:
        with self._lock:
            if key in cache:
                return cache[key]
        value = make()
        with self._lock:
            cache[key] = value
        return value


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

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response

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
        in_progress = pages.record(
            (*base, chosen, "in_progress"), partial(hook.read_in_progress, where.bucket, where.prefix, chosen)
        )
        decision = pages.record(
            (*base, chosen, scope, manifest.get("run_id"), manifest.get("generation"), "decision"),
            partial(_run_decision, hook, where, chosen, scope, manifest),
        )
        alert = decision.alert or {}
        key = (
            *base,
            chosen,
            scope,
            manifest.get("as_of"),
            manifest.get("complete"),
            manifest.get("generation"),
            in_progress.get("started") if rewriting(manifest, in_progress) else None,
            None if decision.breaches is None else len(decision.breaches),
            tuple(alert.get("alerted", ())),
        )
        document = pages.page(
            key,
            lambda: render_report(
                hook.read_report_page(
                    where.bucket,
                    where.prefix,
                    chosen,
                    manifests=manifests,
                    scope=scope,
                    decision=decision,
                    in_progress=in_progress,
                ),
                PageChoices(sorted(manifests, reverse=True), registries),
            ),
        )
        return HTMLResponse(document)

    return app


def _run_decision(
    hook: ReportLakeHook, where: LakeSettings, day: str, scope: Scope, manifest: Mapping[str, Any]
) -> RunDecision:
    """What the date's visible run (its manifest's generation and run id, either missing in a manifest
    written before them) decided, from what it wrote: never today's Variable, which may differ, nor
    the breaches of a run that rewrites the date or did not make it visible."""
    run_id = manifest.get("run_id")
    found = hook.read_json(where.bucket, breaches_key(where.prefix, day, manifest.get("generation")))
    breaches = (
        None
        if found is None or (run_id is not None and found.get("run_id") != run_id)
        else [
            breach
            for record in found.get("breaches", ())
            if scope.covers((breach := Breach.from_record(record)).account_id, breach.region)
        ]
    )
    return RunDecision(breaches, hook.read_json(where.bucket, notification_marker_key(where.prefix, day)))


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
