"""Every letter template renders for every shipped area, to the applicant and the victim,
and carries the facts a letter must carry; names are escaped in HTML and readable in text."""
from __future__ import annotations

import itertools
from datetime import date
from pathlib import Path

import pytest
from markupsafe import escape

from chalicelib.domain.policy import Policy, load_policies
from chalicelib.letters import LetterRenderer, long_date

REPO = Path(__file__).resolve().parents[2]
POLICIES = REPO / "policies"
TEMPLATES = REPO / "templates"

TEMPLATE_IDS = ("dacorum/ct1", "derbyshire/letter1", "derbyshire/letter2", "derbyshire/letter3")
AREAS = ("dacorum", "derbyshire", "folkestone-hythe", "gloucestershire", "hart")

REF = "CT-7K3M-9QXR"
LETTER_DATE = date(2026, 11, 27)
ACK_DUE = date(2026, 12, 4)
DECISION_DUE = date(2026, 12, 18)
MEETING_DATE = date(2026, 12, 8)

HOSTILE = "<script>alert(1)</script>"
AWKWARD = "O'Brien & Sons"
ADDRESS = ["Flat 2, Smith & Jones Court", "1 High Street", "Fleet GU51 1AA"]


@pytest.fixture(scope="module")
def renderer() -> LetterRenderer:
    return LetterRenderer(TEMPLATES)


@pytest.fixture(scope="module")
def policies(renderer) -> dict[str, Policy]:
    return load_policies(POLICIES, renderer.template_ids())


def make_context(
    policy: Policy,
    *,
    role: str,
    on_behalf: bool,
    decision_due: date | None = DECISION_DUE,
    meeting: bool = True,
) -> dict:
    if on_behalf:
        applicant, victim = AWKWARD, HOSTILE
    else:
        applicant = victim = f"{HOSTILE} {AWKWARD}"
    name = applicant if role == "applicant" else victim
    assessment = None
    if meeting and policy.assessment_meeting is not None:
        assessment = {"name": policy.assessment_meeting.name, "date": MEETING_DATE}
    return {
        "ref": REF,
        # Every letter here is sent at intake, signed by the policy's default signatory.
        "step": "acknowledgement",
        "signatory": policy.signatory_for("acknowledgement"),
        "letter_date": LETTER_DATE,
        "area": policy.area,
        "contacts": policy.contacts,
        "appeals": policy.appeals,
        "timescales": policy.timescales,
        "threshold": policy.threshold,
        "recipient": {"name": name, "address_lines": list(ADDRESS), "email": "someone@example.org", "role": role},
        "applicant_name": applicant,
        "victim_name": victim,
        "on_behalf": on_behalf,
        "deadlines": {"acknowledge": ACK_DUE, "threshold_decision": decision_due},
        "assessment_meeting": assessment,
    }


def test_the_expected_templates_exist(renderer):
    assert set(TEMPLATE_IDS) <= set(renderer.template_ids())
    # Layouts are shared parts, never letters of their own.
    assert not any("_layout" in t for t in renderer.template_ids())


def test_every_policy_letter_is_a_known_template(renderer, policies):
    known = set(renderer.template_ids())
    for policy in policies.values():
        assert set(policy.letters.values()) <= known


CASES = list(itertools.product(AREAS, TEMPLATE_IDS, ("applicant", "victim"), (True, False)))


@pytest.mark.parametrize(("area_id", "template_id", "role", "on_behalf"), CASES)
def test_letter_renders_with_the_facts(renderer, policies, area_id, template_id, role, on_behalf):
    policy = policies[area_id]
    letter = renderer.render(template_id, make_context(policy, role=role, on_behalf=on_behalf))
    html, text, subject = letter.html, letter.text, letter.subject

    # Subject: one line, carries the reference.
    assert subject and "\n" not in subject and "\r" not in subject
    assert REF in subject

    # A complete, printable HTML document.
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert '<html lang="en-GB">' in html
    assert '<meta charset="utf-8">' in html
    assert f"<title>{escape(subject)}</title>" in html
    assert "@page { size: A4; margin: 20mm; }" in html
    assert html.rstrip().endswith("</html>")

    for body, enc in ((html, escape), (text, str)):
        # Reference, letter date and the concrete due date.
        assert f"Our reference: {REF}" in body
        assert long_date(LETTER_DATE) in body
        assert long_date(DECISION_DUE) in body
        # SPOC contact details, sender and signature.
        assert policy.contacts.spoc_email in body
        if policy.contacts.spoc_phone is not None:
            assert policy.contacts.spoc_phone in body
        assert str(enc(policy.area.csp_name)) in body
        signature = policy.signatory_for("acknowledgement")
        for part in (signature.name, signature.role, signature.body):
            if part is not None:
                assert str(enc(part)) in body.split("Yours sincerely,")[1]
        # How to report more incidents, and where to get support.
        assert str(enc(policy.contacts.police_non_emergency)) in body
        if policy.contacts.council_asb_contact is not None:
            assert str(enc(policy.contacts.council_asb_contact)) in body
        assert str(enc(policy.contacts.victim_support)) in body
        # Footer asks the reader to quote the reference.
        assert f"quote the reference {REF}" in body
        # Recipient block.
        for line in ADDRESS:
            assert str(enc(line)) in body
        # No unfilled template or leftover placeholders.
        for leftover in ("INSERT", "None", "{{", "{%", "???"):
            assert leftover not in body, leftover

    # Names: escaped in HTML, readable as typed in text.
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "O&#39;Brien &amp; Sons" in html
    assert "Smith &amp; Jones Court" in html
    assert HOSTILE in text
    assert AWKWARD in text
    assert "&amp;" not in text and "&lt;" not in text and "&#39;" not in text


@pytest.mark.parametrize("template_id", TEMPLATE_IDS)
@pytest.mark.parametrize("area_id", AREAS)
def test_letter_renders_while_consent_is_awaited(renderer, policies, area_id, template_id):
    """threshold_decision is None until consent arrives: the letter gives the timescale instead."""
    policy = policies[area_id]
    context = make_context(policy, role="applicant", on_behalf=True, decision_due=None)
    letter = renderer.render(template_id, context)
    wording = (
        policy.timescales.outcome_letter.describe()
        if template_id == "dacorum/ct1"
        else policy.timescales.threshold_decision.describe()
    )
    for body in (letter.html, letter.text):
        assert wording in body
        assert "None" not in body
        assert REF in body


@pytest.mark.parametrize("area_id", AREAS)
def test_acknowledgement_names_the_victim_when_made_on_their_behalf(renderer, policies, area_id):
    policy = policies[area_id]
    template_id = policy.letters["acknowledgement"]
    letter = renderer.render(template_id, make_context(policy, role="applicant", on_behalf=True))
    assert "Person affected: " + HOSTILE in letter.text
    assert f"for {HOSTILE}" in letter.text
    assert "Applicant: " + AWKWARD in letter.text
    own = renderer.render(template_id, make_context(policy, role="applicant", on_behalf=False))
    assert "Person affected" not in own.text


@pytest.mark.parametrize("area_id", AREAS)
def test_acknowledgement_states_the_threshold_decision_timescale(renderer, policies, area_id):
    policy = policies[area_id]
    template_id = policy.letters["acknowledgement"]
    letter = renderer.render(template_id, make_context(policy, role="applicant", on_behalf=False))
    wording = (
        policy.timescales.outcome_letter.describe()
        if template_id == "dacorum/ct1"
        else policy.timescales.threshold_decision.describe()
    )
    assert f"by {long_date(DECISION_DUE)}" in letter.text
    assert wording in letter.text


def test_ct1_names_the_assessment_meeting_and_its_date(renderer, policies):
    policy = policies["dacorum"]
    letter = renderer.render("dacorum/ct1", make_context(policy, role="applicant", on_behalf=False))
    assert "Community Safety Action Group (CSAG)" in letter.text
    assert long_date(MEETING_DATE) in letter.text
    assert "within 5 working days of the meeting" in letter.text
    # The county criterion, including the separate-complainants route.
    assert "3 times in 6 months" in letter.text
    assert "3 people" in letter.text


def test_ct1_without_a_meeting_date_says_it_will_follow(renderer, policies):
    policy = policies["dacorum"]
    letter = renderer.render("dacorum/ct1", make_context(policy, role="applicant", on_behalf=False, meeting=False))
    assert "next assessment meeting" in letter.text
    assert "We will tell you the date" in letter.text
    assert long_date(MEETING_DATE) not in letter.text


@pytest.mark.parametrize("area_id", AREAS)
def test_letter2_asks_for_consent_or_authority(renderer, policies, area_id):
    policy = policies[area_id]
    letter = renderer.render("derbyshire/letter2", make_context(policy, role="applicant", on_behalf=True, decision_due=None))
    text = letter.text
    assert "written consent" in text
    assert "power of attorney" in text
    assert "We cannot start the review until this arrives." in text
    assert f"Email: {policy.contacts.spoc_email}" in text
    if policy.contacts.spoc_address is not None:
        assert f"Post: {policy.contacts.spoc_address}" in text
    assert HOSTILE in text  # names the person the consent must come from
    assert "Consent needed" in letter.subject


def test_letter2_gives_the_post_address_when_the_area_has_one(renderer, policies):
    policy = policies["hart"]
    letter = renderer.render("derbyshire/letter2", make_context(policy, role="applicant", on_behalf=True, decision_due=None))
    assert "Post: Hart District Council, Civic Offices, Harlington Way, Fleet GU51 4AE" in letter.text
    assert "Post: Hart District Council, Civic Offices, Harlington Way, Fleet GU51 4AE" in letter.html


@pytest.mark.parametrize("area_id", AREAS)
def test_letter3_tells_the_victim_how_to_withdraw_consent(renderer, policies, area_id):
    policy = policies[area_id]
    letter = renderer.render("derbyshire/letter3", make_context(policy, role="victim", on_behalf=True))
    text = letter.text
    assert f"{AWKWARD} has applied" in text
    assert f"We will send letters about the application to {AWKWARD}." in text
    assert "tell us in writing" in text
    assert "write to you directly" in text
    assert "on your behalf" in letter.subject


def test_long_date_has_no_leading_zero():
    assert long_date(date(2026, 12, 4)) == "Friday 4 December 2026"
