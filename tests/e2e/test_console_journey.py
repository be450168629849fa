"""The whole process in the staff console, in a real browser, as its people do it with `make run`:
a Derbyshire SPOC finds the application by the applicant's surname, takes it from the threshold
decision to closure reading each step's letters before they go, prints a posted letter; the
appeals body lodges, acknowledges and decides an appeal; a Hart SPOC cannot open the case. axe
checks every page; screenshots are test-artifacts/console-journey-*.png."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from chalicelib.openapi import example_application

from .browsing import CHROMIUM, NO_CHROMIUM, keep, no_axe_violations, sign_in_to_console
from .conftest import call

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason=NO_CHROMIUM)


def fill(page, values: dict[str, str]) -> None:
    """Fill a form by its fields' names, as a person would: type into boxes, choose radios and checkboxes."""
    for name, value in values.items():
        field = page.locator(f'[name="{name}"]').first
        if field.get_attribute("type") in ("radio", "checkbox"):
            page.check(f'[name="{name}"][value="{value}"]')
        else:
            field.fill(value)


def take_step(page, ref: str, step: str, values: dict[str, str], *, letter_says: str | None = None) -> None:
    """From the case page: the step's link, its form, the letters' preview (read, then sent)."""
    page.click(f"a[href$='/console/cases/{ref}/steps/{step}']")
    page.wait_for_selector("form button[value=preview]")
    no_axe_violations(page, f"{step} form")
    fill(page, values)
    page.click("button[value=preview]")
    page.wait_for_selector("h1:has-text('Check the letters before you send')")
    if letter_says is not None:
        assert letter_says in page.inner_text("main"), f"{step}: the preview does not show {letter_says!r}"
    no_axe_violations(page, f"{step} preview")
    keep(page, f"console-journey-{step}-preview")
    page.click("button[value=confirm]")
    page.wait_for_url(f"**/console/cases/{ref}?done={step}")
    page.wait_for_selector(".govuk-notification-banner--success")


def sign_out(page) -> None:
    page.click("button:has-text('Sign out')")
    page.wait_for_url("**/console/signed-out")


def test_a_case_from_application_to_closure_then_appealed_in_the_console(page, stack):
    today = datetime.now(ZoneInfo("Europe/London")).date()
    day = {"day": str(today.day), "month": str(today.month), "year": str(today.year)}
    application = example_application(today)
    application["victim"]["preferred_contact"] = "post"  # the letters go by post: the print queue
    status, receipt = call("POST", f"{stack['api']}/applications", application)
    assert status == 201, receipt
    ref = receipt["reference"]

    # The SPOC finds it by the applicant's surname.
    sign_in_to_console(page, stack, name="Pat Spoc", role="spoc", areas=("derbyshire",), path="/console/cases")
    page.fill("#q", "Taylor")
    page.click("button.moj-search__button")
    page.click(f"a:has-text('{ref}')")
    page.wait_for_selector(f"h1:has-text('Case {ref}')")
    no_axe_violations(page, "the case, received")

    meeting = {"meeting_arranged": "yes", **{f"meeting.date.{k}": v for k, v in day.items()}, "meeting.time": "18:00",
               "meeting.online": "no", "meeting.place": "Matlock Town Hall", "meeting.chair": "Alex Chair",
               "meeting.agencies[0]": "Derbyshire Constabulary", "meeting.agencies[1]": "Peak Homes",
               "meeting.agencies[2]": "Derbyshire Dales District Council", "meeting.victim_invited": "yes"}
    take_step(page, ref, "threshold-decision", {"decision": "met", "reasons": "Three reports in six months.", **meeting},
              letter_says="Matlock Town Hall")
    action = {"actions[0].description": "Fit a door entry system", "actions[0].agency": "Peak Homes",
              "actions[0].lead_officer": "Jo Ward", "actions[0].due_on.day": "1", "actions[0].due_on.month": "3",
              "actions[0].due_on.year": str(today.year + 1), "actions[0].victim_agreed": "yes"}
    take_step(page, ref, "draft-plan", {**{f"held_on.{k}": v for k, v in day.items()},
                                        "findings": "The noise comes from a flat without sound insulation.",
                                        "recommendations[0]": "Mediation between the neighbours", **action},
              letter_says="Fit a door entry system")
    take_step(page, ref, "outcome", {"views_on_draft": "Sam agreed the plan by phone."}, letter_says="Fit a door entry system")
    take_step(page, ref, "close", {"reason": "The plan is agreed and with the agencies.", "open_actions": "hand_to_agencies",
                                   "handover_reason": "Peak Homes fits the door in the spring."},
              letter_says="Peak Homes fits the door in the spring.")
    assert "Closed" in page.inner_text("main")
    no_axe_violations(page, "the case, closed")
    keep(page, "console-journey-closed")

    # The closure letter is posted: printed from the queue, then off it.
    page.click("a:has-text('Print queue')")
    page.wait_for_selector("h1:has-text('Print queue')")
    letters = page.locator(f"a[href*='/console/print-queue/{ref}/']")
    assert letters.count() >= 4  # acknowledgement, decision, draft plan, outcome, closure: all by post
    letters.last.click()
    page.wait_for_selector(".ct-print-sheet .recipient")
    assert "Sam Taylor" in page.inner_text(".ct-print-sheet .recipient")
    no_axe_violations(page, "a letter to print")
    keep(page, "console-journey-print")
    page.click("button:has-text('Mark as printed')")
    page.wait_for_selector(".govuk-notification-banner--success")
    sign_out(page)

    # The appeals body lodges the applicant's appeal against the outcome, acknowledges and decides it.
    sign_in_to_console(page, stack, name="Opcc Officer", role="appeals", areas=("derbyshire",), path="/console/appeals")
    page.fill("#reference", ref)
    page.click("button:has-text('Continue')")
    page.wait_for_url(f"**/console/cases/{ref}/steps/appeal")
    fill(page, {"against": "review_outcome", **{f"lodged_on.{k}": v for k, v in day.items()},
                "grounds": "The plan does nothing about the noise at night."})
    page.click("button[value=preview]")
    page.wait_for_selector("h1:has-text('Check the letters before you send')")
    no_axe_violations(page, "appeal preview")
    page.click("button[value=confirm]")
    page.wait_for_url(f"**/console/cases/{ref}?done=appeal")
    take_step(page, ref, "appeal-acknowledgement", {})
    take_step(page, ref, "appeal-decision", {"upheld": "no", "reasons": "The plan covers the night-time noise."},
              letter_says="The plan covers the night-time noise.")
    page.click("a:has-text('Appeals')")
    page.wait_for_selector("h1")
    no_axe_violations(page, "appeals after the decision")
    keep(page, "console-journey-appeals")
    sign_out(page)

    # Another area's SPOC cannot open it, nor find it.
    sign_in_to_console(page, stack, name="Hal Hart", role="spoc", areas=("hart",), path=f"/console/cases/{ref}")
    assert "You cannot see or do this" in page.inner_text("h1")
    assert "Sam Taylor" not in page.content()
    no_axe_violations(page, "another area's case, refused")
    keep(page, "console-journey-refused")
    status, case = call("GET", f"{stack['outbox']}/cases/{ref}.json")
    assert status == 200 and case["status"] == "closed", case
    steps = [e["action"] for e in case["timeline"]]
    assert steps[-3:] == ["lodge_appeal", "acknowledge_appeal", "decide_appeal_not_upheld"], steps
    # Every letter of the journey was stored; the one printed is dated and off the queue.
    sent = {(l["to"], l["step"]) for l in case["letters"]}
    assert {("applicant", "threshold_met"), ("applicant", "draft_plan"), ("applicant", "closed"), ("applicant", "appeal_decision")} <= sent, sent
