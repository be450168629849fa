"""Validating the application form: the published examples pass as they are, and every
problem comes back at once, each naming its field in plain words."""
from __future__ import annotations

import copy
import json
from datetime import date, timedelta
from typing import Any

import pytest

from chalicelib.openapi import example_application, example_on_behalf
from chalicelib.schemas import MAX_INCIDENTS, ApplicationIn, ApplicationInvalid, validate_application

TODAY = date(2026, 12, 21)
AREAS = {"dacorum", "derbyshire", "folkestone-hythe", "gloucestershire", "hart"}


def victim_app() -> dict[str, Any]:
    return example_application(TODAY)


def behalf_app() -> dict[str, Any]:
    return example_on_behalf(TODAY)


def validate(data: Any) -> ApplicationIn:
    return validate_application(data, today=TODAY, areas=AREAS)


def errors(data: Any) -> list[dict[str, str]]:
    with pytest.raises(ApplicationInvalid) as caught:
        validate(data)
    assert caught.value.errors, "ApplicationInvalid with no errors"
    for error in caught.value.errors:
        assert set(error) == {"field", "message"}
        assert error["message"][:1].isupper(), error
    return caught.value.errors


def fields(data: Any) -> set[str]:
    return {e["field"] for e in errors(data)}


def messages(data: Any, field: str) -> list[str]:
    return [e["message"] for e in errors(data) if e["field"] == field]


def set_path(data: dict, path: str, value: Any) -> dict:
    """Set (or, with value=DELETE, remove) a dotted path such as 'incidents.0.happened_on'."""
    *parents, leaf = path.split(".")
    node: Any = data
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    key: Any = int(leaf) if leaf.isdigit() else leaf
    if value is DELETE:
        del node[key]
    else:
        node[key] = value
    return data


DELETE = object()


# ----- the published examples ---------------------------------------------------------------


@pytest.mark.parametrize("area", sorted(AREAS))
def test_the_example_application_validates_for_every_area(area: str, area_policies) -> None:
    assert set(area_policies) == AREAS
    app = validate(example_application(TODAY, area))
    assert app.area == area
    assert not app.on_behalf
    assert app.correspondent is app.victim
    assert len(app.incidents) == 4
    assert app.victim.address.postcode == "DE4 3AG"
    assert app.victim.daytime_phone == "01632960001"
    assert app.equalities is not None and app.equalities.age_band == "35-44"


@pytest.mark.parametrize("consent", ["to_follow", "given"])
def test_the_on_behalf_example_validates(consent: str) -> None:
    data = behalf_app()
    data["victim_consent"] = consent
    app = validate(data)
    assert app.on_behalf
    assert app.victim_consent == consent
    assert app.correspondent is app.applicant
    assert app.applicant.relationship == "councillor"


@pytest.mark.parametrize("today", [date(2026, 1, 1), date(2027, 6, 30), date(2028, 2, 29)])
def test_the_examples_never_age(today: date) -> None:
    validate_application(example_application(today), today=today, areas=AREAS)
    validate_application(example_on_behalf(today), today=today, areas=AREAS)


def test_validation_does_not_change_the_input() -> None:
    data = victim_app()
    data["victim"]["address"]["postcode"] = "de4 3ag"
    before = copy.deepcopy(data)
    validate(data)
    assert data == before


def test_the_example_survives_a_json_round_trip() -> None:
    validate(json.loads(json.dumps(victim_app())))


# ----- every problem at once --------------------------------------------------------------


def test_every_problem_is_reported_at_once() -> None:
    data = victim_app()
    data["area"] = "atlantis"
    data["victim"]["name"] = "Anonymous"
    data["victim"]["address"]["postcode"] = "DE4"
    data["victim"]["mobile_phone"] = "12345"
    data["summary"] = "x" * 2001
    del data["incidents"][0]["happened_on"]
    data["incidents"][1]["reported_on"] = "2026-11-01"  # it happened on 2026-11-10
    data["incidents"][2]["how_reported"] = "carrier pigeon"
    data["favourite_colour"] = "green"
    data["information_sharing_consent"] = False
    assert fields(data) == {
        "area",
        "victim.name",
        "victim.address.postcode",
        "victim.mobile_phone",
        "summary",
        "incidents[0].happened_on",
        "incidents[1].reported_on",
        "incidents[2].how_reported",
        "favourite_colour",
        "information_sharing_consent",
    }


def test_problems_in_several_incidents_each_name_their_incident() -> None:
    data = victim_app()
    for i in range(4):
        data["incidents"][i]["happened_on"] = "2027-01-01"
    assert {e["field"] for e in errors(data) if e["field"].endswith("happened_on")} == {
        f"incidents[{i}].happened_on" for i in range(4)}


def test_the_same_problem_is_not_reported_twice() -> None:
    data = victim_app()
    data["declaration"] = False
    found = errors(data)
    assert found == [{"field": "declaration",
                      "message": "Confirm that the information is correct to the best of your knowledge"}]


# ----- required answers, each with a plain message naming it -----------------------------


@pytest.mark.parametrize(
    ("path", "field", "message"),
    [
        ("area", "area", "Choose the area where the anti-social behaviour is happening"),
        ("basis", "basis", "Say whether you are the person affected or applying on their behalf"),
        ("victim", "victim", "Enter the details of the person affected by the anti-social behaviour"),
        ("victim.name", "victim.name", "Enter the full name of the person affected"),
        ("victim.address", "victim.address", "Enter the address of the person affected"),
        ("victim.address.line1", "victim.address.line1", "Enter the first line of the address"),
        ("victim.address.town", "victim.address.town", "Enter the town or city"),
        ("victim.address.postcode", "victim.address.postcode", "Enter the postcode"),
        ("summary", "summary", "Describe briefly the anti-social behaviour you want reviewed"),
        ("incidents", "incidents", "Give at least one incident you reported"),
        ("incidents.0.happened_on", "incidents[0].happened_on", "Enter the date the incident happened"),
        ("incidents.1.description", "incidents[1].description", "Describe what happened"),
        ("incidents.2.reported_by", "incidents[2].reported_by", "Enter who reported the incident"),
        ("incidents.3.reported_on", "incidents[3].reported_on", "Enter the date the incident was reported"),
        ("incidents.0.reported_to", "incidents[0].reported_to", "Enter who the incident was reported to"),
        ("incidents.0.how_reported", "incidents[0].how_reported", "Say how the incident was reported"),
        ("declaration", "declaration", "Confirm that the information is correct to the best of your knowledge"),
        ("information_sharing_consent", "information_sharing_consent",
         "Confirm you understand the agencies will share information to review the case"),
        ("victim.preferred_contact", "victim.preferred_contact",
         "Say how you would like us to contact you: email, phone or post"),
    ],
)
def test_a_missing_answer_gets_a_plain_message(path: str, field: str, message: str) -> None:
    assert errors(set_path(victim_app(), path, DELETE)) == [{"field": field, "message": message}]


@pytest.mark.parametrize("blank", ["", "   ", None])
@pytest.mark.parametrize(
    ("path", "field", "message"),
    [
        ("summary", "summary", "Describe briefly the anti-social behaviour you want reviewed"),
        ("victim.name", "victim.name", "Enter the full name of the person affected"),
        ("incidents.0.description", "incidents[0].description", "Describe what happened"),
        ("incidents.0.happened_on", "incidents[0].happened_on", "Enter the date the incident happened"),
        ("incidents.0.reported_on", "incidents[0].reported_on", "Enter the date the incident was reported"),
        ("victim.address.town", "victim.address.town", "Enter the town or city"),
    ],
)
def test_a_blank_answer_is_a_missing_answer(blank, path: str, field: str, message: str) -> None:
    assert messages(set_path(victim_app(), path, blank), field) == [message]


def test_an_empty_list_of_incidents_asks_for_one() -> None:
    assert errors(set_path(victim_app(), "incidents", [])) == [
        {"field": "incidents", "message": "Give at least one incident you reported"}]


@pytest.mark.parametrize(
    ("path", "field", "message"),
    [
        ("applicant.name", "applicant.name", "Enter your full name"),
        ("applicant.address", "applicant.address", "Enter your address"),
        ("applicant.relationship", "applicant.relationship", "Say how you know the person affected"),
    ],
)
def test_a_missing_applicant_answer_gets_a_plain_message(path: str, field: str, message: str) -> None:
    assert messages(set_path(behalf_app(), path, DELETE), field) == [message]


@pytest.mark.parametrize(
    "path",
    ["impact", "action_taken", "outcome_sought", "special_circumstances", "other_information", "equalities",
     "victim.daytime_phone", "victim.mobile_phone", "victim.tenure", "victim.landlord", "victim.type",
     "incidents.0.agency_reference", "incidents.0.hate_motivated", "incidents.3.officer_type", "keep_informed"],
)
def test_optional_answers_may_be_left_out(path: str) -> None:
    validate(set_path(victim_app(), path, DELETE))


@pytest.mark.parametrize("blank", ["", "   ", None])
@pytest.mark.parametrize(
    "path",
    ["impact", "action_taken", "outcome_sought", "special_circumstances", "other_information",
     "victim.landlord", "victim.tenure_other", "victim.daytime_phone", "victim.mobile_phone",
     "victim.address.line2", "incidents.0.agency_reference", "equalities.gender", "equalities.disability"],
)
def test_optional_answers_may_be_sent_blank(path: str, blank) -> None:
    app = validate(set_path(victim_app(), path, blank))
    node: Any = app
    for part in path.split("."):
        node = node[int(part)] if part.isdigit() else getattr(node, part)
    assert node is None


@pytest.mark.parametrize("blank", ["", "   ", None])
def test_a_blank_email_is_no_email(blank) -> None:
    data = victim_app()
    data["victim"]["email"] = blank
    data["victim"]["preferred_contact"] = "post"
    assert validate(data).victim.email is None


# ----- applying on someone's behalf --------------------------------------------------------


def test_on_behalf_without_applicant_details() -> None:
    data = behalf_app()
    del data["applicant"]
    assert errors(data) == [{"field": "applicant",
                             "message": "Enter your own details, as you are applying on behalf of someone else"}]


@pytest.mark.parametrize("consent", [DELETE, None, ""])
def test_on_behalf_without_saying_whether_the_victim_consents(consent) -> None:
    data = set_path(behalf_app(), "victim_consent", consent)
    assert "Say whether the person affected has given consent, or it will follow" in messages(data, "victim_consent")


def test_on_behalf_with_neither() -> None:
    data = behalf_app()
    del data["applicant"], data["victim_consent"]
    assert fields(data) == {"applicant", "victim_consent"}


def test_the_victim_applying_needs_no_applicant_or_consent() -> None:
    data = victim_app()
    data["applicant"] = None
    validate(data)


# ----- anonymous applications ---------------------------------------------------------------

ANONYMOUS = ["Anonymous", "anon", " N/A ", "n/a", "ANONYMOUS", "Anon.", "Unknown", "withheld", "Prefer not to say",
             "none", "xxx", "-", "  No   Name "]


@pytest.mark.parametrize("name", ANONYMOUS)
def test_an_anonymous_victim_is_refused(name: str) -> None:
    data = victim_app()
    data["victim"]["name"] = name
    assert errors(data) == [{"field": "victim.name",
                             "message": "We cannot accept anonymous applications: enter a real name"}]


@pytest.mark.parametrize("name", ANONYMOUS)
def test_an_anonymous_applicant_is_refused(name: str) -> None:
    data = behalf_app()
    data["applicant"]["name"] = name
    assert errors(data) == [{"field": "applicant.name",
                             "message": "We cannot accept anonymous applications: enter a real name"}]


@pytest.mark.parametrize("name", ["Ann Onymous", "Nan", "Anona Smith", "Xi", "Jo"])
def test_real_names_that_look_a_little_like_anonymous_are_accepted(name: str) -> None:
    data = victim_app()
    data["victim"]["name"] = name
    assert validate(data).victim.name == name


# ----- how to contact the correspondent ---------------------------------------------------


@pytest.mark.parametrize("email", [DELETE, "", "   ", None])
def test_email_contact_needs_an_email_address(email) -> None:
    data = set_path(victim_app(), "victim.email", email)
    assert messages(data, "victim.email") == ["Enter an email address, as you asked to be contacted by email"]


def test_post_contact_needs_an_address() -> None:
    data = victim_app()
    data["victim"]["preferred_contact"] = "post"
    del data["victim"]["address"]
    assert "Enter a postal address, as you asked to be contacted by post" in messages(data, "victim.address")


@pytest.mark.parametrize("blank", [DELETE, "", "   ", None])
def test_phone_contact_needs_a_phone_number(blank) -> None:
    data = victim_app()
    data["victim"]["preferred_contact"] = "phone"
    set_path(data, "victim.daytime_phone", blank)
    set_path(data, "victim.mobile_phone", blank)
    assert errors(data) == [{"field": "victim.daytime_phone",
                             "message": "Enter a phone number, as you asked to be contacted by phone"}]


@pytest.mark.parametrize("keep", ["daytime_phone", "mobile_phone"])
def test_either_phone_number_will_do(keep: str) -> None:
    data = victim_app()
    data["victim"]["preferred_contact"] = "phone"
    for other in {"daytime_phone", "mobile_phone"} - {keep}:
        del data["victim"][other]
    validate(data)


def test_on_behalf_the_contact_check_applies_to_the_applicant() -> None:
    data = behalf_app()
    del data["applicant"]["email"]
    assert fields(data) == {"applicant.email"}
    assert messages(data, "applicant.email") == ["Enter an email address, as you asked to be contacted by email"]


def test_an_unknown_contact_method_is_refused() -> None:
    data = set_path(victim_app(), "victim.preferred_contact", "pigeon")
    assert errors(data) == [{"field": "victim.preferred_contact",
                             "message": "How you would like us to contact you must be one of: email, phone or post"}]


@pytest.mark.parametrize("email", ["sam", "sam@", "@example.com", "sam@example", "sam taylor@example.com", "a@b@c.com"])
def test_a_badly_written_email_is_refused(email: str) -> None:
    assert errors(set_path(victim_app(), "victim.email", email)) == [
        {"field": "victim.email", "message": "The email address must be written like name@example.com"}]


# ----- phone numbers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("01632 960001", "01632960001"),
        ("01632 960 001", "01632960001"),
        ("+44 7700 900982", "07700900982"),
        ("0044 20 7946 0000", "02079460000"),
        ("(01632) 960-001", "01632960001"),
        ("020 7946 0000", "02079460000"),
        ("07700.900.982", "07700900982"),
        ("+44 (0)20 7946 0000", "02079460000"),  # as often printed on letterheads
        ("+44 (0) 7700 900982", "07700900982"),
        ("0044 (0)1632 960001", "01632960001"),
        ("01632 96000", "0163296000"),  # some areas have 10-digit numbers
    ],
)
def test_uk_phone_numbers_are_accepted(typed: str, stored: str) -> None:
    data = set_path(victim_app(), "victim.daytime_phone", typed)
    assert validate(data).victim.daytime_phone == stored


@pytest.mark.parametrize(
    "typed", ["12345", "0800 abc", "+1 212 555 0100", "7700 900982", "01632 9600011", "+44", "phone me", "0044 1"],
)
@pytest.mark.parametrize(("field", "label"), [("daytime_phone", "daytime"), ("mobile_phone", "mobile")])
def test_other_phone_numbers_are_refused(typed: str, field: str, label: str) -> None:
    data = set_path(victim_app(), f"victim.{field}", typed)
    assert errors(data) == [{
        "field": f"victim.{field}",
        "message": f"The {label} phone number must be a UK phone number, like 01632 960 001 or 07700 900 982"}]


# ----- postcodes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("SW1A 1AA", "SW1A 1AA"),
        ("sw1a1aa", "SW1A 1AA"),
        ("  sw1a   1aa ", "SW1A 1AA"),
        ("EC1A 1BB", "EC1A 1BB"),
        ("GIR 0AA", "GIR 0AA"),
        ("gir0aa", "GIR 0AA"),
        ("M1 1AE", "M1 1AE"),
        ("B33 8TH", "B33 8TH"),
        ("CR2 6XH", "CR2 6XH"),
        ("DN55 1PT", "DN55 1PT"),
        ("W1A 0AX", "W1A 0AX"),
        ("GU51 4AE", "GU51 4AE"),
    ],
)
def test_uk_postcodes_are_accepted_and_written_the_royal_mail_way(typed: str, stored: str) -> None:
    data = set_path(victim_app(), "victim.address.postcode", typed)
    assert validate(data).victim.address.postcode == stored


@pytest.mark.parametrize("typed", ["DE4", "12345", "ZZ99 9ZZZ", "SW1A 1A", "SW1A 1AAA", "1AA 1AA", "SW1A 1CA",
                                   "ABC1 1AA", "DE4 3A6", "SW1A-1AA"])
def test_other_postcodes_are_refused(typed: str) -> None:
    assert errors(set_path(victim_app(), "victim.address.postcode", typed)) == [
        {"field": "victim.address.postcode", "message": "The postcode must be a full UK postcode, like SW1A 1AA"}]


def test_the_applicants_postcode_is_checked_too() -> None:
    assert fields(set_path(behalf_app(), "applicant.address.postcode", "12345")) == {"applicant.address.postcode"}


# ----- dates -------------------------------------------------------------------------------


def test_a_date_in_the_future_is_refused() -> None:
    data = victim_app()
    data["incidents"][0]["happened_on"] = (TODAY + timedelta(days=1)).isoformat()
    data["incidents"][0]["reported_on"] = (TODAY + timedelta(days=1)).isoformat()
    assert errors(data) == [
        {"field": "incidents[0].happened_on", "message": "The date the incident happened must be today or in the past"},
        {"field": "incidents[0].reported_on",
         "message": "The date the incident was reported must be today or in the past"},
    ]


def test_today_is_allowed() -> None:
    data = victim_app()
    data["incidents"][0]["happened_on"] = data["incidents"][0]["reported_on"] = TODAY.isoformat()
    validate(data)


@pytest.mark.parametrize("typed", ["2026-02-30", "2026-13-01", "2026-00-10", "2026-04-31", "2025-02-29"])
def test_an_impossible_date_is_refused(typed: str) -> None:
    assert messages(set_path(victim_app(), "incidents.0.happened_on", typed), "incidents[0].happened_on") == [
        "The date the incident happened must be a real date, for example 2026-03-27"]


@pytest.mark.parametrize("typed", ["2026/01/01", "01/01/2026", "1 January 2026", "2026-1-1", "20260101",
                                   "yesterday", 20260101, "2026-01-01T10:00"])
def test_a_badly_written_date_is_refused(typed) -> None:
    assert messages(set_path(victim_app(), "incidents.0.reported_on", typed), "incidents[0].reported_on") == [
        "The date the incident was reported must be a date written as year-month-day, for example 2026-03-27"]


def test_a_date_before_2000_is_refused() -> None:
    data = victim_app()
    data["incidents"][0]["happened_on"] = data["incidents"][0]["reported_on"] = "1999-12-31"
    assert messages(data, "incidents[0].happened_on") == ["The date the incident happened must be after the year 2000"]


def test_a_leap_day_is_a_real_date() -> None:
    data = victim_app()
    data["incidents"][0]["happened_on"] = data["incidents"][0]["reported_on"] = "2024-02-29"
    validate(data)


def test_reported_before_it_happened_is_refused_on_that_incident() -> None:
    data = victim_app()
    data["incidents"][2]["reported_on"] = data["incidents"][2]["happened_on"]  # same day is fine
    validate(data)
    data["incidents"][2]["reported_on"] = (date.fromisoformat(data["incidents"][2]["happened_on"])
                                           - timedelta(days=1)).isoformat()
    assert errors(data) == [{"field": "incidents[2].reported_on",
                             "message": "The date reported must be on or after the date the incident happened"}]


def test_reported_before_it_happened_is_caught_when_the_dates_have_spaces_around_them() -> None:
    data = victim_app()
    data["incidents"][0]["happened_on"] = " 2026-10-12 "
    data["incidents"][0]["reported_on"] = " 2026-10-01 "
    assert fields(data) == {"incidents[0].reported_on"}


def test_dates_with_spaces_around_them_are_read() -> None:
    data = victim_app()
    data["incidents"][0]["happened_on"] = " 2026-10-12 "
    data["incidents"][0]["reported_on"] = "2026-10-13\n"
    app = validate(data)
    assert app.incidents[0].happened_on == date(2026, 10, 12)
    assert app.incidents[0].reported_on == date(2026, 10, 13)


# ----- lengths, counts, types, and answers that are not on the form --------------------


@pytest.mark.parametrize(
    ("path", "field", "limit"),
    [
        ("summary", "summary", 2000),
        ("impact", "impact", 5000),
        ("other_information", "other_information", 5000),
        ("victim.name", "victim.name", 100),
        ("victim.landlord", "victim.landlord", 100),
        ("victim.address.line1", "victim.address.line1", 100),
        ("incidents.1.description", "incidents[1].description", 2000),
        ("incidents.1.agency_reference", "incidents[1].agency_reference", 50),
        ("equalities.disability", "equalities.disability", 2000),
    ],
)
def test_text_too_long_names_the_limit(path: str, field: str, limit: int) -> None:
    at_limit = set_path(victim_app(), path, "a" * limit)
    validate(at_limit)
    too_long = set_path(victim_app(), path, "a" * (limit + 1))
    [message] = messages(too_long, field)
    assert message.endswith(f"must be {limit} characters or fewer")


def test_text_too_long_message_in_full() -> None:
    assert errors(set_path(victim_app(), "summary", "x" * 2001)) == [
        {"field": "summary", "message": "Summary must be 2000 characters or fewer"}]


def test_at_most_fifty_incidents() -> None:
    assert MAX_INCIDENTS == 50
    data = victim_app()
    data["incidents"] = [copy.deepcopy(data["incidents"][0]) for _ in range(50)]
    assert len(validate(data).incidents) == 50
    data["incidents"].append(copy.deepcopy(data["incidents"][0]))
    assert errors(data) == [{"field": "incidents", "message": "Give no more than 50 items here"}]


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("favourite_colour", "favourite_colour"),
        ("victim.nickname", "victim.nickname"),
        ("victim.address.county", "victim.address.county"),
        ("incidents.2.weather", "incidents[2].weather"),
        ("equalities.star_sign", "equalities.star_sign"),
    ],
)
def test_an_answer_not_on_the_form_is_refused_naming_it(path: str, field: str) -> None:
    assert errors(set_path(victim_app(), path, "anything")) == [
        {"field": field, "message": "This is not a question on the application form; remove it"}]


@pytest.mark.parametrize("answer", ["declaration", "information_sharing_consent"])
def test_the_declaration_and_sharing_consent_must_be_given(answer: str) -> None:
    [message] = messages(set_path(victim_app(), answer, False), answer)
    assert message.startswith("Confirm ")


@pytest.mark.parametrize("value", ["maybe", 2, [], {}])
def test_a_yes_or_no_answer_must_be_true_or_false(value) -> None:
    assert errors(set_path(victim_app(), "incidents.0.hate_motivated", value)) == [
        {"field": "incidents[0].hate_motivated", "message": "Hate motivated must be true or false"}]


@pytest.mark.parametrize(
    ("path", "value", "field", "message"),
    [
        ("basis", "neighbour", "basis", "Who is applying must be one of: victim or on_behalf"),
        ("victim.type", "alien", "victim.type", "The kind of victim must be one of: individual, business or community_group"),
        ("incidents.3.officer_type", "traffic_warden", "incidents[3].officer_type",
         "The kind of officer must be one of: police_officer, pcso, council_officer, housing_officer or other"),
        ("victim_consent", "later", "victim_consent", "The victim's consent must be one of: given or to_follow"),
        ("summary", 42, "summary", "Summary must be text"),
        ("incidents", "three", "incidents", "Incidents must be a list"),
        ("victim", "Sam", "victim", "Victim must be a group of answers (a JSON object)"),
        ("incidents.1", "loud music", "incidents[1]", "Item 2 of incidents must be a group of answers (a JSON object)"),
    ],
)
def test_answers_of_the_wrong_kind_say_what_is_expected(path, value, field, message) -> None:
    assert messages(set_path(victim_app(), path, value), field) == [message]


def test_an_area_we_do_not_serve_is_refused_naming_the_choices() -> None:
    assert errors(set_path(victim_app(), "area", "atlantis")) == [{
        "field": "area",
        "message": "We do not run the Community Trigger for area 'atlantis'; choose one of: "
                   "dacorum, derbyshire, folkestone-hythe, gloucestershire, hart"}]


@pytest.mark.parametrize("body", [None, [], ["area"], "application", 42, True])
def test_a_body_that_is_not_an_object_is_refused(body) -> None:
    assert errors(body) == [{"field": "body", "message": "Send the application as a JSON object"}]


def test_the_equalities_section_is_optional_and_accepted() -> None:
    data = victim_app()
    data["equalities"] = {"gender": "Woman", "age_band": "35-44", "sexual_orientation": "Prefer not to say",
                          "religion": "None", "disability": "Long-term anxiety", "ethnicity": "White British"}
    app = validate(data)
    assert app.equalities.disability == "Long-term anxiety"
    data["equalities"] = {}
    validate(data)
    data["equalities"] = None
    assert validate(data).equalities is None
    del data["equalities"]
    assert validate(data).equalities is None


@pytest.mark.parametrize("field", ["victim_consent", "preferred_contact"])
def test_a_blank_choice_counts_as_unanswered_with_one_message(field):
    body = example_on_behalf(date(2026, 12, 21))
    if field == "victim_consent":
        body["victim_consent"] = ""
        path = "victim_consent"
    else:
        body["applicant"]["preferred_contact"] = ""
        path = "applicant.preferred_contact"
    with pytest.raises(ApplicationInvalid) as caught:
        validate_application(body, today=date(2026, 12, 21), areas={"hart"})
    assert [e["field"] for e in caught.value.errors] == [path]
    assert caught.value.errors[0]["message"].startswith("Say ")


def test_the_staff_schemas_change_no_message_the_applicant_sees():
    """The staff models add their messages to the tables the application shares; loading them (as every
    API process does) must not change what an applicant is told. The tests above pass on their own
    either way, so this imports the staff schemas first."""
    import chalicelib.staff_schemas  # noqa: F401 - its import is what is tested

    assert errors(set_path(victim_app(), "summary", DELETE)) == [
        {"field": "summary", "message": "Describe briefly the anti-social behaviour you want reviewed"}]
