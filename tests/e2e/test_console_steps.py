"""A case step in a real browser against the stack as `make run` starts it: the threshold decision's
form with an error (the error summary, checked by axe), fixed, the letters previewed (axe, a
screenshot), sent, and back on the case page; and a step done with the keyboard alone."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from chalicelib.openapi import example_application

from .browsing import CHROMIUM, NO_CHROMIUM, keep, no_axe_violations, sign_in_to_console
from .conftest import call

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason=NO_CHROMIUM)


def new_case(stack) -> str:
    today = datetime.now(ZoneInfo("Europe/London")).date()
    status, receipt = call("POST", f"{stack['api']}/applications", example_application(today))
    assert status == 201, receipt
    return receipt["reference"]


def test_a_threshold_decision_with_an_error_fixed_previewed_and_sent(page, stack):
    ref = new_case(stack)
    path = f"/console/cases/{ref}/steps/threshold-decision"
    sign_in_to_console(page, stack, name="Pat SPOC", role="spoc", areas=("derbyshire",), path=path)
    assert "Record the threshold decision" in page.inner_text("h1")
    page.check("#decision")  # met, but no reasons given
    page.click("button[value=preview]")
    page.wait_for_selector(".govuk-error-summary")
    assert page.title().startswith("Error: ")
    # GOV.UK Frontend moves focus to the summary; its link goes to the field.
    assert page.evaluate("document.activeElement.classList.contains('govuk-error-summary')")
    no_axe_violations(page, "threshold decision with errors")
    keep(page, "console-steps-error")
    page.click(".govuk-error-summary a[href='#reasons']")
    assert page.evaluate("document.activeElement.id") == "reasons"
    page.fill("#reasons", "Three reports to three agencies within six months.")
    assert not page.is_checked("#meeting_arranged")  # the meeting is not arranged yet: no meeting sent
    page.click("button[value=preview]")
    page.wait_for_selector("h1:has-text('Check the letters before you send')")
    assert "Three reports to three agencies within six months." in page.inner_text(".app-letter")
    no_axe_violations(page, "threshold decision preview")
    keep(page, "console-steps-preview")
    page.click("button[value=confirm]")
    page.wait_for_url(f"**/console/cases/{ref}?done=threshold-decision")
    status, case = call("GET", f"{stack['outbox']}/cases/{ref}.json")  # the stack's view of the case as stored
    assert status == 200 and case["status"] == "review_pending", case


def tab_to(page, selector: str, most: int = 80) -> None:
    """Press Tab until `selector` has the focus (as a keyboard user moves through the page)."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_a_step_with_the_keyboard_alone(page, stack):
    ref = new_case(stack)
    path = f"/console/cases/{ref}/steps/reject"
    sign_in_to_console(page, stack, name="Pat SPOC", role="spoc", areas=("derbyshire",), path=path)
    tab_to(page, "input[name=reason]")
    page.keyboard.press("ArrowDown")  # the arrow keys move within the radios; Space chooses
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Space")
    assert page.is_checked("#reason")
    tab_to(page, "#note")
    page.keyboard.type("Repairs complaint: passed to the housing team.")
    tab_to(page, "button[value=preview]")
    page.keyboard.press("Enter")
    page.wait_for_selector("h1:has-text('Check the letters before you send')")
    keep(page, "console-steps-keyboard-preview")
    tab_to(page, "button[value=confirm]")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/console/cases/{ref}?done=reject")
