"""Issue 11: Folkestone & Hythe promise the findings "within a maximum 25 working days" of the
completed application. A late threshold decision cannot push the meeting or the outcome letter
past that date; for a third party's application the 25 days run from the recorded consent."""
from __future__ import annotations

from chalicelib.adapters.tables import CaseRecord
from chalicelib.openapi import example_application, example_on_behalf
from tests.api.test_staff import MEETING, apply, call

AREA = "folkestone-hythe"
# Received Monday 21 December 2026: 25 working days, past Christmas, Boxing Day (observed
# Monday 28) and New Year's Day, end on Thursday 28 January 2027.
FINDINGS_BY = "2027-01-28"


def deadlines(ref: str) -> dict:
    return {name: d["due"] for name, d in CaseRecord.get(ref).deadlines.items()}


def test_a_late_decision_keeps_the_meeting_and_the_letter_inside_the_25_days(client, token, clock):
    spoc = token("spoc", AREA)
    ref = apply(client, example_application(clock().date(), area=AREA))
    assert deadlines(ref)["threshold_decision"] == "2027-01-07"  # 10 working days: this project's split

    clock.set("2027-01-25T10:00:00+00:00")  # late: 12 working days more would run to 10 February
    r = call(client, "POST", f"/cases/{ref}/threshold-decision", spoc, {"decision": "met", "reasons": "Met."})
    assert r.status_code == 200, r.body
    assert deadlines(ref)["review_meeting"] == FINDINGS_BY

    r = call(client, "POST", f"/cases/{ref}/meeting", spoc, dict(MEETING, date="2027-01-27"))
    assert r.status_code == 200, r.body
    assert deadlines(ref)["outcome_letter"] == FINDINGS_BY  # not 1 February, 3 working days after the meeting


def test_the_25_days_run_from_the_recorded_consent(client, token, clock):
    spoc = token("spoc", AREA)
    body = example_on_behalf(clock().date())
    body["area"] = AREA
    ref = apply(client, body)
    assert CaseRecord.get(ref).status == "awaiting_consent"

    clock.set("2026-12-22T10:00:00+00:00")
    r = call(client, "POST", f"/cases/{ref}/consent", spoc, {"received_on": "2026-12-22", "evidence": "written_consent"})
    assert r.status_code == 200, r.body
    clock.set("2027-01-26T10:00:00+00:00")
    r = call(client, "POST", f"/cases/{ref}/threshold-decision", spoc, {"decision": "met", "reasons": "Met."})
    assert r.status_code == 200, r.body
    assert deadlines(ref)["review_meeting"] == "2027-01-29"  # 25 working days from 22 December
