"""The emails the daily sweep sends render for every shipped area and every variant, and carry
the facts a reader would notice: the partner reminder (due on the next working day, or overdue), the SPOC's
deadline reminder or missed-deadline notice, the overdue-action escalation and the failed-letter
notice. None of them holds personal data of the applicant or victim; what staff wrote is escaped
in HTML and readable in the text part."""
from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest
from jinja2 import UndefinedError
from markupsafe import escape

from chalicelib.letters import LetterRenderer, long_date

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = REPO / "templates"
AREAS = ("dacorum", "derbyshire", "folkestone-hythe", "gloucestershire", "hart")

REF = "CT-7K3M-9QXR"
PARTNER = "Smith & Jones Housing <Trust>"
LINK = "https://ct.example.org/partner/return?t=eyJhbGciOi.J9-abc_DEF&lang=en"
DUE = date(2026, 12, 4)
EXPIRES = date(2026, 12, 18)
ACTION_DUE = date(2026, 10, 30)
FIRST_TRIED = "2026-12-03T14:05:00.000Z"
FIRST_TRIED_SHOWN = "Thursday 3 December 2026 at 2:05pm"
HOSTILE = "<script>alert(1)</script>"

# Personal data that must never reach any of these emails. The contexts are built without it,
# so finding it would mean a template reached for something it was not given.
PERSONAL = ("Sam Taylor", "14 Orchard Close", "Alex Morgan", "16 Orchard Close", "GU51 3AA")

# The contract: every deadline the sweep watches, its readable name and what the SPOC must do.
DEADLINES = {
    "acknowledge": ("Acknowledgement", "Acknowledge the completed application"),
    "partner_return": ("Partner returns", "Partner returns are due"),
    "threshold_decision": ("Threshold decision", "Decide whether the threshold is met and write to the applicant"),
    "review_meeting": ("Case review meeting", "Hold the case review meeting"),
    "outcome_letter": ("Outcome letter", "Send the outcome letter"),
    "draft_plan_response": ("Views on the draft action plan", "Views on the draft action plan are due"),
    "appeal_acknowledge": ("Appeal acknowledgement", "Acknowledge the appeal"),
    "appeal_decision": ("Appeal decision", "Decide the appeal"),
}
KINDS = ("reminder", "missed")
STAGES = ("due_tomorrow", "overdue")
LEVELS = ("line_manager", "head_of_service")
RECIPIENTS = ("applicant", "victim", "partner", "spoc")
# Raw values of the contract that a reader should never see ("acknowledge" and "overdue" are
# plain words; the identifiers with an underscore are not).
RAW = (*(v for v in (*DEADLINES, *STAGES, *LEVELS) if "_" in v), "None", "Undefined")

VOID = {"meta", "br", "hr", "img", "input", "link"}


@pytest.fixture(scope="module")
def renderer() -> LetterRenderer:
    return LetterRenderer(TEMPLATES)


# ---------------------------------------------------------------- contexts


def chaser_ctx(policy, stage: str) -> dict:
    return {
        "ref": REF, "area": policy.area, "contacts": policy.contacts, "partner_name": PARTNER,
        "due_on": DUE, "expires_on": EXPIRES, "link": LINK, "stage": stage, "timescales": policy.timescales,
    }


def deadline_ctx(policy, kind: str, deadline: str, outstanding=()) -> dict:
    return {
        "ref": REF, "area": policy.area, "kind": kind, "deadline": deadline, "due_on": DUE,
        "status": "review_scheduled", "outstanding": list(outstanding),
    }


def escalation_ctx(policy, level: str, overdue_days: int = 22, description: str = "Fit a door entry camera") -> dict:
    period = (policy.timescales.action_escalate_line_manager if level == "line_manager"
              else policy.timescales.action_escalate_head_of_service)
    return {
        "ref": REF, "area": policy.area, "level": level, "overdue_days": overdue_days,
        "policy_period": period.describe(),
        "action": {"id": "ACT-03", "description": description, "agency": PARTNER,
                   "lead_officer": "ASB Officer, Neighbourhood Team", "due_on": ACTION_DUE},
    }


def letter_failed_ctx(policy, to: str, attempts: int = 6) -> dict:
    return {
        "ref": REF, "area": policy.area, "first_tried_at": FIRST_TRIED,
        "letter": {"id": "04", "step": "threshold_not_met", "to": to, "attempts": attempts,
                   "subject": f"Community Trigger application: the threshold for a case review is not met & <closed> – reference {REF}",
                   "last_error": "MessageRejected"},
    }


# ---------------------------------------------------------------- checks every email passes


class Tags(HTMLParser):
    """Checks that every element that is opened is closed, in order."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.feed(html)
        self.close()
        assert not self.stack, f"unclosed: {self.stack}"

    def handle_starttag(self, tag, attrs):
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()


def email_checks(mail, policy) -> None:
    assert mail.subject and "\n" not in mail.subject and REF in mail.subject
    assert mail.subject == " ".join(mail.subject.split())
    html = mail.html
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert '<html lang="en-GB">' in html and '<meta charset="utf-8">' in html
    assert f"<title>{escape(mail.subject)}</title>" in html
    assert html.rstrip().endswith("</html>")
    assert "<script" not in html.lower()
    assert html.count("<h1>") == 1
    Tags(html)
    assert str(escape(policy.area.csp_name)) in html and policy.area.csp_name in mail.text
    assert "<" not in mail.text.replace(PARTNER, "").replace(HOSTILE, "").replace("<closed>", "")
    assert "\n\n\n" not in mail.text, "no runs of blank lines in the text part"
    assert "{{" not in mail.text and "{%" not in mail.text
    for body in (html, mail.text):
        assert REF in body
        assert str(escape(policy.area.name)) in body or policy.area.name in body
        for personal in PERSONAL:
            assert personal not in body
        for raw in RAW:
            assert raw not in body, f"raw value {raw!r} shown"
        assert "case review" in body.lower()


def bodies(mail):
    """Each part with the encoder that part uses for what it is given."""
    return ((mail.html, lambda s: str(escape(s))), (mail.text, str))


# ---------------------------------------------------------------- the partner reminder


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("area_id", AREAS)
def test_partner_chaser(renderer, area_policies, area_id, stage):
    policy = area_policies[area_id]
    mail = renderer.render_email("partner_chaser", chaser_ctx(policy, stage))
    email_checks(mail, policy)

    if stage == "due_tomorrow":
        assert mail.subject == f"Reminder: information due by {long_date(DUE)} – ASB case review {REF}"
    else:
        assert mail.subject == f"Overdue: information was due on {long_date(DUE)} – ASB case review {REF}"

    # The same link as the request: a working href and printed in full, alone on its line in text.
    assert f'href="{escape(LINK)}"' in mail.html
    assert f">{escape(LINK)}</a>" in mail.html
    assert f"\n{LINK}\n" in mail.text

    contacts = policy.contacts
    for body, enc in bodies(mail):
        assert f"To: {enc(PARTNER)}" in body
        assert "Schedule 4, Part 3" in body
        assert "Anti-social Behaviour, Crime and Policing Act 2014" in body
        assert f"It works until {long_date(EXPIRES)}." in body
        assert f"It is for {enc(PARTNER)} only. Do not forward this email" in body
        assert "same secure link" in body
        assert f"within {policy.timescales.partner_return.describe()}" in body
        assert "single point of contact (SPOC)" in body
        assert enc(contacts.spoc_title) in body and contacts.spoc_email in body
        if contacts.spoc_phone is not None:
            assert contacts.spoc_phone in body
        # A working email from the SPOC, signed with the SPOC's role.
        assert enc(contacts.spoc_title) in body.split("Thank you,")[1]
        assert "If you have already sent your return, you do not need to do anything." in body
        if stage == "due_tomorrow":
            assert f"Send your return by {long_date(DUE)}." in body
            assert "That is the next working day." in body
            assert "overdue" not in body.lower()
        else:
            assert f"Your return was due on {long_date(DUE)}." in body
            assert "as soon as you can" in body
            assert "tomorrow" not in body.lower()


def test_partner_chaser_stages_differ(renderer, area_policies):
    policy = area_policies["hart"]
    soon, late = (renderer.render_email("partner_chaser", chaser_ctx(policy, s)) for s in STAGES)
    assert soon.subject != late.subject
    assert re.search(r"<h1>(.*?)</h1>", soon.html).group(1) != re.search(r"<h1>(.*?)</h1>", late.html).group(1)


# ---------------------------------------------------------------- the SPOC's deadline emails


@pytest.mark.parametrize("deadline", DEADLINES)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("area_id", AREAS)
def test_spoc_deadline(renderer, area_policies, area_id, kind, deadline):
    policy = area_policies[area_id]
    name, task = DEADLINES[deadline]
    outstanding = ["Hampshire Constabulary", PARTNER]
    mail = renderer.render_email("spoc_deadline", deadline_ctx(policy, kind, deadline, outstanding))
    email_checks(mail, policy)

    assert long_date(DUE) in mail.subject and name.lower() in mail.subject
    assert mail.subject.startswith("Reminder: " if kind == "reminder" else "Missed deadline: ")
    for body, enc in bodies(mail):
        assert name in body or name.upper() in body or name.lower() in body
        assert long_date(DUE) in body or long_date(DUE).upper() in body
        assert "Case status: review scheduled." in body
        assert "Hampshire Constabulary" in body and enc(PARTNER) in body
        assert "This email holds no personal details." in body
        if kind == "reminder":
            assert f"{task} by {long_date(DUE)}." in body
            assert "missed" not in body.lower()
        else:
            assert "It is recorded as missed in the deadline report." in body
            assert "Nothing was recorded by then." in body
            if deadline == "partner_return":
                assert "Contact the agencies that have not sent their return." in body
            else:
                assert f"{task} as soon as you can." in body
    if deadline == "partner_return":
        assert "<h2>Agencies still to send their return</h2>" in mail.html
        assert f"- {PARTNER}\n" in mail.text
    else:
        assert "<h2>Still outstanding</h2>" in mail.html


@pytest.mark.parametrize("kind", KINDS)
def test_spoc_deadline_with_nothing_outstanding(renderer, area_policies, kind):
    policy = area_policies["derbyshire"]
    for deadline in DEADLINES:
        mail = renderer.render_email("spoc_deadline", deadline_ctx(policy, kind, deadline))
        email_checks(mail, policy)
        for body in (mail.html, mail.text):
            assert "outstanding" not in body.lower()
            assert "still to send" not in body.lower()
            assert ("Every agency we asked has sent its return." in body) == (deadline == "partner_return")


def test_spoc_deadline_subjects_are_all_different(renderer, area_policies):
    policy = area_policies["gloucestershire"]
    subjects = {renderer.render_email("spoc_deadline", deadline_ctx(policy, k, d)).subject
                for k in KINDS for d in DEADLINES}
    assert len(subjects) == len(KINDS) * len(DEADLINES)
    missed = renderer.render_email("spoc_deadline", deadline_ctx(policy, "missed", "partner_return")).subject
    assert "partner returns were due on" in missed


# ---------------------------------------------------------------- overdue actions


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("area_id", AREAS)
def test_spoc_escalation(renderer, area_policies, area_id, level):
    policy = area_policies[area_id]
    ctx = escalation_ctx(policy, level, overdue_days=22 if level == "line_manager" else 65, description=f"Fit a camera {HOSTILE}")
    mail = renderer.render_email("spoc_escalation", ctx)
    email_checks(mail, policy)
    days = ctx["overdue_days"]
    period = ctx["policy_period"]

    assert f"{days} days" in mail.subject
    assert ("line manager" if level == "line_manager" else "head of service") in mail.subject
    # Staff-written text: escaped in HTML, as written in the text part.
    assert f"Fit a camera {escape(HOSTILE)}" in mail.html
    assert f"Action: Fit a camera {HOSTILE}\n" in mail.text
    for body, enc in bodies(mail):
        assert f"It is {days} days overdue. That is more than {period}." in body
        assert "ACT-03" in body
        assert enc(PARTNER) in body
        assert "ASB Officer, Neighbourhood Team" in body
        assert long_date(ACTION_DUE) in body
        assert "Record the escalation and any progress in the case." in body
        if level == "line_manager":
            assert "Escalate it to the lead officer" in body and "line manager" in body
            assert "head of service" not in body.lower() and "chief executive" not in body
        else:
            assert "Escalate it to the head of service." in body
            assert "If the head of service is the lead officer" in body
            assert "escalate it to the chief executive" in body


def test_spoc_escalation_one_day(renderer, area_policies):
    policy = area_policies["hart"]
    mail = renderer.render_email("spoc_escalation", escalation_ctx(policy, "line_manager", overdue_days=1))
    for body in (mail.html, mail.text):
        assert "It is 1 day overdue." in body
        assert not re.search(r"\b1 days", body)
    assert "1 day:" in mail.subject


# ---------------------------------------------------------------- letters that could not be sent


@pytest.mark.parametrize("to", RECIPIENTS)
@pytest.mark.parametrize("area_id", AREAS)
def test_spoc_letter_failed(renderer, area_policies, area_id, to):
    policy = area_policies[area_id]
    ctx = letter_failed_ctx(policy, to)
    mail = renderer.render_email("spoc_letter_failed", ctx)
    email_checks(mail, policy)
    subject = ctx["letter"]["subject"]

    assert "could not be sent" in mail.subject
    assert subject not in mail.subject
    for body, enc in bodies(mail):
        assert enc(subject) in body
        assert "We tried 6 times" in body
        assert FIRST_TRIED_SHOWN in body
        assert "MessageRejected" in body
        assert "Threshold not met" in body
        assert "by email" in body
        assert "You can find the letter in the case" in body
        if to in ("applicant", "victim"):
            assert f"Print the letter and post it to the {to}, or phone them." in body
        elif to == "partner":
            assert "Contact the agency another way" in body
        else:
            assert "Read the letter in the case." in body
        assert "threshold_not_met" not in body
    assert '<th scope="row">Attempts</th><td>6</td>' in mail.html
    assert "- Attempts: 6\n" in mail.text
    assert f"- Letter: {subject}\n" in mail.text
    assert "- To: The SPOC\n" in mail.text if to == "spoc" else f"- To: {'A partner agency' if to == 'partner' else 'The ' + to}\n" in mail.text


def test_spoc_letter_failed_once(renderer, area_policies):
    mail = renderer.render_email("spoc_letter_failed", letter_failed_ctx(area_policies["dacorum"], "victim", attempts=1))
    for body in (mail.html, mail.text):
        assert "We tried once" in body


# ---------------------------------------------------------------- a wrong value fails loudly


@pytest.mark.parametrize("name, ctx", [
    ("partner_chaser", lambda p: chaser_ctx(p, "due_next_week")),
    ("spoc_deadline", lambda p: deadline_ctx(p, "warning", "threshold_decision")),
    ("spoc_escalation", lambda p: escalation_ctx(p, "chief_executive")),
    ("spoc_letter_failed", lambda p: letter_failed_ctx(p, "perpetrator")),
])
def test_unknown_variant_is_refused(renderer, area_policies, name, ctx):
    """A stage, kind, level or recipient the templates do not know is a bug, not a silent default."""
    with pytest.raises(UndefinedError):
        renderer.render_email(name, ctx(area_policies["hart"]))


@pytest.mark.parametrize("name, ctx", [
    ("partner_chaser", lambda p: chaser_ctx(p, "overdue")),
    ("spoc_deadline", lambda p: deadline_ctx(p, "missed", "threshold_decision")),
    ("spoc_escalation", lambda p: escalation_ctx(p, "line_manager")),
    ("spoc_letter_failed", lambda p: letter_failed_ctx(p, "applicant")),
])
def test_every_context_key_is_needed(renderer, area_policies, name, ctx):
    """The contract is exact: drop any key and the render fails (StrictUndefined), so a caller
    that forgets one finds out in its tests, not in a partner's inbox. (A date the long_date filter
    is not given fails as a TypeError.)"""
    full = ctx(area_policies["hart"])
    renderer.render_email(name, full)
    for key in full:
        partial = {k: v for k, v in full.items() if k != key}
        with pytest.raises((UndefinedError, TypeError)):
            renderer.render_email(name, partial)
