"""The partner and SPOC emails and the partner pages render for every shipped area and carry
the facts a reader would notice. Emails hold no personal data; pages are accessible (a label
for every field, unique ids, linked hints and errors), escape what they are given, and use no
scripts or inline styles."""
from __future__ import annotations

import re
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markupsafe import escape

from chalicelib.letters import LetterRenderer, long_date

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = REPO / "templates"
AREAS = ("dacorum", "derbyshire", "folkestone-hythe", "gloucestershire", "hart")

REF = "CT-7K3M-9QXR"
PARTNER = "Smith & Jones Housing <Trust>"
LINK = "https://ct.example.org/partner/return?t=eyJhbGciOi.J9-abc_DEF&lang=en"
CSS = "/partner/static/partner.css"
ACTION = "/partner/return?t=eyJhbGciOi.J9-abc_DEF"
RECEIVED = date(2026, 11, 20)
ACK_DUE = date(2026, 11, 27)
DUE = date(2026, 12, 4)
EXPIRES = date(2026, 12, 18)
DECISION_DUE = date(2026, 12, 11)
PERIOD = (date(2026, 5, 20), date(2026, 11, 20))
HOSTILE = "<script>alert(1)</script>"

# Personal data that exists only in page contexts: it must never reach an email.
VICTIM = "Sam Taylor"
VICTIM_ADDRESS = "14 Orchard Close"
INDIVIDUALS = [
    {"name": VICTIM, "address_lines": [VICTIM_ADDRESS, "Fleet GU51 3AA"], "role": "victim"},
    {"name": "Alex Morgan", "address_lines": ["16 Orchard Close", "Fleet GU51 3AA"], "role": "alleged_perpetrator"},
]
PERSONAL = (VICTIM, VICTIM_ADDRESS, "Alex Morgan", "16 Orchard Close")

RULES = [
    {"rule": "qualifying_complaints", "outcome": "judgement",
     "reason": "2 qualifying complaints certain and 1 that needs checking; 3 needed"},
    {"rule": "hate_incident", "outcome": "fail", "reason": "no qualifying complaint is marked as a hate incident or hate crime"},
    {"rule": "related_behaviour", "outcome": "info",
     "reason": "the SPOC must confirm the complaints are about related anti-social behaviour"},
]
REQUESTS = [
    {"name": "Hampshire Constabulary", "email": "police@example.org", "due_on": DUE, "status": "requested"},
    {"name": "Peak Homes", "email": None, "due_on": DUE, "status": "no_address"},
    {"name": "Fleet Youth Club", "email": None, "due_on": DUE, "status": "no_address"},
]
RETURNS = [
    {"partner_name": "Hampshire Constabulary", "version": 2, "submitted_at": "2026-12-03T14:05:00.000Z"},
    {"partner_name": PARTNER, "version": 1, "submitted_at": "2026-12-01T09:30:00.000Z"},
]

RADIOS = ("reports_held", "under_investigation", "vulnerability_markers", "risk_assessments")
REPORT_FIELDS = ("reference", "date_received", "incident_date", "reporting_party", "perpetrator",
                 "overview", "how_received", "hate_motivated", "action_taken", "action_detail")
HOW_RECEIVED = ("writing", "email", "phone", "in_person", "online", "officer_on_site")


@pytest.fixture(scope="module")
def renderer() -> LetterRenderer:
    return LetterRenderer(TEMPLATES)


# ---------------------------------------------------------------- contexts


def partner_request_ctx(policy) -> dict:
    return {
        "ref": REF, "area": policy.area, "contacts": policy.contacts, "partner_name": PARTNER,
        "due_on": DUE, "expires_on": EXPIRES, "period_start": PERIOD[0], "period_end": PERIOD[1],
        "link": LINK, "threshold": policy.threshold, "timescales": policy.timescales,
    }


def new_application_ctx(policy, status: str) -> dict:
    if status == "awaiting_consent":
        deadlines, requests = {"acknowledge": None}, []
    else:
        deadlines, requests = {"acknowledge": ACK_DUE, "threshold_decision": DECISION_DUE}, REQUESTS
    return {
        "ref": REF, "area": policy.area, "status": status, "received_on": RECEIVED, "deadlines": deadlines,
        "assessment": {"result": "needs_judgement", "rules": RULES, "qualifying_occasions": []},
        "requests": requests,
    }


def returns_complete_ctx(policy, decision_due=DECISION_DUE, occasions=("2026-10-01", "2026-10-15")) -> dict:
    return {
        "ref": REF, "area": policy.area, "returns": RETURNS, "decision_due": decision_due,
        "assessment": {"result": "met", "rules": RULES, "qualifying_occasions": list(occasions)},
    }


def return_page_ctx(policy, **changes) -> dict:
    ctx = {
        "ref": REF, "area": policy.area, "contacts": policy.contacts, "partner_name": PARTNER,
        "due_on": DUE, "expires_on": EXPIRES, "period_start": PERIOD[0], "period_end": PERIOD[1],
        "individuals": INDIVIDUALS,
        "incidents": [
            {"happened_on": date(2026, 10, 1), "reported_on": date(2026, 10, 2), "agency_reference": "HC/2026/0042"},
            {"happened_on": date(2026, 10, 15), "reported_on": date(2026, 10, 15), "agency_reference": None},
        ],
        "values": {}, "report_rows": 1, "errors": [], "error_for": {}, "error_anchor": {},
        "version": None, "last_submitted_at": None, "action_url": ACTION, "css_url": CSS,
    }
    ctx.update(changes)
    return ctx


def confirmation_ctx(policy, version: int = 1) -> dict:
    return {
        "ref": REF, "area": policy.area, "contacts": policy.contacts, "partner_name": PARTNER,
        "version": version, "submitted_at": "2026-12-03T14:05:00.000Z", "due_on": DUE,
        "link_url": LINK, "css_url": CSS,
    }


# ---------------------------------------------------------------- an HTML checker


class Page(HTMLParser):
    """Collects what the accessibility checks need from a rendered page."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.ids: list[str] = []
        self.label_for: list[str] = []
        self.controls: list[dict] = []
        self.described: list[str] = []
        self.hrefs: list[str] = []
        self.buttons: list[dict] = []
        self.forms: list[dict] = []
        self.fieldsets = 0
        self.legends = 0
        self.options: dict[str, list[dict]] = {}
        self.textareas: dict[str, str] = {}
        self._select: str | None = None
        self._textarea: str | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.append(a["id"])
        if a.get("aria-describedby"):
            self.described.extend(a["aria-describedby"].split())
        if tag == "label" and "for" in a:
            self.label_for.append(a["for"])
        if tag in ("input", "textarea", "select") and a.get("type") not in ("hidden", "submit"):
            self.controls.append({"tag": tag, **a})
        if tag == "a" and "href" in a:
            self.hrefs.append(a["href"])
        if tag == "button":
            self.buttons.append(a)
        if tag == "form":
            self.forms.append(a)
        if tag == "fieldset":
            self.fieldsets += 1
        if tag == "legend":
            self.legends += 1
        if tag == "select":
            self._select = a["name"]
            self.options[a["name"]] = []
        if tag == "option" and self._select:
            self.options[self._select].append(a)
        if tag == "textarea":
            self._textarea = a["name"]
            self.textareas[a["name"]] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        if tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.textareas[self._textarea] += data

    def control(self, id_: str) -> dict:
        found = [c for c in self.controls if c.get("id") == id_]
        assert len(found) == 1, f"no single control with id {id_!r}"
        return found[0]


def check_page(html: str, csp_name: str | None) -> Page:
    """What every partner page must do, whatever it shows."""
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert '<html lang="en-GB">' in html
    assert html.rstrip().endswith("</html>")
    assert "<script" not in html.lower()
    assert " style=" not in html.lower()
    assert "<style" not in html.lower()
    assert f'<link rel="stylesheet" href="{CSS}">' in html
    assert '<main id="main-content"' in html
    assert '<a href="#main-content" class="skip-link">' in html
    if csp_name is not None:
        assert re.search(r"<header[^>]*>.*?" + re.escape(str(escape(csp_name))) + r".*?</header>", html, re.S)

    page = Page(html)
    assert len(page.ids) == len(set(page.ids)), "ids must be unique"
    ids = set(page.ids)
    for control in page.controls:
        assert control.get("id"), f"{control} has no id"
        assert control["id"] in page.label_for, f"no <label for> for {control['id']}"
    assert set(page.label_for) <= ids, "a label points at nothing"
    assert set(page.described) <= ids, "aria-describedby points at nothing"
    for href in page.hrefs:
        if href.startswith("#"):
            assert href[1:] in ids, f"in-page link {href} points at nothing"
    assert page.fieldsets == page.legends
    return page


def email_checks(mail, policy) -> None:
    assert mail.subject and "\n" not in mail.subject and REF in mail.subject
    html = mail.html
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert '<html lang="en-GB">' in html and '<meta charset="utf-8">' in html
    assert f"<title>{escape(mail.subject)}</title>" in html
    assert html.rstrip().endswith("</html>")
    assert "<script" not in html.lower()
    assert str(escape(policy.area.csp_name)) in html and policy.area.csp_name in mail.text
    for body in (html, mail.text):
        assert REF in body
        for personal in PERSONAL:
            assert personal not in body


# ---------------------------------------------------------------- emails


@pytest.mark.parametrize("area_id", AREAS)
def test_partner_request_email(renderer, area_policies, area_id):
    policy = area_policies[area_id]
    mail = renderer.render_email("partner_request", partner_request_ctx(policy))
    email_checks(mail, policy)
    assert long_date(DUE) in mail.subject

    assert f'href="{escape(LINK)}"' in mail.html
    assert f">{escape(LINK)}</a>" in mail.html
    assert f"\n{LINK}\n" in mail.text
    t = policy.threshold
    for body, enc in ((mail.html, escape), (mail.text, str)):
        assert str(enc(PARTNER)) in body
        assert str(enc(policy.area.name)) in body
        assert "Schedule 4, Part 3" in body
        assert f"Send your return by {long_date(DUE)}." in body
        assert f"It works until {long_date(EXPIRES)}." in body
        assert f"from {long_date(PERIOD[0])} to {long_date(PERIOD[1])}" in body
        assert f"within {policy.timescales.partner_return.describe()}" in body
        assert "You do not need to sign in." in body
        assert f"It is for {enc(PARTNER)} only. Do not forward this email" in body
        assert "until the SPOC closes the assessment" in body
        for asked in ("reports or complaints", "investigating now", "vulnerability markers", "risk assessments",
                      "what action you took"):
            assert asked in body
        assert f"At least {t.complaints_needed} qualifying complaint" in body
        assert f"in the last {t.lookback_months} months" in body
        assert f"within {t.qualifying_period.describe()} of the behaviour" in body
        assert ("One hate incident or hate crime" in body) == (t.hate_incidents_needed == 1)
        assert (f"when {t.separate_complainants_needed} or more people" in body) == (t.separate_complainants_needed is not None)
        assert str(enc(policy.contacts.spoc_title)) in body
        assert policy.contacts.spoc_email in body
        if policy.contacts.spoc_phone is not None:
            assert policy.contacts.spoc_phone in body


@pytest.mark.parametrize("area_id", AREAS)
def test_spoc_new_application_email(renderer, area_policies, area_id):
    policy = area_policies[area_id]
    mail = renderer.render_email("spoc_new_application", new_application_ctx(policy, "acknowledged"))
    email_checks(mail, policy)
    for body, enc in ((mail.html, escape), (mail.text, str)):
        assert f"received on {long_date(RECEIVED)}" in body
        assert "It has been acknowledged." in body
        assert long_date(ACK_DUE) in body and long_date(DECISION_DUE) in body
        assert "Needs your judgement" in body
        for rule in RULES:
            assert str(enc(rule["reason"][0].upper() + rule["reason"][1:])) in body
        for request in REQUESTS:
            assert request["name"] in body
        assert "police@example.org" in body and long_date(DUE) in body

    # The agencies with no address stand out, apart from those that were asked.
    warning = re.search(r'<div class="warning">(.*?)</div>', mail.html, re.S).group(1)
    assert "You need to contact these agencies yourself" in warning
    assert "Peak Homes" in warning and "Fleet Youth Club" in warning
    assert "Hampshire Constabulary" not in warning
    section = mail.text.split("YOURSELF", 1)[1].split("DEADLINES", 1)[0]
    assert "Peak Homes" in section and "Fleet Youth Club" in section and "Hampshire Constabulary" not in section


@pytest.mark.parametrize("area_id", AREAS)
def test_spoc_new_application_waiting_for_consent(renderer, area_policies, area_id):
    policy = area_policies[area_id]
    mail = renderer.render_email("spoc_new_application", new_application_ctx(policy, "awaiting_consent"))
    email_checks(mail, policy)
    assert "waiting for consent" in mail.subject
    for body in (mail.html, mail.text):
        assert "waiting for the victim's consent" in body.replace("&#39;", "'")
        assert "No agency has been asked yet" in body
        assert "no threshold decision deadline yet" in body
        assert "yourself" not in body.lower()


@pytest.mark.parametrize("area_id", AREAS)
def test_spoc_returns_complete_email(renderer, area_policies, area_id):
    policy = area_policies[area_id]
    mail = renderer.render_email("spoc_returns_complete", returns_complete_ctx(policy))
    email_checks(mail, policy)
    for body, enc in ((mail.html, escape), (mail.text, str)):
        assert "Every partner agency we asked" in body
        assert f"Make the threshold decision by {long_date(DECISION_DUE)}." in body
        assert "pre-assessment: the threshold looks met" in body.lower()
        for rule in RULES:
            assert str(enc(rule["reason"][0].upper() + rule["reason"][1:])) in body
        assert long_date(date(2026, 10, 1)) in body and long_date(date(2026, 10, 15)) in body
        assert str(enc(PARTNER)) in body and "Hampshire Constabulary" in body
        assert "Thursday 3 December 2026 at 2:05pm" in body
        assert "Tuesday 1 December 2026 at 9:30am" in body
    assert "<td>Hampshire Constabulary</td><td>2</td>" in mail.html
    assert "Hampshire Constabulary: version 2, sent" in mail.text

    undated = renderer.render_email("spoc_returns_complete", returns_complete_ctx(policy, decision_due=None, occasions=()))
    for body in (undated.html, undated.text):
        assert "There is no deadline set for the threshold decision." in body
        assert "No incident has been found to be a qualifying complaint." in body


def test_timestamps_are_written_as_long_dates(renderer, area_policies):
    """The templates' own date formatting agrees with long_date, across leap years and centuries."""
    days = [date(2000, 1, 1) + timedelta(days=n) for n in range(0, 12000, 97)]
    days += [date(2028, 2, 29), date(2100, 3, 1), date(2026, 12, 31), date(2027, 1, 1)]
    ctx = returns_complete_ctx(area_policies["hart"], occasions=[d.isoformat() for d in days])
    text = renderer.render_email("spoc_returns_complete", ctx).text
    for d in days:
        assert f"- {long_date(d)}\n" in text
    # Not an ISO date: shown as given rather than guessed at.
    odd = returns_complete_ctx(area_policies["hart"], occasions=["sometime"])
    assert "- sometime\n" in renderer.render_email("spoc_returns_complete", odd).text


@pytest.mark.parametrize("value, shown", [
    ("2026-12-03T14:05:00.000Z", "Thursday 3 December 2026 at 2:05pm"),  # GMT in winter
    ("2026-07-01T08:30:00.000Z", "Wednesday 1 July 2026 at 9:30am"),  # BST in summer
    ("2026-06-30T23:30:00Z", "Wednesday 1 July 2026 at 12:30am"),  # already the next day in London
    ("2026-12-03", "Thursday 3 December 2026"),
    ("sometime", "sometime"),
])
def test_times_are_shown_in_london_time(value, shown):
    from chalicelib.letters import london_time

    assert london_time(value) == shown


# ---------------------------------------------------------------- the return form


@pytest.mark.parametrize("area_id", AREAS)
def test_return_form_has_every_field(renderer, area_policies, area_id):
    policy = area_policies[area_id]
    html = renderer.render_page("partner_return", return_page_ctx(policy, report_rows=3))
    page = check_page(html, policy.area.csp_name)

    form = page.forms[0]
    assert len(page.forms) == 1
    assert form["method"] == "post" and form["action"] == ACTION and "novalidate" in form
    assert form["enctype"] == "application/x-www-form-urlencoded"

    names = {c["name"] for c in page.controls}
    expected = {"responder_name", "responder_role", "additional_information", *RADIOS}
    expected |= {f"reports-{i}-{f}" for i in range(3) for f in REPORT_FIELDS}
    assert names == expected
    for c in page.controls:
        if c.get("type") != "radio":
            assert c["id"] == c["name"]
    for name in [*RADIOS, *(f"reports-{i}-action_taken" for i in range(3))]:
        assert page.control(name)["value"] == "yes" and page.control(name)["type"] == "radio"
        assert page.control(f"{name}-no")["value"] == "no" and page.control(f"{name}-no")["name"] == name
    for i in range(3):
        assert page.control(f"reports-{i}-date_received")["type"] == "date"
        assert page.control(f"reports-{i}-incident_date")["type"] == "date"
        assert page.control(f"reports-{i}-hate_motivated")["type"] == "checkbox"
        assert page.control(f"reports-{i}-hate_motivated")["value"] == "yes"
        assert page.control(f"reports-{i}-overview")["tag"] == "textarea"
        assert page.control(f"reports-{i}-action_detail")["tag"] == "textarea"
        assert [o["value"] for o in page.options[f"reports-{i}-how_received"]] == ["", *HOW_RECEIVED]
        assert f">Report {i + 1}<" in html
    assert page.control("responder_name")["autocomplete"] == "name"
    assert page.control("responder_role")["autocomplete"] == "organization-title"
    assert page.control("additional_information")["tag"] == "textarea"

    # The primary button comes first, so Enter sends the return.
    assert [(b["name"], b["value"]) for b in page.buttons] == [("action", "submit"), ("action", "add_report")]
    assert '>Send your return</button>' in html and '>Add another report</button>' in html
    assert "button--secondary" in page.buttons[1]["class"] and "button--secondary" not in page.buttons[0]["class"]

    # What is asked, of whom, about when and by when.
    assert REF in html
    assert str(escape(PARTNER)) in html
    assert long_date(DUE) in html and long_date(EXPIRES) in html
    assert f"{long_date(PERIOD[0])} to {long_date(PERIOD[1])}" in html
    assert VICTIM in html and VICTIM_ADDRESS in html and "Alex Morgan" in html
    assert "Schedule 4, Part 3" in html
    assert policy.contacts.spoc_email in html
    # No errors: no summary, no "Error:" title, no version notice.
    assert "error-summary" not in html and "<title>Error:" not in html
    assert "You sent a return" not in html


def test_incidents_table_only_when_there_are_incidents(renderer, area_policies):
    policy = area_policies["hart"]
    html = renderer.render_page("partner_return", return_page_ctx(policy))
    assert "Incidents reported to you" in html
    assert long_date(date(2026, 10, 1)) in html and long_date(date(2026, 10, 2)) in html
    assert "HC/2026/0042" in html and "Not given" in html
    html = renderer.render_page("partner_return", return_page_ctx(policy, incidents=[]))
    assert "Incidents reported to you" not in html
    check_page(html, policy.area.csp_name)


@pytest.mark.parametrize("area_id", AREAS)
def test_return_form_refills_values(renderer, area_policies, area_id):
    policy = area_policies[area_id]
    values = {
        "responder_name": "Jo Bloggs", "responder_role": "ASB Officer",
        "reports_held": "yes", "under_investigation": "no", "vulnerability_markers": "yes",
        "additional_information": "Line one\nLine two",
        "reports-0-reference": "HC/2026/0042", "reports-0-date_received": "2026-10-02",
        "reports-0-overview": "Loud music after midnight", "reports-0-how_received": "phone",
        "reports-0-hate_motivated": "yes", "reports-0-action_taken": "no",
        "reports-1-action_taken": "yes", "reports-1-how_received": "officer_on_site",
    }
    html = renderer.render_page("partner_return", return_page_ctx(policy, values=values, report_rows=2))
    page = check_page(html, policy.area.csp_name)

    assert page.control("responder_name")["value"] == "Jo Bloggs"
    assert page.control("reports-0-date_received")["value"] == "2026-10-02"
    assert page.control("reports-1-date_received")["value"] == ""
    assert page.textareas["reports-0-overview"] == "Loud music after midnight"
    assert page.textareas["additional_information"] == "Line one\nLine two"
    assert page.textareas["reports-1-overview"] == ""

    checked = {c["id"] for c in page.controls if "checked" in c}
    assert checked == {"reports_held", "under_investigation-no", "vulnerability_markers",
                       "reports-0-hate_motivated", "reports-0-action_taken-no", "reports-1-action_taken"}
    selected = {name: [o["value"] for o in opts if "selected" in o] for name, opts in page.options.items()}
    assert selected == {"reports-0-how_received": ["phone"], "reports-1-how_received": ["officer_on_site"]}


@pytest.mark.parametrize("area_id", AREAS)
def test_return_form_shows_errors(renderer, area_policies, area_id):
    policy = area_policies[area_id]
    errors = [
        {"field": "reports_held", "message": "Say whether you hold ASB reports or complaints from the named people"},
        {"field": "reports[0].overview", "message": "Describe the report briefly"},
        {"field": "reports[1].action_taken", "message": "Say whether any action was taken"},
        {"field": "reports[1].date_received", "message": "The date received must be on or after the date of the incident"},
        {"field": "reports", "message": "You said you hold reports: give at least one"},
    ]
    error_for = {
        "reports_held": errors[0]["message"],
        "reports-0-overview": errors[1]["message"],
        "reports-1-action_taken": errors[2]["message"],
        "reports-1-date_received": errors[3]["message"],
    }
    anchor = {"reports_held": "reports_held", "reports[0].overview": "reports-0-overview",
              "reports[1].action_taken": "reports-1-action_taken", "reports": "reports-0-reference"}
    html = renderer.render_page("partner_return", return_page_ctx(
        policy, errors=errors, error_for=error_for, error_anchor=anchor, report_rows=2))
    page = check_page(html, policy.area.csp_name)

    assert "<title>Error: " in html
    summary = re.search(r'<div class="error-summary"([^>]*)>(.*?)</div>', html, re.S)
    assert 'role="alert"' in summary.group(1) and 'tabindex="-1"' in summary.group(1)
    assert summary.start() < html.index("<h1")
    for href, message in (("#reports_held", errors[0]["message"]), ("#reports-0-overview", errors[1]["message"]),
                          ("#reports-1-action_taken", errors[2]["message"]),
                          # not in error_anchor: the id is worked out from the API path
                          ("#reports-1-date_received", errors[3]["message"]),
                          ("#reports-0-reference", errors[4]["message"])):
        assert f'<a href="{href}">{message}</a>' in summary.group(2)

    for name, message in error_for.items():
        assert f'<p id="{name}-error" class="error-message"><span class="visually-hidden">Error:</span> {message}</p>' in html
        assert f"{name}-error" in page.described
    assert 'aria-describedby="reports-0-overview-hint reports-0-overview-error"' in html
    assert 'class="textarea textarea--error"' in html
    assert html.count("form-group--error") == len(error_for)


def test_return_form_escapes_what_it_is_given(renderer, area_policies):
    policy = area_policies["folkestone-hythe"]  # "Folkestone & Hythe" in its names
    ctx = return_page_ctx(
        policy,
        individuals=[{"name": HOSTILE, "address_lines": [f'1 "Quoted" Road {HOSTILE}'], "role": HOSTILE}],
        incidents=[{"happened_on": date(2026, 10, 1), "reported_on": date(2026, 10, 2), "agency_reference": HOSTILE}],
        values={"responder_name": f'"><{HOSTILE}', "reports-0-overview": f"</textarea>{HOSTILE}",
                "reports-0-how_received": HOSTILE, "reports_held": HOSTILE},
        errors=[{"field": "reports[0].overview", "message": HOSTILE}],
        error_for={"reports-0-overview": HOSTILE},
        error_anchor={"reports[0].overview": "reports-0-overview"},
        partner_name=HOSTILE,
    )
    html = renderer.render_page("partner_return", ctx)
    check_page(html, policy.area.csp_name)
    assert "Folkestone &amp; Hythe" in html
    assert str(escape(HOSTILE)) in html
    page = Page(html)
    assert page.control("responder_name")["value"] == f'"><{HOSTILE}'
    assert page.textareas["reports-0-overview"] == f"</textarea>{HOSTILE}"
    assert not any("checked" in c for c in page.controls)


def test_return_form_mentions_the_earlier_return(renderer, area_policies):
    policy = area_policies["derbyshire"]
    html = renderer.render_page("partner_return", return_page_ctx(
        policy, version=2, last_submitted_at="2026-12-03T14:05:00.000Z"))
    check_page(html, policy.area.csp_name)
    assert "You sent a return on" in html
    assert "Thursday 3 December 2026 at 2:05pm" in html
    assert "(version 2)" in html
    assert "You can change it until the single point of contact (SPOC) closes the assessment" in html
    assert "we keep your earlier version" in html


# ---------------------------------------------------------------- confirmation and refused links


@pytest.mark.parametrize("area_id", AREAS)
def test_confirmation_page(renderer, area_policies, area_id):
    policy = area_policies[area_id]
    html = renderer.render_page("partner_confirmation", confirmation_ctx(policy, version=1))
    check_page(html, policy.area.csp_name)
    assert REF in html and str(escape(PARTNER)) in html
    assert "<h1" in html and "Return sent" in html
    assert "Thursday 3 December 2026 at 2:05pm" in html
    assert f'<a href="{escape(LINK)}">Change your return</a>' in html
    assert "until the SPOC closes the assessment" in html
    assert "What happens next" in html
    assert policy.contacts.spoc_email in html
    if policy.contacts.spoc_phone is not None:
        assert policy.contacts.spoc_phone in html
    assert "replaces your earlier return" not in html
    for personal in PERSONAL:
        assert personal not in html

    again = renderer.render_page("partner_confirmation", confirmation_ctx(policy, version=3))
    assert "This is version 3 of your return. This replaces your earlier return; we keep both." in again


REASONS = ("invalid", "expired", "revoked", "closed")


@pytest.mark.parametrize("area_id", AREAS)
def test_link_error_pages(renderer, area_policies, area_id):
    policy = area_policies[area_id]
    titles = set()
    for reason in REASONS:
        html = renderer.render_page("link_error", {"reason": reason, "contacts": policy.contacts,
                                                   "area": policy.area, "css_url": CSS})
        check_page(html, policy.area.csp_name)
        title = re.search(r"<title>(.*?)</title>", html).group(1)
        h1 = re.search(r"<h1>(.*?)</h1>", html).group(1)
        assert title.startswith(h1)
        titles.add(h1)
        assert policy.contacts.spoc_email in html
        assert REF not in html
        if reason == "closed":
            assert "The assessment is closed" in html
            assert "returns can no longer be sent or changed" in html
    assert len(titles) == len(REASONS)


def test_link_error_without_an_area(renderer):
    for reason in (*REASONS, "something-else"):
        html = renderer.render_page("link_error", {"reason": reason, "contacts": None, "area": None, "css_url": CSS})
        check_page(html, None)
        assert "Contact the council that sent you the link." in html
    unknown = renderer.render_page("link_error", {"reason": "something-else", "contacts": None, "area": None, "css_url": CSS})
    assert "<h1>This link does not work</h1>" in unknown


def test_stylesheet_covers_the_basics():
    css = (TEMPLATES / "pages" / "partner.css").read_text()
    for needed in ("#ffdd00", "#d4351c", "#00703c", ".skip-link:focus", ".error-summary", ".form-group--error",
                   ".button--secondary", ".fieldset", ".table", "font-size: 19px", "font-size: 16px", "max-width"):
        assert needed in css
    # Every class the pages use has a rule.
    used = set()
    for name in ("partner_return", "partner_confirmation", "link_error"):
        text = (TEMPLATES / "pages" / f"{name}.html.j2").read_text()
        for classes in re.findall(r'class="([^"{]*)', text):
            used.update(classes.split())
    missing = sorted(c for c in used if f".{c}" not in css)
    assert not missing, missing
