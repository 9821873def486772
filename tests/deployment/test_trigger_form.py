"""The trigger form as a person sees it: headless Chromium (Debian's package, driven by Playwright) logs
in to the deployment's api-server, opens the DAG's trigger form, and triggers with every field as it
came. The form's screenshot is kept in ``ARTIFACTS``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from ecr_provider.core.settings import REPORT_DATE_PARAM, SETTINGS, Section
from tests.chromium import ARTIFACTS, chromium
from tests.deployment.conftest import ADMIN, DAG_ID, Deployment, wait_for

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.deployment, pytest.mark.integration]

UI_TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def page(browser: Browser, deployment: Deployment) -> Iterator[Page]:
    """Logged in as the admin through the login page, as a person would."""
    context = browser.new_context(base_url=deployment.base_url, viewport={"width": 1400, "height": 3400})
    context.set_default_timeout(UI_TIMEOUT_MS)
    opened = context.new_page()
    try:
        opened.goto("/")
        opened.get_by_label("Username").fill(ADMIN)
        opened.get_by_label("Password").fill(deployment.password)
        opened.get_by_role("button", name="Sign in").click()
        opened.wait_for_url(lambda url: "/auth/" not in url)
        yield opened
    finally:
        context.close()


def manual_runs(deployment: Deployment) -> dict[str, dict[str, Any]]:
    response = deployment.api.get(f"/api/v2/dags/{DAG_ID}/dagRuns", params={"run_type": "manual"})
    response.raise_for_status()
    return {run["dag_run_id"]: run for run in response.json()["dag_runs"]}


def test_trigger_form_shows_the_params_and_triggers_with_the_defaults(
    page: Page, deployment: Deployment
) -> None:
    deployment.api.patch(f"/api/v2/dags/{DAG_ID}", json={"is_paused": False}).raise_for_status()
    page.goto(f"/dags/{DAG_ID}")
    page.get_by_role("button", name="Trigger").first.click()
    dialog = page.get_by_role("dialog")
    for section in Section:  # the form opens one section at a time, each by its title
        dialog.get_by_role("button", name=section.value).first.click()
        for setting in (*SETTINGS, REPORT_DATE_PARAM):
            if setting.section is section:
                dialog.get_by_text(setting.name, exact=True).first.scroll_into_view_if_needed()
                assert dialog.get_by_text(setting.description, exact=False).count() >= 1, setting.name
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "trigger-form.png"))

    before = manual_runs(deployment)
    trigger = dialog.get_by_role("button", name="Trigger")
    assert trigger.is_enabled(), "Trigger must work with every field untouched"
    trigger.click()
    page.get_by_text("Dag Run Triggered").first.wait_for()  # the toast may be drawn twice

    def new_run() -> str | None:
        added = set(manual_runs(deployment)) - set(before)
        return added.pop() if added else None

    run_id: str = wait_for("the form's run to be created", new_run, 60)
    run = deployment.wait_for_run(run_id)
    assert run["state"] == "success", deployment.task_states(run_id)
    # Untouched fields are sent empty (null): the Variable and the built-in defaults decide.
    assert set(run["conf"]) <= {setting.name for setting in (*SETTINGS, REPORT_DATE_PARAM)}
    assert all(value is None for value in run["conf"].values()), run["conf"]
    page.goto(f"/dags/{DAG_ID}/runs/{run_id}")
    page.get_by_text(run_id).first.wait_for()
    page.get_by_text("success", exact=False).first.wait_for()
