"""Example contacts and signatories. An invented address on a real council domain cannot load:
an address the policy marks as a placeholder must be an example on a reserved domain (RFC 2606 /
RFC 6761), every address on a reserved domain must be marked as an example, and everything that
shows an example says so. Each letter is signed by the signatory the policy names for its step;
appeal letters by the appeals body unless the policy names another."""
from __future__ import annotations

import re
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from markupsafe import escape

from chalicelib.domain.case import LetterPlan
from chalicelib.domain.policy import (
    EXAMPLE_ADDRESS_NOTE,
    EXAMPLE_NAME_NOTE,
    LETTER_STEPS,
    PolicyError,
    is_example_address,
    load_policies,
    parse_policy,
)
from chalicelib.letters import LetterRenderer
from chalicelib.outbox import Person, compose_letters, letter_context

REPO = Path(__file__).resolve().parents[2]
POLICIES = REPO / "policies"
AREAS = ("dacorum", "derbyshire", "folkestone-hythe", "gloucestershire", "hart")
PCC = "Office of the Police and Crime Commissioner for Derbyshire"
LABEL = f"({EXAMPLE_ADDRESS_NOTE})"


@pytest.fixture(scope="module")
def renderer() -> LetterRenderer:
    return LetterRenderer(REPO / "templates")


@pytest.fixture(scope="module")
def templates(renderer) -> list[str]:
    return renderer.template_ids()


def _text(area_id: str) -> str:
    return (POLICIES / f"{area_id}.toml").read_text(encoding="utf-8")


def _refused(text: str, templates, area_id: str = "derbyshire") -> PolicyError:
    path = f"policies/{area_id}.toml"
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, path, templates)
    return caught.value


def _replace(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


# --- which domains are reserved ---------------------------------------------------------------


@pytest.mark.parametrize("address", ["a@derbyshire.example", "a@example.org", "a@EXAMPLE.com", "a@mail.example.net",
                                     "a@x.test", "a@x.invalid", "a@x.localhost"])
def test_reserved_domains(address):
    assert is_example_address(address)


@pytest.mark.parametrize("address", ["communitytrigger@derbyshire.gov.uk", "a@example.gov.uk", "a@myexample.org",
                                     "a@examples.com", "pccoffice@derbyshire.pnn.police.uk"])
def test_real_domains(address):
    assert not is_example_address(address)


# --- refusals name the file and the field ------------------------------------------------------


def _assert_names(error: PolicyError, field: str, *words: str) -> None:
    message = str(error)
    assert error.path == "policies/derbyshire.toml" or error.path.endswith(".toml")
    assert f"{error.path}: {field}:" in message, message
    for word in words:
        assert word in message, (word, message)


@pytest.mark.parametrize("still_marked", [True, False], ids=["marked_as_example", "not_marked"])
def test_invented_address_on_a_real_domain_marked_as_placeholder_is_refused(templates, still_marked):
    # The old shipped value: a made-up mailbox on the council's real domain, listed in defaults_used.
    text = _replace(_text("derbyshire"), 'spoc_email = "communitytrigger@derbyshire.example"',
                    'spoc_email = "communitytrigger@derbyshire.gov.uk"')
    if not still_marked:
        text = _replace(text, 'examples = [\n  "contacts.spoc_email",\n', "examples = [\n")
    error = _refused(text, templates)
    if still_marked:
        _assert_names(error, "contacts.spoc_email", "communitytrigger@derbyshire.gov.uk", "real domain")
    else:
        _assert_names(error, "contacts.spoc_email", "communitytrigger@derbyshire.gov.uk", "placeholder", "defaults_used")


def test_placeholder_address_not_marked_as_example_is_refused(templates):
    text = _text("derbyshire")
    examples = re.search(r"^examples = \[.*?\]\n", text, re.S | re.M).group(0)
    text = text.replace(examples, "examples = []\n")
    error = _refused(text, templates)
    # Every placeholder address is named, each with how to fix it.
    fields = [f for f, _ in error.problems]
    assert "contacts.spoc_email" in fields and "contacts.sender_email" in fields
    assert "partners.0.email" in fields
    _assert_names(error, "contacts.spoc_email", "defaults_used", "examples")


def test_real_domain_address_marked_as_example_is_refused(templates):
    text = _replace(_text("hart"), 'examples = [', 'examples = [\n  "contacts.spoc_email",')
    error = _refused(text, templates, "hart")
    _assert_names(error, "contacts.spoc_email", "communitysafety@hart.gov.uk", "reserved")


def test_example_address_not_marked_as_example_is_refused(templates):
    # Hart's SPOC address is real and not a placeholder; an example domain put there must be marked.
    text = _replace(_text("hart"), 'spoc_email = "communitysafety@hart.gov.uk"', 'spoc_email = "communitysafety@hart.example"')
    error = _refused(text, templates, "hart")
    _assert_names(error, "contacts.spoc_email", "communitysafety@hart.example", "examples")


def test_example_address_inside_free_text_must_be_marked(templates):
    text = _replace(_text("hart"), "email communitysafety@hart.gov.uk, call", "email asb@hart.example, call")
    error = _refused(text, templates, "hart")
    _assert_names(error, "contacts.council_asb_contact", "asb@hart.example")


def test_examples_must_name_real_fields(templates):
    text = _replace(_text("hart"), 'examples = [', 'examples = [\n  "contacts.spoc_emial",')
    error = _refused(text, templates, "hart")
    _assert_names(error, "examples", "contacts.spoc_emial", "not a policy field")


def test_signatory_in_contacts_is_gone(templates):
    text = _replace(_text("hart"), 'spoc_title = "', 'signatory = "Community Safety Manager"\nspoc_title = "')
    error = _refused(text, templates, "hart")
    _assert_names(error, "contacts.signatory", "Extra inputs")


@pytest.mark.parametrize(("old", "new", "field", "words"), [
    ("[signatories.default]\n", "[signatories.appeal_acknowledgment]\nrole = \"Chair\"\n\n[signatories.default]\n",
     "signatories", "unknown letter step"),
    ("[signatories.default]\n", "[signatories.closed]\n\n[signatories.default]\n", "signatories.closed",
     "name, a role or a body"),
])
def test_bad_signatories_are_refused(templates, old, new, field, words):
    error = _refused(_replace(_text("derbyshire"), old, new), templates)
    _assert_names(error, field, words)


def test_signatories_need_a_default(templates):
    text = _replace(_text("hart"), "[signatories.default]\n", "[signatories.closed]\n")
    error = _refused(text, templates, "hart")
    _assert_names(error, "signatories", "default")


# --- the shipped files --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def policies(templates):
    return load_policies(POLICIES, templates)


def _addresses(policy):
    """(dotted field, address) for every address field a policy has."""
    out = [(f"contacts.{f}", getattr(policy.contacts, f)) for f in ("spoc_email", "sender_email")]
    if policy.appeals.email is not None:
        out.append(("appeals.email", policy.appeals.email))
    out += [(f"partners.{i}.email", p.email) for i, p in enumerate(policy.partners)]
    return out


@pytest.mark.parametrize("area_id", AREAS)
def test_shipped_placeholders_are_examples_and_real_addresses_are_not(policies, area_id):
    policy = policies[area_id]
    for field, address in _addresses(policy):
        placeholder = any(field == d or field.startswith(d + ".") for d in policy.defaults_used)
        assert placeholder == policy.is_example(field) == is_example_address(address), (field, address)


def test_no_shipped_policy_invents_an_address_on_a_council_domain(policies):
    for policy in policies.values():
        for field, address in _addresses(policy):
            if address.endswith((".gov.uk", ".police.uk")):
                assert not policy.is_example(field), (policy.id, field)
                assert not any(field == d or field.startswith(d + ".") for d in policy.defaults_used), (policy.id, field)


def test_derbyshire_contacts_are_examples_and_its_pcc_address_is_real(policies):
    p = policies["derbyshire"]
    assert p.contacts.spoc_email == "communitytrigger@derbyshire.example"
    assert p.is_example("contacts.spoc_email") and p.is_example("partners.1.email")
    assert not p.is_example("appeals.email")
    assert p.appeals.email == "pccoffice@derbyshire.pnn.police.uk"


# --- signatories ---------------------------------------------------------------------------------


def test_every_step_has_a_signatory_and_appeals_default_to_the_appeals_body(policies):
    for policy in policies.values():
        for step in LETTER_STEPS:
            s = policy.signatory_for(step)
            assert s.body and (s.name or s.role or s.body)
        for step in ("appeal_acknowledgement", "appeal_decision"):
            assert policy.signatory_for(step).body == policy.appeals.body, policy.id
        assert policy.signatory_for("acknowledgement").body == policy.area.csp_name


def test_derbyshire_signatories(policies):
    p = policies["derbyshire"]
    ack = p.signatory_for("acknowledgement")
    assert ack.role == "Chair of the Community Safety Partnership"
    assert ack.name and ack.name_is_example
    for step in ("appeal_acknowledgement", "appeal_decision"):
        s = p.signatory_for(step)
        assert s.body == PCC
        assert "Community Safety Partnership" not in (s.role or "")


# --- what the reader sees --------------------------------------------------------------------------

PERSON = Person("Pat Lee", ("1 High Street", "Ripley", "DE5 3AA"), "pat@example.com", "email")


def _letter(renderer, policy, step: str, **extra):
    ctx = letter_context(policy=policy, step=step, ref="CT-7K3M-9QXR", letter_date=date(2026, 12, 21), recipient=PERSON,
                         role="applicant", applicant=PERSON, victim=PERSON, on_behalf=False,
                         deadlines={"acknowledge": date(2026, 12, 30), "threshold_decision": date(2027, 1, 14)},
                         assessment_meeting=None, extra=extra or None)
    return renderer.render(policy.letters[step], ctx)


APPEAL = {"against": "threshold_decision", "lodged_on": date(2027, 1, 4), "decide_by": date(2027, 2, 1),
          "upheld": False, "reasons": "The review was done properly."}


def _signature(body: str) -> str:
    return body.split("Yours sincerely,", 1)[1]


def test_example_address_is_labelled_in_every_place_a_letter_shows_it(renderer, policies):
    policy = policies["derbyshire"]
    letter = _letter(renderer, policy, "acknowledgement")
    address = policy.contacts.spoc_email
    for body in (letter.html, letter.text):
        shown = body.count(address)
        assert shown >= 2  # sender block and footer
        # The html also carries it in the mailto link, which is not text a reader sees.
        links = body.count(f'mailto:{address}"')
        assert body.count(f"{address}</a> {LABEL}" if links else f"{address} {LABEL}") == shown - links, body


def test_real_address_is_not_labelled(renderer, policies):
    letter = _letter(renderer, policies["hart"], "acknowledgement")
    assert "communitysafety@hart.gov.uk" in letter.text
    assert EXAMPLE_ADDRESS_NOTE not in letter.text and EXAMPLE_ADDRESS_NOTE not in letter.html


def test_derbyshire_letters_are_signed_by_the_named_signatory_labelled_as_an_example(renderer, policies):
    policy = policies["derbyshire"]
    s = policy.signatory_for("acknowledgement")
    letter = _letter(renderer, policy, "acknowledgement")
    for body, enc in ((letter.html, lambda v: str(escape(v))), (letter.text, str)):
        sig = _signature(body)
        assert f"{enc(s.name)} ({EXAMPLE_NAME_NOTE})" in sig
        assert enc(s.role) in sig and enc(policy.area.csp_name) in sig


@pytest.mark.parametrize("step", ["appeal_acknowledgement", "appeal_decision"])
def test_derbyshire_appeal_letters_are_signed_by_the_pcc_office(renderer, policies, step):
    letter = _letter(renderer, policies["derbyshire"], step, appeal=dict(APPEAL))
    for body in (letter.html, letter.text):
        sig = _signature(body)
        assert PCC in sig
        assert "Chair of the Community Safety Partnership" not in sig
        assert "Safer Derbyshire" not in sig


def test_compose_letters_signs_each_letter_for_its_step(renderer, policies):
    policy = policies["derbyshire"]
    people = {"applicant": PERSON, "victim": PERSON}
    records = compose_letters(
        plans=[LetterPlan("acknowledgement", "applicant"), LetterPlan("appeal_acknowledgement", "applicant")],
        policy=policy, renderer=renderer, ref="CT-7K3M-9QXR", now=datetime(2026, 12, 21, 10, tzinfo=timezone.utc),
        letter_date=date(2026, 12, 21), people=people, on_behalf=False,
        deadlines={"acknowledge": date(2026, 12, 30), "threshold_decision": date(2027, 1, 14)},
        assessment_meeting=None, extra={"appeal": dict(APPEAL)})
    ack, appeal = (_signature(r.text) for r in records)
    assert "Chair of the Community Safety Partnership" in ack and PCC not in ack
    assert PCC in appeal and "Chair of the Community Safety Partnership" not in appeal


DISTRICT = """[signatories]
default = { name = "Jo Bloggs", role = "Chair of the Amber Valley Community Safety Partnership", body = "Amber Valley Community Safety Partnership" }
threshold_not_met = { name = "Sam Patel", role = "Community Safety Manager" }

"""


def test_a_derbyshire_district_signs_per_its_own_policy(renderer, templates):
    """A district that copies the county file and names its own people (none of them examples)."""
    text = _text("derbyshire").replace('id = "derbyshire"', 'id = "amber-valley"')
    start, end = text.index("[signatories]\n"), text.index("[appeals]\n")
    text = text[:start] + DISTRICT + text[end:]
    # Real names: neither a placeholder (defaults_used) nor an example.
    assert text.count('  "signatories.default.name",\n') == 2
    text = text.replace('  "signatories.default.name",\n', "")
    policy = parse_policy(text, "policies/amber-valley.toml", templates)
    ack = _signature(_letter(renderer, policy, "acknowledgement").text)
    assert "Jo Bloggs\nChair of the Amber Valley Community Safety Partnership\nAmber Valley Community Safety Partnership" in ack
    assert EXAMPLE_NAME_NOTE not in ack
    decision = {"outcome": "not_met", "reasons": "Only two complaints.", "decided_on": date(2026, 12, 18)}
    not_met = _signature(_letter(renderer, policy, "threshold_not_met", decision=decision,
                                 appeal_deadline=date(2027, 1, 18)).text)
    # The step's own signatory; its body falls back to the area's partnership.
    assert "Sam Patel\nCommunity Safety Manager\nSafer Derbyshire" in not_met
    # No override for appeals: the PCC's office signs.
    assert PCC in _signature(_letter(renderer, policy, "appeal_decision", appeal=dict(APPEAL)).text)


# --- pages and working emails label example addresses too ------------------------------------------


def test_partner_pages_and_emails_label_example_addresses(renderer, policies):
    policy = policies["derbyshire"]
    address = policy.contacts.spoc_email
    page = renderer.render_page("link_error", {"reason": "expired", "contacts": policy.contacts, "area": policy.area,
                                                "css_url": "https://x.example/partner.css"})
    assert f"{address}</a> {LABEL}" in page
    mail = renderer.render_email("partner_chaser", {
        "ref": "CT-7K3M-9QXR", "area": policy.area, "contacts": policy.contacts, "partner_name": "Derbyshire Constabulary",
        "link": "https://x.example/p/abc", "due_on": date(2027, 1, 5), "expires_on": date(2027, 1, 19), "stage": "overdue",
        "timescales": policy.timescales})
    assert f"{address} {LABEL}" in mail.text
    assert f"{address}</a> {LABEL}" in mail.html


def test_start_up_refuses_the_old_invented_council_address(tmp_path, templates):
    """load_policies (what start-up runs) stops on the first file with an invented real-domain address."""
    folder = tmp_path / "policies"
    folder.mkdir()
    text = _text("derbyshire").replace("communitytrigger.police@derbyshire.example", "communitytrigger.police@derbyshire.gov.uk")
    (folder / "derbyshire.toml").write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policies(folder, templates)
    assert f"{folder / 'derbyshire.toml'}: partners.1.email: is marked as an example" in str(caught.value)
