"""The Dagster UI, driven in a real (headless) Chromium against the running local platform.

What a data engineer does on day one, through the same pages: follow the lineage from a
Fivetran connector table to a Sigma dashboard, materialize an asset with a click, backfill a
range of days of a partitioned fact from the launch dialog, and read a mart's freshness policy
and data-quality checks. Each test waits on what the page or the daemon's instance shows, never
for a fixed time, and saves a screenshot under ``.fieldforce/screenshots/`` (git-ignored, so a test run
never rewrites tracked files). The README's images are refreshed on purpose with
``FIELDFORCE_SCREENSHOTS=docs/screenshots ./fieldforce test tests/e2e/test_ui_browser.py``.
The backfill's data (one run equal to a full refresh, idempotent) is proven through
GraphQL in ``test_backfill_daemon.py``; here it is the dialog and what the daemon makes of it.

Chromium is Debian's package (``./fieldforce test`` installs it when missing); Playwright only
drives it, so nothing is downloaded.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from datetime import date, timedelta

import dagster as dg
import pytest
from devstack.stack import REPO_ROOT
from devstack.testing import chromium_path
from playwright.sync_api import Browser, Page, expect, sync_playwright
from testkit.backfills import materialized_partitions, wait_for_backfill
from testkit.harness import RunningPlatform

SCREENSHOTS = REPO_ROOT / os.environ.get("FIELDFORCE_SCREENSHOTS", ".fieldforce/screenshots")
"""Where screenshots go: a git-ignored folder unless the README's images are being refreshed."""
VIEWPORT = {"width": 1400, "height": 900}
PAGE_TIMEOUT_MS = 60_000
"""Pages and clicks: generous, the webserver shares two cores with the daemon and dbt."""
RUN_TIMEOUT_S = 300.0
"""A queued run waits for the warehouse (one dbt run at a time), then builds."""

CONNECTOR_TABLE = "fivetran/fivetran_postgres_bu_north/jobs"
DASHBOARD = "sigma/operations_dashboard"
CHEAP_ASSET = dg.AssetKey(["marts", "core", "dim_date"])
MART = "marts/core/dim_customers"
MART_CHECK = "unique_dim_customers_customer_id"
FACT = dg.AssetKey(["marts", "core", "fct_jobs"])
BACKFILL_OFFSET = timedelta(days=46)
"""Where the backfilled days begin: weeks into the estate's history, so every day has data."""
REFERENCE_START = date(2026, 1, 1)
"""The estate's start when the stack does not say (an estate saved before it recorded one)."""
"""Five days of the simulated history, apart from the GraphQL backfill's (2026-02-01..10)."""

expect.set_options(timeout=PAGE_TIMEOUT_MS)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = chromium_path()
    assert executable, "no chromium on PATH (`./fieldforce test` installs Debian's chromium)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, running_platform: RunningPlatform) -> Iterator[Page]:
    context = browser.new_context(
        viewport=VIEWPORT,  # type: ignore[arg-type]
        base_url=running_platform.info["dagster_url"],
    )
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


def _screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png")


def _asset_path(key: dg.AssetKey) -> str:
    return "/assets/" + "/".join(key.path)


def _run_status(platform: RunningPlatform, run_id: str) -> dg.DagsterRunStatus:
    run = platform.instance().get_run_by_id(run_id)
    assert run is not None, f"run {run_id} is not in the instance"
    return run.status


def _wait_finished(platform: RunningPlatform, run_id: str) -> dg.DagsterRunStatus:
    finished = {
        dg.DagsterRunStatus.SUCCESS,
        dg.DagsterRunStatus.FAILURE,
        dg.DagsterRunStatus.CANCELED,
    }
    platform.wait_for(
        lambda: _run_status(platform, run_id) in finished, RUN_TIMEOUT_S, f"run {run_id}"
    )
    return _run_status(platform, run_id)


def test_lineage_runs_from_a_connector_table_through_dbt_to_a_sigma_dashboard(
    page: Page,
) -> None:
    page.goto("/")
    page.get_by_role("link", name="Lineage").click()
    # The graph gets the whole width (no asset list beside it) and shows every node, not only
    # the groups; both settings apply to the next layout, the selection's.
    page.get_by_role("button", name="panel_show_right", exact=True).click()
    page.get_by_role("button", name="settings", exact=True).click()
    page.get_by_role("menuitem", name="Expand all groups").click()
    page.keyboard.press("Escape")
    # "A+ and +B" is every asset on a path from A to B: the chain exists or the graph is empty.
    page.get_by_label("Search and filter assets").focus()
    page.keyboard.type(f'key:"{CONNECTOR_TABLE}"+ and +key:"{DASHBOARD}"')
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name=re.compile(r"Materialize all \(\d+\)"))).to_be_visible()

    # One node per layer; the graph draws the last key segment of each.
    for name in ("jobs", "stg_jobs__jobs", "int_jobs_enriched", "fct_jobs"):
        expect(page.get_by_text(name, exact=True)).to_be_visible()
    for group in ("staging", "intermediate", "marts_core", "bi_sigma"):
        expect(page.locator(f'[data-tooltip="{group}"]')).to_be_visible()
    page.get_by_role("button", name="zoom_out", exact=True).click()
    page.wait_for_load_state("networkidle")
    _screenshot(page, "lineage")
    # Long names are shortened in the overview; hovering shows the dashboard's full name.
    page.get_by_text(re.compile(r"_dashboard$")).hover()
    expect(page.get_by_text(DASHBOARD.split("/")[-1], exact=True)).to_be_visible()


def test_a_click_materializes_an_asset_and_the_run_succeeds(
    page: Page, running_platform: RunningPlatform
) -> None:
    page.goto(_asset_path(CHEAP_ASSET))
    page.get_by_role("button", name=re.compile(r"Materialize$")).click()
    toast = page.get_by_role("region", name=re.compile("Notifications"))
    expect(toast.get_by_text(re.compile(r"Launched run [0-9a-f]{8}"))).to_be_visible()
    toast.get_by_text("View", exact=True).click()
    expect(page).to_have_url(re.compile(r"/runs/[0-9a-f-]{36}"))
    run_id = page.url.split("?")[0].rstrip("/").rsplit("/", 1)[-1]

    assert _wait_finished(running_platform, run_id) == dg.DagsterRunStatus.SUCCESS
    run = running_platform.instance().get_run_by_id(run_id)
    assert run is not None
    assert run.asset_selection == {CHEAP_ASSET}
    assert run.tags.get("dagster/from_ui") == "true"
    materialization = running_platform.instance().get_latest_materialization_event(CHEAP_ASSET)
    assert materialization is not None
    assert materialization.run_id == run_id

    # The run page says so too (reloaded: the live subscription is not what is under test).
    page.reload()
    expect(page.get_by_text("RUN_SUCCESS", exact=True)).to_be_visible()
    expect(page.get_by_text("Success", exact=True).first).to_be_visible()
    _screenshot(page, "run_success")


@pytest.fixture(scope="module")
def backfill_days(running_platform: RunningPlatform) -> list[str]:
    """Five days of the estate's history, counted from where the estate starts."""
    start = running_platform.info["sources"].get("start")
    first = (date.fromisoformat(start[:10]) if start else REFERENCE_START) + BACKFILL_OFFSET
    return [(first + timedelta(days=i)).isoformat() for i in range(5)]


def test_a_backfill_of_a_day_range_launched_from_the_ui_completes_as_one_run(
    page: Page, running_platform: RunningPlatform, backfill_days: list[str]
) -> None:
    page.goto(_asset_path(FACT))
    page.get_by_role("button", name=re.compile(r"Materialize…$")).click()
    dialog = page.get_by_role("dialog")
    expect(
        dialog.get_by_text(re.compile(r"^Launch runs to materialize .*fct_jobs$"))
    ).to_be_visible()
    # The range box reads "ex: ..." over all time, "No matching partitions" (empty) inside the
    # dialog's recent window, which is where it opens.
    span = dialog.get_by_role("textbox", name=re.compile(r"^(ex: |No matching partitions)"))
    expect(span).to_be_visible()
    # A history longer than that window hides the older days behind a link; a shorter one
    # (the demo's) has nothing hidden and no link.
    show_all = dialog.get_by_role("button", name="Show all partitions")
    if show_all.count():
        show_all.click()
    span.fill(f"[{backfill_days[0]}...{backfill_days[-1]}]")
    span.press("Enter")
    expect(dialog.get_by_text("5 partitions", exact=True)).to_be_visible()
    # BackfillPolicy.single_run, as the dialog states it.
    expect(dialog.get_by_text("Backfills all partitions in a single run.")).to_be_visible()
    _screenshot(page, "backfill_dialog")
    launched_at = time.time()
    dialog.get_by_role("button", name="Launch backfill", exact=True).click()

    toast = page.get_by_role("region", name=re.compile("Notifications"))
    created = toast.get_by_text(re.compile(r"Created backfill"))
    expect(created).to_be_visible()
    match = re.search(r"Created backfill\s*([a-z]{8})", created.inner_text())
    assert match, created.inner_text()
    outcome = wait_for_backfill(running_platform, match.group(1), launched_at, RUN_TIMEOUT_S)

    assert outcome.status in ("COMPLETED", "COMPLETED_SUCCESS"), outcome
    assert outcome.partitions == len(backfill_days)
    # BackfillPolicy.single_run: five days are one run, handed to dbt as one window.
    assert len(outcome.runs) == 1, [(run.run_id, run.status) for run in outcome.runs]
    [run] = outcome.runs
    assert run.status == dg.DagsterRunStatus.SUCCESS, run.run_id
    assert run.tags.get("dagster/from_ui") == "true"
    assert run.tags.get("dagster/asset_partition_range_start") == backfill_days[0]
    assert run.tags.get("dagster/asset_partition_range_end") == backfill_days[-1]
    assert FACT in set(run.asset_selection or ())
    assert materialized_partitions(running_platform, run)[FACT.path[-1]] == backfill_days

    # The backfill's page, as the toast links it, says so too.
    page.goto(f"/runs/b/{outcome.backfill_id}")
    expect(page.get_by_text(f"{backfill_days[0]}...{backfill_days[-1]}")).to_be_visible()
    expect(page.get_by_text("Succeeded", exact=True).first).to_be_visible()
    expect(page.get_by_text("100% completed")).to_be_visible()
    _screenshot(page, "backfill_completed")


def test_a_mart_shows_its_freshness_policy_and_its_asset_checks(page: Page) -> None:
    page.goto(f"/assets/{MART}")
    # The layer policy of marts_core (analytics_platform/freshness.py), as the UI words it.
    policy = page.get_by_text("Fails if more than an hour since last materialization")
    expect(policy).to_be_visible()
    expect(
        page.get_by_text("Warns if more than 30 minutes since last materialization")
    ).to_be_visible()
    policy.scroll_into_view_if_needed()
    _screenshot(page, "mart_overview")

    # dbt tests are asset checks; the first build ran them.
    page.get_by_role("tab", name="Checks").click()
    expect(page.get_by_text(re.compile(r"^Checks \(\d+\)$"))).to_be_visible()
    page.get_by_placeholder("Filter checks").fill(MART_CHECK)
    only_match = page.get_by_text("Succeeded", exact=True)
    expect(only_match).to_have_count(1)
    only_match.click()
    expect(page.get_by_text(MART_CHECK, exact=True).filter(visible=True)).to_be_visible()
    expect(page.get_by_text("Passed", exact=True)).to_be_visible()
    _screenshot(page, "mart_checks")
