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


def test_every_other_console_page_and_refusal_passes_axe(page, stack):
    """The pages the journeys do not reach (each step's form or its "not now" page, the partner-request
    forms, an agency-led review with its errors, the refusals) are checked by axe too."""
    from datetime import date

    from chalicelib.openapi import example_on_behalf

    from .conftest import call

    status, receipt = call("POST", f"{stack['api']}/applications", example_on_behalf(date.today()))
    assert status == 201, receipt
    ref = receipt["reference"]
    sign_in_to_console(page, stack, name="Ada Admin", role="admin", areas=("*",), path=f"/console/cases/{ref}")
    no_axe_violations(page, "a case awaiting consent")
    steps = ("consent", "acknowledgement", "threshold-decision", "meeting", "draft-plan", "outcome", "close", "withdraw",
             "reject", "appeal", "appeal-acknowledgement", "appeal-decision")
    for path in [f"/console/cases/{ref}/steps/{s}" for s in steps] + [
            f"/console/cases/{ref}/partner-requests/P01/reissue", f"/console/cases/{ref}/partner-requests/P01/address",
            f"/console/cases/{ref}/actions/A1", "/console/cases/CT-AAAA-AAAA", "/console/cases/not-a-reference",
            "/console/reports", "/console/admin/subject-access", "/console/", "/console/agency-reviews/new"]:
        page.goto(stack["api"] + path)
        assert page.locator("h1").count() == 1, path
        no_axe_violations(page, path)
    page.click("button[value=preview]")  # the agency-led review, empty: every error at once
    page.wait_for_selector(".govuk-error-summary")
    no_axe_violations(page, "agency-led review with errors")
    keep(page, "console-agency-review-errors")
    page.goto(stack["api"] + f"/console/cases/{ref}/steps/consent")
    page.click("button[value=preview]")
    page.wait_for_selector(".govuk-error-summary")
    no_axe_violations(page, "consent with errors")
