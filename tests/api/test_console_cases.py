"""The console's case pages as a SPOC uses them, in-process: my cases (names, order, filters,
search, paging, CSV), a case's sections with real data, notes, partner requests, letters, the
record of who looked, and every refusal as a page (never a 500)."""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib.adapters.tables import AuditEvent, CaseRecord, CaseViewRecord, LetterRecord, PartnerRequestRecord
from chalicelib.case_index import backfill
from chalicelib.openapi import example_application, example_on_behalf

LINK_SECRET = "test-secret-for-partner-links-0123456789abcdef"  # as tests/api/conftest.py stores it
TODAY = date(2026, 12, 21)  # the clock fixture's Monday


@pytest.fixture
def ready(wired):
    """Every area reads the case-list index (as after `make backfill`): rows carry the names."""
    backfill(wired.policies(), LINK_SECRET.encode())


def apply(client, body=None) -> str:
    r = client.http.post("/applications", headers={"Content-Type": "application/json"},
                         body=json.dumps(body or example_application(TODAY)))
    assert r.status_code == 201, r.body
    return json.loads(r.body)["reference"]


def named(surname: str, postcode: str = "DE4 3AG", first: str = "Sam") -> dict:
    body = example_application(TODAY)
    body["victim"]["name"] = f"{first} {surname}"
    body["victim"]["address"]["postcode"] = postcode
    for incident in body["incidents"]:
        incident["reported_by"] = f"{first} {surname}"
    return body


def set_due(ref: str, name: str, due: date) -> None:
    case = CaseRecord.get(ref)
    case.deadlines = {**case.deadlines, name: {"due": due.isoformat(), "met_on": None}}
    case.save()


def text_of(response) -> str:
    """The page's main content as a person reads it."""
    html = response.body.decode()
    main = html[html.index("<main"):html.index("</main>")]
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", main)))


def title_of(response) -> str:
    return unescape(re.search(r"<title>(.*?)</title>", response.body.decode(), re.S).group(1))


def list_refs(response) -> list[str]:
    return re.findall(r'<th scope="row" class="govuk-table__header"><a class="govuk-link" href="[^"]*/console/cases/(CT-[A-Z0-9-]+)"',
                      response.body.decode())


def summary_links(response) -> list[str]:
    html = response.body.decode()
    if "govuk-error-summary" not in html:
        return []
    block = html[html.index("govuk-error-summary"):html.index("</ul>", html.index("govuk-error-summary"))]
    return re.findall(r'<a href="([^"]+)"', block)


def staff(client, token, method, path, body=None, role="spoc", areas="derbyshire"):
    return getattr(client.http, method.lower())(path, headers={"Content-Type": "application/json",
                                                             "Authorization": token(role, areas)},
                                                body=json.dumps(body) if body is not None else None)


# ---------------------------------------------------------------- my cases


def test_my_cases_lists_names_overdue_then_due_soon_then_later(client, console_as, ready):
    later = apply(client, named("Later"))
    soon = apply(client, named("Soonest"))
    overdue = apply(client, named("Overdue"))
    set_due(soon, "threshold_decision", TODAY + timedelta(days=2))  # Wednesday 23rd: within 3 working days
    set_due(overdue, "threshold_decision", TODAY - timedelta(days=3))
    page = console_as("spoc", "derbyshire").get("/console/cases")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert list_refs(page) == [overdue, soon, later]
    text = text_of(page)
    assert "Sam Overdue" in text and "Sam Soonest" in text and "Sam Later" in text
    assert re.search(r"Threshold decision: Friday 18 December 2026 Overdue", text)
    assert re.search(r"Threshold decision: Wednesday 23 December 2026 Due soon", text)
    assert "Assessing the threshold" in text
    assert "<th scope=\"col\" class=\"govuk-table__header\">Area</th>" not in page.body.decode()  # one area: said once, above
    for private in ("Elm Road", "sam.taylor@example.com", "07700"):
        assert private not in page.body.decode()


def test_filters_by_status_and_deadline_with_the_moj_filter(client, console_as, ready):
    waiting = apply(client, example_on_behalf(TODAY) | {"area": "derbyshire"})
    assessing = apply(client)
    overdue = apply(client, named("Late"))
    set_due(overdue, "threshold_decision", TODAY - timedelta(days=1))
    user = console_as("spoc", "derbyshire")
    page = user.get("/console/cases?status=awaiting_consent")
    assert list_refs(page) == [waiting]
    assert 'class="moj-filter"' in page.body.decode() and "Selected filters" in text_of(page)
    assert re.search(r'value="awaiting_consent"\s+checked', page.body.decode())
    assert set(list_refs(user.get("/console/cases?due=overdue"))) == {overdue}
    assert set(list_refs(user.get("/console/cases?status=acknowledged"))) == {assessing, overdue}
    # "Remove this filter" keeps the others
    page = user.get("/console/cases?status=acknowledged&due=overdue")
    removes = re.findall(r'<a class="moj-filter__tag" href="([^"]+)"', page.body.decode())
    assert sorted(unescape(h) for h in removes) == ["/api/console/cases?due=overdue", "/api/console/cases?status=acknowledged"]


def test_area_filter_offers_only_my_areas(client, console_as, ready):
    derby = apply(client)
    hart = apply(client, example_application(TODAY, area="hart"))
    user = console_as("spoc", ["derbyshire", "hart"])
    page = user.get("/console/cases")
    assert set(list_refs(page)) == {derby, hart}
    assert re.search(r"Sam Taylor Sam Taylor Hart Assessing the threshold", text_of(page))  # two areas: a column
    assert 'value="hart"' in page.body.decode() and 'value="dacorum"' not in page.body.decode()
    assert list_refs(user.get("/console/cases?area=hart")) == [hart]
    refused = user.get("/console/cases?area=dacorum")
    assert refused.status_code == 400 and summary_links(refused) == ["#area"]


def test_search_by_surname_postcode_and_reference(client, console_as, ready):
    taylor = apply(client)
    patel = apply(client, named("Patel", "DE4 9ZZ", first="Asha"))
    user = console_as("spoc", "derbyshire")
    assert list_refs(user.get("/console/cases?q=taylor")) == [taylor]
    assert list_refs(user.get("/console/cases?q=Patel")) == [patel]
    assert list_refs(user.get("/console/cases?q=de49zz")) == [patel]
    assert list_refs(user.get(f"/console/cases?q={patel.lower()}")) == [patel]
    none = user.get("/console/cases?q=Nobody")
    assert none.status_code == 200 and list_refs(none) == []
    assert "No cases found" in text_of(none) and "“Nobody”" in text_of(none)


def test_paging_follows_the_cursor_and_keeps_the_filters(client, console_as, ready, monkeypatch):
    from chalicelib.routes import console_cases

    monkeypatch.setattr(console_cases, "PAGE_SIZE", 2)
    refs = {apply(client, named(f"Person{chr(65 + n)}")) for n in range(5)}
    user = console_as("spoc", "derbyshire")
    seen, path = [], "/console/cases?status=acknowledged"
    for _ in range(5):
        page = user.get(path)
        assert page.status_code == 200
        seen += list_refs(page)
        nxt = re.search(r'<a class="govuk-link govuk-pagination__link" href="([^"]+)" rel="next"', page.body.decode())
        if not nxt:
            break
        href = unescape(nxt.group(1))
        assert parse_qs(urlsplit(href).query)["status"] == ["acknowledged"]  # the filter is kept
        path = href.removeprefix("/api")
    assert sorted(seen) == sorted(refs) and len(seen) == 5
    assert "Back to the first page" in text_of(page)


def test_csv_has_every_matching_case_safe_from_formulas(client, console_as, ready, monkeypatch):
    from chalicelib.routes import console_cases

    monkeypatch.setattr(console_cases, "CSV_PAGE", 2)  # several pages of the list, joined
    plain = [apply(client, named(f"Plain{chr(65 + n)}")) for n in range(3)]
    evil = apply(client, named("Smith", first="=HYPERLINK(\"x\")"))
    minus = apply(client, named("Jones", first="-Two"))
    waiting = apply(client, example_on_behalf(TODAY) | {"area": "derbyshire"})
    user = console_as("spoc", "derbyshire")
    page = user.get("/console/cases")
    link = re.search(r'href="([^"]+/console/cases\.csv[^"]*)"', page.body.decode())
    assert link is not None
    response = user.get("/console/cases.csv?status=acknowledged")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.headers["Content-Disposition"] == 'attachment; filename="cases-2026-12-21.csv"'
    assert response.headers["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(response.body.decode("utf-8"))))
    assert rows[0][:5] == ["Reference", "Applicant", "Victim", "Area", "Status"]
    by_ref = {r[0]: r for r in rows[1:]}
    assert set(by_ref) == {*plain, evil, minus}  # the filter applies: the one awaiting consent is not there
    assert waiting not in by_ref
    assert by_ref[evil][2] == "'=HYPERLINK(\"x\") Smith" and by_ref[minus][2] == "'-Two Jones"
    assert by_ref[plain[0]][2] == "Sam PlainA" and by_ref[plain[0]][4] == "Assessing the threshold"
    for row in rows:
        assert not any(cell[:1] in ("=", "+", "-", "@", "\t", "\r") for cell in row)


def test_csv_says_when_it_stops_at_the_cap(client, console_as, ready, monkeypatch):
    from chalicelib.routes import console_cases

    monkeypatch.setattr(console_cases, "CSV_CAP", 2)
    monkeypatch.setattr(console_cases, "CSV_PAGE", 1)
    for n in range(4):
        apply(client, named(f"Capped{chr(65 + n)}"))
    rows = list(csv.reader(io.StringIO(console_as("spoc", "derbyshire").get("/console/cases.csv").body.decode())))
    assert len(rows) == 1 + 2 + 1
    assert rows[-1][0].startswith("Only the first 2 matching cases are in this file")


def test_csv_refuses_bad_filters_with_a_page(client, console_as, ready):
    r = console_as("spoc", "derbyshire").get("/console/cases.csv?due=yesterday")
    assert r.status_code == 400 and "text/html" in r.headers["Content-Type"] and summary_links(r) == ["#due"]


def test_a_hart_spoc_sees_no_derbyshire_case(client, console_as, ready):
    derby = apply(client)
    hart = apply(client, example_application(TODAY, area="hart"))
    user = console_as("spoc", "hart")
    assert list_refs(user.get("/console/cases")) == [hart]
    assert list_refs(user.get(f"/console/cases?q={derby}")) == []
    assert list_refs(user.get("/console/cases?q=Taylor")) == [hart]
    assert derby not in user.get("/console/cases.csv").body.decode()
    for path in (f"/console/cases/{derby}", f"/console/cases/{derby}/letters/01",
                 f"/console/cases/{derby}/partner-requests/P01/address"):
        page = user.get(path)
        assert page.status_code in (403, 404), path
        assert "Sam Taylor" not in page.body.decode() and "Elm Road" not in page.body.decode()
    refused = user.post(f"/console/cases/{derby}/notes", {"text": "Not mine"})
    assert refused.status_code == 403
    assert not [e for e in AuditEvent.query(derby) if e.action == "add_note"]
    assert user.post(f"/console/cases/{derby}/partner-requests/P01/revoke").status_code == 403
    assert PartnerRequestRecord.get(derby, "P01").status == "requested"
    assert not list(CaseViewRecord.query(derby))  # a refused look is not a view


def test_an_appeals_only_user_sees_appeal_steps_only(client, console_as, token, ready):
    ref = apply(client)
    r = staff(client, token, "POST", f"/cases/{ref}/threshold-decision", {"decision": "not_met", "reasons": "Too few reports."})
    assert r.status_code == 200, r.body
    appeals = console_as("appeals", "derbyshire", name="Ari Appeals")
    assert appeals.get("/console/cases").status_code == 403  # the list is the SPOCs'
    page = appeals.get(f"/console/cases/{ref}")
    assert page.status_code == 200
    hrefs = re.findall(r'href="/api(/console/cases/[^"#]+/steps/[^"#]+)"', page.body.decode())
    assert hrefs == [f"/console/cases/{ref}/steps/appeal"]
    spoc_page = console_as("spoc", "derbyshire").get(f"/console/cases/{ref}")
    assert "/steps/appeal" not in spoc_page.body.decode()
    assert "Threshold not met" in text_of(spoc_page)


# ---------------------------------------------------------------- a case


def test_the_case_page_shows_every_section_with_the_case_data(client, console_as, ready):
    ref = apply(client)
    page = console_as("spoc", "derbyshire").get(f"/console/cases/{ref}")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    html, text = page.body.decode(), text_of(page)
    assert title_of(page).startswith(f"Case {ref} – ")
    assert "Safer Derbyshire" in title_of(page)  # the council's name
    for anchor in ("summary", "steps", "deadlines", "threshold", "partner-requests", "letters", "notes", "timeline", "views"):
        assert f'id="{anchor}"' in html and f'href="#{anchor}"' in html
    assert 'class="moj-sub-navigation"' in html
    # summary
    for fact in ("Sam Taylor", "12 Elm Road", "DE4 3AG", "sam.taylor@example.com", "Online form",
                 "Loud music and shouting from the flat above", "Monday 21 December 2026 at 10:00am"):
        assert fact in text, fact
    # steps: the threshold decision, withdraw, reject; acknowledgement; not the API's internal names
    steps = re.findall(r'href="/api/console/cases/[^/]+/steps/([a-z-]+)"', html)
    assert steps == ["acknowledgement", "threshold-decision", "withdraw", "reject"]
    # deadlines
    assert re.search(r"Acknowledge the application Wednesday 30 December 2026 Monday 21 December 2026 Met", text)
    assert re.search(r"Threshold decision Thursday 14 January 2027 Pending", text)
    # threshold, rule by rule
    assert re.search(r"Qualifying complaints Met 3 qualifying complaints on separate occasions", text)
    assert "Related behaviour For you to check" in text
    # partners
    assert "Derbyshire Constabulary" in text and "communitytrigger.police@derbyshire.example" in text
    assert f'action="/api/console/cases/{ref}/partner-requests/P02/resend"' in html
    # letters link to the letter page
    assert f'href="/api/console/cases/{ref}/letters/01"' in html
    # timeline
    assert "Application received" in text and "applicant (online form)" in text


def test_done_banner_only_for_known_names(client, console_as, ready):
    ref = apply(client)
    user = console_as("spoc", "derbyshire")
    page = user.get(f"/console/cases/{ref}?done=threshold-decision")
    assert "govuk-notification-banner--success" in page.body.decode()
    assert "The threshold decision is recorded" in text_of(page)
    for junk in ("<script>", "deleted-everything", ""):
        assert "govuk-notification-banner" not in user.get(f"/console/cases/{ref}?done={junk}").body.decode()


def test_a_partners_return_shows_on_the_case(client, console_as, ready, wired, clock):
    from chalicelib.adapters.tables import PartnerReturnRecord
    from chalicelib.openapi import example_return

    ref = apply(client)
    PartnerReturnRecord(ref, "P02#0001", request_id="P02", version=1, partner_name="Derbyshire Constabulary",
                        submitted_at="2026-12-21T10:00:00.000Z", answers=example_return(TODAY)).save()
    request = PartnerRequestRecord.get(ref, "P02")
    request.update(actions=[PartnerRequestRecord.status.set("returned"), PartnerRequestRecord.latest_version.set(1)])
    text = text_of(console_as("spoc", "derbyshire").get(f"/console/cases/{ref}"))
    assert "Their latest return (version 1)" in text
    assert "Answered by PC Jo Lee" in text and "Holds vulnerability markers Yes" in text
    assert "Loud music after midnight; third report this month." in text


# ---------------------------------------------------------------- notes


def test_a_note_is_added_shown_and_audited(client, console_as, ready):
    ref = apply(client)
    user = console_as("spoc", "derbyshire")
    r = user.post(f"/console/cases/{ref}/notes", {"text": "Spoke to <b>Sam</b> on the phone."})
    assert r.status_code == 303
    assert r.headers["Location"] == f"https://ct.example.test/api/console/cases/{ref}?done=note#notes"
    page = user.get(f"/console/cases/{ref}?done=note")
    assert "Spoke to <b>Sam</b> on the phone." in text_of(page)
    assert "Spoke to &lt;b&gt;Sam&lt;/b&gt;" in page.body.decode()  # escaped, never markup
    assert "Your note is added to the case" in text_of(page)
    notes = [e for e in AuditEvent.query(ref) if e.action == "add_note"]
    assert len(notes) == 1 and notes[0].actor == "Pat SPOC (user-pat)"
    assert notes[0].detail["note"] == "Spoke to <b>Sam</b> on the phone."


def test_an_empty_or_overlong_note_is_the_form_again_with_its_error(client, console_as, ready):
    ref = apply(client)
    user = console_as("spoc", "derbyshire")
    for text in ("", "x" * 5001):
        page = user.post(f"/console/cases/{ref}/notes", {"text": text})
        assert page.status_code == 422, page.body[:300]
        assert title_of(page).startswith("Error: ")
        assert summary_links(page) == ["#note-text"]
        assert 'id="note-text-error"' in page.body.decode()
    assert not [e for e in AuditEvent.query(ref) if e.action == "add_note"]


def test_a_note_without_the_forms_token_is_refused(client, console_as, ready):
    ref = apply(client)
    r = console_as("spoc", "derbyshire").post(f"/console/cases/{ref}/notes", {"text": "Hello"}, csrf=False)
    assert r.status_code == 403
    assert not [e for e in AuditEvent.query(ref) if e.action == "add_note"]


# ---------------------------------------------------------------- partner requests


def test_send_again_revoke_and_a_new_link(client, console_as, ready):
    ref = apply(client)
    user = console_as("spoc", "derbyshire")
    before = len(list(LetterRecord.query(ref)))
    r = user.post(f"/console/cases/{ref}/partner-requests/P02/resend")
    assert r.status_code == 303 and r.headers["Location"].endswith("?done=resend#partner-requests")
    assert len(list(LetterRecord.query(ref))) == before + 1
    assert "Request sent to a partner again" in text_of(user.get(f"/console/cases/{ref}"))

    r = user.post(f"/console/cases/{ref}/partner-requests/P03/revoke")
    assert r.status_code == 303 and r.headers["Location"].endswith("?done=revoke#partner-requests")
    assert PartnerRequestRecord.get(ref, "P03").status == "revoked"
    page = user.get(f"/console/cases/{ref}")
    assert "link stopped working (revoked)" in text_of(page)  # in the timeline, with who did it
    assert f"/partner-requests/P03/resend" not in page.body.decode()  # a revoked link is not sent again...
    assert f"/partner-requests/P03/reissue" in page.body.decode()  # ...but can be replaced

    form = user.get(f"/console/cases/{ref}/partner-requests/P03/reissue")
    assert form.status_code == 200 and 'name="due_on.day"' in form.body.decode()
    r = user.post(f"/console/cases/{ref}/partner-requests/P03/reissue",
                  {"due_on.day": "29", "due_on.month": "1", "due_on.year": "2027"})
    assert r.status_code == 303, r.body[:500]
    request = PartnerRequestRecord.get(ref, "P03")
    assert (request.status, request.due_on) == ("requested", "2027-01-29")


def test_a_new_link_without_a_date_keeps_the_due_date(client, console_as, ready):
    ref = apply(client)
    user = console_as("spoc", "derbyshire")
    r = user.post(f"/console/cases/{ref}/partner-requests/P01/reissue", {"due_on.day": "", "due_on.month": "", "due_on.year": ""})
    assert r.status_code == 303
    assert PartnerRequestRecord.get(ref, "P01").due_on == "2027-01-07"


@pytest.mark.parametrize("day, month, year", [("32", "1", "2027"), ("1", "", "2027"), ("x", "y", "z"), ("21", "12", "2026")])
def test_a_bad_new_due_date_is_the_form_again(client, console_as, ready, day, month, year):
    ref = apply(client)
    page = console_as("spoc", "derbyshire").post(f"/console/cases/{ref}/partner-requests/P01/reissue",
                                                 {"due_on.day": day, "due_on.month": month, "due_on.year": year})
    assert page.status_code == 422, page.body[:400]
    assert summary_links(page) == ["#due_on-day"] and title_of(page).startswith("Error: ")
    assert f'value="{day}"' in page.body.decode()  # what was typed is kept
    assert PartnerRequestRecord.get(ref, "P01").due_on == "2027-01-07"


def test_an_address_is_validated_as_the_api_does(client, console_as, ready):
    ref = apply(client)
    user = console_as("spoc", "derbyshire")
    page = user.post(f"/console/cases/{ref}/partner-requests/P05/address", {"email": "not an address"})
    assert page.status_code == 422
    assert summary_links(page) == ["#email"] and 'id="email-error"' in page.body.decode()
    assert 'value="not an address"' in page.body.decode()
    assert PartnerRequestRecord.get(ref, "P05").email == "communitytrigger.yos@derbyshire.example"
    r = user.post(f"/console/cases/{ref}/partner-requests/P05/address", {"email": "yos.team@derbyshire.example"})
    assert r.status_code == 303 and r.headers["Location"].endswith("?done=address#partner-requests")
    assert PartnerRequestRecord.get(ref, "P05").email == "yos.team@derbyshire.example"


def test_partner_actions_refuse_what_the_case_no_longer_allows(client, console_as, token, ready):
    ref = apply(client)
    staff(client, token, "POST", f"/cases/{ref}/threshold-decision", {"decision": "not_met", "reasons": "Too few."})
    user = console_as("spoc", "derbyshire")
    assert user.post(f"/console/cases/{ref}/partner-requests/P01/resend").status_code == 409
    assert "/partner-requests/P01/resend" not in user.get(f"/console/cases/{ref}").body.decode()
    assert user.post(f"/console/cases/{ref}/partner-requests/P01/address", {"email": "a@b.example", "x": "1"}).status_code == 400


# ---------------------------------------------------------------- letters


def test_a_letter_as_its_recipient_saw_it(client, console_as, ready):
    ref = apply(client)
    page = console_as("spoc", "derbyshire").get(f"/console/cases/{ref}/letters/01")
    assert page.status_code == 200
    letter = LetterRecord.get(ref, "01")
    html = page.body.decode()
    assert letter.subject in text_of(page)
    frame = re.search(r'<iframe [^>]*sandbox srcdoc="([^"]*)"', html)
    assert frame is not None and unescape(frame.group(1)) == letter.html  # the stored HTML, only escaped
    assert "<script" not in unescape(frame.group(1))
    csp = page.headers["Content-Security-Policy"]
    assert re.search(r"style-src 'self' 'sha256-[A-Za-z0-9+/=]+'", csp) and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    first_line = next(line for line in letter.text.splitlines() if line.strip())
    assert first_line.strip() in text_of(page)  # the plain-text version


def test_a_missing_or_junk_letter_is_not_found(client, console_as, ready):
    ref = apply(client)
    user = console_as("spoc", "derbyshire")
    assert user.get(f"/console/cases/{ref}/letters/99").status_code == 404
    assert user.get(f"/console/cases/{ref}/letters/%3Cx%3E").status_code == 404
    assert user.post(f"/console/cases/{ref}/partner-requests/P99/resend").status_code == 404
    assert user.get(f"/console/cases/{ref}/partner-requests/P99/reissue").status_code == 404


# ---------------------------------------------------------------- who looked


def test_every_view_is_recorded_and_the_latest_are_shown(client, console_as, token, ready, clock):
    ref = apply(client)
    user = console_as("spoc", "derbyshire")
    user.get(f"/console/cases/{ref}")
    clock.set("2026-12-21T10:05:00+00:00")
    user.get(f"/console/cases/{ref}/letters/01")
    clock.set("2026-12-21T10:06:00+00:00")
    assert staff(client, token, "GET", f"/cases/{ref}").status_code == 200  # the API's views count too
    views = list(CaseViewRecord.query(ref))
    assert [(v.what, v.actor, v.at) for v in views] == [
        ("case", "Pat SPOC (user-pat)", "2026-12-21T10:00:00.000Z"),
        ("letter:01", "Pat SPOC (user-pat)", "2026-12-21T10:05:00.000Z"),
        ("case", "Pat SPOC (user-pat)", "2026-12-21T10:06:00.000Z")]
    clock.set("2026-12-21T10:07:00+00:00")
    page = console_as("spoc", "derbyshire", name="Kim Colleague").get(f"/console/cases/{ref}")
    text = text_of(page)
    recent = text[text.index("Recent views"):]
    assert re.search(r"Kim Colleague \(user-kim\) Monday 21 December 2026 at 10:07am The case", recent)
    assert re.search(r"Pat SPOC \(user-pat\) Monday 21 December 2026 at 10:05am Letter 01", recent)


def test_recent_views_are_the_last_twenty(client, console_as, ready, clock):
    ref = apply(client)
    user = console_as("spoc", "derbyshire")
    for minute in range(1, 26):  # a minute apart: the session stays live
        clock.set(f"2026-12-21T10:{minute:02d}:00+00:00")
        page = user.get(f"/console/cases/{ref}")
        assert page.status_code == 200
    assert len(list(CaseViewRecord.query(ref))) == 25
    recent = text_of(page)[text_of(page).index("Recent views"):]
    assert recent.count("Pat SPOC (user-pat)") == 20
    assert "10:25am" in recent and "10:06am" in recent and "10:05am" not in recent


# ---------------------------------------------------------------- refusals are pages


@pytest.mark.parametrize("query, field", [("q=" + "a" * 101, "#q"), ("cursor=not-a-cursor", None),
                                          ("status=finished", "#status"), ("due=later", "#due"),
                                          ("q=%21%21", "#q")])
def test_bad_list_queries_are_error_pages(client, console_as, ready, query, field):
    page = console_as("spoc", "derbyshire").get(f"/console/cases?{query}")
    assert page.status_code == 400, page.body[:300]
    assert "govuk-error-summary" in page.body.decode() and title_of(page).startswith("Error: ")
    assert summary_links(page) == ([field] if field else [])


def test_junk_references_are_not_found(client, console_as, ready):
    user = console_as("spoc", "derbyshire")
    for path in ("/console/cases/CT-0000-0000", "/console/cases/%3Cscript%3E", "/console/cases/" + "A" * 300,
                 "/console/cases/CT-0000-0000/letters/01", "/console/cases/nope/partner-requests/P01/reissue"):
        page = user.get(path)
        assert page.status_code == 404, (path, page.status_code)
        assert "<script>" not in page.body.decode()
    assert user.post("/console/cases/nope/notes", {"text": "x"}).status_code == 404


def test_signed_out_goes_to_sign_in_and_back(client, ready):
    ref = apply(client)
    for path in ("/console/cases", f"/console/cases/{ref}", f"/console/cases/{ref}/letters/01", "/console/cases.csv"):
        r = client.http.get(path)
        assert r.status_code == 303, path
        location = urlsplit(r.headers["Location"])
        assert location.path == "/api/console/sign-in" and parse_qs(location.query)["next"][0].startswith(path.split("?")[0])
    r = client.http.post(f"/console/cases/{ref}/notes", body="text=hi",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 303
    assert not [e for e in AuditEvent.query(ref) if e.action == "add_note"]


def test_the_views_table_is_everywhere_the_tables_are_listed_with_least_privilege():
    from pathlib import Path

    from chalicelib.adapters.tables import ALL_TABLES

    repo = Path(__file__).resolve().parents[2]
    assert CaseViewRecord in ALL_TABLES  # so moto, the local stack and the template create it
    resources = json.loads((repo / "infra" / "resources.json").read_text())["Resources"]
    table = resources["CaseViewsTable"]["Properties"]
    assert table["TableName"] == {"Fn::Sub": "${AWS::StackName}-case-views"}
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["ref", "viewed"]
    policy = json.loads((repo / ".chalice" / "policy-api_handler.json").read_text())  # only the API reads and writes it
    statement = next(s for s in policy["Statement"] if "case-views" in json.dumps(s["Resource"]))
    assert sorted(statement["Action"]) == ["dynamodb:PutItem", "dynamodb:Query"]
