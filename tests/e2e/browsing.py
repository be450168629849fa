"""What the browser tests share: Debian's Chromium driven by Playwright, axe-core on every page,
screenshots kept in test-artifacts/, and signing in to the staff console through the development
issuer's own sign-in page (as a person does when `make run` is running).

    from .browsing import CHROMIUM, keep, no_axe_violations, sign_in_to_console
    pytestmark = pytest.mark.skipif(CHROMIUM is None, reason=NO_CHROMIUM)

The `browser`, `page` and `page_without_js` fixtures are in tests/e2e/conftest.py.
"""
from __future__ import annotations

import shutil

from .conftest import REPO

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NO_CHROMIUM = "Chromium is not installed here; .ci/run installs Debian's chromium"
ARTIFACTS = REPO / "test-artifacts"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def no_axe_violations(page, label: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}})
    violations = [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in results.response["violations"]]
    assert violations == [], f"{label}: {violations}"


def keep(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in_to_console(page, stack, *, name: str = "Pat SPOC", role: str = "spoc",
                       areas: tuple[str, ...] = ("derbyshire",), path: str = "/console/") -> None:
    """Open a console page signed out, sign in on the development issuer's page as `name` with
    `role` and `areas`, and land back on that page."""
    page.goto(stack["api"] + path)
    page.wait_for_selector("h1:has-text('Sign in to the staff console')")
    page.fill("#name", name)
    page.check(f"#role-{role}")
    for box in page.query_selector_all("input[name=areas]"):
        if box.is_checked() != (box.get_attribute("value") in areas):
            box.click()
    page.click("button[value=sign_in]")
    page.wait_for_url(stack["api"] + path.split("?")[0] + "**")
