"""The case list's order key and the search terms, pure: what a SPOC types finds what was stored."""
from __future__ import annotations

from datetime import date

import pytest

from chalicelib.domain.case_list import (case_terms, classify_query, current_deadlines, list_key, list_names,
                                         name_query, name_terms)


def test_list_keys_sort_overdue_then_soon_then_later_then_nothing_due_newest_first():
    keys = [
        list_key(None, "2026-12-20T09:00:00.000Z", "CT-AAAA-AAAA"),
        list_key(None, "2026-12-21T09:00:00.000Z", "CT-BBBB-BBBB"),
        list_key(date(2027, 1, 14), "2026-12-21T09:00:00.000Z", "CT-CCCC-CCCC"),
        list_key(date(2026, 11, 23), "2026-11-02T09:00:00.000Z", "CT-DDDD-DDDD"),
        list_key(date(2026, 12, 31), "2026-12-01T09:00:00.000Z", "CT-EEEE-EEEE"),
        list_key(date(2026, 12, 31), "2026-12-02T09:00:00.000Z", "CT-FFFF-FFFF"),
    ]
    assert [k[-12:] for k in sorted(keys)] == ["CT-DDDD-DDDD", "CT-FFFF-FFFF", "CT-EEEE-EEEE", "CT-CCCC-CCCC",
                                                "CT-BBBB-BBBB", "CT-AAAA-AAAA"]


def test_only_deadlines_the_state_still_waits_for_count():
    deadlines = {"threshold_decision": {"due": "2026-12-01", "met_on": None},
                 "acknowledge": {"due": "2026-11-20", "met_on": "2026-11-19"}}
    assert current_deadlines(deadlines, "acknowledged", None) == [("threshold_decision", date(2026, 12, 1))]
    assert current_deadlines(deadlines, "withdrawn", None) == []
    assert current_deadlines({"appeal_decision": {"due": "2027-01-29", "met_on": None}}, "threshold_not_met",
                             {"status": "lodged"}) == [("appeal_decision", date(2027, 1, 29))]


def test_names_only_and_who_the_applicant_is():
    app = {"victim": {"name": "Sam Taylor", "address": {"postcode": "DE4 3AG"}},
           "applicant": {"name": "Cllr Alex Morgan", "address": {"postcode": "GU51 4AE"}}}
    assert list_names(app, "on_behalf") == {"applicant": "Cllr Alex Morgan", "victim": "Sam Taylor"}
    assert list_names(app, "victim") == {"applicant": "Sam Taylor", "victim": "Sam Taylor"}
    assert list_names(app, "agency") == {"applicant": None, "victim": "Sam Taylor"}


@pytest.mark.parametrize("stored, typed", [
    ("Zoë Brontë-Smith", "bronte-smith"), ("Zoë Brontë-Smith", "SMITH"), ("Zoë Brontë-Smith", "Zoe Bronte Smith"),
    ("Zoë Brontë-Smith", "zoë smith"), ("Dana O'Neill", "oneill"), ("Dana O’Neill", "O'NEILL"),
    ("Siobhán Ó Ceallaigh", "o ceallaigh"), ("Siobhán Ó Ceallaigh", "oceallaigh"), ("Mrs Ann Lee", "ann lee"),
    ("Cllr Alex Morgan", "Alex Morgan"), ("Cllr Alex Morgan", "morgan"), ("Jean-Luc Picard", "picard"),
    ("Ahmed  bin  Rashid", "bin rashid"), ("Ahmed bin Rashid", "ahmed bin rashid"),
])
def test_a_name_is_found_as_people_type_it(stored, typed):
    assert name_query(typed) in name_terms(stored)


@pytest.mark.parametrize("stored, typed", [("Sam Taylor", "sam"), ("Sam Taylor", "tay"), ("Sam Taylor", "taylor sam")])
def test_a_first_name_or_part_of_a_name_is_not_a_match(stored, typed):
    assert name_query(typed) not in name_terms(stored)


def test_postcodes_of_the_victim_and_the_place_any_spacing():
    app = {"victim": {"name": "Sam Taylor", "address": {"postcode": "DE4 3AG"}},
           "applicant": {"name": "Alex Morgan", "address": {"postcode": "GU51 4AE"}},
           "asb_location": {"postcode": "de4 3nn"}}
    terms = case_terms(app)
    assert {t for k, t in terms if k == "postcode"} == {"DE43AG", "DE43NN"}  # not the applicant's address
    assert classify_query(" de4  3ag ") == ("postcode", "DE43AG")


@pytest.mark.parametrize("typed, kind", [("CT-7K3M-9QXR", ("reference", "CT-7K3M-9QXR")),
                                         ("ct7k3m9qxr", ("reference", "CT-7K3M-9QXR")),
                                         ("SW1A 1AA", ("postcode", "SW1A1AA")), ("Taylor", ("name", "taylor")),
                                         ("Ct Smith", ("name", "ct smith")), ("x", None), ("  ", None), ("-", None)])
def test_the_search_box_decides_by_shape(typed, kind):
    assert classify_query(typed) == kind
