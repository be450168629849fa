"""What the case pages show, from CaseWork's dicts (chalicelib/console_views.py): no AWS, no Jinja."""
from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, strategies as st

from chalicelib import console_views as v
from chalicelib.auth import Principal
from chalicelib.domain.case import STEPS, Status, allowed_steps

SPOC = Principal("user-pat", "Pat SPOC", frozenset({"spoc"}), frozenset({"derbyshire"}))
APPEALS = Principal("user-ari", "Ari Appeals", frozenset({"appeals"}), frozenset({"derbyshire"}))
ADMIN = Principal("user-ada", "Ada Admin", frozenset({"admin"}), frozenset({"*"}))
TODAY = date(2026, 12, 21)


def detail(status: str = "acknowledged", **extra) -> dict:
    return {"reference": "CT-AAAA-BBBB", "area": "derbyshire", "status": status,
            "next_steps": allowed_steps(Status(status)), **extra}


# ---------------------------------------------------------------- the list's query


def test_filters_accept_known_values_and_blank_means_none():
    filters, errors = v.list_filters({"status": "monitoring", "area": "hart", "due": "soon", "q": "  Taylor ",
                                      "cursor": "abc.def"}, ["derbyshire", "hart"])
    assert errors == []
    assert filters == {"status": "monitoring", "area": "hart", "due": "soon", "q": "Taylor", "cursor": "abc.def"}
    assert v.list_filters({"status": "", "q": "  "}, [])[0] == {"status": None, "area": None, "due": None, "q": None,
                                                                "cursor": None}


def test_filters_name_each_bad_field():
    _, errors = v.list_filters({"status": "finished", "area": "dacorum", "due": "later", "q": "x" * 101,
                                "cursor": "é" * 3}, ["derbyshire"])
    assert [e["field"] for e in errors] == ["status", "area", "due", "q", ""]
    assert v.list_filters({"q": "x" * 100}, [])[1] == []


def test_the_query_string_keeps_the_filters_and_drops_the_cursor():
    filters = {"status": "acknowledged", "area": None, "due": "overdue", "q": "DE4 3AG", "cursor": "old"}
    assert v.list_query(filters) == "?status=acknowledged&due=overdue&q=DE4+3AG"
    assert v.list_query(filters, cursor="new") == "?status=acknowledged&due=overdue&q=DE4+3AG&cursor=new"
    assert v.list_query(filters, due=None) == "?status=acknowledged&q=DE4+3AG"
    assert v.list_query({"q": None}) == ""


def test_selected_filters_link_to_the_list_without_that_filter():
    chosen = v.selected_filters({"status": "closed", "area": "hart", "due": None, "q": "Smith", "cursor": None},
                                {"hart": "Hart"})
    assert chosen == [{"heading": "Status", "items": [{"text": "Closed", "href": "?area=hart&q=Smith"}]},
                      {"heading": "Area", "items": [{"text": "Hart", "href": "?status=closed&q=Smith"}]}]


def test_errors_for_the_summary_link_to_their_fields():
    errors = [{"field": "text", "id": "note-text", "message": "Enter a note"}, {"field": "", "message": "Out of date"}]
    assert v.summary_errors(errors) == [{"href": "#note-text", "text": "Enter a note"}, {"href": None, "text": "Out of date"}]
    assert v.error_for(errors) == {"note-text": "Enter a note", "": "Out of date"}


# ---------------------------------------------------------------- rows and CSV


def test_a_row_in_words_with_its_deadline_tags():
    row = v.list_row({"reference": "CT-AAAA-BBBB", "area": "derbyshire", "status": "acknowledged",
                      "applicant_name": "Sam Taylor", "victim_name": "Sam Taylor",
                      "next_deadline": {"name": "threshold_decision", "due": "2027-01-14"},
                      "overdue": ["threshold_decision"], "due_soon": ["threshold_decision"]}, {"derbyshire": "Derbyshire"})
    assert row["status"] == {"text": "Assessing the threshold", "colour": "blue"}
    assert row["next_deadline"] == {"text": "Threshold decision", "due": "2027-01-14", "due_text": "Thursday 14 January 2027"}
    assert (row["overdue"], row["due_soon"]) == (True, False)  # overdue says enough
    assert v.list_row({"reference": "R", "area": "x", "status": "closed", "next_deadline": None}, {})["next_deadline"] is None


@pytest.mark.parametrize("value, shown", [("=SUM(A1)", "'=SUM(A1)"), ("+44 1632", "'+44 1632"), ("-2", "'-2"),
                                          ("@cmd", "'@cmd"), ("\tx", "'\tx"), ("\rx", "'\rx"), ("Sam", "Sam"),
                                          ("", ""), (None, ""), ("a=b", "a=b")])
def test_csv_cells_never_start_a_formula(value, shown):
    assert v.csv_cell(value) == shown


@given(st.text())
def test_no_csv_cell_starts_with_a_formula_character(text):
    cell = v.csv_cell(text)
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert cell.removeprefix("'") == text or cell == text


# ---------------------------------------------------------------- steps


def test_every_domain_step_a_person_takes_is_a_step_page_or_worked_elsewhere():
    elsewhere = {"update_action", "resend_partner_request", "reissue_partner_link", "add_partner_address", "add_note",
                 "revoke_partner_link", "place_legal_hold", "lift_legal_hold"}
    internal = {s for s in STEPS if s.startswith("submit")} | {"open_agency_review"}
    assert set(v.DOMAIN_STEPS) | elsewhere | internal == set(STEPS)
    assert set(v.DOMAIN_STEPS.values()) == set(v.STEP_LINKS)


def test_the_staff_api_has_every_step_the_pages_link_to():
    from chalicelib.routes.staff import STEP_METHODS

    assert set(v.STEP_LINKS) == set(STEP_METHODS)


def test_a_spoc_assessing_the_threshold_gets_one_decision_link():
    links = v.step_links(detail("acknowledged"), SPOC)
    assert [l["step"] for l in links] == ["acknowledgement", "threshold-decision", "withdraw", "reject"]
    assert links[1]["href"] == "/console/cases/CT-AAAA-BBBB/steps/threshold-decision"


def test_appeal_steps_are_for_the_appeals_body_and_follow_the_appeal():
    not_met = detail("threshold_not_met", appeal_window_closes="2027-01-18")
    assert v.step_links(not_met, SPOC) == []
    assert [l["step"] for l in v.step_links(not_met, APPEALS)] == ["appeal"]
    lodged = {**not_met, "appeal": {"status": "lodged"}}
    assert [l["step"] for l in v.step_links(lodged, APPEALS)] == ["appeal-acknowledgement", "appeal-decision"]
    acknowledged = {**not_met, "appeal": {"status": "acknowledged"}}
    assert [l["step"] for l in v.step_links(acknowledged, APPEALS)] == ["appeal-decision"]
    decided = {**not_met, "appeal": {"status": "not_upheld"}, "appeal_window_closes": None}
    assert v.step_links(decided, APPEALS) == []
    assert [l["step"] for l in v.step_links(not_met, ADMIN)] == ["appeal"]  # admin has every role


def test_a_monitored_plan_links_each_action_and_a_scheduled_meeting_is_changed():
    monitoring = detail("monitoring", outcome={"actions": [{"id": "A1", "description": "Visit", "agency": "Police",
                                                             "due_on": "2027-02-01", "status": "open"}]})
    assert [l["step"] for l in v.step_links(monitoring, SPOC)] == ["close", "withdraw"]
    assert v.action_links(monitoring, SPOC)[0]["href"] == "/console/cases/CT-AAAA-BBBB/actions/A1"
    assert v.action_links(monitoring, APPEALS)[0]["href"] is None
    closed = detail("closed", outcome=monitoring["outcome"])
    assert v.action_links(closed, SPOC)[0]["href"] is None
    scheduled = v.step_links(detail("meeting_scheduled", meeting={"date": "2027-01-05"}), SPOC)
    assert scheduled[0] == {"step": "meeting", "text": "Change the case review meeting",
                            "href": "/console/cases/CT-AAAA-BBBB/steps/meeting"}


# ---------------------------------------------------------------- deadlines


def test_each_deadline_is_met_late_missed_pending_or_no_longer_needed():
    rows = v.deadline_rows(detail("acknowledged", deadlines={
        "acknowledge": {"due": "2026-12-30", "met_on": "2026-12-21"},
        "threshold_decision": {"due": "2026-12-18", "met_on": None},
        "partner_return": {"due": "2027-01-07", "met_on": None},
        "review_meeting": {"due": "2027-01-10", "met_on": None},
        "outcome_letter": {"due": "2026-12-01", "met_on": "2026-12-02"},
        "draft_plan_response": {"due": None, "met_on": None},
    }), TODAY)
    assert [(r["name"], r["state"]["text"]) for r in rows] == [
        ("Outcome letter", "Met late"), ("Threshold decision", "Missed"), ("Acknowledge the application", "Met"),
        ("Partners' returns", "Pending"), ("Case review meeting", "No longer needed")]


@pytest.mark.parametrize("today, state", [(date(2027, 1, 14), "Pending"), (date(2027, 1, 15), "Missed")])
def test_a_deadline_is_missed_from_the_day_after(today, state):
    rows = v.deadline_rows(detail("acknowledged", deadlines={"threshold_decision": {"due": "2027-01-14", "met_on": None}}), today)
    assert rows[0]["state"]["text"] == state


def test_appeal_deadlines_follow_the_appeal():
    d = {"appeal_decision": {"due": "2027-02-01", "met_on": None}}
    open_ = v.deadline_rows(detail("threshold_not_met", deadlines=d, appeal={"status": "lodged"}), TODAY)
    closed = v.deadline_rows(detail("threshold_not_met", deadlines=d, appeal={"status": "upheld"}), TODAY)
    assert (open_[0]["state"]["text"], closed[0]["state"]["text"]) == ("Pending", "No longer needed")
    assert v.deadline_label("action_A2") == "Action A2"


# ---------------------------------------------------------------- threshold, partners, letters


def test_the_pre_assessment_rule_by_rule():
    view = v.threshold_view({"result": "needs_judgement", "assessed_on": "2026-12-21",
                             "rules": [{"rule": "qualifying_complaints", "outcome": "fail", "reason": "2 of 3"},
                                       {"rule": "new_rule", "outcome": "odd", "reason": "?"}],
                             "reports": [{"index": 0, "happened_on": "2026-10-12", "reported_to": "Police",
                                          "counts": False, "reasons": ["too old", "no agency"]}],
                             "qualifying_occasions": ["2026-10-12"]})
    assert view["result"] == "Needs your judgement"
    assert view["rules"][0] == {"rule": "Qualifying complaints", "outcome": {"text": "Not met", "colour": "red"}, "reason": "2 of 3"}
    assert view["rules"][1]["rule"] == "New rule" and view["rules"][1]["outcome"]["text"] == "Odd"
    assert view["reports"][0] == {"number": 1, "happened_on": "Monday 12 October 2026", "reported_to": "Police",
                                  "counts": False, "reasons": "too old; no agency"}
    assert v.threshold_view(None) is None


def request(status: str, email: str | None = "p@x.example", answers=None) -> dict:
    return {"id": "P01", "partner": "Police", "kind": "police", "email": email, "status": status,
            "due_on": "2027-01-07", "expires_on": "2027-01-21", "latest_version": 1 if answers else 0, "return": answers}


@pytest.mark.parametrize("status, email, actions", [
    ("requested", "p@x.example", {"resend", "revoke", "reissue", "address"}),
    ("no_address", None, {"address"}),
    ("revoked", "p@x.example", {"reissue", "address"}),
    ("returned", "p@x.example", set()),
    ("closed", "p@x.example", set()),
])
def test_partner_actions_follow_the_requests_status(status, email, actions):
    row = v.partner_rows(detail("acknowledged", partner_requests=[request(status, email)]), SPOC)[0]
    assert set(row["actions"]) == actions
    assert all(href == f"/console/cases/CT-AAAA-BBBB/partner-requests/P01/{a}" for a, href in row["actions"].items())


def test_partner_actions_only_while_assessing_and_only_for_a_spoc():
    assert set(v.partner_rows(detail("review_pending", partner_requests=[request("requested")]), SPOC)[0]["actions"]) == {"revoke"}
    assert v.partner_rows(detail("acknowledged", partner_requests=[request("requested")]), APPEALS)[0]["actions"] == {}


def test_a_return_in_words():
    answers = {"responder_name": "PC Jo Lee", "reports_held": "yes", "under_investigation": "no",
               "reports": [{"date_received": "2026-12-01", "how_received": "officer_on_site", "hate_motivated": False,
                            "overview": "Music"}]}
    view = v.partner_rows(detail(partner_requests=[request("returned", answers=answers)]), SPOC)[0]["answers"]
    assert view["rows"][:3] == [{"key": "Answered by", "value": "PC Jo Lee"},
                                {"key": "Holds ASB reports from the named people", "value": "Yes"},
                                {"key": "Complaints being investigated", "value": "No"}]
    assert view["reports"][0] == [{"key": "Received", "value": "Tuesday 1 December 2026"},
                                  {"key": "Overview", "value": "Music"},
                                  {"key": "How received", "value": "Officer on site"},
                                  {"key": "Hate motivated", "value": "No"}]


def test_letters_link_to_their_page():
    rows = v.letter_rows(detail(letters=[{"id": "03", "to": "victim", "step": "victim_confirmation", "channel": "post",
                                          "status": "print_queued", "created_at": "2026-12-21T10:00:00.000Z",
                                          "sent_at": None}]))
    assert rows[0] == {"id": "03", "href": "/console/cases/CT-AAAA-BBBB/letters/03", "to": "Victim",
                       "step": "Victim confirmation", "channel": "Post", "status": {"text": "To print", "colour": "yellow"},
                       "queued": "Monday 21 December 2026 at 10:00am", "sent": "", "delivery": "",
                       "delivery_problem": False}


def test_a_letters_row_says_what_ses_reported_and_marks_a_bounce():
    bounced = {"state": "bounced", "at": "2026-12-21T10:05:00.000Z", "summary": "Bounced 21 Dec 10:05: address does not exist"}
    rows = v.letter_rows(detail(letters=[
        {"id": "01", "to": "applicant", "step": "acknowledgement", "channel": "email", "status": "sent", "delivery": bounced},
        {"id": "02", "to": "spoc", "step": "new_application", "channel": "email", "status": "sent",
         "delivery": {"state": "delivered", "at": "2026-12-21T10:02:00.000Z", "summary": "Delivered 21 Dec 10:02"}}]))
    assert [(r["delivery"], r["delivery_problem"]) for r in rows] == [
        ("Bounced 21 Dec 10:05: address does not exist", True), ("Delivered 21 Dec 10:02", False)]


# ---------------------------------------------------------------- timeline, views, banner


def test_the_timeline_has_every_event_and_notice_newest_first():
    items = v.timeline_items(detail(
        timeline=[{"at": "2026-12-21T10:00:00.000Z", "actor": "applicant (online form)", "action": "submit_complete",
                   "from": None, "to": "acknowledged", "detail": {}},
                  {"at": "2026-12-22T09:00:00.000Z", "actor": "Pat SPOC (user-pat)", "action": "decide_not_met",
                   "from": "acknowledged", "to": "threshold_not_met", "detail": {}},
                  {"at": "2026-12-22T09:30:00.000Z", "actor": "Pat SPOC (user-pat)", "action": "add_note",
                   "from": "threshold_not_met", "to": "threshold_not_met", "detail": {"note": "Rang Sam"}}],
        notices=[{"at": "2026-12-21T08:00:00.000Z", "kind": "remind", "key": "k",
                  "detail": {"deadline": "threshold_decision", "due_on": "2027-01-14"}}]))
    assert [i["label"] for i in items] == ["Note added", "Threshold not met", "Application received",
                                           "Reminder sent to the SPOC"]
    assert items[1]["text"] == "Assessing the threshold to Threshold not met."
    assert items[0]["text"] == "Rang Sam" and items[0]["byline"] == "Pat SPOC (user-pat)"
    assert items[3]["byline"] == v.SWEEP and items[3]["text"] == "Threshold decision, due Thursday 14 January 2027."


def test_every_audited_action_has_words():
    assert set(STEPS) <= set(v.AUDIT_LABELS)


def test_views_say_who_when_and_what():
    rows = v.view_rows(detail(views=[{"at": "2026-12-21T10:05:00.000Z", "by": "Pat SPOC (user-pat)", "what": "letter:01"},
                                     {"at": "2026-12-21T10:00:00.000Z", "by": "Pat SPOC (user-pat)", "what": "case"}]))
    assert rows == [{"by": "Pat SPOC (user-pat)", "when": "Monday 21 December 2026 at 10:05am", "what": "Letter 01"},
                    {"by": "Pat SPOC (user-pat)", "when": "Monday 21 December 2026 at 10:00am", "what": "The case"}]


def test_the_banner_is_for_known_names_only():
    from chalicelib.routes.staff import STEP_METHODS

    for name in [*STEP_METHODS, "note", "resend", "reissue", "revoke", "address", "action"]:
        assert v.done_message(name)
    for junk in (None, "", "<script>", "delete"):
        assert v.done_message(junk) is None


def test_the_summary_names_the_applicant_only_when_someone_else_applied():
    victim = {"name": "Sam Taylor", "address": {"line1": "1 Elm Road", "postcode": "DE4 3AG"}, "email": "s@x.example",
              "daytime_phone": "01632960001", "preferred_contact": "email"}
    own = v.case_view(detail(application={"basis": "victim", "victim": victim, "summary": "Noise"}, received_at="2026-12-21T10:00:00.000Z",
                             channel="online"), SPOC, TODAY, {"derbyshire": "Derbyshire"})
    assert own["applicant"] is None and own["victim"]["address"] == ["1 Elm Road", "DE4 3AG"]
    assert (own["area"], own["channel"], own["summary"]) == ("Derbyshire", "Online form", "Noise")
    behalf = v.case_view(detail(application={"basis": "on_behalf", "victim": victim, "applicant": {
        "name": "Cllr Alex Morgan", "relationship": "councillor", "email": "a@x.example"}}), SPOC, TODAY, {})
    assert behalf["applicant"]["name"] == "Cllr Alex Morgan" and behalf["applicant"]["relationship"] == "Councillor"


# ---------------------------------------------------------------- a letter


def test_a_letter_keeps_its_html_and_hashes_its_stylesheet():
    import base64
    import hashlib

    html = "<html><head><style>\n  p { margin: 0; }\n</style></head><body><p>Dear Sam</p></body></html>"
    view = v.letter_view({"reference": "CT-AAAA-BBBB", "letter_id": "01", "to": "applicant", "step": "acknowledgement",
                          "channel": "email", "status": "sent", "subject": "Received", "html": html,
                          "text": "Dear Sam\n\nWe have your application.\nReference CT-AAAA-BBBB\n\n\nYours"})
    expected = base64.b64encode(hashlib.sha256(b"\n  p { margin: 0; }\n").digest()).decode()
    assert view["style_hash"] == f"'sha256-{expected}'"
    assert view["html"] == html
    assert view["paragraphs"] == [["Dear Sam"], ["We have your application.", "Reference CT-AAAA-BBBB"], ["Yours"]]
    assert v.style_hash("<p>no style</p>") is None
