"""The shipped area policies load, hold the facts from their source documents, mark every
default they use, and an unlawful or broken policy is refused naming the file and field."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from chalicelib.domain.policy import (
    REQUIRED_LETTER_STEPS,
    Period,
    Policy,
    PolicyError,
    load_policies,
    parse_policy,
)
from chalicelib.letters import LetterRenderer

REPO = Path(__file__).resolve().parents[2]
POLICIES = REPO / "policies"
TEMPLATES = REPO / "templates"

AREAS = ("dacorum", "derbyshire", "folkestone-hythe", "gloucestershire", "hart")
# "service": a setting of this service where the source is silent (the 2025 guidance postdates every source).
DEFAULT_SOURCES = ("statutory", "Derbyshire", "Hart", "service")
PLACEHOLDER_MARK = "# placeholder: set by the area on adoption"


@pytest.fixture(scope="module")
def known_templates() -> list[str]:
    return LetterRenderer(TEMPLATES).template_ids()


@pytest.fixture(scope="module")
def policies(known_templates) -> dict[str, Policy]:
    return load_policies(POLICIES, known_templates)


def _text(area_id: str) -> str:
    return (POLICIES / f"{area_id}.toml").read_text(encoding="utf-8")


# --- every shipped file loads -------------------------------------------------------------


def test_all_shipped_policies_load(policies):
    assert sorted(policies) == sorted(AREAS)


@pytest.mark.parametrize("area_id", AREAS)
def test_file_stem_is_area_id_and_nation_is_england(policies, area_id):
    policy = policies[area_id]
    assert policy.id == area_id
    assert policy.area.nation == "ENG"
    assert policy.area.closure_days == ()


@pytest.mark.parametrize("area_id", AREAS)
def test_every_schema_field_is_written_out(area_id):
    """Each file spells out every section and key (optional ones may be commented out)."""
    text = _text(area_id)
    data = tomllib.loads(text)
    for section in ("area", "contacts", "appeals", "threshold", "timescales", "letters", "signatories"):
        assert section in data, section
    assert data["partners"], "partners"
    assert data["source"]
    for section, model in (
        ("area", Policy.model_fields["area"].annotation),
        ("contacts", Policy.model_fields["contacts"].annotation),
        ("appeals", Policy.model_fields["appeals"].annotation),
        ("threshold", Policy.model_fields["threshold"].annotation),
        ("timescales", Policy.model_fields["timescales"].annotation),
    ):
        for name in model.model_fields:
            if name in data[section]:
                continue
            # An optional key the document gives no value for is left as a comment.
            assert re.search(rf"^#\s*{name}\b", text, re.M) or re.search(rf"^#.*\b{name}\b.*left unset", text, re.M), (
                f"{area_id}: {section}.{name} is neither set nor explained in a comment"
            )


@pytest.mark.parametrize("area_id", AREAS)
def test_source_names_the_seed_document(policies, area_id):
    seed = {
        "dacorum": "000_",
        "derbyshire": "001_",
        "hart": "002_",
        "folkestone-hythe": "003_",
        "gloucestershire": "004_",
    }[area_id]
    assert seed in policies[area_id].source


# --- defaults are listed and commented ----------------------------------------------------


def _marked_lines(text: str) -> list[tuple[str, str]]:
    """(dotted field, comment) for each assignment carrying a default/placeholder comment."""
    out = []
    section = ""
    partner = -1
    for line in text.splitlines():
        stripped = line.strip()
        header = re.match(r"^\[\[?([A-Za-z_.-]+)\]\]?$", stripped)
        if header:
            section = header.group(1)
            if stripped == "[[partners]]":
                partner += 1
                section = f"partners.{partner}"
            continue
        assignment = re.match(r"^([A-Za-z_][\w-]*)\s*=.*?(#\s*(?:default|placeholder):.*)$", stripped)
        if assignment:
            key, comment = assignment.groups()
            dotted = f"{section}.{key}" if section else key
            out.append((dotted, comment))
    return out


@pytest.mark.parametrize("area_id", AREAS)
def test_defaults_used_matches_the_marked_lines(policies, area_id):
    policy = policies[area_id]
    marked = {dotted for dotted, _ in _marked_lines(_text(area_id))}
    assert set(policy.defaults_used) == marked
    assert len(set(policy.defaults_used)) == len(policy.defaults_used), "duplicate entries"


@pytest.mark.parametrize("area_id", AREAS)
def test_default_comments_name_their_source_and_the_area(policies, area_id):
    name = policies[area_id].area.name
    pattern = re.compile(rf"^# default: ({'|'.join(DEFAULT_SOURCES)}) — not stated by {re.escape(name)}\b")
    for dotted, comment in _marked_lines(_text(area_id)):
        if comment.startswith("# default:"):
            assert pattern.match(comment), f"{area_id}: {dotted}: {comment}"
        else:
            assert comment.startswith(PLACEHOLDER_MARK), f"{area_id}: {dotted}: {comment}"


@pytest.mark.parametrize("area_id", AREAS)
def test_sender_and_missing_spoc_addresses_are_placeholders(policies, area_id):
    policy = policies[area_id]
    text = _text(area_id)
    for field in ("spoc_email", "sender_email"):
        line = next(l for l in text.splitlines() if l.startswith(f"{field} ="))
        if PLACEHOLDER_MARK in line:
            assert f"contacts.{field}" in policy.defaults_used
            assert policy.is_example(f"contacts.{field}")


@pytest.mark.parametrize("area_id", AREAS)
def test_every_placeholder_address_is_an_example_on_a_reserved_domain(policies, area_id):
    policy = policies[area_id]
    for dotted, comment in _marked_lines(_text(area_id)):
        value = _value(policy, dotted)
        if isinstance(value, str) and "@" in value and comment.startswith(PLACEHOLDER_MARK):
            assert policy.is_example(dotted), dotted
            assert value.rpartition("@")[2] == f"{area_id}.example", (dotted, value)


def _value(policy, dotted: str):
    node = policy
    for part in dotted.split("."):
        node = node[int(part)] if part.isdigit() else (node[part] if isinstance(node, dict) else getattr(node, part))
    return node


# --- facts from the documents -------------------------------------------------------------



def test_every_area_uses_the_statutory_ceiling_or_less(policies):
    for policy in policies.values():
        assert policy.threshold.complaints_needed == 3
        assert policy.threshold.lookback_months == 6


def test_dacorum_facts(policies):
    p = policies["dacorum"]
    assert p.timescales.acknowledge == Period(working_days=2)
    assert p.timescales.outcome_letter == Period(working_days=5)
    assert p.threshold.separate_complainants_needed == 3
    assert p.assessment_meeting is not None
    assert "CSAG" in p.assessment_meeting.name
    assert "assessment_meeting.weekday" in p.defaults_used
    assert "assessment_meeting.week_of_month" in p.defaults_used
    assert "Chair" in p.appeals.body and "Board" in p.appeals.body
    assert "101" in p.contacts.police_non_emergency
    assert "ASB Team Leader" in p.contacts.spoc_title


def test_derbyshire_facts(policies):
    p = policies["derbyshire"]
    assert p.area.name == "Derbyshire"
    assert "eight districts" in _text("derbyshire")
    assert p.threshold.on_site_reports == "police_only"
    assert p.threshold.qualifying_period == Period(months=1)
    assert p.timescales.acknowledge == Period(working_days=5)
    assert p.timescales.threshold_decision == Period(working_days=15)
    assert p.timescales.review_meeting == Period(working_days=20)
    assert p.timescales.outcome_letter == Period(working_days=5)
    assert p.appeals.window == Period(calendar_days=28)
    assert p.appeals.acknowledge == Period(working_days=1)
    assert p.appeals.decide == Period(working_days=20)
    assert p.appeals.email == "pccoffice@derbyshire.pnn.police.uk"
    assert "DE5 3RS" in p.appeals.address
    assert "101" in p.contacts.police_non_emergency
    assert "Derbyshire Constabulary" in p.contacts.police_non_emergency
    assert "0800 612 6505" in p.contacts.victim_support
    assert "COREDVS" in p.contacts.victim_support and "82228" in p.contacts.victim_support
    # Derbyshire's own timescales are not marked as defaults.
    for field in ("timescales.acknowledge", "timescales.threshold_decision", "appeals.window"):
        assert field not in p.defaults_used


def test_hart_facts(policies):
    p = policies["hart"]
    assert p.threshold.qualifying_period == Period(calendar_days=30)
    assert p.threshold.hate_incidents_needed == 1
    assert p.threshold.senior_officer_discretion is True
    assert p.timescales.acknowledge == Period(working_days=5)
    assert p.timescales.partner_return == Period(working_days=10)
    assert p.timescales.action_escalate_line_manager == Period(calendar_days=21)
    assert p.timescales.action_escalate_head_of_service == Period(months=2)
    assert p.contacts.spoc_email == "communitysafety@hart.gov.uk"
    assert p.contacts.spoc_phone == "07816 109682"
    assert "Harlington Way" in p.contacts.spoc_address and "GU51 4AE" in p.contacts.spoc_address
    assert "Hampshire Constabulary" in p.contacts.police_non_emergency
    assert "101" in p.contacts.police_non_emergency
    assert "Hampshire and the Isle of Wight" in p.appeals.body
    assert "timescales.partner_return" not in p.defaults_used


def test_folkestone_hythe_facts(policies):
    p = policies["folkestone-hythe"]
    assert p.area.name == "Folkestone & Hythe"
    assert p.contacts.spoc_phone == "01303 853000"
    assert "Kent Police" in p.contacts.police_non_emergency
    assert "0800 138 1624" in p.contacts.victim_support
    assert "Kent" in p.appeals.body
    assert p.area.reporting_year == "calendar"
    assert "25 working days" in _text("folkestone-hythe")


def test_gloucestershire_facts(policies):
    p = policies["gloucestershire"]
    assert p.threshold.recent_report_months == 1
    assert p.threshold.hate_incidents_needed == 1
    assert "Police and Crime Commissioner" in p.contacts.spoc_title
    text = _text("gloucestershire").lower()
    # No named officer's personal address: only role mailboxes, marked as placeholders.
    assert "megan" not in text and "cobb" not in text
    assert "contacts.spoc_email" in p.defaults_used


# --- unlawful or broken files are refused ---------------------------------------------------


def _mutated(tmp_path: Path, old: str, new: str, area_id: str = "derbyshire") -> Path:
    text = _text(area_id)
    assert text.count(old) == 1, f"{old!r} should occur once in {area_id}.toml"
    folder = tmp_path / "policies"
    folder.mkdir()
    target = folder / f"{area_id}.toml"
    target.write_text(text.replace(old, new), encoding="utf-8")
    return folder


def _refusal(folder: Path, known_templates) -> PolicyError:
    with pytest.raises(PolicyError) as caught:
        load_policies(folder, known_templates)
    return caught.value


@pytest.mark.parametrize(
    ("old", "new", "field", "words"),
    [
        ("complaints_needed = 3", "complaints_needed = 4", "threshold.complaints_needed", "at most 3"),
        (
            "qualifying_period = { months = 1 }",
            "qualifying_period = { months = 2 }",
            "threshold.qualifying_period",
            "one month",
        ),
        (
            "qualifying_period = { months = 1 }",
            "qualifying_period = { calendar_days = 45 }",
            "threshold.qualifying_period",
            "one month",
        ),
        ("lookback_months = 6", "lookback_months = 7", "threshold.lookback_months", "six months"),
        ('nation = "ENG"', 'nation = "GB"', "area.nation", "unknown nation"),
        (
            'acknowledgement = "derbyshire/letter1"',
            'acknowledgement = "nope/letter9"',
            "letters.acknowledgement",
            "unknown letter template",
        ),
        (
            "complaints_needed = 3",
            "complaints_needed = 3\ncomplaints_neded = 2",
            "threshold.complaints_neded",
            "Extra inputs are not permitted",
        ),
        ('victim_confirmation = "derbyshire/letter3"\n', "", "letters", "victim_confirmation"),
        ("complaints_needed = 3", "complaints_needed = ", "(file)", "not valid TOML"),
    ],
    ids=[
        "complaints_needed_4",
        "qualifying_2_months",
        "qualifying_45_days",
        "lookback_7_months",
        "nation_GB",
        "unknown_template",
        "unknown_key",
        "missing_required_step",
        "invalid_toml",
    ],
)
def test_invalid_policy_is_refused_naming_file_and_field(tmp_path, known_templates, old, new, field, words):
    folder = _mutated(tmp_path, old, new)
    error = _refusal(folder, known_templates)
    message = str(error)
    path = str(folder / "derbyshire.toml")
    assert error.path == path
    assert f"{path}: {field}:" in message
    assert words in message
    assert field in [f for f, _ in error.problems]


def test_file_named_differently_from_area_id_is_refused(tmp_path, known_templates):
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "derby.toml").write_text(_text("derbyshire"), encoding="utf-8")
    message = str(_refusal(folder, known_templates))
    assert "derby.toml: area.id:" in message


def test_parse_policy_accepts_each_shipped_text(known_templates):
    for area_id in AREAS:
        policy = parse_policy(_text(area_id), f"policies/{area_id}.toml", known_templates)
        assert policy.id == area_id
