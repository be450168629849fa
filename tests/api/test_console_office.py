"""The staff console's office pages in-process: the print queue, the appeals body's list, reports
and their CSVs, and subject access requests (admins only)."""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, datetime, timedelta

from chalicelib.adapters.tables import AuditEvent, CaseRecord, LetterRecord, SubjectAccessExportRecord
from chalicelib.openapi import example_application, example_on_behalf

TODAY = date(2026, 12, 21)


def call(client, method, path, auth, body=None):
    return getattr(client.http, method.lower())(path, headers={"Content-Type": "application/json", "Authorization": auth},
                                                body=json.dumps(body) if body is not None else None)


def apply(client, body) -> str:
    response = client.http.post("/applications", headers={"Content-Type": "application/json"}, body=json.dumps(body))
    assert response.status_code == 201, response.body
    return response.json_body["reference"]


def by_post(area="derbyshire", name="Sam Taylor", postcode="DE4 3AG", equalities=None):
    body = example_application(TODAY, area=area)
    body["victim"]["preferred_contact"] = "post"
    body["victim"]["name"] = name
    body["victim"]["address"]["postcode"] = postcode
    if equalities is not None:
        body["equalities"] = equalities
    return body


def html(response) -> str:
    return response.body.decode() if isinstance(response.body, bytes) else response.body


def location(response) -> str:
    return response.headers["Location"].split("/api", 1)[1]


def queued(ref):
    return [l.letter_id for l in LetterRecord.query(ref) if l.status == "print_queued"]


def not_met(client, token, ref, area="derbyshire"):
    r = call(client, "POST", f"/cases/{ref}/threshold-decision", token("spoc", area),
             {"decision": "not_met", "reasons": "Only two of the reports were made within a month."})
    assert r.status_code == 200, r.body


def lodge(client, token, ref, area="derbyshire", lodged_on="2026-12-21"):
    r = call(client, "POST", f"/cases/{ref}/appeal", token("appeals", area, name="Opcc Officer"),
             {"against": "threshold_decision", "lodged_on": lodged_on, "grounds": "Two more reports were missed."})
    assert r.status_code == 200, r.body


# ---------------------------------------------------------------- the print queue


def test_the_print_queue_lists_posted_letters_of_my_areas_only(client, console_as):
    mine = apply(client, by_post())
    by_email = apply(client, example_application(TODAY))
    elsewhere = apply(client, by_post(area="dacorum", postcode="HP1 1AA"))
    page = console_as("spoc", "derbyshire").get("/console/print-queue")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    body = html(page)
    assert f'href="/api/console/cases/{mine}"' in body and f'value="{mine}/01"' in body
    assert f'href="/api/console/print-queue/{mine}/01"' in body and "Sam Taylor" in body
    assert by_email not in body and elsewhere not in body
    assert "Mark selected as printed" in body


def test_marking_one_letter_printed_takes_it_out_of_the_queue_dated_today(client, console_as, clock):
    ref = apply(client, by_post())
    clock.set("2026-12-23T09:00:00+00:00")  # printed two days after it was written
    spoc = console_as("spoc", "derbyshire")
    letter = spoc.get(f"/console/print-queue/{ref}/01")
    assert letter.status_code == 200
    body = html(letter)
    assert "Wednesday 23 December 2026" in body and "[[date-of-posting]]" not in body
    assert 'class="ct-print-sheet"' in body and 'class="recipient"' in body and "12 Elm Road" in body
    assert "<style>" not in body and 'data-print="letter"' in body  # the CSP: no inline style
    done = spoc.post(f"/console/print-queue/{ref}/01")
    assert done.status_code == 303 and location(done) == "/console/print-queue?printed=1"
    stored = LetterRecord.get(ref, "01")
    assert stored.status == "printed" and stored.sent_at.startswith("2026-12-23")
    assert "Wednesday 23 December 2026" in stored.html
    after = html(spoc.get(location(done)))
    assert "1 letter marked as printed" in after and ref not in after
    assert spoc.post(f"/console/print-queue/{ref}/01").status_code == 404  # not in the queue any more


def test_marking_several_printed_says_how_many(client, console_as):
    refs = [apply(client, by_post(name=n)) for n in ("Sam Taylor", "Jo Brown", "Ali Khan")]
    spoc = console_as("spoc", "derbyshire")
    done = spoc.post("/console/print-queue/printed", [("letter", f"{refs[0]}/01"), ("letter", f"{refs[1]}/01")])
    assert done.status_code == 303, html(done)
    assert location(done) == "/console/print-queue?printed=2&missed=0"
    assert queued(refs[0]) == [] and queued(refs[1]) == [] and queued(refs[2]) == ["01"]
    assert "2 letters marked as printed" in html(spoc.get(location(done)))
    again = spoc.post("/console/print-queue/printed", [("letter", f"{refs[0]}/01"), ("letter", f"{refs[2]}/01")])
    assert location(again) == "/console/print-queue?printed=1&missed=1"
    assert "1 letter was no longer in your queue" in html(spoc.get(location(again)))


def test_marking_none_selected_is_an_error_on_the_page(client, console_as):
    ref = apply(client, by_post())
    page = console_as("spoc", "derbyshire").post("/console/print-queue/printed", {})
    assert page.status_code == 422
    body = html(page)
    assert "<title>Error: Print queue" in body and 'href="#letter"' in body
    assert "Choose at least one letter to mark as printed" in body and 'id="letter"' in body
    assert queued(ref) == ["01"]


def test_a_letter_of_another_area_cannot_be_marked_from_the_queue(client, console_as):
    ref = apply(client, by_post(area="dacorum", postcode="HP1 1AA"))
    spoc = console_as("spoc", "derbyshire")
    done = spoc.post("/console/print-queue/printed", [("letter", f"{ref}/01")])
    assert location(done) == "/console/print-queue?printed=0&missed=1"
    assert spoc.get(f"/console/print-queue/{ref}/01").status_code == 403
    assert spoc.post(f"/console/print-queue/{ref}/01").status_code == 403
    assert queued(ref) == ["01"]


def test_bad_print_queue_input_is_a_page_not_a_500(client, console_as):
    spoc = console_as("spoc", "derbyshire")
    assert spoc.get("/console/print-queue/not-a-ref/01").status_code == 404
    assert spoc.get("/console/print-queue/CT-AAAA-BBBB/01").status_code == 404
    assert spoc.post("/console/print-queue/printed", {"other": "x"}).status_code == 400
    assert spoc.post("/console/print-queue/printed", [("letter", "x" * 300)]).status_code == 422
    assert spoc.post("/console/print-queue/printed", [("letter", "CT-AAAA-BBBB/01")], csrf=False).status_code == 403


def test_an_appeals_only_user_cannot_use_the_print_queue(client, console_as):
    ref = apply(client, by_post())
    appeals = console_as("appeals", "derbyshire", name="Opcc Officer")
    assert appeals.get("/console/print-queue").status_code == 403
    assert appeals.post("/console/print-queue/printed", [("letter", f"{ref}/01")]).status_code == 403
    assert appeals.post(f"/console/print-queue/{ref}/01").status_code == 403
    assert queued(ref) == ["01"]


# ---------------------------------------------------------------- appeals


def test_the_appeals_body_sees_appeals_across_two_areas_with_their_deadlines(client, console_as, token):
    derby = apply(client, example_application(TODAY))
    dacorum = apply(client, example_application(TODAY, area="dacorum"))
    not_met(client, token, derby)
    not_met(client, token, dacorum, "dacorum")
    lodge(client, token, derby)
    page = console_as("appeals", ["derbyshire", "dacorum"], name="Opcc Officer").get("/console/appeals")
    assert page.status_code == 200
    body = html(page)
    case = CaseRecord.get(derby)
    assert f'href="/api/console/cases/{derby}"' in body
    assert f'href="/api/console/cases/{derby}/steps/appeal-acknowledgement"' in body
    assert f'href="/api/console/cases/{derby}/steps/appeal-decision"' in body
    ack_due, decide_due = case.deadlines["appeal_acknowledge"]["due"], case.deadlines["appeal_decision"]["due"]
    assert f'datetime="{ack_due}"' in body and f'datetime="{decide_due}"' in body
    assert f'datetime="{case.appeal_window_closes}"' in body and "Lodged" in body
    # The dacorum case has no appeal yet but its window is open: listed as appealable.
    appealable = body.split("Cases where an appeal can be lodged", 1)[1]
    assert f'href="/api/console/cases/{dacorum}/steps/appeal"' in appealable
    assert derby not in appealable.split("Lodge an appeal</h2>")[0]


def test_an_acknowledged_appeal_offers_only_the_decision(client, console_as, token):
    ref = apply(client, example_application(TODAY))
    not_met(client, token, ref)
    lodge(client, token, ref)
    assert call(client, "POST", f"/cases/{ref}/appeal-acknowledgement", token("appeals", "derbyshire")).status_code == 200
    body = html(console_as("appeals", "derbyshire").get("/console/appeals"))
    assert f"/console/cases/{ref}/steps/appeal-acknowledgement" not in body
    assert f"/console/cases/{ref}/steps/appeal-decision" in body and "Acknowledged" in body


def test_lodge_an_appeal_goes_to_the_appeal_form_or_says_what_is_wrong(client, console_as, token):
    ref = apply(client, example_application(TODAY))
    other = apply(client, example_application(TODAY, area="dacorum"))
    user = console_as("appeals", "derbyshire")
    done = user.post("/console/appeals", {"reference": ref.lower().replace("-", " ")})
    assert done.status_code == 303 and location(done) == f"/console/cases/{ref}/steps/appeal"
    for typed, message in (("", "Enter the case reference"), ("CT-12", "in the right format"),
                           ("CT-7K3M-9QXR", "no case with this reference in your areas"),
                           (other, "no case with this reference in your areas")):
        page = user.post("/console/appeals", {"reference": typed})
        assert page.status_code == 422, typed
        body = html(page)
        assert message in body and 'href="#reference"' in body and "<title>Error: Appeals" in body


def test_a_spoc_cannot_open_the_appeals_pages(client, console_as):
    ref = apply(client, example_application(TODAY))
    spoc = console_as("spoc", "derbyshire")
    assert spoc.get("/console/appeals").status_code == 403
    assert spoc.post("/console/appeals", {"reference": ref}).status_code == 403


# ---------------------------------------------------------------- reports


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_the_reports_page_shows_the_deadline_report(client, console_as, token):
    ref = apply(client, example_application(TODAY))
    apply(client, example_application(TODAY))
    not_met(client, token, ref)
    report = call(client, "GET", "/reports/deadlines?area=derbyshire", token("spoc", "derbyshire")).json_body
    page = console_as("spoc", "derbyshire").get("/console/reports?area=derbyshire")
    assert page.status_code == 200
    body = html(page)
    for name, counts in report["deadlines"].items():
        row = re.search(rf'data-deadline="{name}">(.*?)</tr>', body, re.S).group(1)
        assert re.findall(r">(\d+)</td>", row) == [str(counts[k]) for k in ("met", "met_late", "missed", "pending", "ended")]
    assert "1 April 2026" in body and "31 March 2027" in body
    assert '/api/console/reports/figures.csv?area=derbyshire' in body
    assert '/api/console/reports/deadlines.csv?area=derbyshire' in body


def test_the_deadlines_csv_matches_the_report(client, console_as, token):
    ref = apply(client, example_application(TODAY))
    not_met(client, token, ref)
    report = call(client, "GET", "/reports/deadlines?area=derbyshire&year=2026", token("spoc", "derbyshire")).json_body
    download = console_as("spoc", "derbyshire").get("/console/reports/deadlines.csv?area=derbyshire&year=2026")
    assert download.status_code == 200 and download.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in download.headers["Content-Disposition"]
    table = rows(html(download))
    assert table[0] == ["area", "year_from", "year_to", "deadline", "met", "met_late", "missed", "pending", "ended"]
    got = {r[3]: [int(n) for n in r[4:]] for r in table[1:]}
    assert got == {n: [c[k] for k in ("met", "met_late", "missed", "pending", "ended")]
                   for n, c in report["deadlines"].items()}
    assert all(r[1:3] == ["2026-04-01", "2027-03-31"] for r in table[1:])


def test_the_figures_csvs_are_the_published_ones(client, console_as):
    apply(client, example_application(TODAY))
    user = console_as("appeals", "derbyshire")
    for mine, public in (("/console/reports/figures.csv?area=derbyshire&year=2026", "/stats.csv?area=derbyshire&year=2026"),
                         ("/console/reports/data-return.csv?area=derbyshire", "/stats/data-return.csv?area=derbyshire")):
        got = user.get(mine)
        assert got.status_code == 200, mine
        assert rows(html(got)) == rows(html(client.http.get(public)))
    assert rows(html(user.get("/console/reports/figures.csv?area=derbyshire&year=2026")))[1][4] == "1"


def test_csv_cells_that_a_spreadsheet_would_run_are_made_text(client, console_as):
    from chalicelib.routes.console_office import csv_safe, safe_csv

    assert [csv_safe(v) for v in ("=1+2", "+44", "-3", "@SUM(A1)", "\tx", "\rx", "safe", 7, None)] == [
        "'=1+2", "'+44", "'-3", "'@SUM(A1)", "'\tx", "'\rx", "safe", "7", ""]
    assert rows(safe_csv('a,b\r\n"=HYPERLINK(""x"")",2\r\n')) == [["a", "b"], ["'=HYPERLINK(\"x\")", "2"]]


def test_reports_refuse_other_areas_and_bad_years_with_pages(client, console_as):
    spoc = console_as("spoc", "derbyshire")
    page = spoc.get("/console/reports?area=dacorum")
    assert page.status_code == 422 and "Choose one of your areas" in html(page) and 'href="#area"' in html(page)
    page = spoc.get("/console/reports?area=derbyshire&year=twenty")
    assert page.status_code == 422 and 'href="#year"' in html(page) and "<title>Error: Reports" in html(page)
    for path in ("/console/reports/deadlines.csv?area=dacorum", "/console/reports/figures.csv?area=derbyshire&year=1",
                 "/console/reports/data-return.csv?area=nowhere"):
        assert spoc.get(path).status_code == 422, path
    # the area select offers only my areas
    body = html(spoc.get("/console/reports"))
    assert re.findall(r'<option value="([^"]+)"', body) == ["derbyshire"]


# ---------------------------------------------------------------- subject access


def test_a_subject_access_export_finds_the_person_and_records_it(client, console_as):
    mine = apply(client, by_post(name="Robin Okafor", postcode="DE4 3AG", equalities={"age_band": "45-54"}))
    second = apply(client, by_post(name="Robin Okafor", postcode="DE4 5XY", equalities={"age_band": "45-54"}))
    stranger = apply(client, by_post(name="Chris Stranger", postcode="DE4 3AG", equalities={"gender": "Stranger's answer"}))
    admin = console_as("admin", "*", name="Dee Admin")
    by_surname = admin.get("/console/admin/subject-access?q=okafor")
    assert by_surname.status_code == 200
    body = html(by_surname)
    assert f'value="{mine}/victim"' in body and f'value="{second}/victim"' in body and stranger not in body
    assert "kept for 30 days" in body
    by_postcode = html(admin.get("/console/admin/subject-access?q=de43ag"))
    assert mine in by_postcode and stranger in by_postcode and second not in by_postcode

    done = admin.post("/console/admin/subject-access", [("q", "okafor"), ("person", f"{mine}/victim"),
                                                        ("person", f"{second}/victim"), ("requester", "Robin Okafor"),
                                                        ("reason", "Request of 18 December, ID checked")])
    assert done.status_code == 303, html(done)
    path = location(done)
    export_id = path.rsplit("/", 1)[1]
    page = admin.get(path)
    assert page.status_code == 200 and "Robin Okafor" in html(page)
    assert "deleted after Wednesday 20 January 2027" in html(page)  # 30 days
    download = admin.get(path + ".json")
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    data = json.loads(html(download))
    assert [c["reference"] for c in data["cases"]] == [mine, second]
    first = data["cases"][0]
    assert first["person"]["name"] == "Robin Okafor" and first["person"]["address"]["line1"] == "12 Elm Road"
    assert first["equalities"] == {"age_band": "45-54"}
    assert [l["step"] for l in first["letters"]] and all(l["to"] == "applicant" for l in first["letters"])
    assert [e["action"] for e in first["audit"]] == [e.action for e in AuditEvent.query(mine)][:-1]  # all but the export's
    assert "Stranger" not in html(download) and stranger not in html(download)
    # recorded: on each case, and as an export that expires in 30 days
    for ref in (mine, second):
        [event] = [e for e in AuditEvent.query(ref) if e.action == "subject_access_export"]
        assert event.actor == "Dee Admin (user-dee)" and event.detail["export_id"] == export_id
        assert event.detail["reason"] == "Request of 18 December, ID checked"
    assert not [e for e in AuditEvent.query(stranger) if e.action == "subject_access_export"]
    record = SubjectAccessExportRecord.get(export_id)
    assert record.cases == [{"reference": mine, "role": "victim"}, {"reference": second, "role": "victim"}]
    assert record.expires_at - datetime.fromisoformat(record.created_at.replace("Z", "+00:00")) == timedelta(days=30)
    assert record.requester == "Robin Okafor" and record.actor == "Dee Admin (user-dee)"


def test_an_applicant_for_someone_else_gets_neither_their_equalities_nor_their_details(client, console_as):
    body = example_on_behalf(TODAY)
    body["equalities"] = {"disability": "The victim's own answer"}
    ref = apply(client, body)
    admin = console_as("admin", "*", name="Dee Admin")
    found = html(admin.get("/console/admin/subject-access?q=Alex+Morgan"))
    assert f'value="{ref}/applicant"' in found and f'value="{ref}/victim"' in found
    done = admin.post("/console/admin/subject-access", [("person", f"{ref}/applicant"), ("requester", "Cllr Morgan"),
                                                        ("reason", "Request by email")])
    data = json.loads(html(admin.get(location(done) + ".json")))
    [case] = data["cases"]
    assert case["person"]["email"] == "alex.morgan@example.org"
    assert case["equalities"] is None and "victim" not in case["application"]
    assert "The victim's own answer" not in json.dumps(data) and "3 Mill Lane" not in json.dumps(data)
    assert all(l["to"] == "applicant" for l in case["letters"])


def test_subject_access_is_for_admins_only(client, console_as):
    ref = apply(client, example_application(TODAY))
    for user in (console_as("spoc", "derbyshire"), console_as("appeals", "derbyshire")):
        assert user.get("/console/admin/subject-access").status_code == 403
        assert user.get("/console/admin/subject-access?q=taylor").status_code == 403
        assert user.post("/console/admin/subject-access", [("person", f"{ref}/victim"), ("requester", "x"),
                                                           ("reason", "y")]).status_code == 403
        assert user.get("/console/admin/subject-access/abcdefghijklmnopqrstuvwx").status_code == 403
    assert not [e for e in AuditEvent.query(ref) if e.action == "subject_access_export"]


def test_subject_access_bad_input_is_a_page_not_a_500(client, console_as):
    ref = apply(client, example_application(TODAY))
    admin = console_as("admin", "*", name="Dee Admin")
    for q, message in (("", "Enter the person"), ("sam@example.com", "Email addresses cannot be searched"),
                       ("!", "Type a case reference"), ("x" * 101, "at most 100")):
        page = admin.get(f"/console/admin/subject-access?q={q}")
        assert page.status_code == 422, q
        assert message in html(page) and 'href="#q"' in html(page)
    page = admin.post("/console/admin/subject-access", [("q", "taylor")])
    assert page.status_code == 422
    for field in ("person", "requester", "reason"):
        assert f'href="#{field}"' in html(page)
    assert admin.post("/console/admin/subject-access", [("person", "nonsense"), ("requester", "a"),
                                                        ("reason", "b")]).status_code == 400
    assert admin.post("/console/admin/subject-access", [("person", "CT-AAAA-BBBB/victim"), ("requester", "a"),
                                                        ("reason", "b")]).status_code == 404
    assert admin.get("/console/admin/subject-access/nope").status_code == 404
    assert admin.get("/console/admin/subject-access/abcdefghijklmnopqrstuvwx.json").status_code == 404
    assert not [e for e in AuditEvent.query(ref) if e.action == "subject_access_export"]


def test_an_export_is_refused_once_it_has_expired(client, console_as, clock):
    ref = apply(client, example_application(TODAY))
    admin = console_as("admin", "*", name="Dee Admin")
    done = admin.post("/console/admin/subject-access", [("person", f"{ref}/victim"), ("requester", "Sam Taylor"),
                                                        ("reason", "Request by letter")])
    path = location(done)
    assert admin.get(path).status_code == 200
    clock.set("2027-01-20T10:00:01+00:00")  # 30 days on
    admin = console_as("admin", "*", name="Dee Admin")
    assert admin.get(path).status_code == 404 and admin.get(path + ".json").status_code == 404


def test_a_case_is_appealable_until_its_window_closes_across_new_year(client, console_as, token, clock):
    ref = apply(client, example_application(TODAY))
    not_met(client, token, ref)  # Monday 21 December: the window closes Monday 18 January 2027
    assert CaseRecord.get(ref).appeal_window_closes == "2027-01-18"
    for at, listed in (("2026-12-31T12:00:00+00:00", True), ("2027-01-18T23:00:00+00:00", True),
                       ("2027-01-19T00:30:00+00:00", False)):
        clock.set(at)
        body = html(console_as("appeals", "derbyshire").get("/console/appeals"))
        assert (f"/console/cases/{ref}/steps/appeal\"" in body) is listed, at
