"""A SPOC works a case in a real browser against the stack as `make run` starts it: finds the
example application by the applicant's surname, opens it, adds a note, reads a letter. Every page
is checked by axe; screenshots are kept as test-artifacts/console-cases-*.png."""
from __future__ import annotations

from datetime import date

import pytest

from chalicelib.openapi import example_application

from .browsing import CHROMIUM, NO_CHROMIUM, keep, no_axe_violations, sign_in_to_console
from .conftest import call

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason=NO_CHROMIUM)


def test_a_spoc_finds_a_case_adds_a_note_and_reads_a_letter(page, stack):
    status, receipt = call("POST", f"{stack['api']}/applications", example_application(date.today()))
    assert status == 201, receipt
    ref = receipt["reference"]

    sign_in_to_console(page, stack, name="Pat Tester", role="spoc", areas=("derbyshire",), path="/console/cases")
    assert page.inner_text("h1") == "My cases"
    no_axe_violations(page, "my cases")
    keep(page, "console-cases-list")

    page.fill("#q", "Nobodyatall")
    page.click("button.moj-search__button")
    page.wait_for_selector("h2:has-text('No cases found')")
    no_axe_violations(page, "an empty search")
    keep(page, "console-cases-empty-search")

    page.fill("#q", "Taylor")
    page.click("button.moj-search__button")
    page.wait_for_selector(f"a:has-text('{ref}')")
    assert "Sam Taylor" in page.inner_text("table")
    page.click(f"a:has-text('{ref}')")
    page.wait_for_selector(f"h1:has-text('Case {ref}')")
    for heading in ("Steps you can take now", "Deadlines", "Threshold assessment", "Partner requests", "Letters",
                    "Notes", "Timeline", "Recent views"):
        assert page.locator(f"h2:has-text('{heading}')").count() == 1, heading
    no_axe_violations(page, "a case")
    keep(page, "console-cases-case")

    page.click("button:has-text('Add note')")  # empty: the form again, with its error
    page.wait_for_selector(".govuk-error-summary")
    assert page.title().startswith("Error: ")
    no_axe_violations(page, "the note form with an error")
    keep(page, "console-cases-note-error")
    page.click(".govuk-error-summary a[href='#note-text']")
    assert page.evaluate("document.activeElement.id") == "note-text"  # the summary's link reaches the field

    page.fill("#note-text", "Rang Sam: the music stopped last week.")
    page.click("button:has-text('Add note')")
    page.wait_for_selector(".govuk-notification-banner--success")
    assert "Rang Sam: the music stopped last week." in page.inner_text("#notes ~ .govuk-inset-text")
    assert "Pat Tester" in page.inner_text("#timeline ~ .moj-timeline")

    page.click(f"a[href$='/console/cases/{ref}/letters/01']")
    page.wait_for_selector("iframe.app-letter")
    frame = page.frame_locator("iframe.app-letter")
    assert ref in frame.locator("body").inner_text()
    # The letter's own stylesheet applies inside its frame (allowed by hash), not to the console.
    assert frame.locator("body").evaluate("b => getComputedStyle(b).fontFamily").lower().startswith("arial")
    no_axe_violations(page, "a letter")
    keep(page, "console-cases-letter")

    page.click(f"a:has-text('Back to case {ref}')")
    page.wait_for_selector("#views")
    assert "Letter 01" in page.inner_text("#views ~ table")  # the look at the letter is on the record


def test_on_a_phone_the_case_page_never_scrolls_sideways(browser, stack):
    """Its wide tables (deadlines, the incidents, the letters with their delivery) scroll in their own
    box, which the keyboard can reach; the page itself fits a 375-pixel screen."""
    status, receipt = call("POST", f"{stack['api']}/applications", example_application(date.today()))
    assert status == 201, receipt
    context = browser.new_context(viewport={"width": 375, "height": 800})
    try:
        phone = context.new_page()
        sign_in_to_console(phone, stack, name="Pat Tester", role="spoc", areas=("derbyshire",),
                           path=f"/console/cases/{receipt['reference']}")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 375
        letters = phone.locator(".ct-table-scroll[aria-label='Letters and emails']")
        assert letters.evaluate("e => e.scrollWidth > e.clientWidth")  # wider than the phone: scrolls inside
        no_axe_violations(phone, "a case on a phone")
        keep(phone, "console-cases-case-phone")
    finally:
        context.close()
