"""The staff console in a real browser against the stack as `make run` starts it: signing in on
the development issuer's page, every page checked by axe, screenshots in test-artifacts/."""
from __future__ import annotations

import pytest

from .browsing import CHROMIUM, NO_CHROMIUM, keep, no_axe_violations, sign_in_to_console

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason=NO_CHROMIUM)


def test_a_spoc_signs_in_and_out(page, stack):
    page.goto(stack["api"] + "/console/")
    no_axe_violations(page, "development issuer's sign-in page")
    sign_in_to_console(page, stack, name="Pat Tester", role="spoc", areas=("derbyshire",))
    assert "Pat Tester" in page.inner_text(".moj-identity-bar, main")
    no_axe_violations(page, "console home")
    keep(page, "console-home")
    page.click("button:has-text('Sign out')")
    page.wait_for_url("**/console/signed-out")
    assert "You have signed out" in page.inner_text("main")
    no_axe_violations(page, "signed out")
    page.goto(stack["api"] + "/console/")
    page.wait_for_selector("h1:has-text('Sign in to the staff console')")  # the session ended
