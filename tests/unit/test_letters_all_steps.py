"""Every letter step renders for every shipped area, to the applicant and the victim, with the full
letter context (every step key present, None where it does not apply), and carries the facts its
reader needs: reasons, dates, the meeting, the action plan, appeal rights and what happens next.
Free text typed by staff (reasons, findings, notes) is escaped in HTML and readable in text."""
from __future__ import annotations

import itertools
from datetime import date
from pathlib import Path

import pytest
from markupsafe import escape

from chalicelib.domain.policy import LETTER_STEPS, Policy, load_policies
from chalicelib.letters import LetterRenderer, long_date

REPO = Path(__file__).resolve().parents[2]
POLICIES = REPO / "policies"
TEMPLATES = REPO / "templates"

AREAS = ("dacorum", "derbyshire", "folkestone-hythe", "gloucestershire", "hart")
DERBYSHIRE_SET = ("derbyshire", "hart", "folkestone-hythe", "gloucestershire")
ROLES = ("applicant", "victim")

REF = "CT-7K3M-9QXR"
LETTER_DATE = date(2026, 11, 27)
DECIDED_ON = date(2026, 11, 26)
APPEAL_DEADLINE = date(2026, 12, 25)  # letter date + 28 calendar days
MEETING_DATE = date(2026, 12, 15)
MEETING_DUE = date(2026, 12, 29)  # 20 working days after the letter, past Christmas and Boxing Day (substitute)
LODGED_ON = date(2026, 12, 10)
DECIDE_BY = date(2027, 1, 11)
DUE_FIRST = date(2027, 1, 29)
DUE_LAST = date(2027, 2, 26)

HOSTILE = "<script>alert(1)</script>"
APPLICANT = "O'Brien & Sons"
VICTIM = "Mrs A Victim"
ADDRESS = ["Flat 2, Smith & Jones Court", "1 High Street", "Fleet GU51 1AA"]

REASONS = f"Only two qualifying complaints were found in the last six months. {HOSTILE}"
FINDINGS = f"The agencies responded to each report, but did not share information. {HOSTILE}"
ACTIONS = [
    {"description": "Extra patrols on Mill Lane on Friday and Saturday evenings", "agency": "Derbyshire Constabulary",
     "lead_officer": "PC 1234 Taylor", "due_on": DUE_LAST},
    {"description": "Tenancy warning to the neighbour", "agency": "Peak Homes & Co",
     "lead_officer": "Sam O'Neill", "due_on": DUE_FIRST},
]
NOT_RECOMMENDED = [{"description": "Civil injunction", "reason": "Not enough evidence yet to apply to court"}]
RECOMMENDATIONS = ["Share incident logs between the police and the housing provider every week"]
MEETING = {
    "date": MEETING_DATE, "time": "14:00", "place": "Town Hall, Committee Room 2", "online": False,
    "chair": "Head of Community Safety, Amber Valley", "agencies": ["Derbyshire Constabulary", "Council ASB Team", "Peak Homes & Co"],
    "victim_invited": True,
}


@pytest.fixture(scope="module")
def renderer() -> LetterRenderer:
    return LetterRenderer(TEMPLATES)


@pytest.fixture(scope="module")
def policies(renderer) -> dict[str, Policy]:
    return load_policies(POLICIES, renderer.template_ids())


def full_context(policy: Policy, *, letter_step: str = "acknowledgement", role: str = "applicant",
                 on_behalf: bool = True, **step) -> dict:
    """The context every letter receives: the intake keys, the letter's step and its signatory,
    and every step key (None unless given)."""
    applicant, victim = (APPLICANT, VICTIM) if on_behalf else (APPLICANT, APPLICANT)
    context = {
        "ref": REF,
        "step": letter_step,
        "signatory": policy.signatory_for(letter_step),
        "letter_date": LETTER_DATE,
        "area": policy.area,
        "contacts": policy.contacts,
        "appeals": policy.appeals,
        "timescales": policy.timescales,
        "threshold": policy.threshold,
        "recipient": {"name": applicant if role == "applicant" else victim, "address_lines": list(ADDRESS),
                      "email": "someone@example.org", "role": role},
        "applicant_name": applicant,
        "victim_name": victim,
        "on_behalf": on_behalf,
        "deadlines": {"acknowledge": date(2026, 11, 10), "threshold_decision": date(2026, 11, 24)},
        "assessment_meeting": ({"name": policy.assessment_meeting.name, "date": DECIDED_ON}
                               if policy.assessment_meeting is not None else None),
        "decision": None,
        "appeal_deadline": None,
        "meeting": None,
        "meeting_due": None,
        "outcome": None,
        "closure": None,
        "withdrawal": None,
        "rejection": None,
        "appeal": None,
        "draft_plan": None,
        "update": None,
        "agency_review": None,
    }
    unknown = set(step) - set(context)
    assert not unknown, unknown
    context.update(step)
    return context


def decision(outcome: str) -> dict:
    return {"outcome": outcome, "reasons": REASONS, "decided_on": DECIDED_ON}


def outcome(*, actions: bool = True) -> dict:
    return {
        "findings": FINDINGS,
        "recommendations": list(RECOMMENDATIONS) if actions else [],
        "actions": [dict(a) for a in ACTIONS] if actions else [],
        "not_recommended": [dict(n) for n in NOT_RECOMMENDED],
    }


def appeal(upheld: bool | None = None, against: str = "threshold_decision") -> dict:
    return {"against": against, "lodged_on": LODGED_ON, "decide_by": DECIDE_BY, "upheld": upheld,
            "reasons": None if upheld is None else f"The review missed a report made to the council. {HOSTILE}"}


# What each step adds to the context, as the case workflow supplies it.
STEP_CONTEXT = {
    "acknowledgement": {},
    "consent_required": {},
    "victim_confirmation": {},
    "threshold_not_met": {"decision": decision("not_met"), "appeal_deadline": APPEAL_DEADLINE},
    "threshold_met": {"decision": decision("met"), "meeting": dict(MEETING)},
    "meeting_arranged": {"meeting": dict(MEETING)},
    "outcome": {"outcome": outcome(), "meeting": dict(MEETING), "appeal_deadline": APPEAL_DEADLINE},
    "outcome_no_further_action": {"outcome": outcome(actions=False), "meeting": dict(MEETING),
                                  "appeal_deadline": APPEAL_DEADLINE},
    "outcome_actions": {"outcome": outcome(), "meeting": dict(MEETING), "appeal_deadline": APPEAL_DEADLINE},
    "closed": {"closure": {"reason": f"All the actions in the action plan are complete. {HOSTILE}"}},
    "withdrawn": {"withdrawal": {"reason": "applicant_request", "note": None}},
    "rejected": {"rejection": {"reason": "service_complaint", "note": f"Please use the council's complaints form. {HOSTILE}"},
                 "appeal_deadline": APPEAL_DEADLINE},
    "appeal_acknowledgement": {"appeal": appeal()},
    "appeal_decision": {"appeal": appeal(upheld=False)},
    "draft_plan": {"draft_plan": {"held_on": MEETING_DATE, "respond_by": DUE_FIRST, "findings": FINDINGS,
                                  "recommendations": list(RECOMMENDATIONS), "revision": 1,
                                  "actions": [dict(a) for a in ACTIONS]}, "meeting": dict(MEETING)},
    "update": {"update": {"stage": "information_complete", "decision_due": DUE_FIRST}},
    "agency_review_started": {"agency_review": {"agency": "Derbyshire Constabulary", "reasons": REASONS,
                                                "meeting_due": MEETING_DUE}},
}
# Steps whose letter tells the reader of a decision they can appeal against.
DECISION_STEPS = ("threshold_not_met", "outcome", "outcome_no_further_action", "outcome_actions", "rejected")
# Free text typed by staff that each step's letter shows.
FREE_TEXT_STEPS = {"threshold_not_met", "threshold_met", "outcome", "outcome_no_further_action", "outcome_actions",
                   "closed", "rejected", "appeal_decision", "draft_plan", "agency_review_started"}


def render(renderer, policies, area_id: str, step: str, **kwargs):
    policy = policies[area_id]
    return renderer.render(policy.letters[step], full_context(policy, letter_step=step, **{**STEP_CONTEXT[step], **kwargs}))


def bodies(letter):
    """Both parts, each with the encoder that shows a value as it appears in that part."""
    return ((letter.html, lambda v: str(escape(v))), (letter.text, str))


# --- the policies name a template for every step, and every template exists -----------------


def test_step_context_covers_every_letter_step():
    assert set(STEP_CONTEXT) == set(LETTER_STEPS)
    assert {"meeting_arranged", "rejected"} <= set(LETTER_STEPS)


def test_every_template_named_in_a_policy_exists(renderer, policies):
    known = set(renderer.template_ids())
    for policy in policies.values():
        for step, template_id in policy.letters.items():
            assert template_id in known, f"{policy.id}: letters.{step} = {template_id!r}"
            assert (TEMPLATES / "letters" / f"{template_id}.html.j2").is_file()
            assert (TEMPLATES / "letters" / f"{template_id}.txt.j2").is_file()


@pytest.mark.parametrize("area_id", AREAS)
def test_every_policy_maps_every_letter_step(policies, area_id):
    assert set(policies[area_id].letters) == set(LETTER_STEPS)


@pytest.mark.parametrize("area_id", DERBYSHIRE_SET)
def test_derbyshire_set_areas_use_letters_1_to_6_and_the_common_letters(policies, area_id):
    assert policies[area_id].letters == {
        "acknowledgement": "derbyshire/letter1",
        "consent_required": "derbyshire/letter2",
        "victim_confirmation": "derbyshire/letter3",
        "threshold_not_met": "derbyshire/letter4",
        "threshold_met": "derbyshire/letter5",
        "meeting_arranged": "common/meeting_arranged",
        "outcome": "derbyshire/letter6",
        "outcome_no_further_action": "derbyshire/letter6",
        "outcome_actions": "derbyshire/letter6",
        "closed": "common/closed",
        "withdrawn": "common/withdrawn",
        "rejected": "common/rejected",
        "appeal_acknowledgement": "common/appeal_acknowledgement",
        "appeal_decision": "common/appeal_decision",
        "draft_plan": "common/draft_plan",
        "update": "common/update",
        "agency_review_started": "common/agency_review_started",
    }


def test_dacorum_uses_ct1_to_ct5_and_letter5_for_a_met_threshold(policies):
    assert policies["dacorum"].letters == {
        "acknowledgement": "dacorum/ct1",
        "consent_required": "derbyshire/letter2",
        "victim_confirmation": "derbyshire/letter3",
        "threshold_not_met": "dacorum/ct2",
        "threshold_met": "derbyshire/letter5",
        "meeting_arranged": "common/meeting_arranged",
        "outcome": "dacorum/ct4",
        "outcome_no_further_action": "dacorum/ct3",
        "outcome_actions": "dacorum/ct4",
        "closed": "dacorum/ct5",
        "withdrawn": "common/withdrawn",
        "rejected": "common/rejected",
        "appeal_acknowledgement": "common/appeal_acknowledgement",
        "appeal_decision": "common/appeal_decision",
        "draft_plan": "common/draft_plan",
        "update": "common/update",
        "agency_review_started": "common/agency_review_started",
    }


# --- every step, every area, both readers ----------------------------------------------------

CASES = list(itertools.product(AREAS, LETTER_STEPS, ROLES, (True, False)))


@pytest.mark.parametrize(("area_id", "step", "role", "on_behalf"), CASES)
def test_every_step_renders_with_the_common_facts(renderer, policies, area_id, step, role, on_behalf):
    policy = policies[area_id]
    letter = render(renderer, policies, area_id, step, role=role, on_behalf=on_behalf)

    assert letter.template == policy.letters[step]
    assert letter.subject and "\n" not in letter.subject and "\r" not in letter.subject
    assert REF in letter.subject
    assert letter.html.lstrip().lower().startswith("<!doctype html>")
    assert letter.html.rstrip().endswith("</html>")
    assert f"<title>{escape(letter.subject)}</title>" in letter.html
    assert letter.text.strip()

    for body, enc in bodies(letter):
        assert f"Our reference: {REF}" in body
        assert long_date(LETTER_DATE) in body
        assert f"quote the reference {REF}" in body
        assert policy.contacts.spoc_email in body
        if policy.contacts.spoc_phone is not None:
            assert policy.contacts.spoc_phone in body
        assert enc(policy.contacts.victim_support) in body
        assert enc(policy.contacts.police_non_emergency) in body
        # Signed by the policy's signatory for this step (appeal letters: the appeals body by default).
        signature = policy.signatory_for(step)
        for part in (signature.name, signature.role, signature.body):
            if part is not None:
                assert enc(part) in body.split("Yours sincerely,")[1]
        for line in ADDRESS:
            assert enc(line) in body
        assert enc(APPLICANT) in body
        for leftover in ("INSERT", "None", "{{", "{%", "???"):
            assert leftover not in body, leftover
    # No gap left by an empty value in the wording.
    for gap in (" .", " ,", "..", "\n\n\n\n"):
        assert gap not in letter.text, gap

    # Free text is escaped in HTML and shown as typed in text.
    assert "<script>" not in letter.html
    if step in FREE_TEXT_STEPS:
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in letter.html
        assert HOSTILE in letter.text
    assert "O&#39;Brien &amp; Sons" in letter.html
    assert "&amp;" not in letter.text and "&lt;" not in letter.text and "&#39;" not in letter.text


@pytest.mark.parametrize(("area_id", "step"), list(itertools.product(AREAS, DECISION_STEPS)))
def test_decision_letters_give_the_appeal_body_window_and_last_day(renderer, policies, area_id, step):
    policy = policies[area_id]
    letter = render(renderer, policies, area_id, step)
    for body, enc in bodies(letter):
        assert enc(policy.appeals.body) in body
        assert f"within {policy.appeals.window.describe()} of the date of this letter" in body
        assert f"The last day to appeal is {long_date(APPEAL_DEADLINE)}" in body
        assert f"within {policy.appeals.decide.describe()} of receiving your appeal" in body
        # How to send it: the appeals body's own address where the policy gives one.
        for value in (policy.appeals.website, policy.appeals.email, policy.appeals.address):
            if value is not None:
                assert enc(value) in body
        if policy.appeals.website is policy.appeals.email is policy.appeals.address is None:
            assert "Contact us and we will tell you" in body


def test_derbyshire_appeal_route_names_the_pcc_form_email_and_post(renderer, policies):
    letter = render(renderer, policies, "derbyshire", "threshold_not_met")
    assert "https://www.derbyshire-pcc.gov.uk/Supporting-Victims/Community-Trigger/CommunityTrigger.aspx" in letter.text
    assert "- email pccoffice@derbyshire.pnn.police.uk" in letter.text
    assert "Butterley Hall, Ripley, Derbyshire DE5 3RS" in letter.text
    assert '<a href="mailto:pccoffice@derbyshire.pnn.police.uk">' in letter.html


# --- threshold not met ----------------------------------------------------------------------


@pytest.mark.parametrize("area_id", AREAS)
def test_threshold_not_met_gives_reasons_and_routes(renderer, policies, area_id):
    policy = policies[area_id]
    letter = render(renderer, policies, area_id, "threshold_not_met")
    text = letter.text
    assert REASONS in text
    assert long_date(DECIDED_ON) in text
    assert "does not meet the" in text
    # The organisations still deal with the behaviour; service complaints go to the agency.
    assert "keep dealing with the anti-social behaviour" in text
    assert "own complaints procedure" in text
    assert "It cannot deal with a complaint about the service from one organisation" in text
    # The rule, with the area's numbers.
    assert f"{policy.threshold.complaints_needed}" in text and f"{policy.threshold.lookback_months} months" in text
    assert "not met" in letter.subject


def test_letter4_explains_the_local_threshold_rules(renderer, policies):
    hart = render(renderer, policies, "hart", "threshold_not_met").text
    assert "within 30 days of the incident" in hart
    assert "One hate incident or hate crime" in hart
    assert "A senior officer can agree to a case review below the threshold" in hart
    derbyshire = render(renderer, policies, "derbyshire", "threshold_not_met").text
    assert "within 1 month of the incident" in derbyshire
    assert "police officer or PCSO on duty" in derbyshire
    assert "hate crime" not in derbyshire
    assert "senior officer" not in derbyshire


def test_ct2_names_the_csag_and_the_dacorum_criteria(renderer, policies):
    letter = render(renderer, policies, "dacorum", "threshold_not_met")
    text = letter.text
    assert f"Community Safety Action Group (CSAG) meeting on {long_date(DECIDED_ON)}" in text
    assert "3 times in 6 months, or 3 people" in text
    assert "appeal in writing to the Chair of the Dacorum Community Safety Partnership Board" in text
    assert "- by email to communitytrigger@dacorum.example (example address: the council sets its own)" in text
    assert "keep a diary" in text
    assert "referral" in letter.subject


# --- threshold met and the meeting -----------------------------------------------------------


@pytest.mark.parametrize("step", ("threshold_met", "meeting_arranged"))
@pytest.mark.parametrize("area_id", AREAS)
def test_meeting_letters_give_the_meeting(renderer, policies, area_id, step):
    letter = render(renderer, policies, area_id, step, role="victim")
    for body, enc in bodies(letter):
        assert long_date(MEETING_DATE) in body
        assert "Time: 2pm" in body
        assert enc("Place: Town Hall, Committee Room 2") in body
        assert enc("Chair: Head of Community Safety, Amber Valley") in body
        assert enc("Derbyshire Constabulary, Council ASB Team, Peak Homes & Co") in body
        # The victim reads "you": invited, may send a representative or a written statement.
        assert "We invite you to come to all or part of the meeting" in body
        assert "a representative can come instead" in body
        assert "written statement" in body
        assert f"within {policies[area_id].timescales.outcome_letter.describe()} of the meeting on {long_date(MEETING_DATE)}" in body


def test_meeting_letter_to_a_third_party_names_the_victim(renderer, policies):
    letter = render(renderer, policies, "hart", "meeting_arranged", role="applicant", on_behalf=True)
    assert f"We invite {VICTIM} to come" in letter.text
    assert f"If {VICTIM} would rather not come, a representative can come instead, or they can" in letter.text


def test_online_meeting_and_uninvited_victim(renderer, policies):
    meeting = {**MEETING, "place": None, "online": True, "victim_invited": False}
    for step in ("threshold_met", "meeting_arranged"):
        text = render(renderer, policies, "derbyshire", step, role="victim", meeting=meeting).text
        assert "Place: online" in text
        assert "not suitable for you to attend" in text
        assert f"send us a written statement before {long_date(MEETING_DATE)}" in text
        assert "We invite you" not in text
    hybrid = render(renderer, policies, "derbyshire", "meeting_arranged", meeting={**MEETING, "online": True}).text
    assert "Place: Town Hall, Committee Room 2, or online" in hybrid
    assert "link to join online" in hybrid


@pytest.mark.parametrize(("given", "shown"), [("14:00", "2pm"), ("09:30", "9:30am"), ("12:00", "midday"),
                                             ("00:00", "midnight"), ("17:45", "5:45pm"), ("half past two", "half past two")])
def test_meeting_time_is_written_the_gov_uk_way(renderer, policies, given, shown):
    letter = render(renderer, policies, "hart", "meeting_arranged", meeting={**MEETING, "time": given})
    assert f"Time: {shown}\n" in letter.text
    assert f"<li>Time: {shown}</li>" in letter.html


@pytest.mark.parametrize("area_id", AREAS)
def test_letter5_without_a_meeting_gives_the_date_it_will_be_held_by(renderer, policies, area_id):
    policy = policies[area_id]
    letter = render(renderer, policies, area_id, "threshold_met", meeting=None, meeting_due=MEETING_DUE)
    for body, _ in bodies(letter):
        assert f"case review meeting by {long_date(MEETING_DUE)}" in body
        assert f"within {policy.timescales.review_meeting.describe()} of the date of this letter" in body
        assert "We will write to confirm the date, time and place." in body
        assert "meets the threshold" in body
    assert REASONS in letter.text


def test_letter5_says_when_a_senior_officer_accepted_below_threshold(renderer, policies):
    letter = render(renderer, policies, "hart", "threshold_met", decision=decision("accepted_below_threshold"),
                    role="applicant", on_behalf=True)
    assert "does not meet the usual threshold" in letter.text
    assert f"a senior officer has decided that a case review should go ahead to protect {VICTIM}" in letter.text
    assert "The application meets the threshold" not in letter.text
    met = render(renderer, policies, "hart", "threshold_met").text
    assert "The application meets the threshold for a case review." in met
    assert "senior officer" not in met


def test_meeting_arranged_without_a_meeting_gives_the_due_date(renderer, policies):
    text = render(renderer, policies, "derbyshire", "meeting_arranged", meeting=None, meeting_due=MEETING_DUE).text
    assert f"will be held by {long_date(MEETING_DUE)}" in text


# --- outcome ----------------------------------------------------------------------------------


@pytest.mark.parametrize("step", ("outcome", "outcome_actions"))
@pytest.mark.parametrize("area_id", AREAS)
def test_outcome_gives_findings_and_each_action(renderer, policies, area_id, step):
    letter = render(renderer, policies, area_id, step)
    for body, enc in bodies(letter):
        assert enc(FINDINGS) in body
        for item in RECOMMENDATIONS:
            assert enc(item) in body
        for action in ACTIONS:
            assert enc(action["description"]) in body
            assert enc(action["lead_officer"]) in body
            assert enc(action["agency"]) in body
            assert long_date(action["due_on"]) in body
        for item in NOT_RECOMMENDED:
            assert enc(item["description"]) in body
            assert enc(item["reason"]) in body
        # The last due date, and the qualifying period restarting from this letter.
        assert f"All the actions are due to be done by {long_date(DUE_LAST)}" in body
        assert "restarts the count of complaints for the same problem" in body
        assert f"only complaints made after {long_date(LETTER_DATE)}" in body
        assert long_date(MEETING_DATE) in body


def test_each_action_keeps_its_own_lead_officer_agency_and_date(renderer, policies):
    derbyshire = render(renderer, policies, "derbyshire", "outcome_actions").text
    assert ("1. Extra patrols on Mill Lane on Friday and Saturday evenings\n"
            "   Organisation: Derbyshire Constabulary\n"
            "   Lead officer: PC 1234 Taylor\n"
            f"   To be done by: {long_date(DUE_LAST)}\n") in derbyshire
    assert ("2. Tenancy warning to the neighbour\n"
            "   Organisation: Peak Homes & Co\n"
            "   Lead officer: Sam O'Neill\n"
            f"   To be done by: {long_date(DUE_FIRST)}\n") in derbyshire
    dacorum = render(renderer, policies, "dacorum", "outcome_actions")
    assert "   Lead officer: Sam O'Neill, Peak Homes & Co\n" in dacorum.text
    assert "Lead officer: Sam O&#39;Neill, Peak Homes &amp; Co<br>" in dacorum.html
    assert "The case stays on the agenda of the Community Safety Action Group (CSAG)" in dacorum.text


@pytest.mark.parametrize("area_id", AREAS)
def test_outcome_with_no_further_action(renderer, policies, area_id):
    letter = render(renderer, policies, area_id, "outcome_no_further_action")
    text = letter.text
    assert FINDINGS in text
    assert "Lead officer" not in text
    assert "due to be done by" not in text
    assert "restarts the count of complaints" in text
    assert NOT_RECOMMENDED[0]["reason"] in text
    if area_id == "dacorum":
        assert "no further action they can take at present" in text
        assert "monitor" in text
        assert "no further action" in letter.subject
    else:
        assert "The review did not recommend any further action at this time." in text


def test_letter6_with_a_single_action(renderer, policies):
    one = {**outcome(), "actions": [dict(ACTIONS[1])]}
    text = render(renderer, policies, "derbyshire", "outcome", outcome=one).text
    assert f"The action is due to be done by {long_date(DUE_FIRST)}" in text


# --- closed, withdrawn, rejected ---------------------------------------------------------------


@pytest.mark.parametrize("area_id", AREAS)
def test_closed_gives_the_reason_and_the_material_change_rule(renderer, policies, area_id):
    letter = render(renderer, policies, area_id, "closed")
    text = letter.text
    assert "All the actions in the action plan are complete." in text
    assert "changed significantly" in text
    assert "closed" in letter.subject


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("area_id", AREAS)
def test_withdrawn_at_the_applicants_request(renderer, policies, area_id, role):
    letter = render(renderer, policies, area_id, "withdrawn", role=role)
    text = letter.text
    if role == "applicant":
        assert "Thank you for asking us in writing to withdraw" in text
        assert f"application for {VICTIM}" in text
    else:
        assert f"{APPLICANT} has asked us in writing to withdraw" in text
    assert "We have withdrawn the application and closed the case." in text
    assert "you can apply again" in text
    assert "withdrawn" in letter.subject


@pytest.mark.parametrize("area_id", AREAS)
def test_withdrawn_when_the_victim_cannot_be_reached(renderer, policies, area_id):
    withdrawal = {"reason": "victim_unreachable", "note": f"Two letters, three calls and a home visit. {HOSTILE}"}
    to_victim = render(renderer, policies, area_id, "withdrawn", role="victim", withdrawal=withdrawal)
    assert "We have tried several times to contact you" in to_victim.text
    assert "we have not been able to reach you" in to_victim.text
    assert "What we did to try to reach you: Two letters, three calls and a home visit." in to_victim.text
    assert "&lt;script&gt;" in to_victim.html and "<script>" not in to_victim.html
    assert "If you would still like a case review, please contact us" in to_victim.text
    to_applicant = render(renderer, policies, area_id, "withdrawn", role="applicant", withdrawal=withdrawal)
    assert f"We have tried several times to contact {VICTIM}" in to_applicant.text
    assert f"If {VICTIM} would still like a case review" in to_applicant.text


@pytest.mark.parametrize(("reason", "wording"), [
    ("anonymous", "We cannot review an application made anonymously"),
    ("vexatious", "the application is vexatious or malicious"),
    ("service_complaint", "It cannot deal with a complaint about one organisation's service"),
])
@pytest.mark.parametrize("area_id", AREAS)
def test_rejected_explains_the_reason(renderer, policies, area_id, reason, wording):
    note = f"Our note about this application. {HOSTILE}"
    letter = render(renderer, policies, area_id, "rejected", rejection={"reason": reason, "note": note})
    assert wording in letter.text
    assert note in letter.text
    assert str(escape(note)) in letter.html
    assert ("own complaints procedure" in letter.text) == (reason == "service_complaint")
    assert "not accepted" in letter.subject


# --- appeals ----------------------------------------------------------------------------------


@pytest.mark.parametrize("against", ("threshold_decision", "review_outcome"))
@pytest.mark.parametrize("area_id", AREAS)
def test_appeal_acknowledgement(renderer, policies, area_id, against):
    policy = policies[area_id]
    letter = render(renderer, policies, area_id, "appeal_acknowledgement", appeal=appeal(against=against))
    for body, enc in bodies(letter):
        assert f"on behalf of the {enc(policy.appeals.body)}" in body
        assert f"received your appeal on {long_date(LODGED_ON)}" in body
        assert f"by {long_date(DECIDE_BY)}" in body
        assert f"within {policy.appeals.decide.describe()} of receiving the appeal" in body
    expected = ("the decision that the application did not meet the threshold for a case review"
                if against == "threshold_decision" else "the outcome of the case review")
    assert f"The appeal is against {expected}." in letter.text


@pytest.mark.parametrize("area_id", AREAS)
def test_appeal_upheld_sends_the_case_back(renderer, policies, area_id):
    letter = render(renderer, policies, area_id, "appeal_decision", appeal=appeal(upheld=True),
                    meeting_due=MEETING_DUE)
    text = letter.text
    assert "has upheld the appeal" in text
    assert "goes back to us to be reviewed again" in text
    assert "The review missed a report made to the council." in text
    assert f"held by {long_date(MEETING_DUE)}" in text
    outcome_appeal = render(renderer, policies, area_id, "appeal_decision",
                            appeal=appeal(upheld=True, against="review_outcome")).text
    assert "The organisations involved will look at the case again" in outcome_appeal


@pytest.mark.parametrize("area_id", AREAS)
def test_appeal_not_upheld_gives_reasons(renderer, policies, area_id):
    letter = render(renderer, policies, area_id, "appeal_decision")
    text = letter.text
    assert "has not upheld the appeal" in text
    assert "did not meet the threshold for a case review stands" in text
    assert "The review missed a report made to the council." in text
    assert "final stage" in text
    assert "has upheld" not in text


# --- fields the staff forms collect beyond the letter contract ---------------------------------


def test_optional_staff_fields_are_used_when_present(renderer, policies):
    """The staff forms also collect these; the letters use them when the context carries them."""
    meeting = {**MEETING, "victim_invited": False,
               "victim_not_invited_reason": "The meeting will discuss the other household's health."}
    text = render(renderer, policies, "hart", "meeting_arranged", role="victim", meeting=meeting).text
    assert "not suitable for you to attend. The meeting will discuss the other household's health." in text

    below = {**decision("accepted_below_threshold"), "senior_officer": "Inspector Jane Smith"}
    text = render(renderer, policies, "hart", "threshold_met", decision=below).text
    assert "The senior officer was Inspector Jane Smith." in text

    plan = outcome()
    plan["held_on"] = date(2026, 12, 14)
    plan["actions"][0]["victim_agreed"] = False
    plan["actions"][1]["victim_agreed"] = True
    text = render(renderer, policies, "derbyshire", "outcome_actions", outcome=plan, role="victim").text
    assert f"at a meeting on {long_date(date(2026, 12, 14))}" in text
    assert text.count("Not agreed by you") == 1


@pytest.mark.parametrize("area_id", AREAS)
def test_every_template_survives_missing_step_data(renderer, policies, area_id):
    """StrictUndefined: a letter sent before its step data is recorded must still render, not crash."""
    for template_id in renderer.template_ids():
        letter = renderer.render(template_id, full_context(policies[area_id]))
        assert REF in letter.subject
        assert "None" not in letter.text and "None" not in letter.html


def test_appeal_decision_not_yet_made_gives_the_decision_date(renderer, policies):
    text = render(renderer, policies, "derbyshire", "appeal_decision", appeal=appeal(upheld=None)).text
    assert "has not yet decided the appeal" in text
    assert f"by {long_date(DECIDE_BY)}" in text
