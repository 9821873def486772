"""Airflow's own plugin manager loads the page: a plugin whose module fails to import on the installed
Airflow is left out of ``airflow plugins`` with no error shown, so the test asks Airflow, not the class."""

from __future__ import annotations

from airflow.plugins_manager import get_plugin_info

from ecr_provider.plugins import URL_PREFIX


def test_airflow_loads_the_plugin_from_its_entry_point_with_its_app_and_view() -> None:
    (loaded,) = [info for info in get_plugin_info() if info["name"] == "ecr_report"]

    assert "ecr_provider.plugins.ecr_page:EcrReportPlugin" in str(loaded["source"])
    assert [app["url_prefix"] for app in loaded["fastapi_apps"]] == [URL_PREFIX]
    assert [view["href"] for view in loaded["external_views"]] == [f"{URL_PREFIX}/"]
