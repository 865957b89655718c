"""What a user does in the sidebar, shared by the browser tests that need the same steps."""

from __future__ import annotations

from playwright.sync_api import expect

SIDEBAR = "#jupyter-mlops-sidebar"


def compare_in_sidebar(page, run_ids: list[str]) -> None:
    """Open the sidebar (unless the workspace restored it open), refresh, tick the runs, press Compare."""
    if not page.locator(SIDEBAR).is_visible():  # clicking the tab of an open panel would close it
        page.click('.jp-SideBar.jp-mod-left [data-id="jupyter-mlops-sidebar"]')
    page.locator(SIDEBAR).get_by_role("button", name="Refresh").click()
    for run_id in run_ids:
        row = page.locator(f"{SIDEBAR} .jp-Mlops-row[data-run-id='{run_id}']")
        expect(row).to_have_count(1, timeout=20_000)
        row.locator("input[type=checkbox]").check()
    page.locator(f"{SIDEBAR} .jp-Mlops-compareButton").click()
